"""The architecture of DESIGN §2 holds: import-linter's contracts (pyproject.toml) are kept,
and what must start light does start light."""

import subprocess
import sys

from tests.helpers import REPO


def test_import_contracts_are_kept():
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "check_imports.py")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Contracts: 6 kept, 0 broken." in result.stdout


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(sorted(m.split('.')[0] for m in sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, cwd=REPO
    )
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_the_thin_client_loads_no_analysis_stack():
    loaded = _loaded_after(
        "from v2m.nle_plugins.client import ScoringClient, RemoteScore\n"
        "from v2m.nle_plugins.resolve.score_selection import score_current_timeline"
    )
    assert not loaded & {"torch", "librosa", "scenedetect", "cv2", "transformers", "diffusers"}


def test_the_server_and_the_command_line_start_without_torch(tmp_path):
    loaded = _loaded_after(
        "from v2m.server.app import start_server\n"
        "from v2m.server.cli import build_parser\n"
        "build_parser()\n"
        "from v2m.server.settings import ServerSettings\n"
        "from v2m.server.service import ScoringService\n"
        f"ScoringService(ServerSettings(port=0, data_dir={str(tmp_path)!r}))"
    )
    assert "torch" not in loaded and "diffusers" not in loaded
