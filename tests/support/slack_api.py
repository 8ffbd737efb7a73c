"""A recording stand-in for Slack's Web API, served by aiohttp on loopback.

It answers the methods the bot calls with the JSON Slack documents for them, records every call
(method, arguments, token), and can be told to answer the next calls of a method with an HTTP
429 and ``Retry-After``, a 5xx, or a Slack error such as ``already_reacted``. ``reactions.add``
answers ``already_reacted`` by itself for a reaction that is already there, and
``reactions.remove`` ``no_reaction`` for one that is not, as Slack does.
It also serves ``response_url``s (``/response/<id>``), the upload URLs of
``files.getUploadURLExternal``, and the websocket URL ``apps.connections.open`` hands out
(set ``socket_url``).

It is no more lenient than Slack: every method is rate limited per workspace at its tier
(``RATE_LIMITS``, ``tests/support/rate_limits.py``), ``chat.postMessage`` per channel, and a
``response_url`` takes at most five answers; a call over its limit gets HTTP 429 with
``Retry-After`` (whole seconds), as Slack answers, and is recorded in ``rate_limited``.
``SlackAPIStandIn(limits={})`` enforces none (``NO_LIMITS``: a benchmark's "no limits" setup).

Each token belongs to one workspace (``tokens``; any token it does not know is ``TEAM_ID``'s):
``auth.test`` answers for that workspace, ``users.info`` knows only that workspace's people
(``user_not_found`` for another's), and limits count per workspace. ``enable_oauth`` adds
``oauth.v2.access`` and the install grants behind it (``tests/support/slack_oauth.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from tests.support.rate_limits import RESPONSE_URL_USES, Limit, RateLimiter
from tests.support.slack_oauth import SlackOAuth

BOT_USER_ID = "UBOT0001"
BOT_ID = "BBOT0001"
TEAM_ID = "T0001"
NO_LIMITS: dict[str, Limit] = {}


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.monotonic)
    peer: tuple[str, int] | None = None
    """The caller's address and port: calls over one kept-alive connection share it."""


@dataclass
class Scripted:
    """How to answer upcoming calls of one method instead of the normal answer."""

    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    times: int = 1


class SlackAPIStandIn:
    """Start with ``await start()``; ``base_url`` is what ``SLACK_API_URL`` should be."""

    def __init__(self, limits: dict[str, Limit] | None = None) -> None:
        """``limits``: method -> ``Limit`` (default Slack's, ``RATE_LIMITS``; ``NO_LIMITS``: none)."""
        self.calls: list[Call] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.socket_url: str | None = None
        self.uploads: dict[str, bytes] = {}
        self._scripts: dict[str, list[Scripted]] = {}
        self._reactions: set[tuple[str, str, str]] = set()
        self.added_reactions: list[tuple[str, str, str]] = []
        """Reactions actually put on messages, in order: (channel, ts, name)."""
        self.removed_reactions: list[tuple[str, str, str]] = []
        """Reactions actually taken off messages, in order: (channel, ts, name)."""
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()
        self.limiter = RateLimiter(limits)
        self.rate_limited: list[Call] = []
        """Calls answered 429 because they were over Slack's limits (not scripted ones)."""
        self.tokens: dict[str, str] = {}
        """Token -> team id, for tokens of other workspaces; any other token is ``TEAM_ID``'s."""
        self.oauth: SlackOAuth | None = None
        self.team = TEAM_ID
        """The workspace of the call being answered (its token's)."""
        self._response_uses: dict[str, int] = {}
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "reactions.add": self._reactions_add,
            "reactions.remove": self._reactions_remove,
            "users.info": self._users_info,
            "views.publish": self._views_publish,
            "conversations.info": self._conversations_info,
            "conversations.open": self._conversations_open,
            "apps.connections.open": self._connections_open,
            "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload,
        }

    # lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.add_routes(
            [
                web.post("/api/{method}", self._handle_api),
                web.get("/api/{method}", self._handle_api),
                web.post("/response/{id}", self._handle_response_url),
                web.post("/upload/{id}", self._handle_upload),
            ]
        )
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, name: str = "r1") -> str:
        return f"{self.url}/response/{name}"

    # scripting -------------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        error: str | None = None,
        status: int = 200,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with an error (HTTP or Slack)."""
        if error is None and status == 200:
            raise ValueError("give an error or an HTTP status")
        self._scripts.setdefault(method, []).append(
            Scripted(status=status, error=error, retry_after=retry_after, times=times)
        )

    def rate_limit_next(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        self.fail_next(method, status=429, retry_after=retry_after, times=times)

    def enable_oauth(
        self, client_id: str, client_secret: str, *, rotation: bool = False
    ) -> SlackOAuth:
        """Answer ``oauth.v2.access`` for the app with these credentials."""
        self.oauth = SlackOAuth(client_id, client_secret, self.tokens, rotation=rotation)
        return self.oauth

    def add_user(
        self,
        user_id: str,
        *,
        is_admin: bool = False,
        is_owner: bool = False,
        team_id: str = TEAM_ID,
        enterprise_user: dict[str, Any] | None = None,
    ) -> None:
        self.users[user_id] = {
            "id": user_id,
            "team_id": team_id,
            "name": user_id.lower(),
            "real_name": f"User {user_id}",
            "is_admin": is_admin,
            "is_owner": is_owner,
            "is_primary_owner": False,
            "is_bot": False,
            "deleted": False,
        }
        if enterprise_user is not None:
            self.users[user_id]["enterprise_user"] = enterprise_user

    # reading the record ----------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until ``method`` has been called ``count`` times; return those calls."""
        deadline = time.monotonic() + timeout
        while len(self.calls_to(method)) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = [call.method for call in self.calls]
                raise AssertionError(
                    f"{method} called {len(self.calls_to(method))} times, "
                    f"wanted {count}; calls seen: {seen}"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=min(remaining, 0.05))
        return self.calls_to(method)

    async def settle(self, quiet: float = 0.3) -> None:
        """Wait until no call has arrived for ``quiet`` seconds (to check nothing more comes)."""
        while True:
            count = len(self.calls)
            await asyncio.sleep(quiet)
            if len(self.calls) == count:
                return

    # HTTP ------------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            raw = await request.read()
            if request.content_type == "application/json":
                args.update(json.loads(raw or b"{}"))
            else:
                args.update(parse_qsl(raw.decode(), keep_blank_values=True))
        token = None
        auth = request.headers.get("Authorization", "")
        if method == "oauth.v2.access":
            return await self._oauth_access(request, args, auth)
        if auth.startswith("Bearer "):
            token = auth.removeprefix("Bearer ")
        elif "token" in args:
            token = args.pop("token")
        peer = request.transport.get_extra_info("peername") if request.transport else None
        call = Call(method, args, token, peer=tuple(peer[:2]) if peer else None)
        self._record(call)
        team = self.tokens.get(token or "", TEAM_ID)
        wait = self.limiter.acquire(team, method, str(args.get("channel", "")))
        if wait is not None:
            self.rate_limited.append(call)
            headers = {"Retry-After": str(wait)}
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers=headers
            )
        scripted = self._scripted(method)
        if scripted is not None:
            headers = {}
            if scripted.retry_after is not None:
                headers["Retry-After"] = str(scripted.retry_after)
            body: dict[str, Any] = {"ok": False, "error": scripted.error or "ratelimited"}
            if scripted.status >= 500:
                return web.Response(status=scripted.status, text="upstream failure")
            return web.json_response(body, status=scripted.status, headers=headers)
        if token is None:
            return web.json_response({"ok": False, "error": "not_authed"})
        if self.oauth is not None and self.oauth.is_expired(token):
            return web.json_response({"ok": False, "error": "token_expired"})
        handler = self.handlers.get(method)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        self.team = team
        return web.json_response(handler(args))

    async def _oauth_access(
        self, request: web.Request, args: dict[str, Any], authorization: str
    ) -> web.Response:
        """``oauth.v2.access``: no token, the app's credentials instead (HTTP Basic or form)."""
        call = Call("oauth.v2.access", args, None)
        self._record(call)
        wait = self.limiter.acquire(str(args.get("client_id", "")), call.method)
        if wait is not None:
            self.rate_limited.append(call)
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(wait)},
            )
        if self.oauth is None:
            return web.json_response({"ok": False, "error": "invalid_client_id"})
        return web.json_response(self.oauth.access(args, authorization))

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        name = request.match_info["id"]
        call = Call("response_url", await request.json(), None)
        self._record(call)
        uses = self._response_uses[name] = self._response_uses.get(name, 0) + 1
        if uses > RESPONSE_URL_USES:  # Slack: up to five answers per response_url
            self.rate_limited.append(call)
            return web.Response(status=404, text="used_url")
        return web.json_response({"ok": True})

    async def _handle_upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["id"]
        self.uploads[file_id] = await request.read()
        self._record(Call("upload", {"file_id": file_id, "size": len(self.uploads[file_id])}, None))
        return web.Response(text=f"OK - {len(self.uploads[file_id])}")

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._changed.set()

    def _scripted(self, method: str) -> Scripted | None:
        queue = self._scripts.get(method)
        if not queue:
            return None
        scripted = queue[0]
        scripted.times -= 1
        if scripted.times <= 0:
            queue.pop(0)
        return scripted

    # method answers --------------------------------------------------------------------------

    def _next_ts(self) -> str:
        return f"{1_700_000_000 + next(self._ts)}.000100"

    def _auth_test(self, _args: dict[str, Any]) -> dict[str, Any]:
        workspace = self.oauth.workspaces.get(self.team) if self.oauth is not None else None
        if workspace is not None:
            return {
                "ok": True,
                "url": f"https://{workspace.team_id.lower()}.slack.com/",
                "team": workspace.name,
                "user": "sportbot",
                "team_id": workspace.team_id,
                "user_id": workspace.bot_user_id,
                "bot_id": workspace.bot_id,
                "enterprise_id": workspace.enterprise_id,
                "is_enterprise_install": False,
            }
        return {
            "ok": True,
            "url": "https://sportbot-test.slack.com/",
            "team": "Sportbot Test",
            "user": "sportbot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _post_ephemeral(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._next_ts()}

    def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        ts = self._next_ts()
        message = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": ts}
        message["text"] = args.get("text", "")
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "channel": args.get("channel"),
            "ts": args.get("ts"),
            "text": args.get("text", ""),
        }

    def _reactions_add(self, args: dict[str, Any]) -> dict[str, Any]:
        key = (str(args.get("channel")), str(args.get("timestamp")), str(args.get("name")))
        if key in self._reactions:
            return {"ok": False, "error": "already_reacted"}
        self._reactions.add(key)
        self.added_reactions.append(key)
        return {"ok": True}

    def _reactions_remove(self, args: dict[str, Any]) -> dict[str, Any]:
        key = (str(args.get("channel")), str(args.get("timestamp")), str(args.get("name")))
        if key not in self._reactions:
            return {"ok": False, "error": "no_reaction"}
        self._reactions.discard(key)
        self.removed_reactions.append(key)
        return {"ok": True}

    @property
    def reactions(self) -> set[tuple[str, str, str]]:
        """The reactions on messages now: (channel, ts, name)."""
        return set(self._reactions)

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(args.get("user")))
        if user is None or user["team_id"] != self.team:  # another workspace's person
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        return {"ok": True, "view": {"id": f"V{next(self._ids):06d}", **(view or {})}}

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel"))
        return {
            "ok": True,
            "channel": {"id": channel, "name": "general", "is_channel": True, "is_member": True},
        }

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = str(args.get("users", ""))
        return {"ok": True, "channel": {"id": f"D{users.split(',')[0][1:]}"}}

    def _connections_open(self, _args: dict[str, Any]) -> dict[str, Any]:
        if self.socket_url is None:
            return {"ok": False, "error": "invalid_auth"}
        return {"ok": True, "url": self.socket_url}

    def _upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F{next(self._ids):08d}"
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files")
        if isinstance(files, str):
            files = json.loads(files)
        return {
            "ok": True,
            "files": [{"id": f["id"], "title": f.get("title", "")} for f in files or []],
        }
