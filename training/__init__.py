"""Training: data loading, prepare-data, fine-tune jobs (local, OpenAI), metrics, plots, the pipeline."""
