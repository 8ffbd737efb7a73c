"""The fine-tune job lifecycle.

- ``events``: ``JobEvent`` and its kinds (status, epoch, step metrics, message), read as fields.

Nothing is imported here, so that reading a job's events (``training.jobs``) stays light.
"""
