#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian machine (Python 3.11, root):
# Debian's emscripten (for nearc), the Python package with its test extras, and the
# npm packages the conformance tests drive (near-api-js). Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v emcc >/dev/null 2>&1; then
  echo "setup: installing Debian's emscripten (emcc not found)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq emscripten >/dev/null
fi

echo "setup: installing Python packages"
python3 -m pip install -q --disable-pip-version-check -e '.[test]'

if [ -f tests/js/package.json ] && command -v npm >/dev/null 2>&1; then
  if [ ! -d tests/js/node_modules ]; then
    echo "setup: installing npm packages for tests/js"
    (cd tests/js && npm install --no-audit --no-fund --silent)
  fi
fi
if [ -f tests/chains/package.json ] && command -v npm >/dev/null 2>&1; then
  if [ ! -d tests/chains/node_modules ]; then
    echo "setup: installing npm packages for tests/chains (anvil)"
    (cd tests/chains && npm install --no-audit --no-fund --silent)
  fi
fi
echo "setup: done"
