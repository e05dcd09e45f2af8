#!/usr/bin/env bash
# run-main.sh BUILD_DIR: the README's main job (`make run`). Starts a local Tessera network with
# tessera-sim (a satellite and 10 storage nodes on 127.0.X.1, RS 4/6/8/10, plus an S3 gateway
# whose endpoint and credentials go to D/gateway.env), shows a round trip through the tessera CLI
# and one S3 listing, prints the access grant and example commands, and keeps the network running
# until Ctrl-C. Extra arguments go to `tessera-sim demo` (e.g. --dir D to keep the data,
# --no-gateway).
set -euo pipefail
build=${1:?build dir}
shift
sim="$build/sim/tessera-sim"
if [ ! -x "$sim" ]; then
	echo "run-main.sh: $sim is missing; build first (make build)" >&2
	exit 1
fi
exec "$sim" demo "$@"
