#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the app and its tests use, if any is missing:
# make and Python's venv module (the README's two commands), Qt's runtime libraries (offscreen
# and xcb), Chinese fonts, LibreOffice Writer (PDF export and the page-layout tests),
# poppler-utils (pdftotext/pdftoppm) and Xvfb (screenshots).
# It does nothing when everything is there. When it cannot install (not root, no apt) it says
# what is missing; it fails only when Python's venv module is missing, which nothing can replace.
# Run it directly (sudo bash scripts/system-deps.sh) on a machine that has no make yet.
set -u
PYTHON="${PYTHON:-python3}"
PKGS="libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libxcb-cursor0 \
libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-randr0 libxcb-render-util0 libxcb-xinerama0 libxcb-image0 \
fonts-noto-cjk libreoffice-writer-nogui poppler-utils xvfb"
command -v dpkg-query >/dev/null 2>&1 || exit 0
missing=""
venv_pkg=""
command -v make >/dev/null 2>&1 || missing="make"
# `python3 -m venv` needs ensurepip, which Debian and Ubuntu ship apart, as pythonX.Y-venv.
if ! "$PYTHON" -c "import ensurepip, venv" >/dev/null 2>&1; then
  ver="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)"
  venv_pkg="python${ver}-venv"
  missing="$missing $venv_pkg"
fi
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "${missing// /}" ] && exit 0
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "缺少系统软件包：${missing# }（需要管理员权限安装：sudo apt-get install$missing）" >&2
    if [ -n "$venv_pkg" ]; then
      echo "没有 $venv_pkg 无法创建 .venv，请先安装后再运行。" >&2; exit 1
    fi
    echo "相关测试将跳过。" >&2; exit 0
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
