#!/usr/bin/env bash
# Set up .venv with the test tools, check style, run the test suite (slow tests: -m slow).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
.venv/bin/ruff check --quiet .
.venv/bin/ruff format --check --quiet .
exec .venv/bin/python -m pytest "$@"
