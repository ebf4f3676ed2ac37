"""aiohttp handlers of the stream WebSockets: routed and legacy market paths, user data, control frames.

Paths (protocol doc §1): ``/ws``, ``/ws/<stream>``, ``/stream?streams=a/b`` and the same under ``/public``
and ``/market``; user data on ``/private/ws?listenKey=<key>``, ``/private/ws/<key>`` and legacy
``/ws/<listenKey>``. Control frames: SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS / SET_PROPERTY /
GET_PROPERTY; more than ``STREAM_MSGS_PER_S`` inbound frames per second disconnect the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from phoenix.exchange.sim.faults import FaultInjector
from phoenix.exchange.sim.streams import MarketStreamHub, StreamConnection, run_writer
from phoenix.exchange.sim.userstream import UserStreamHub

STREAM_MSGS_PER_S = 10
HEARTBEAT_S = 180.0
CLOSE_TIMEOUT_S = 2.0  # how long a server-initiated close waits for the peer's close frame


class StreamRoutes:
    """Serves market and user-data WebSocket connections.

    Args:
        market: Market stream hub (subscriptions, fan-out).
        users: User stream hub (listenKeys).
        faults: Fault injector (refused routes, strict routing).
        clock_ms: Wall clock for frame timestamps and rate windows (no skew).
    """

    def __init__(
        self,
        market: MarketStreamHub,
        users: UserStreamHub,
        faults: FaultInjector,
        clock_ms: Callable[[], int],
    ) -> None:
        self.market = market
        self.users = users
        self.faults = faults
        self._base_clock = clock_ms

    def routes(self) -> list[web.RouteDef]:
        """Route definitions of every stream path."""
        out = []
        for prefix, route in (("", "legacy"), ("/public", "public"), ("/market", "market")):
            out.append(web.get(f"{prefix}/ws", self._stream_handler(route, combined=False)))
            out.append(web.get(f"{prefix}/ws/{{name:.+}}", self._stream_handler(route, combined=False)))
            out.append(web.get(f"{prefix}/stream", self._stream_handler(route, combined=True)))
        out.append(web.get("/private/ws", self._private_handler))
        out.append(web.get("/private/ws/{name}", self._private_handler))
        out.append(web.get("/private/stream", self._private_handler))
        return out

    def _stream_handler(self, route: str, *, combined: bool) -> Callable[[web.Request], Any]:
        async def handle(request: web.Request) -> web.StreamResponse:
            name = request.match_info.get("name", "")
            if route == "legacy" and name and self.users.lookup(name) is not None:
                # legacy /ws/<listenKey>: delivered unless strict mode mimics mainnet's silence
                return await self._serve_private(request, name, silent=self.faults.state.strict_routes)
            streams: list[str] = []
            if combined:
                streams = [s for s in request.query.get("streams", "").split("/") if s]
            elif name:
                streams = [s for s in name.split("/") if s and not s.isdigit()]
            return await self._serve_market(request, route, combined, streams)

        return handle

    async def _private_handler(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info.get("name") or request.query.get("listenKey", "")
        return await self._serve_private(request, key, silent=False)

    async def _serve_market(
        self, request: web.Request, route: str, combined: bool, streams: list[str]
    ) -> web.StreamResponse:
        if self.faults.refuses(route):
            return web.json_response({"code": -1001, "msg": "Service Unavailable."}, status=503)
        ws = web.WebSocketResponse(
            heartbeat=HEARTBEAT_S, autoping=True, max_msg_size=1 << 20, timeout=CLOSE_TIMEOUT_S
        )
        await ws.prepare(request)
        conn = self.market.new_connection(ws, route, combined)
        writer = asyncio.create_task(
            run_writer(conn, self.faults, route, self._base_clock), name="sim-ws-writer"
        )
        try:
            if streams:
                self.market.subscribe(conn, streams)
            await self._read_control(conn)
        finally:
            self.market.remove_connection(conn)
            await _finish_writer(writer)
        return ws

    async def _serve_private(
        self, request: web.Request, listen_key: str, *, silent: bool
    ) -> web.StreamResponse:
        if self.faults.refuses("private"):
            return web.json_response({"code": -1001, "msg": "Service Unavailable."}, status=503)
        if self.users.lookup(listen_key) is None:
            return web.json_response(
                {"code": -1125, "msg": "This listenKey does not exist. Please use POST /fapi/v1/listenKey to "
                 "recreate listenKey"}, status=400,
            )  # fmt: skip
        ws = web.WebSocketResponse(
            heartbeat=HEARTBEAT_S, autoping=True, max_msg_size=1 << 20, timeout=CLOSE_TIMEOUT_S
        )
        await ws.prepare(request)
        conn = self.market.new_connection(ws, "private", combined=False)
        events = request.query.get("events")
        if events:
            conn.events_allowed = frozenset(e for e in events.split("/") if e)
        self.users.attach(conn, listen_key, deliver=not silent)
        writer = asyncio.create_task(
            run_writer(conn, self.faults, "private", self._base_clock), name="sim-ws-writer"
        )
        try:
            await self._read_control(conn)
        finally:
            self.users.detach(conn)
            self.market.remove_connection(conn)
            await _finish_writer(writer)
        return ws

    async def _read_control(self, conn: StreamConnection) -> None:
        window_start = 0.0
        count = 0
        async for msg in conn.ws:
            if conn.closed:
                break
            if msg.type is not WSMsgType.TEXT:
                continue
            now = time.monotonic()  # a real-time limit, whatever clock the server runs on
            if now - window_start >= 1.0:
                window_start, count = now, 0
            count += 1
            if count > STREAM_MSGS_PER_S:
                conn.closed = True
                conn.wakeup.set()
                break
            reply = self._control(conn, msg.data)
            if reply is not None:
                conn.enqueue(orjson.dumps(reply))

    def _control(self, conn: StreamConnection, text: str) -> dict[str, Any] | None:
        try:
            req = orjson.loads(text)
        except orjson.JSONDecodeError:
            return {"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1"}
        if not isinstance(req, dict):
            return {"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1"}
        req_id = req.get("id")
        if not isinstance(req_id, int) or isinstance(req_id, bool) or req_id < 0:
            return {"code": 2, "msg": "Invalid request: request ID must be an unsigned integer", "id": req_id}
        method = req.get("method")
        params = req.get("params") or []
        if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
                return {"code": 2, "msg": "Invalid request: invalid stream", "id": req_id}
            if conn.route == "private":
                return {"result": None, "id": req_id}
            if method == "SUBSCRIBE":
                # the ack is queued before any data of the new streams (ccxt waits for it)
                conn.enqueue(orjson.dumps({"result": None, "id": req_id}))
                self.market.subscribe(conn, params)
                return None
            self.market.unsubscribe(conn, params)
            return {"result": None, "id": req_id}
        if method == "LIST_SUBSCRIPTIONS":
            return {"result": list(conn.subs.values()), "id": req_id}
        if method == "SET_PROPERTY":
            if not isinstance(params, list) or len(params) != 2 or params[0] != "combined":
                return {"code": 0, "msg": "Unknown property", "id": req_id}
            if not isinstance(params[1], bool):
                return {"code": 1, "msg": "Invalid value type: expected Boolean", "id": req_id}
            conn.combined = params[1]
            return {"result": None, "id": req_id}
        if method == "GET_PROPERTY":
            if not isinstance(params, list) or params != ["combined"]:
                return {"code": 0, "msg": "Unknown property", "id": req_id}
            return {"result": conn.combined, "id": req_id}
        return {
            "code": 2,
            "msg": f"Invalid request: unknown variant {method}, expected one of SUBSCRIBE, UNSUBSCRIBE, "
            "LIST_SUBSCRIPTIONS, SET_PROPERTY, GET_PROPERTY",
            "id": req_id,
        }


async def _finish_writer(writer: asyncio.Task[None]) -> None:
    writer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await writer
