# Shared by scripts/run and scripts/test: a project virtualenv with the package installed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

ensure_venv() {
  local extras="$1"
  if [ ! -x "$VENV/bin/python" ]; then
    echo "creating virtualenv in $VENV"
    "$PYTHON" -m venv "$VENV"
  fi
  local stamp="$VENV/.installed-$extras"
  if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
    echo "installing the newsletter package ($extras)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -e "$ROOT[$extras]" 2>&1 \
      | grep -v "is ignored: it is neither" || true
    "$VENV/bin/python" -c "import newsletter, celery, sqlalchemy" || { echo "install failed" >&2; exit 1; }
    touch "$stamp"
  fi
}
