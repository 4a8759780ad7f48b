#!/usr/bin/env bash
# Makes this Linux machine run nodenet's Windows test binaries under Wine,
# for the named-pipe tests of ./ipc:
#   bash .ci/wine-setup.sh
#   GOOS=windows go test -exec "$PWD/.ci/wine/go-wine-exec" ./ipc/...
# It installs wine64 and the MinGW compiler (Debian/Ubuntu, as root or with
# sudo) when missing, prepares a Wine prefix of nodenet's own under
# ${XDG_CACHE_HOME:-~/.cache}/nodenet/wine (NODENET_WINEPREFIX overrides
# it; go-wine-exec uses the same), and builds the ProcessPrng DLL that Go
# binaries need on Wine 8. Idempotent: a second run does nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
prefix=${NODENET_WINEPREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/nodenet/wine}

wine=${NODENET_WINE:-}
if [ -z "$wine" ]; then
  if [ -x /usr/lib/wine/wine64 ]; then wine=/usr/lib/wine/wine64
  elif command -v wine64 >/dev/null 2>&1; then wine=$(command -v wine64)
  fi
fi

if [ -z "$wine" ] || ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
  if ! command -v apt-get >/dev/null; then
    echo "wine-setup: install wine64 and x86_64-w64-mingw32-gcc (MinGW-w64), then run me again" >&2
    exit 1
  fi
  sudo=
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "wine-setup: need root (or sudo) to apt-get install wine64" >&2; exit 1; }
    sudo=sudo
  fi
  echo "wine-setup: installing wine64 and gcc-mingw-w64-x86-64"
  timeout 900 $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive timeout 1800 $sudo apt-get install -y -qq --no-install-recommends \
    wine64 gcc-mingw-w64-x86-64 >/dev/null
  if [ -x /usr/lib/wine/wine64 ]; then wine=/usr/lib/wine/wine64; else wine=$(command -v wine64); fi
fi

export WINEPREFIX=$prefix WINEDEBUG=-all
if [ ! -d "$prefix/drive_c/windows/system32" ]; then
  echo "wine-setup: creating the Wine prefix $prefix"
  mkdir -p "$(dirname "$prefix")"
  # No Mono or Gecko: nothing here needs them, and their installers would
  # wait for a click.
  WINEDLLOVERRIDES="mscoree,mshtml=" timeout 300 "$wine" wineboot --init >/dev/null 2>&1 || true
  timeout 60 "${wine%64}server" -w 2>/dev/null || true
  [ -d "$prefix/drive_c/windows/system32" ] || { echo "wine-setup: wineboot did not create $prefix" >&2; exit 1; }
fi

# Rebuilt whenever its source changes; the stamp holds the source's hash.
dll=$prefix/drive_c/windows/system32/bcryptprimitives.dll
sum=$(cat "$here/wine/processprng.c" "$here/wine/processprng.def" | sha256sum | cut -d' ' -f1)
if [ ! -f "$dll" ] || [ "$(cat "$dll.nodenet" 2>/dev/null)" != "$sum" ]; then
  echo "wine-setup: building bcryptprimitives.dll (ProcessPrng)"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  x86_64-w64-mingw32-gcc -shared -O2 -o "$tmp/bcryptprimitives.dll" \
    "$here/wine/processprng.c" "$here/wine/processprng.def" -ladvapi32
  cp "$tmp/bcryptprimitives.dll" "$dll"
  echo "$sum" > "$dll.nodenet"
fi
echo "wine-setup: ready: $("$wine" --version) in $prefix"
