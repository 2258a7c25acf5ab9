#!/usr/bin/env bash
# Regenerate the gRPC/protobuf Python code beside the .proto files (never edit it by hand).
# `--check` regenerates into a temporary folder and fails if the committed files differ.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
out=protos
if [ "${1:-}" = "--check" ]; then
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
fi
"$python" -m grpc_tools.protoc -Iprotos --python_out="$out" --pyi_out="$out" \
    --grpc_python_out="$out" protos/v2m/v1/*.proto
if [ "${1:-}" = "--check" ]; then
    for f in "$out"/v2m/v1/*_pb2*.py*; do
        name=protos/v2m/v1/$(basename "$f")
        if ! cmp -s "$f" "$name"; then
            echo "stale generated file: $name (run scripts/gen_protos.sh)" >&2
            exit 1
        fi
    done
    echo "generated protobuf code is current"
fi
