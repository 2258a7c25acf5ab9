"""Content-addressed uploads: bytes streamed to a temporary file, hashed on the way, renamed to
``<sha256><ext>`` when complete. A file the store already has costs nothing to keep."""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from pathlib import Path

from v2m.model.errors import MediaNotFoundError
from v2m.model.folders import PARTIAL_MARK
from v2m.server.errors import BadRequestError, OverAllowanceError

_ID = re.compile(r"^[0-9a-f]{64}$")
_EXT = re.compile(r"^\.[A-Za-z0-9]{1,8}$")


class UploadTooLargeError(OverAllowanceError):
    """More bytes than the server accepts (RESOURCE_EXHAUSTED)."""


def find_upload(folder: Path, upload_id: str) -> Path:
    if not _ID.match(upload_id or ""):
        raise BadRequestError(f"upload id must be 64 hex digits (a sha256), got {upload_id!r}")
    matches = sorted(folder.glob(f"{upload_id}*")) if folder.is_dir() else []
    if not matches:
        raise MediaNotFoundError(f"no upload {upload_id!r} on this server")
    return matches[0]


class UploadStore:
    def __init__(self, folder: Path, *, max_bytes: int):
        self.folder = folder
        self.max_bytes = max_bytes
        folder.mkdir(parents=True, exist_ok=True)

    def begin(self) -> _Upload:
        return _Upload(self)


class _Upload:
    def __init__(self, store: UploadStore):
        self.store = store
        self.tmp = store.folder / f".{uuid.uuid4().hex}{PARTIAL_MARK}upload"
        self.file = open(self.tmp, "wb")  # noqa: SIM115 — closed in finish/discard
        self.hash = hashlib.sha256()
        self.size = 0
        self.ext = ""
        self.expected_hash = ""
        self.expected_size = 0
        self.first = True

    def add(self, chunk) -> None:
        if self.first:
            self.first = False
            ext = os.path.splitext(chunk.filename)[1]
            self.ext = ext.lower() if _EXT.match(ext) else ""
            self.expected_hash = chunk.sha256.lower()
            self.expected_size = chunk.total_bytes
            if self.expected_size > self.store.max_bytes:
                raise UploadTooLargeError(
                    f"upload of {self.expected_size} bytes exceeds the server's limit of "
                    f"{self.store.max_bytes} bytes"
                )
        self.size += len(chunk.data)
        if self.size > self.store.max_bytes:
            raise UploadTooLargeError(
                f"upload exceeds the server's limit of {self.store.max_bytes} bytes"
            )
        self.hash.update(chunk.data)
        self.file.write(chunk.data)

    def finish(self) -> tuple[str, int, bool]:
        self.file.close()
        digest = self.hash.hexdigest()
        if self.size == 0:
            raise BadRequestError("the upload carried no bytes")
        if self.expected_size and self.expected_size != self.size:
            raise BadRequestError(
                f"upload ended after {self.size} of the announced {self.expected_size} bytes"
            )
        if self.expected_hash and self.expected_hash != digest:
            raise BadRequestError(
                f"upload sha256 {digest} does not match the announced {self.expected_hash}"
            )
        final = self.store.folder / f"{digest}{self.ext}"
        present = final.exists()
        if not present:
            os.replace(self.tmp, final)
        return digest, self.size, present

    def discard(self) -> None:
        if not self.file.closed:
            self.file.close()
        self.tmp.unlink(missing_ok=True)
