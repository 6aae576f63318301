#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the app and its tests use, if any is missing:
# Qt's runtime libraries (offscreen and xcb), Chinese fonts, LibreOffice Writer (PDF export and
# the page-layout tests), poppler-utils (pdftotext/pdftoppm) and Xvfb (screenshots).
# It does nothing when everything is there, or when it cannot install (not root, no apt).
set -u
PKGS="libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libxcb-cursor0 \
libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-randr0 libxcb-render-util0 libxcb-xinerama0 libxcb-image0 \
fonts-noto-cjk libreoffice-writer-nogui poppler-utils xvfb"
command -v dpkg-query >/dev/null 2>&1 || exit 0
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "缺少系统软件包：$missing（需要管理员权限安装，相关测试将跳过）" >&2; exit 0; fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
