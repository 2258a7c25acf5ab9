#!/usr/bin/env bash
# Build .venv-bench: the independent listeners of tests/bench/bench_sound.py — musicnn (music
# auto-tagger, TensorFlow) and madmom (RNN beat tracker). Both ship their weights inside their
# pip packages (nothing is downloaded at run time); neither is a dependency of v2m, and their
# pins (musicnn wants NumPy < 1.17, madmom predates Python 3.10) cannot share v2m's venv.
# Licences: musicnn ISC; madmom code BSD, its models CC BY-NC-SA 4.0 (measurement only).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3.11}
command -v "$python" >/dev/null 2>&1 || python=python3
[ -x .venv-bench/bin/python ] || "$python" -m venv .venv-bench
pip=(.venv-bench/bin/python -m pip install -q)
"${pip[@]}" "tensorflow-cpu==2.21.0" "tf-keras==2.21.0" librosa soundfile cython setuptools wheel
"${pip[@]}" --no-deps "musicnn==0.1.0"
"${pip[@]}" --no-build-isolation "madmom==0.16.1"
echo "bench listeners installed in .venv-bench (musicnn, madmom)"
