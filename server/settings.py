"""Server settings: one typed object from ``V2M_*`` environment variables and a TOML file.

Precedence: explicit arguments (the CLI) > environment > TOML file > defaults.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from v2m.model.errors import InvalidInputError


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 50051
    http_port: int | None = None
    """The browser panel and its WebSocket bridge: ``None`` the gRPC port + 1 (a free port
    when that is 0), 0 a free port, -1 off."""
    data_dir: str = "v2m-data"
    media_roots: tuple[str, ...] = field(default_factory=tuple)
    """Folders whose files clients may name by path; empty: the current folder."""
    max_message_bytes: int = 16 * 1024 * 1024
    max_upload_bytes: int = 2 * 1024**3
    max_streams_per_client: int = 8
    """Analyze/Score streams one client (one connection, with its token) may hold open."""
    max_streams_total: int = 64
    """Analyze/Score streams open on the whole server at once."""
    max_media_duration_s: float = 20 * 60.0
    max_frame_side_px: int = 8192
    workers: int = 2
    """Score jobs running at once (CPU work; a GPU backend is serialised separately). With
    ``ray``, the CPU replicas started on the cluster: set it to the jobs the cluster should
    run at once (about its CPU count)."""
    ray: str = ""
    """Run jobs on a Ray cluster: ``auto`` (the one started on this machine by ``ray start
    --head``) or its ``HOST:PORT``; empty: in this process (the local executor)."""
    max_queue: int = 8
    """Score jobs waiting beyond the running ones; more are refused with RESOURCE_EXHAUSTED."""
    retention_max_age_s: float = 7 * 24 * 3600.0
    """Finished jobs' artifacts and uploads older than this are deleted (0: kept forever)."""
    retention_max_bytes: int = 20 * 1024**3
    """Beyond this much, the oldest finished jobs and uploads are deleted (0: no limit)."""
    token: str = ""
    """Bearer token clients must send; required when binding beyond loopback. Give it by
    ``V2M_TOKEN`` or a file (``token_file``), not on the command line, where every user of the
    machine can read it in the process list."""
    token_file: str = ""
    """A file holding the token (its first line); read at start-up."""
    insecure: bool = False
    """Allow a token over plain text beyond loopback (no TLS): only on a trusted network."""
    tls_cert: str = ""
    tls_key: str = ""
    allowed_origins: tuple[str, ...] = field(default_factory=tuple)
    """Web origins (``http://host:port``) besides the server's own that may open the bridge
    when no token is set (with a token, the token decides)."""

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise InvalidInputError(f"port must be 0..65535, got {self.port}")
        if self.http_port is None:
            object.__setattr__(self, "http_port", self.port + 1 if self.port else 0)
        if not -1 <= self.http_port <= 65535:
            raise InvalidInputError(
                f"http_port must be 0..65535, or -1 for no panel, got {self.http_port}"
            )
        _check_numbers(self)
        if self.token_file and not self.token:
            object.__setattr__(self, "token", _read_token(self.token_file))
        if not self.is_loopback and not self.token:
            raise InvalidInputError(
                f"binding {self.host!r} reaches beyond this machine: set a token "
                "(V2M_TOKEN, or --token-file FILE) so that only your clients can use the server"
            )
        if bool(self.tls_cert) != bool(self.tls_key):
            raise InvalidInputError("TLS needs both a certificate and a key (tls_cert, tls_key)")
        if not self.is_loopback and not self.tls_cert and not self.insecure:
            raise InvalidInputError(
                f"binding {self.host!r} without TLS would send the token and the media in plain "
                "text over the network: give --tls-cert and --tls-key, or --insecure to accept "
                "that on a network you trust"
            )

    @property
    def plain_text_beyond_loopback(self) -> bool:
        """Serving a token without TLS to other machines (allowed only with ``insecure``)."""
        return not self.is_loopback and not self.tls_cert

    @property
    def is_loopback(self) -> bool:
        return self.host in ("127.0.0.1", "localhost", "::1") or self.host.startswith("127.")

    @property
    def roots(self) -> tuple[Path, ...]:
        return tuple(Path(r).resolve() for r in (self.media_roots or (os.getcwd(),)))


_RANGES = {
    "max_message_bytes": (64 * 1024, 2**31 - 1),
    "max_upload_bytes": (1, 2**50),
    "max_streams_per_client": (1, 10_000),
    "max_streams_total": (1, 100_000),
    "max_media_duration_s": (1.0, 48 * 3600.0),
    "max_frame_side_px": (16, 65536),
    "workers": (1, 1024),
    "max_queue": (0, 100_000),
    "retention_max_age_s": (0.0, 10 * 365 * 86400.0),
    "retention_max_bytes": (0, 2**60),
}


def _check_numbers(settings: ServerSettings) -> None:
    import math

    for name, (low, high) in _RANGES.items():
        value = getattr(settings, name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInputError(f"{name} must be a number, got {value!r}")
        if not (math.isfinite(value) and low <= value <= high):
            raise InvalidInputError(f"{name} must be {low:g}..{high:g}, got {value!r}")


def _read_token(path: str) -> str:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read the token file {path!r}: {exc}") from exc
    token = lines[0].strip() if lines else ""
    if not token:
        raise InvalidInputError(f"the token file {path!r} is empty")
    return token


def _flag(raw: str) -> bool:
    value = raw.strip().lower()
    if value not in ("1", "0", "true", "false", "yes", "no", "on", "off", ""):
        raise InvalidInputError(f"{raw!r} is not true or false")
    return value in ("1", "true", "yes", "on")


_CASTS = {int: int, float: float, str: str, bool: _flag}


def load_settings(*, toml_path: str | None = None, env=None, **overrides) -> ServerSettings:
    """Settings from a TOML file, then ``V2M_<FIELD>`` variables, then ``overrides``."""
    env = os.environ if env is None else env
    values: dict = {}
    if toml_path:
        with open(toml_path, "rb") as f:
            try:
                values.update(tomllib.load(f).get("server", {}))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise InvalidInputError(f"{toml_path}: not valid TOML ({exc})") from exc
    for f in fields(ServerSettings):
        raw = env.get(f"V2M_{f.name.upper()}")
        if raw is None:
            continue
        if f.name == "media_roots":
            values[f.name] = tuple(p for p in raw.split(os.pathsep) if p)
        elif f.name == "allowed_origins":
            values[f.name] = tuple(o.strip() for o in raw.split(",") if o.strip())
        else:
            default = ServerSettings.__dataclass_fields__[f.name].default
            cast = int if f.name == "http_port" else _CASTS.get(type(default), str)
            try:
                values[f.name] = cast(raw)
            except ValueError as exc:
                kind = "true or false" if cast is _flag else f"a valid {cast.__name__}"
                raise InvalidInputError(f"V2M_{f.name.upper()}={raw!r} is not {kind}") from exc
    values.update({k: v for k, v in overrides.items() if v is not None})
    for name in ("media_roots", "allowed_origins"):
        if name in values:
            values[name] = tuple(values[name])
    unknown = set(values) - {f.name for f in fields(ServerSettings)}
    if unknown:
        raise InvalidInputError(f"unknown server setting(s): {', '.join(sorted(unknown))}")
    return ServerSettings(**values)
