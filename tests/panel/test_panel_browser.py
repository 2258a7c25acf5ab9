"""The panel in headless Chromium against a real ``v2m serve``: streaming, progress, stems,
hit report, cancel, readable errors, token auth. Screenshots go to test-artifacts/panel/."""

import pytest

from tests.helpers import write_audio
from tests.model.test_retime import RATE, drum_loop
from tests.panel.conftest import ServeProcess, panel_state
from v2m.model.sample_clip import ClipSpec, render_clip

CUTS_S = (1.5, 3.0, 5.2, 7.0)


@pytest.fixture(scope="module")
def media_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("panel-media")
    render_clip(root / "clip.mp4", ClipSpec(duration_s=9, cut_times_s=CUTS_S, seed=81))
    render_clip(
        root / "long.mp4",
        ClipSpec(duration_s=60, width=320, height=180, cut_times_s=tuple(range(4, 60, 5)), seed=82),
    )
    library = root / "library"
    library.mkdir()
    for bpm, seed in ((118, 0), (131, 1)):
        write_audio(library / f"loop_{bpm}.flac", drum_loop(bpm, 20.0, seed=seed), RATE)
    return root


@pytest.fixture(scope="module")
def serve(media_root, tmp_path_factory):
    srv = ServeProcess(tmp_path_factory.mktemp("serve"), media_root)
    yield srv
    srv.stop()


def _open(browser, url):
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    page.goto(url)
    page.wait_for_function("v2mPanel.state.events.some(e => e.kind === 'connected')")
    return page


def test_score_a_clip_streams_the_curve_then_lists_playable_stems_and_the_report(
    browser, serve, media_root, screenshots
):
    page = _open(browser, serve.url)
    assert page.locator("#backend option").count() >= 2  # composer and flow (unavailable)
    screenshots(page, "idle")
    page.set_input_files("#media-file", str(media_root / "clip.mp4"))
    page.fill("#prompt", "punchy rock trailer, driving drums")
    page.click("#score")
    page.wait_for_function("v2mPanel.view.curveDrawn && v2mPanel.state.running")
    screenshots(page, "running")
    page.wait_for_function("!v2mPanel.state.running", timeout=240_000)
    screenshots(page, "done")
    state = panel_state(page)
    assert state["error"] is None
    kinds = [e["kind"] for e in state["events"]]
    curve, result = kinds.index("curve-drawn"), kinds.index("result")
    # streamed: the curve was drawn while the server still worked (progress came after it)
    assert curve < kinds.index("stem") < result
    assert kinds[curve:result].count("progress") >= 3
    assert "uploading" in state["stages"] and len(state["stages"]) >= 3
    bars = page.eval_on_selector_all("#progress progress", "els => els.map(e => e.value)")
    assert bars and all(v == 1 for v in bars)
    stems = page.eval_on_selector_all("#stems tr", "rows => rows.map(r => r.dataset.stem)")
    assert "mix" in stems and len(stems) >= 3
    page.wait_for_function(
        "[...document.querySelectorAll('#stems audio')].every(a => a.duration > 0)"
    )
    durations = page.eval_on_selector_all("#stems audio", "els => els.map(a => a.duration)")
    assert all(d == pytest.approx(9.0, abs=0.1) for d in durations)
    page.click("#stems tr[data-stem='mix'] button.play")
    page.wait_for_function("!document.querySelector(\"#stems tr[data-stem='mix'] audio\").paused")
    hits = page.eval_on_selector_all(
        "#hits tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )
    cuts = [h for h in hits if h[0] == "cut"]
    assert [c[1] for c in cuts] == ["00:00:01:15", "00:00:03:00", "00:00:05:06", "00:00:07:00"]
    assert all(abs(float(c[3])) <= 1.0 for c in cuts)  # landed within a frame
    summary = page.text_content("#summary")
    assert "LUFS" in summary and "within ±1 frame" in summary
    page.click("#place")  # browser host: downloads
    assert page.locator("#downloads a").count() >= 3


def test_regenerate_keeps_the_hits_with_new_music(browser, serve, media_root):
    page = _open(browser, serve.url)
    page.fill("#media-path", "clip.mp4")
    page.click("#score")
    page.wait_for_function("!v2mPanel.state.running && v2mPanel.state.result", timeout=240_000)
    first = panel_state(page)
    page.click("#regenerate")
    page.wait_for_function(
        "!v2mPanel.state.running && v2mPanel.state.result && v2mPanel.state.seed === 1",
        timeout=240_000,
    )
    second = panel_state(page)
    planned = [[h["kind"], h["plannedS"]] for h in first["result"]["plan"]["hits"]]
    assert planned == [[h["kind"], h["plannedS"]] for h in second["result"]["plan"]["hits"]]
    assert first["result"]["jobId"] != second["result"]["jobId"]


def test_more_settings_reach_the_server(browser, serve):
    page = _open(browser, serve.url)
    page.click("#more summary")
    page.fill("#media-path", "clip.mp4")
    page.fill("#opt-bpm", "100")
    page.fill("#opt-stems", "drums, bass")
    page.fill("#opt-markers", "4.2")
    page.select_option("#opt-style", "rock")
    page.click("#score")
    page.wait_for_function("!v2mPanel.state.running && v2mPanel.state.result", timeout=240_000)
    plan = panel_state(page)["result"]["plan"]
    assert plan["style"] == "rock" and plan["bpmMin"] <= 100 <= plan["bpmMax"] <= 110
    assert 4.2 in [round(h["plannedS"], 3) for h in plan["hits"] if h["kind"] == "marker"]
    stems = page.eval_on_selector_all("#stems tr", "rows => rows.map(r => r.dataset.stem)")
    assert sorted(stems) == ["bass", "drums", "mix"]
    page.fill("#opt-markers", "4.2, soon")
    page.click("#score")
    page.wait_for_selector("#error:not([hidden])")
    assert "is not a list of seconds" in page.text_content("#error")


def test_your_music_engine_and_the_other_tracks_that_fit(browser, serve, screenshots):
    """The editor names a library on the server: the retime engine scores from the track that
    fits best, the panel offers the other as a button, and pressing it scores with that one."""
    import json

    page = _open(browser, serve.url)
    assert "retime" in page.eval_on_selector_all("#backend option", "os => os.map(o => o.value)")
    page.fill("#media-path", "clip.mp4")
    page.fill("#opt-music", "library")
    page.click("#score")
    page.wait_for_function("!v2mPanel.state.running && v2mPanel.state.result", timeout=240_000)
    state = panel_state(page)
    first = json.loads(state["result"]["metadataJson"])
    assert state["error"] is None and first["backend"] == "retime"
    page.wait_for_selector("#alternatives:not([hidden])")
    screenshots(page, "music-alternatives")
    (other,) = page.eval_on_selector_all(
        "#alternatives button", "bs => bs.map(b => b.dataset.music)"
    )
    assert other != first["music"] and "loop_" in other
    page.click("#alternatives button")
    page.wait_for_function(
        "!v2mPanel.state.running && v2mPanel.state.result && "
        f"JSON.parse(v2mPanel.state.result.metadataJson).music === {json.dumps(other)}",
        timeout=240_000,
    )
    cuts = [h for h in panel_state(page)["result"]["plan"]["hits"] if h["kind"] == "cut"]
    assert sum(abs(h.get("errorFrames", 0)) <= 1 for h in cuts) >= len(cuts) - 1


def test_cancel_and_server_errors_are_shown_readably(browser, serve, screenshots):
    page = _open(browser, serve.url)
    page.fill("#media-path", "/etc/passwd")
    page.click("#score")
    page.wait_for_selector("#error:not([hidden])")
    text = page.text_content("#error")
    assert text.startswith("The server may not read that file:") and "outside" in text
    screenshots(page, "error")

    page.fill("#media-path", "long.mp4")
    page.click("#score")
    page.wait_for_function("v2mPanel.state.events.filter(e => e.kind === 'progress').length > 2")
    page.click("#cancel")
    page.wait_for_function("!v2mPanel.state.running", timeout=60_000)
    state = panel_state(page)
    assert state["error"]["code"] == "CANCELLED" and state["result"] is None
    assert page.is_enabled("#score") and not page.is_enabled("#cancel")


def test_panel_with_a_token_guarded_server(browser, media_root, tmp_path):
    srv = ServeProcess(tmp_path, media_root, "--token", "s3cret")
    try:
        page = browser.new_page()
        page.goto(srv.url)
        page.wait_for_selector("#auth:not([hidden])")
        assert "access token" in page.text_content("#error")
        page.fill("#token", "s3cret")
        page.click("#token-save")
        page.wait_for_function("v2mPanel.state.events.some(e => e.kind === 'connected')")
        page.fill("#media-path", "clip.mp4")
        page.click("#score")
        page.wait_for_function("!v2mPanel.state.running", timeout=240_000)
        assert panel_state(page)["result"]["plan"]["hits"]
    finally:
        srv.stop()
