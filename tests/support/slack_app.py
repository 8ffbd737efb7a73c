"""The Slack app the tests install: its credentials and people (none of them real)."""

from __future__ import annotations

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"
ADMIN = "U0ADMIN01"
"""Named in SPORTBOT_ADMINS."""
USER = "U0USER01"
"""Anyone else in the workspace."""
