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

from v2m.server.errors import (
    BadRequestError,
    JobCancelled,
    OverAllowanceError,
    UnauthenticatedError,
    UnknownMethodError,
    status_for,
)
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


def _parse(method, data, *, max_bytes: int) -> object:
    """The request message of ``method`` from its JSON mapping: BadRequestError when it is not
    one, OverAllowanceError when it is larger than gRPC would accept."""
    if data is not None and not isinstance(data, dict):
        raise BadRequestError(
            f"{method.name}: the message must be a JSON object, got {type(data).__name__}"
        )
    request = _request_class(method)()
    try:
        json_format.ParseDict(data or {}, request)
    except (json_format.ParseError, TypeError, ValueError, AttributeError) as exc:
        raise BadRequestError(f"{method.name}: bad {method.input_type.name}: {exc}") from None
    size = request.ByteSize()
    if size > max_bytes:
        raise OverAllowanceError(
            f"{method.name}: a {size}-byte message exceeds this server's limit of {max_bytes} "
            "bytes per message (the same as over gRPC)"
        )
    return request


def _request_class(method):
    return getattr(pb, method.input_type.name)


MAX_FRAME_VALUES = 10_000
"""Most JSON values (counted by separators and brackets) one frame may hold: requests are small
(a Score request carries at most 1000 markers; upload data is one string), so a frame of
millions of tiny values is refused before it becomes millions of Python objects."""
MAX_CALL_ID = 2**53
_ENVELOPE_KEYS = {"id": int, "method": str, "message": dict, "metadata": dict}
_ENVELOPE_FLAGS = ("cancel", "end")


class BadFrame(Exception):
    """A frame that is not a valid envelope; ``call_id`` when one could be read."""

    def __init__(self, message: str, call_id: int | None = None):
        super().__init__(message)
        self.call_id = call_id


def read_frame(text: str) -> dict:
    """A client frame, checked: a JSON object with an integer ``id`` (0 .. 2**53), optional
    ``method`` (text), ``message`` (object), ``metadata`` (object of text), ``cancel`` and
    ``end`` (true/false). Raises BadFrame naming what is wrong."""
    values = text.count(",") + text.count("[") + text.count("{")
    if values > MAX_FRAME_VALUES:
        raise BadFrame(
            f"a frame may hold at most {MAX_FRAME_VALUES} JSON values; this one holds about "
            f"{values}"
        )
    try:
        frame = json.loads(text)
    except RecursionError:
        raise BadFrame("the frame's JSON is nested too deeply") from None
    except ValueError as exc:
        raise BadFrame(f"the frame is not JSON ({exc})") from None
    if not isinstance(frame, dict):
        raise BadFrame(f"each frame must be a JSON object, got {type(frame).__name__}")
    call_id = frame.get("id")
    if isinstance(call_id, bool) or not isinstance(call_id, int):
        raise BadFrame(f"each frame needs an integer id, got {call_id!r}")
    if not 0 <= call_id <= MAX_CALL_ID:
        raise BadFrame(f"id must be 0..2**53, got {call_id}")
    for key, kind in _ENVELOPE_KEYS.items():
        if frame.get(key) is not None and not isinstance(frame[key], kind):
            raise BadFrame(
                f"frame field {key!r} must be {kind.__name__}, got {frame[key]!r:.80}", call_id
            )
    for key in _ENVELOPE_FLAGS:
        if key in frame and not isinstance(frame[key], bool):
            raise BadFrame(f"frame field {key!r} must be true or false", call_id)
    metadata = frame.get("metadata") or {}
    if not all(isinstance(v, str) for v in metadata.values()):
        raise BadFrame("metadata values must be text", call_id)
    unknown = set(frame) - set(_ENVELOPE_KEYS) - set(_ENVELOPE_FLAGS)
    if unknown:
        raise BadFrame(f"unknown frame fields {sorted(unknown)}", call_id)
    return frame


class Bridge:
    """The aiohttp application: panel files and the WebSocket bridge."""

    def __init__(self, service: ScoringService, settings: ServerSettings):
        self.service, self.settings = service, settings
        # A frame carries one message in JSON: bytes grow by 4/3 in base64, plus the envelope.
        self.max_message_bytes = settings.max_message_bytes
        frame_limit = settings.max_message_bytes * 4 // 3 + 4096
        self.app = web.Application(client_max_size=frame_limit)
        self.frame_limit = frame_limit
        self.port = 0
        """The port actually bound (set once listening): the origin rule compares with it."""
        self.app.router.add_get("/", self._index)
        self.app.router.add_get("/v1/ws", self._websocket)
        self.app.router.add_static("/panel/", PANEL_DIR, follow_symlinks=False)
        self.app.router.add_static("/premiere/", PREMIERE_DIR, follow_symlinks=False)

    async def _index(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/panel/index.html")

    def _origin_allowed(self, request: web.Request) -> bool:
        """Non-browser clients send no Origin; with a token, the token decides. Otherwise only
        pages served by this server itself — a loopback origin with the port it listens on —
        and the configured origins. Never the request's own Host header: a page on a DNS
        rebinding domain sends a Host that matches its Origin."""
        origin = request.headers.get("Origin")
        if origin is None or self.settings.token:
            return True
        return origin in self.own_origins() or origin in self.settings.allowed_origins

    def own_origins(self) -> set[str]:
        hosts = {"127.0.0.1", "localhost", "[::1]"}
        host = self.settings.host
        if self.settings.is_loopback:
            hosts.add(f"[{host}]" if ":" in host else host)
        return {f"{scheme}://{host}:{self.port}" for scheme in ("http", "https") for host in hosts}

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
        peername = request.transport.get_extra_info("peername") if request.transport else None
        host, port = (peername or ("unknown", 0))[:2]
        sock = _Socket(ws, f"ipv6:[{host}]:{port}" if ":" in host else f"ipv4:{host}:{port}")
        try:
            async for msg in ws:
                if msg.type == WSMsgType.BINARY:
                    await sock.send(
                        {"error": "binary frames are not supported; send JSON text frames"}
                    )
                elif msg.type == WSMsgType.TEXT:
                    await self._frame(sock, msg.data)
        finally:
            for task in list(sock.calls.values()):
                task.cancel()
            if sock.calls:
                await asyncio.wait(list(sock.calls.values()), timeout=10)
        return ws

    async def _frame(self, sock: _Socket, text: str) -> None:
        try:
            frame = read_frame(text)
        except BadFrame as exc:
            if exc.call_id is None or exc.call_id in sock.calls:
                await sock.send({"error": str(exc)})
            else:
                await sock.send(_status(exc.call_id, *status_for(BadRequestError(str(exc)))))
            return
        call_id = frame["id"]
        if frame.get("cancel"):
            if call_id in sock.calls:
                sock.calls[call_id].cancel()
            return
        if call_id in sock.inbox:  # a further message, or the end, of a client stream
            sock.inbox[call_id].put_nowait(None if frame.get("end") else frame.get("message"))
            return
        if call_id in sock.calls:
            in_use = BadRequestError(f"call id {call_id} is in use on this socket")
            await sock.send(_status(call_id, *status_for(in_use)))
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
                raise UnknownMethodError(
                    f"no method {name!r}; methods: {', '.join(sorted(METHODS))}"
                )
            metadata = {k.lower(): v for k, v in (frame.get("metadata") or {}).items()}
            if not bearer_ok(metadata.get("authorization", ""), self.settings.token):
                raise UnauthenticatedError("missing or wrong bearer token")
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
                request = _parse(method, frame.get("message"), max_bytes=self.max_message_bytes)
                async for event in handler(request, context):
                    await sock.send({"id": call_id, "message": _to_json(event)})
            else:
                request = _parse(method, frame.get("message"), max_bytes=self.max_message_bytes)
                reply = await handler(request, context)
                await sock.send({"id": call_id, "message": _to_json(reply)})
        except CallAborted as exc:
            code, message = exc.code, exc.message
        except asyncio.CancelledError:
            code, message = status_for(JobCancelled("cancelled by the client"))
        except Exception as exc:  # noqa: BLE001 — every error becomes a status
            code, message = status_for(exc)
        finally:
            sock.inbox.pop(call_id, None)
        await sock.send(_status(call_id, code, message))

    async def _requests(self, sock: _Socket, call_id: int, method):
        """A client stream's messages, as the async iterator a gRPC handler reads."""
        queue = sock.inbox[call_id]
        while (data := await queue.get()) is not None:
            yield _parse(method, data, max_bytes=self.max_message_bytes)


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
    bridge.port = port
    return RunningBridge(runner, port)
