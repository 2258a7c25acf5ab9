#!/usr/bin/env bash
# Set up .venv with the test tools, check style and the import contracts, run the test suite
# (slow tests: -m slow).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
.venv/bin/ruff check --quiet .
.venv/bin/ruff format --check --quiet .
.venv/bin/python scripts/check_imports.py > .venv/import-contracts.txt || {
    cat .venv/import-contracts.txt; exit 1; }
exec .venv/bin/python -m pytest "$@"
