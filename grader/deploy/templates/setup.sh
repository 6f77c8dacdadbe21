#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder's image, from the folder the bundle was
# unpacked into (/autograder/source). It makes a virtual environment under $AUTOGRADER_ROOT
# (default /autograder, as on Gradescope) with the pinned dependencies of requirements.txt; the
# grader itself runs from this folder. Nothing is installed into the system's Python.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
  echo "setup.sh: the grader needs Python 3.10 or newer; $PYTHON is $("$PYTHON" -V 2>&1 || echo missing)" >&2
  exit 1
fi
# Ubuntu's python3 comes without venv's pip unless python3-venv is installed (Gradescope runs this as root).
if ! "$PYTHON" -c 'import ensurepip' 2>/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  apt-get update -qq && apt-get install -y -qq python3-venv
fi
# pip's temporary files go under $ROOT too, and it keeps no cache in the home folder.
export TMPDIR="$ROOT/tmp"
mkdir -p "$TMPDIR"
"$PYTHON" -m venv "$ROOT/venv"
"$ROOT/venv/bin/python" -m pip install --disable-pip-version-check --no-cache-dir --quiet \
  --requirement "$HERE/requirements.txt"
echo "setup.sh: $("$ROOT/venv/bin/python" -V) in $ROOT/venv with $(wc -l < "$HERE/requirements.txt") requirements"
