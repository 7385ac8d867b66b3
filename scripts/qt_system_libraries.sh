#!/usr/bin/env bash
# Check the system libraries of Qt's X11 window plugin (PySide6's plugins/platforms/libqxcb.so) with ldd
# and install the missing ones (root with apt-get), or print the one apt-get line that installs them all.
#     bash scripts/qt_system_libraries.sh [PYTHON]      # PYTHON: the venv's python (default .venv/bin/python)
# Exits 0 when nothing is missing or they were installed, 1 when some are still missing.
set -uo pipefail
PYTHON=${1:-.venv/bin/python}
[ "$(uname -s)" = Linux ] || exit 0

missing() {  # the packages still missing, one per line; fails when the check itself cannot run
  "$PYTHON" -m ift_desktop.ui.qt_libraries || { echo "[setup] could not check Qt's system libraries with $PYTHON" >&2; exit 1; }
}
OUT=$(missing) || exit 1
read -r -a PACKAGES <<<"$(echo $OUT)"
[ "${#PACKAGES[@]}" -gt 0 ] || { echo "[setup] Qt's window plugin finds all its system libraries"; exit 0; }

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "[setup] installing the system libraries Qt's window plugin needs: ${PACKAGES[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "${PACKAGES[@]}" >/dev/null \
    || { apt-get update -q >/dev/null && apt-get install -y -q "${PACKAGES[@]}" >/dev/null; }
  OUT=$(missing) || exit 1
  read -r -a PACKAGES <<<"$(echo $OUT)"
  [ "${#PACKAGES[@]}" -gt 0 ] || { echo "[setup] Qt's window plugin finds all its system libraries"; exit 0; }
fi
echo "[setup] the window needs system libraries that are missing; install them with:"
echo "    sudo apt-get install ${PACKAGES[*]}"
exit 1
