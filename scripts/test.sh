#!/usr/bin/env bash
# Set up .venv with the test tools and run the test suite (slow tests excluded: -m slow).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
exec .venv/bin/python -m pytest "$@"
