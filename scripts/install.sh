#!/usr/bin/env bash
# Installs the workspace into .venv with uv, exactly as pinned by uv.lock.
# uv keeps a global cache (~/.cache/uv), so a second install (a fresh clone in CI) links the
# large wheels (torch) from the cache instead of downloading them again.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v uv >/dev/null 2>&1; then
  python3 -m pip install --quiet --user "uv>=0.8" || python3 -m pip install --quiet "uv>=0.8"
  export PATH="$HOME/.local/bin:$PATH"
fi
python_bin=$(command -v python3.11 || command -v python3)
uv sync --frozen --python "$python_bin" --quiet
