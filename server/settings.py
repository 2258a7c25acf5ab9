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
    """Analyze/Score streams one client address may hold open at once."""
    max_media_duration_s: float = 20 * 60.0
    max_frame_side_px: int = 8192
    workers: int = 2
    """Score jobs running at once (CPU work; a GPU backend is serialised separately)."""
    max_queue: int = 8
    """Score jobs waiting beyond the running ones; more are refused with RESOURCE_EXHAUSTED."""
    token: str = ""
    """Bearer token clients must send; required when binding beyond loopback."""
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
        if self.workers < 1 or self.max_queue < 0 or self.max_message_bytes < 64 * 1024:
            raise InvalidInputError(
                "workers must be >= 1, max_queue >= 0 and max_message_bytes >= 64 KiB"
            )
        if not self.is_loopback and not self.token:
            raise InvalidInputError(
                f"binding {self.host!r} reaches beyond this machine: set a token "
                "(V2M_TOKEN or --token) so that only your clients can use the server"
            )
        if bool(self.tls_cert) != bool(self.tls_key):
            raise InvalidInputError("TLS needs both a certificate and a key (tls_cert, tls_key)")

    @property
    def is_loopback(self) -> bool:
        return self.host in ("127.0.0.1", "localhost", "::1") or self.host.startswith("127.")

    @property
    def roots(self) -> tuple[Path, ...]:
        return tuple(Path(r).resolve() for r in (self.media_roots or (os.getcwd(),)))


_CASTS = {int: int, float: float, str: str}


def load_settings(*, toml_path: str | None = None, env=None, **overrides) -> ServerSettings:
    """Settings from a TOML file, then ``V2M_<FIELD>`` variables, then ``overrides``."""
    env = os.environ if env is None else env
    values: dict = {}
    if toml_path:
        with open(toml_path, "rb") as f:
            values.update(tomllib.load(f).get("server", {}))
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
                raise InvalidInputError(
                    f"V2M_{f.name.upper()}={raw!r} is not a valid {cast.__name__}"
                ) from exc
    values.update({k: v for k, v in overrides.items() if v is not None})
    for name in ("media_roots", "allowed_origins"):
        if name in values:
            values[name] = tuple(values[name])
    unknown = set(values) - {f.name for f in fields(ServerSettings)}
    if unknown:
        raise InvalidInputError(f"unknown server setting(s): {', '.join(sorted(unknown))}")
    return ServerSettings(**values)
