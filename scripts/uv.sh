#!/usr/bin/env bash
# Prints the path of a working uv, installing one first when none is found. Depends on nothing in
# the caller's shell: the Makefile resolves `UV` through this script, so `make demo` / `make test`
# work with a fresh login's PATH (no ~/.local/bin, no uv installed).
#
# Search order: $SDS_UV (explicit), `uv` on PATH, ~/.local/bin/uv (pip --user / the official
# installer), then the project's own bootstrap venv. If none exists, that venv is created with the
# first Python 3 found and uv is pip-installed into it. The system Python is never modified, so a
# Debian/Ubuntu interpreter marked externally managed (PEP 668) works as well.
set -euo pipefail
UV_VERSION="${SDS_UV_VERSION:-0.13.10}"
MIN_VERSION="0.11.0" # reads uv.lock (revision 5) and knows UV_SYSTEM_CERTS
tools="${XDG_CACHE_HOME:-$HOME/.cache}/sds-studio/uv-${UV_VERSION}"

works() { # an executable uv, new enough for uv.lock
  local version
  [[ -x $1 ]] || return 1
  version=$("$1" --version 2>/dev/null | awk '{print $2}') || return 1
  [[ -n $version ]] && [[ $(printf '%s\n%s\n' "$MIN_VERSION" "$version" | sort -V | head -n1) == "$MIN_VERSION" ]]
}

for candidate in "${SDS_UV:-}" "$(command -v uv 2>/dev/null || true)" "$HOME/.local/bin/uv" \
  "$tools/bin/uv"; do
  if [[ -n $candidate ]] && works "$candidate"; then
    printf '%s\n' "$candidate"
    exit 0
  fi
done

# The first Python 3 that runs and has venv: a name on PATH may be a shim that does not run
# (pyenv puts every installed version's python3.X on PATH, and fails for those not selected).
python=""
for name in python3.13 python3.12 python3.11 python3; do
  candidate=$(command -v "$name" 2>/dev/null || true)
  if [[ -n $candidate ]] && "$candidate" -c 'import sys, venv; sys.exit(sys.version_info < (3, 8))' \
    >/dev/null 2>&1; then
    python=$candidate
    break
  fi
done
if [[ -z $python ]]; then
  echo "scripts/uv.sh: no working python3 (3.8+ with venv) on PATH; install Python 3.11-3.13 (e.g. apt install python3 python3-venv)" >&2
  exit 1
fi
echo "scripts/uv.sh: installing uv ${UV_VERSION} into ${tools} (a venv of its own; ${python} is untouched)" >&2
rm -rf "$tools"
mkdir -p "$(dirname "$tools")"
if ! "$python" -m venv "$tools" >&2; then
  echo "scripts/uv.sh: '$python -m venv' failed; on Debian/Ubuntu install python3-venv" >&2
  exit 1
fi
"$tools/bin/python" -m pip install --quiet --disable-pip-version-check "uv==${UV_VERSION}" >&2
works "$tools/bin/uv" || { echo "scripts/uv.sh: uv did not install into $tools" >&2; exit 1; }
printf '%s\n' "$tools/bin/uv"
