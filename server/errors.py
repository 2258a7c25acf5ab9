"""One table from typed errors to gRPC status codes (DESIGN §6)."""

from __future__ import annotations

import logging
import uuid

import grpc

from v2m.model.errors import (
    InvalidInputError,
    LimitExceededError,
    MediaNotFoundError,
    ModelError,
    WeightsNotFoundError,
)
from v2m.nle_plugins.errors import MissingMediaError, TimelineError

log = logging.getLogger("v2m.server")


class PathOutsideRootsError(ModelError, PermissionError):
    """A media path that resolves outside every configured media root."""


class QueueFullError(LimitExceededError):
    """The job queue is full; retry later."""


STATUS_TABLE: tuple[tuple[type[BaseException], grpc.StatusCode], ...] = (
    (PathOutsideRootsError, grpc.StatusCode.PERMISSION_DENIED),
    (MediaNotFoundError, grpc.StatusCode.NOT_FOUND),
    (WeightsNotFoundError, grpc.StatusCode.FAILED_PRECONDITION),
    (LimitExceededError, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (InvalidInputError, grpc.StatusCode.INVALID_ARGUMENT),
    (ModelError, grpc.StatusCode.INVALID_ARGUMENT),
    (MissingMediaError, grpc.StatusCode.NOT_FOUND),
    (TimelineError, grpc.StatusCode.INVALID_ARGUMENT),
)


def status_for(error: BaseException) -> tuple[grpc.StatusCode, str]:
    """(code, message) for an error; unknown errors become INTERNAL with a request id."""
    for kind, code in STATUS_TABLE:
        if isinstance(error, kind):
            return code, str(error)
    request_id = uuid.uuid4().hex[:12]
    log.exception("internal error %s", request_id, exc_info=error)
    return grpc.StatusCode.INTERNAL, f"internal error (request id {request_id}); see server log"
