"""Test helpers shared by tests/bot and tests/e2e: Slack's Web API stand-in, request signing."""
