#!/bin/sh
# ldconfig.sh - after `meson install` as root onto the running system,
# refresh the loader's cache so programs find the new libravioli.so.N at
# once (meson 1.0 does not do it itself; newer ones do the same).  Nothing
# for a --destdir install (packaging: the package's triggers do it) or an
# install by a user into their own prefix (LD_LIBRARY_PATH or an rpath).
[ -n "${DESTDIR:-}" ] && exit 0
[ "$(id -u)" = 0 ] || exit 0
command -v ldconfig >/dev/null 2>&1 || exit 0
ldconfig || echo "ldconfig failed: run it as root so programs find libravioli.so.N" >&2
exit 0
