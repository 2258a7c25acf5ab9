"""Lint the architecture with import-linter (contracts in pyproject.toml [tool.importlinter]).

setuptools' package-dir maps the repository's folders onto ``v2m`` (protos/v2m, model, server,
nle_plugins), which grimp — import-linter's graph builder — cannot follow: it walks the root
package's folder. So this lays the sources out as the installed package in a temporary folder
and lints that copy. Exit status: lint-imports' (0: every contract kept).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAYOUT = {"": "protos/v2m", "model": "model", "server": "server", "nle_plugins": "nle_plugins"}


def main() -> int:
    lint = Path(sys.executable).with_name("lint-imports")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "v2m"
        for inside, folder in LAYOUT.items():
            shutil.copytree(
                REPO / folder,
                root / inside,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "panel", "*.js"),
            )
        env = {**os.environ, "PYTHONPATH": tmp}
        return subprocess.call(
            [str(lint), str(REPO / "pyproject.toml"), "--no-cache"], cwd=tmp, env=env
        )


if __name__ == "__main__":
    sys.exit(main())
