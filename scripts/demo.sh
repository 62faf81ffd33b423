#!/usr/bin/env bash
# Installs the dependencies, builds mapletree (release) and runs the demo: a
# GPU VA space under sparse-residency bind jobs, checked against a model.
# Usage: scripts/demo.sh [demo options]   (passed to mapletree-demo; see
# build/tools/mapletree-demo --help). Exit status: the demo's (0 = PASS).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh

if [ -f build/build.ninja ]; then
	meson setup --reconfigure build --buildtype=release
else
	rm -rf build
	meson setup build --buildtype=release
fi
ninja -C build tools/mapletree-demo
exec build/tools/mapletree-demo "$@"
