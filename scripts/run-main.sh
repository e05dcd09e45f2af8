#!/usr/bin/env bash
# run-main.sh BUILD_DIR: the README's main job. Starts the local network with tessera-sim when it
# has been built; until then runs the core demo (encrypt, erasure-code, lose pieces, rebuild).
set -euo pipefail
build=${1:?build dir}
if [ -x "$build/sim/tessera-sim" ]; then
	exec "$build/sim/tessera-sim" demo
fi
exec "$build/sim/tessera-core-demo"
