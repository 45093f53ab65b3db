#!/usr/bin/env bash
# The Python client's unit tests (CI runs it from the repository root): stdlib unittest, no server needed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v python3 >/dev/null || { echo "clients/python/test.sh: python3 is required" >&2; exit 1; }
python3 -c 'import sys; sys.exit(sys.version_info < (3, 9))' || { echo "clients/python: Python >= 3.9 is required" >&2; exit 1; }
PYTHONDONTWRITEBYTECODE=1 python3 -m unittest discover -s "$here/tests" -t "$here/tests" "$@"
