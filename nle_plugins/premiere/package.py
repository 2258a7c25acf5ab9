"""``v2m premiere-plugin OUT``: the Premiere UXP plugin folder, ready for the UXP Developer Tool.

Layout: ``OUT/manifest.json`` (its network permission names the server), ``OUT/panel/`` (the
same panel the server serves to browsers) and ``OUT/premiere/host_premiere.js``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import urlsplit

from v2m.model.errors import InvalidInputError

HERE = Path(__file__).resolve().parent
PANEL = HERE.parent / "panel"


def build_plugin(out_dir: str | Path, *, server: str = "ws://127.0.0.1:50052") -> Path:
    """Write the plugin to ``out_dir`` (replacing an earlier build) for a server at
    ``server`` (``ws[s]://host:port`` of its panel port); returns the manifest's path."""
    parts = urlsplit(server)
    if parts.scheme not in ("ws", "wss") or not parts.hostname or not parts.port:
        raise InvalidInputError(
            f"server must look like ws://HOST:PORT (the panel port, --http-port), got {server!r}"
        )
    out = Path(out_dir)
    if out.exists() and not (out / "manifest.json").is_file():
        raise InvalidInputError(f"{out} exists and is not a plugin folder; choose a new folder")
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(PANEL, out / "panel")
    (out / "premiere").mkdir(parents=True)
    shutil.copy2(HERE / "host_premiere.js", out / "premiere" / "host_premiere.js")
    manifest = json.loads((HERE / "manifest.json").read_text())
    http = "https" if parts.scheme == "wss" else "http"
    hosts = (
        {parts.hostname, "127.0.0.1", "localhost"}
        if parts.hostname in ("127.0.0.1", "localhost")
        else {parts.hostname}
    )
    manifest["requiredPermissions"]["network"]["domains"] = sorted(
        f"{scheme}://{h}:{parts.port}" for h in hosts for scheme in (parts.scheme, http)
    )
    path = out / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path
