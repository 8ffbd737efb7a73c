"""The Slack app: Bolt AsyncApp, listeners by kind, Block Kit views, settings, store, retrain."""
