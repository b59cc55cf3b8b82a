#!/bin/sh
# tools/deps.sh - install the Debian 12 packages ravscope needs to build,
# test and run, and nothing when they are all present already.
#
# Both quick-start scripts call this first, so a fresh machine needs no
# manual step; the dpkg check keeps reruns (and CI on a warm machine) fast.
# Runs apt-get as root directly, otherwise through sudo.  Recommends are not
# installed, so what GTK needs at run time under Xvfb (icons, SVG loader,
# fonts the render tests' pixels depend on) is listed explicitly.  The
# install tests (tests/install) build user projects with meson and CMake,
# check manual pages (scdoc builds them, groff and man-db render them),
# the bash completion (with bash-completion's helpers too) and the MIME
# database; libsqlite3 is for `ravtrace export --format=sqlite`; libdw
# (elfutils) turns recorded call sites into functions and lines; zlib is for
# the viewer's animated PNG export.
set -eu

PACKAGES="
build-essential meson ninja-build pkg-config python3
libzstd-dev zstd zlib1g-dev
libdw-dev
valgrind
libjemalloc-dev libmimalloc-dev
clang libclang-rt-14-dev
libgtk-4-dev libadwaita-1-dev libglib2.0-bin libgtk-4-bin
librsvg2-common adwaita-icon-theme gsettings-desktop-schemas at-spi2-core fonts-dejavu-core
xvfb xauth imagemagick xdotool
desktop-file-utils appstream libxml2-utils
libsqlite3-dev sqlite3
scdoc groff-base man-db bash-completion cmake shared-mime-info
"

missing=""
for pkg in $PACKAGES; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  case "$status" in
    *" installed") ;;
    *) missing="$missing $pkg" ;;
  esac
done

if [ -z "$missing" ]; then
  echo "deps: all $(echo $PACKAGES | wc -w) packages present"
  exit 0
fi

echo "deps: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "deps: missing packages:$missing" >&2
  echo "deps: not root and no sudo: install them as root and rerun" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086 # word splitting of the package list is intended
$SUDO apt-get install -y -q --no-install-recommends $missing
