"""A stand-in for Slack's Socket Mode endpoint: an aiohttp websocket server on loopback.

Point the Web API stand-in's ``socket_url`` at ``url`` so that ``apps.connections.open`` hands it
out. On connect it greets the client with ``hello`` as Slack does; ``send`` pushes an envelope
and ``wait_for_ack`` returns the client's acknowledgement (``{"envelope_id": …, "payload"?: …}``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

from aiohttp import WSMsgType, web


class SocketModeStandIn:
    def __init__(self) -> None:
        self.acks: dict[str, dict[str, Any]] = {}
        self.connected = asyncio.Event()
        self._sockets: list[web.WebSocketResponse] = []
        self._acked = asyncio.Event()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> None:
        app = web.Application()
        app.add_routes([web.get("/link", self._handle)])
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        for socket in list(self._sockets):
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/link?ticket=test-ticket"

    async def send(
        self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool = False
    ) -> str:
        """Push an envelope (``events_api``, ``slash_commands``, ``interactive``); return its id."""
        await asyncio.wait_for(self.connected.wait(), timeout=30)
        envelope_id = f"env-{next(self._ids):04d}"
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if kind == "events_api":
            envelope["retry_attempt"] = 0
            envelope["retry_reason"] = ""
        await self._sockets[-1].send_str(json.dumps(envelope))
        return envelope_id

    async def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        async def acked() -> dict[str, Any]:
            while envelope_id not in self.acks:
                self._acked.clear()
                await self._acked.wait()
            return self.acks[envelope_id]

        return await asyncio.wait_for(acked(), timeout)

    async def _handle(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self._sockets.append(socket)
        await socket.send_str(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "debug_info": {"host": "applink-test", "approximate_connection_time": 18060},
                    "connection_info": {"app_id": "A0SPORTBOT"},
                }
            )
        )
        self.connected.set()
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                data = json.loads(message.data)
                if "envelope_id" in data:
                    self.acks[data["envelope_id"]] = data
                    self._acked.set()
        self._sockets.remove(socket)
        return socket
