"""Browser transport: the panel, and a WebSocket bridge to the one ``ScoringService``.

Browsers and UXP panels have no HTTP/2 gRPC. Beside the gRPC port (``http_port``) the server
serves the panel (``GET /``) and a WebSocket (``GET /v1/ws``) that carries the same RPCs. Each
frame is one JSON object; messages are the proto messages in their standard JSON mapping
(lowerCamelCase fields, int64 as strings, bytes as base64)::

    client → server  {"id": 1, "method": "Score", "message": {...},
                      "metadata": {"authorization": "Bearer TOKEN"}}     opens call 1
                     {"id": 1, "message": {...}}    a further message of a client stream
                     {"id": 1, "end": true}         the client stream is complete
                     {"id": 1, "cancel": true}      cancel call 1 (as a gRPC client would)
    server → client  {"id": 1, "message": {...}}    each response message
                     {"id": 1, "status": {"code": "OK", "message": ""}}   last frame of a call

Calls run the ScoringService methods themselves, through :class:`BridgeContext`, so auth
(the same bearer token), limits, joins, cancellation and the error table are the gRPC ones.
When the server has no token, WebSocket upgrades from other web origins are refused, so a web
page open in the editor's browser cannot drive a loopback server.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import ssl
from dataclasses import dataclass
from pathlib import Path

import grpc
from aiohttp import WSMsgType, web
from google.protobuf import json_format

from v2m.server.errors import status_for
from v2m.server.service import ScoringService
from v2m.server.settings import ServerSettings
from v2m.v1 import scoring_pb2 as pb

log = logging.getLogger("v2m.server")
PLUGINS_DIR = Path(__file__).resolve().parent.parent / "nle_plugins"
PANEL_DIR, PREMIERE_DIR = PLUGINS_DIR / "panel", PLUGINS_DIR / "premiere"
METHODS = {m.name: m for m in pb.DESCRIPTOR.services_by_name["ScoringService"].methods}


def bearer_ok(authorization: str, token: str) -> bool:
    """Whether an ``authorization`` value carries ``token`` (constant time; no token: yes)."""
    if not token:
        return True
    given = authorization[7:] if authorization.startswith("Bearer ") else ""
    return hmac.compare_digest(given.encode(), token.encode())


class CallAborted(Exception):
    """``BridgeContext.abort``: ends a bridged call with a status, as grpc's abort does."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code, self.message = code, message


class BridgeContext:
    """The part of ``grpc.aio.ServicerContext`` the service uses, for a bridged call."""

    def __init__(self, peer: str, metadata: dict[str, str]):
        self._peer, self._metadata = peer, metadata

    def peer(self) -> str:
        return self._peer

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return tuple(self._metadata.items())

    async def abort(self, code: grpc.StatusCode, details: str = "") -> None:
        raise CallAborted(code, details)


class _Socket:
    """One WebSocket: its calls (tasks) by id, their client-stream queues, one writer."""

    def __init__(self, ws: web.WebSocketResponse, peer: str):
        self.ws, self.peer = ws, peer
        self.calls: dict[int, asyncio.Task] = {}
        self.inbox: dict[int, asyncio.Queue] = {}
        self.lock = asyncio.Lock()

    async def send(self, frame: dict) -> None:
        if self.ws.closed:
            return
        async with self.lock:
            await self.ws.send_str(json.dumps(frame, separators=(",", ":")))


def _to_json(message) -> dict:
    return json_format.MessageToDict(message, always_print_fields_with_no_presence=False)


def _parse(method, data) -> object:
    request = _request_class(method)()
    try:
        json_format.ParseDict(data or {}, request)
    except json_format.ParseError as exc:
        raise CallAborted(
            grpc.StatusCode.INVALID_ARGUMENT, f"{method.name}: bad {method.input_type.name}: {exc}"
        ) from None
    return request


def _request_class(method):
    return getattr(pb, method.input_type.name)


class Bridge:
    """The aiohttp application: panel files and the WebSocket bridge."""

    def __init__(self, service: ScoringService, settings: ServerSettings):
        self.service, self.settings = service, settings
        frame_limit = settings.max_message_bytes * 4 // 3 + 64 * 1024  # base64 + JSON
        self.app = web.Application(client_max_size=frame_limit)
        self.frame_limit = frame_limit
        self.app.router.add_get("/", self._index)
        self.app.router.add_get("/v1/ws", self._websocket)
        self.app.router.add_static("/panel/", PANEL_DIR, follow_symlinks=False)
        self.app.router.add_static("/premiere/", PREMIERE_DIR, follow_symlinks=False)

    async def _index(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/panel/index.html")

    def _origin_allowed(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is None or self.settings.token:  # non-browser client, or the token guards
            return True
        own = {f"{scheme}://{request.host}" for scheme in ("http", "https")}
        return origin in own or origin in self.settings.allowed_origins

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if not self._origin_allowed(request):
            origin = request.headers.get("Origin")
            log.info('{"bridge": "refused origin", "origin": "%s"}', origin)
            return web.Response(
                status=403,
                text=f"origin {origin} may not use this server: set a token (V2M_TOKEN) "
                "or list the origin in V2M_ALLOWED_ORIGINS",
            )
        ws = web.WebSocketResponse(max_msg_size=self.frame_limit, heartbeat=30)
        await ws.prepare(request)
        host = request.remote or "unknown"
        sock = _Socket(ws, f"ipv6:[{host}]" if ":" in host else f"ipv4:{host}")
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                await self._frame(sock, msg.data)
        finally:
            for task in list(sock.calls.values()):
                task.cancel()
            if sock.calls:
                await asyncio.wait(list(sock.calls.values()), timeout=10)
        return ws

    async def _frame(self, sock: _Socket, text: str) -> None:
        try:
            frame = json.loads(text)
            call_id = int(frame["id"])
        except (ValueError, KeyError, TypeError):
            await sock.send({"error": "each frame must be a JSON object with an integer id"})
            return
        if frame.get("cancel"):
            if call_id in sock.calls:
                sock.calls[call_id].cancel()
            return
        if call_id in sock.inbox:  # a further message, or the end, of a client stream
            sock.inbox[call_id].put_nowait(None if frame.get("end") else frame.get("message"))
            return
        if call_id in sock.calls:
            await sock.send(_status(call_id, grpc.StatusCode.INVALID_ARGUMENT, "id in use"))
            return
        task = asyncio.create_task(self._call(sock, call_id, frame))
        sock.calls[call_id] = task
        task.add_done_callback(lambda _t: sock.calls.pop(call_id, None))

    async def _call(self, sock: _Socket, call_id: int, frame: dict) -> None:
        name = frame.get("method", "")
        code, message = grpc.StatusCode.OK, ""
        try:
            method = METHODS.get(name)
            if method is None:
                raise CallAborted(
                    grpc.StatusCode.UNIMPLEMENTED,
                    f"no method {name!r}; methods: {', '.join(sorted(METHODS))}",
                )
            metadata = {str(k).lower(): str(v) for k, v in (frame.get("metadata") or {}).items()}
            if not bearer_ok(metadata.get("authorization", ""), self.settings.token):
                raise CallAborted(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")
            context = BridgeContext(sock.peer, metadata)
            handler = getattr(self.service, name)
            log.info('{"method": "/v2m.v1.ScoringService/%s", "via": "websocket"}', name)
            if method.client_streaming:
                sock.inbox[call_id] = asyncio.Queue()
                if frame.get("message") is not None:
                    sock.inbox[call_id].put_nowait(frame["message"])
                reply = await handler(self._requests(sock, call_id, method), context)
                await sock.send({"id": call_id, "message": _to_json(reply)})
            elif method.server_streaming:
                async for event in handler(_parse(method, frame.get("message")), context):
                    await sock.send({"id": call_id, "message": _to_json(event)})
            else:
                reply = await handler(_parse(method, frame.get("message")), context)
                await sock.send({"id": call_id, "message": _to_json(reply)})
        except CallAborted as exc:
            code, message = exc.code, exc.message
        except asyncio.CancelledError:
            code, message = grpc.StatusCode.CANCELLED, "cancelled by the client"
        except Exception as exc:  # noqa: BLE001 — every error becomes a status
            code, message = status_for(exc)
        finally:
            sock.inbox.pop(call_id, None)
        await sock.send(_status(call_id, code, message))

    async def _requests(self, sock: _Socket, call_id: int, method):
        """A client stream's messages, as the async iterator a gRPC handler reads."""
        queue = sock.inbox[call_id]
        while (data := await queue.get()) is not None:
            yield _parse(method, data)


def _status(call_id: int, code: grpc.StatusCode, message: str) -> dict:
    return {"id": call_id, "status": {"code": code.name, "message": message}}


@dataclass
class RunningBridge:
    runner: web.AppRunner
    port: int

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_bridge(service: ScoringService, settings: ServerSettings) -> RunningBridge:
    """Serve the panel and the bridge on ``settings.http_port`` (0: a free port)."""
    bridge = Bridge(service, settings)
    runner = web.AppRunner(bridge.app, access_log=None, handle_signals=False)
    await runner.setup()
    context = None
    if settings.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(settings.tls_cert, settings.tls_key)
    site = web.TCPSite(runner, settings.host, settings.http_port, ssl_context=context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # the bound port when 0 was asked
    return RunningBridge(runner, port)
