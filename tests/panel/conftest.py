"""A real ``v2m serve`` (subprocess, 127.0.0.1, free ports) and Debian's headless Chromium
driven by Playwright, for the panel tests."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("V2M_TEST_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts"))


class ServeProcess:
    """``v2m serve --port 0 --http-port 0``; the ports come from its log lines."""

    def __init__(self, tmp: Path, media_root: Path, *extra: str):
        self.log = tmp / "serve.log"
        cmd = [
            sys.executable,
            "-m",
            "v2m.server.cli",
            "serve",
            "--port",
            "0",
            "--http-port",
            "0",
            "--media-root",
            str(media_root),
            "--data-dir",
            str(tmp / "data"),
            *extra,
        ]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=self.log.open("w"), cwd=tmp
        )
        self.url = None
        for _ in range(600):  # bounded: 60 s
            text = self.log.read_text() if self.log.exists() else ""
            match = re.search(r'"event": "panel", "url": "([^"]+)"', text)
            if match:
                self.url = match.group(1)
                break
            if self.proc.poll() is not None:
                raise RuntimeError(f"v2m serve exited: {text}")
            time.sleep(0.1)
        assert self.url, f"v2m serve did not report its panel URL: {self.log.read_text()}"

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for one module. Playwright's sync API keeps an asyncio loop running
    in the main thread while it is open, so it must close before other tests call
    ``asyncio.run`` (a session-scoped browser broke the server tests that ran after it)."""
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (scripts/setup.sh --dev installs it)")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM, args=["--autoplay-policy=no-user-gesture-required"]
        )
        yield b
        b.close()


@pytest.fixture
def screenshots(request):
    folder = ARTIFACTS / "panel"
    folder.mkdir(parents=True, exist_ok=True)

    def shoot(page, name):
        path = folder / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shoot


def panel_state(page) -> dict:
    return json.loads(
        page.evaluate(
            "JSON.stringify({...v2mPanel.state, call: null, overall: null,"
            " stages: [...v2mPanel.state.stages.keys()]})"
        )
    )
