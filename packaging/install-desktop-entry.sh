#!/usr/bin/env bash
# Add IFT Desktop to the desktop's application menu (Linux, freedesktop.org), pointing at this checkout's .venv
# or at a PyInstaller bundle given as the first argument (dist/ift-desktop/ift-desktop).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
exe="${1:-$here/.venv/bin/ift-desktop}"
apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
icons="${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor/256x256/apps"
mkdir -p "$apps" "$icons"
cp "$here/resources/icons/ift-desktop.png" "$icons/ift-desktop.png"
sed "s|^Exec=.*|Exec=\"$exe\"|" "$here/packaging/ift-desktop.desktop" > "$apps/ift-desktop.desktop"
echo "installed $apps/ift-desktop.desktop (runs $exe)"
