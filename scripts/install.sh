#!/usr/bin/env bash
# Installs the workspace into .venv with uv, exactly as pinned by uv.lock.
# uv comes from scripts/uv.sh (found on PATH or in ~/.local/bin, else bootstrapped into a venv of
# its own), so this works in a fresh shell with nothing installed by hand. uv keeps a global cache
# (~/.cache/uv), so a second install (a fresh clone in CI) links the large wheels (torch) from the
# cache instead of downloading them again.
set -euo pipefail
cd "$(dirname "$0")/.."
uv=${UV:-$(scripts/uv.sh)}
export UV_SYSTEM_CERTS=${UV_SYSTEM_CERTS:-1} # the machine's certificate store, as pip and curl use
python_bin=$(command -v python3.11 || command -v python3)
"$uv" sync --frozen --python "$python_bin" --quiet
