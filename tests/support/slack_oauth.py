"""Slack's side of the OAuth install flow, for the Web API stand-in (``oauth.v2.access``).

Slack's authorize page (where a person picks a workspace and approves the scopes) cannot be
reached from here: ``SlackOAuth.approve`` stands for it and returns the ``code`` Slack would put
in the redirect. ``oauth.v2.access`` then answers as Slack documents it: the app's credentials
(HTTP Basic, or ``client_id`` / ``client_secret`` in the form) checked first
(``invalid_client_id``, ``bad_client_secret``); a code used once, bound to its app and redirect
URI, good for 10 minutes (``invalid_code``, ``bad_redirect_uri``); with token rotation on, an
expiring bot token (``xoxe.xoxb-…``, ``expires_in``) and a ``refresh_token`` (``xoxe-1-…``) that
``grant_type=refresh_token`` trades, once, for a new pair (``invalid_refresh_token`` for one it
does not know or has traded already). Every token it hands out belongs to its workspace in the stand-in (``tokens``), so the
other methods answer for that workspace only, and an expired one gets ``token_expired``.
"""

from __future__ import annotations

import base64
import itertools
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

CODE_SECONDS = 600
"""How long Slack's code is good for (and it is good once)."""
TOKEN_SECONDS = 43_200
"""A rotating token's life: 12 hours."""


@dataclass
class Workspace:
    team_id: str
    name: str
    enterprise_id: str | None = None
    enterprise_name: str | None = None
    bot_user_id: str = ""
    bot_id: str = ""
    scopes: str = ""
    """What its installer approved."""


@dataclass
class Grant:
    workspace: Workspace
    installer: str
    scopes: str
    redirect_uri: str | None
    expires_at: float


@dataclass
class SlackOAuth:
    """The app's credentials and what Slack has granted; ``tokens`` is the stand-in's map of
    token -> team id, ``expiry`` of token -> Unix time."""

    client_id: str
    client_secret: str
    tokens: dict[str, str]
    rotation: bool = False
    token_seconds: float = TOKEN_SECONDS
    workspaces: dict[str, Workspace] = field(default_factory=dict)
    expiry: dict[str, float] = field(default_factory=dict)
    issued: list[dict[str, Any]] = field(default_factory=list)
    """Every successful ``oauth.v2.access`` answer, in order."""
    _codes: dict[str, Grant] = field(default_factory=dict)
    _refresh: dict[str, str] = field(default_factory=dict)
    _serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add_workspace(
        self, team_id: str, name: str, *, enterprise_id: str | None = None
    ) -> Workspace:
        number = next(self._serial)
        workspace = Workspace(
            team_id,
            name,
            enterprise_id,
            f"Org {enterprise_id}" if enterprise_id else None,
            bot_user_id=f"UBOT{number:04d}{team_id}",
            bot_id=f"BBOT{number:04d}{team_id}",
        )
        self.workspaces[team_id] = workspace
        return workspace

    def approve(
        self, team_id: str, installer: str, scopes: str, redirect_uri: str | None = None
    ) -> str:
        """What Slack's authorize page does when ``installer`` approves the app for the
        workspace: the ``code`` of the redirect to the app."""
        code = f"{team_id}.{secrets.token_hex(8)}"
        workspace = self.workspaces[team_id]
        workspace.scopes = scopes
        self._codes[code] = Grant(
            workspace, installer, scopes, redirect_uri, time.time() + CODE_SECONDS
        )
        return code

    def expire(self, token: str) -> None:
        """Make a token expire now (as 12 hours would)."""
        self.expiry[token] = time.time()

    def is_expired(self, token: str | None) -> bool:
        at = self.expiry.get(token or "")
        return at is not None and time.time() >= at

    def access(self, args: dict[str, Any], authorization: str) -> dict[str, Any]:
        """``oauth.v2.access``'s answer."""
        client_id, client_secret = _credentials(args, authorization)
        if client_id != self.client_id:
            return {"ok": False, "error": "invalid_client_id"}
        if not secrets.compare_digest(client_secret, self.client_secret):
            return {"ok": False, "error": "bad_client_secret"}
        grant_type = args.get("grant_type") or "authorization_code"
        if grant_type == "refresh_token":
            return self._refreshed(str(args.get("refresh_token") or ""))
        if grant_type != "authorization_code":
            return {"ok": False, "error": "invalid_grant_type"}
        grant = self._codes.pop(str(args.get("code") or ""), None)
        if grant is None or grant.expires_at <= time.time():
            return {"ok": False, "error": "invalid_code"}
        if grant.redirect_uri is not None and args.get("redirect_uri") != grant.redirect_uri:
            return {"ok": False, "error": "bad_redirect_uri"}
        answer = {**self._bot_token(grant.workspace), "authed_user": {"id": grant.installer}}
        self.issued.append(answer)
        return answer

    def _refreshed(self, refresh_token: str) -> dict[str, Any]:
        # A refresh token is traded once: the answer carries the next one.
        team_id = self._refresh.pop(refresh_token, None)
        if team_id is None:
            return {"ok": False, "error": "invalid_refresh_token"}
        answer = self._bot_token(self.workspaces[team_id])
        self.issued.append(answer)
        return answer

    def _bot_token(self, workspace: Workspace) -> dict[str, Any]:
        prefix = "xoxe.xoxb-" if self.rotation else "xoxb-"
        token = f"{prefix}{workspace.team_id}-{secrets.token_hex(12)}"
        self.tokens[token] = workspace.team_id
        enterprise = (
            {"id": workspace.enterprise_id, "name": workspace.enterprise_name}
            if workspace.enterprise_id
            else None
        )
        answer: dict[str, Any] = {
            "ok": True,
            "app_id": "A0SPORTBOT",
            "access_token": token,
            "token_type": "bot",
            "scope": workspace.scopes,
            "bot_user_id": workspace.bot_user_id,
            "team": {"id": workspace.team_id, "name": workspace.name},
            "enterprise": enterprise,
            "is_enterprise_install": False,
        }
        if self.rotation:
            self.expiry[token] = time.time() + self.token_seconds
            refresh_token = f"xoxe-1-{secrets.token_hex(16)}"
            self._refresh[refresh_token] = workspace.team_id
            answer.update(refresh_token=refresh_token, expires_in=int(self.token_seconds))
        return answer


def _credentials(args: dict[str, Any], authorization: str) -> tuple[str, str]:
    """The app's id and secret: HTTP Basic (what Slack prefers), else the form's."""
    if authorization.startswith("Basic "):
        try:
            decoded = base64.b64decode(authorization.removeprefix("Basic ")).decode()
        except ValueError:
            return "", ""
        client_id, _, client_secret = decoded.partition(":")
        return client_id, client_secret
    return str(args.get("client_id") or ""), str(args.get("client_secret") or "")
