"""Build and run the gRPC server: the scoring service, health, reflection, auth, TLS."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from v2m.server.bridge import RunningBridge, bearer_ok, start_bridge
from v2m.server.errors import UnauthenticatedError, status_for
from v2m.server.service import ScoringService
from v2m.server.settings import ServerSettings
from v2m.v1 import scoring_pb2 as pb
from v2m.v1 import scoring_pb2_grpc as pb_grpc

log = logging.getLogger("v2m.server")
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ScoringService"].full_name
_OPEN_METHODS = ("/grpc.health.v1.Health/", "/grpc.reflection.")


class _AuthAndLog(grpc.aio.ServerInterceptor):
    """Checks ``authorization: Bearer <token>`` (constant time) and logs one line per call."""

    def __init__(self, token: str):
        self.token = token

    async def intercept_service(self, continuation, details):
        method = details.method
        started = time.perf_counter()
        if self.token and not method.startswith(_OPEN_METHODS):
            sent = dict(details.invocation_metadata or ()).get("authorization", "")
            if not bearer_ok(sent, self.token):
                log.info('{"method": "%s", "status": "UNAUTHENTICATED"}', method)
                return _deny_handler()
        log.info('{"method": "%s", "at": %.3f}', method, started)
        return await continuation(details)


def _deny_handler():
    """A handler that refuses the call before any message (used for every method)."""

    async def deny_stream(request, context):
        await context.abort(*status_for(UnauthenticatedError("missing or wrong bearer token")))
        yield  # pragma: no cover

    return grpc.unary_stream_rpc_method_handler(deny_stream)


@dataclass
class RunningServer:
    """A started server: its gRPC server, bound port, scoring service and, unless
    ``http_port`` is -1, the panel / WebSocket bridge and its port."""

    grpc_server: grpc.aio.Server
    port: int
    service: ScoringService
    bridge: RunningBridge | None = None
    retention: asyncio.Task | None = None

    @property
    def http_port(self) -> int | None:
        return self.bridge.port if self.bridge else None

    async def stop(self, *, grace_s: float = 5.0) -> None:
        """Refuse new calls, give running ones ``grace_s`` to finish, then cancel the jobs
        still running and wait until their workers have stopped and cleaned up."""
        if self.retention is not None:
            self.retention.cancel()
        if self.bridge is not None:
            await self.bridge.stop()
        await self.grpc_server.stop(grace=grace_s)
        await self.service.close()


async def start_server(settings: ServerSettings) -> RunningServer:
    """Start serving (``settings.port`` 0 picks a free port; see ``RunningServer.port``)."""
    options = [
        ("grpc.max_send_message_length", settings.max_message_bytes),
        ("grpc.max_receive_message_length", settings.max_message_bytes),
    ]
    server = grpc.aio.server(interceptors=[_AuthAndLog(settings.token)], options=options)
    service = ScoringService(settings)
    pb_grpc.add_ScoringServiceServicer_to_server(service, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (
            SERVICE_NAME,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    address = f"{settings.host}:{settings.port}"
    if settings.tls_cert:
        with open(settings.tls_key, "rb") as k, open(settings.tls_cert, "rb") as c:
            creds = grpc.ssl_server_credentials([(k.read(), c.read())])
        port = server.add_secure_port(address, creds)
    else:
        port = server.add_insecure_port(address)
    await server.start()
    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    await health_servicer.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
    log.info('{"event": "listening", "address": "%s:%d"}', settings.host, port)
    bridge = None
    if settings.http_port >= 0:
        bridge = await start_bridge(service, settings)
        scheme = "https" if settings.tls_cert else "http"
        log.info('{"event": "panel", "url": "%s://%s:%d/"}', scheme, settings.host, bridge.port)
    return RunningServer(
        server, port, service, bridge, asyncio.create_task(service.retention_loop())
    )


async def serve(settings: ServerSettings) -> None:
    """Run until interrupted; on shutdown, give running calls 5 s to finish."""
    running = await start_server(settings)
    try:
        await running.grpc_server.wait_for_termination()
    finally:
        await running.stop(grace_s=5.0)
