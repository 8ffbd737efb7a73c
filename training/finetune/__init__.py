"""One fine-tune job lifecycle and the providers that train behind it.

- ``request``: ``FineTuneRequest``, what a fine-tune is asked to do, checked once.
- ``events``: ``JobEvent`` and its kinds (status, epoch, step metrics, message), read as fields.
- ``results``: the legacy result-file columns, defined here only, and the rows under them.
- ``lifecycle``: the one owner of a job's statuses, heartbeat, cancel, events, result rows, plot,
  model card and registration.
- ``providers``: the ``FineTuneProvider`` Protocol and the providers by name; ``local`` and
  ``remote`` implement it with only what differs.

Nothing is imported here, so that reading a job's events (``training.jobs``) stays light.
"""
