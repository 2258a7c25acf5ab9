"""The server's own errors, and the one table from every typed error to a gRPC status code
(DESIGN §6). Handlers raise; only ``status_for`` chooses a code. An error no row names — a
bug — is ``INTERNAL`` with a request id, its traceback in the server log only."""

from __future__ import annotations

import logging
import uuid

import grpc

from v2m.model.errors import (
    InvalidInputError,
    LimitExceededError,
    MediaNotFoundError,
    WeightsNotFoundError,
)
from v2m.nle_plugins.errors import (
    MissingMediaError,
    SelectionError,
    TimelineReadError,
    UnsupportedFormatError,
)

log = logging.getLogger("v2m.server")


class ServerError(Exception):
    """Root of the errors the server raises itself (not the model's or the timelines')."""


class PathOutsideRootsError(ServerError, PermissionError):
    """A media path that resolves outside every configured media root."""


class OverAllowanceError(ServerError):
    """A server allowance is used up: the queue, a client's streams, an upload's size, a
    message's size. Retry later or send less."""


class QueueFullError(OverAllowanceError):
    """The job queue is full; retry later."""


class BadRequestError(ServerError, ValueError):
    """A request the service contract cannot take: a malformed message or frame, an unknown
    audio format, no media named."""


class UnknownJobError(ServerError, LookupError):
    """No such job (never existed, forgotten at a restart, or its results were removed)."""


class JobDeliveredError(ServerError):
    """WatchJob on a job that has finished and delivered everything (use GetJob)."""


class JobCancelled(ServerError):
    """A job stopped because it was cancelled (raised inside it at its next progress report)."""


class JobFailed(ServerError):
    """A follower of a job that failed: carries the status the job itself ended with."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code


class UnauthenticatedError(ServerError):
    """A missing or wrong bearer token."""


class UnknownMethodError(ServerError):
    """A bridged call names no method of the service."""


class ShuttingDownError(ServerError):
    """The server is stopping and takes no new work."""


class ExecutorSetupError(ServerError):
    """The executor cannot run work as configured: Ray missing, no cluster at the address, a
    node that cannot see the shared storage."""


class WorkerLostError(ServerError):
    """The cluster worker running a job died before it finished (the job is not retried)."""


STATUS_TABLE: tuple[tuple[type[BaseException], grpc.StatusCode], ...] = (
    (PathOutsideRootsError, grpc.StatusCode.PERMISSION_DENIED),
    (UnauthenticatedError, grpc.StatusCode.UNAUTHENTICATED),
    (UnknownMethodError, grpc.StatusCode.UNIMPLEMENTED),
    (OverAllowanceError, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (LimitExceededError, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (UnknownJobError, grpc.StatusCode.NOT_FOUND),
    (MediaNotFoundError, grpc.StatusCode.NOT_FOUND),
    (MissingMediaError, grpc.StatusCode.NOT_FOUND),
    (JobDeliveredError, grpc.StatusCode.FAILED_PRECONDITION),
    (WeightsNotFoundError, grpc.StatusCode.FAILED_PRECONDITION),
    (JobCancelled, grpc.StatusCode.CANCELLED),
    (ShuttingDownError, grpc.StatusCode.UNAVAILABLE),
    (WorkerLostError, grpc.StatusCode.UNAVAILABLE),
    (ExecutorSetupError, grpc.StatusCode.FAILED_PRECONDITION),
    (BadRequestError, grpc.StatusCode.INVALID_ARGUMENT),
    (InvalidInputError, grpc.StatusCode.INVALID_ARGUMENT),
    (UnsupportedFormatError, grpc.StatusCode.INVALID_ARGUMENT),
    (TimelineReadError, grpc.StatusCode.INVALID_ARGUMENT),
    (SelectionError, grpc.StatusCode.INVALID_ARGUMENT),
)
"""First match wins: more specific kinds before their bases."""


def status_for(error: BaseException) -> tuple[grpc.StatusCode, str]:
    """(code, message) for an error; unknown errors become INTERNAL with a request id."""
    if isinstance(error, JobFailed):
        return error.code, str(error)
    for kind, code in STATUS_TABLE:
        if isinstance(error, kind):
            return code, str(error)
    request_id = uuid.uuid4().hex[:12]
    log.exception("internal error %s", request_id, exc_info=error)
    return grpc.StatusCode.INTERNAL, f"internal error (request id {request_id}); see server log"
