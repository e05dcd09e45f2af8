#!/usr/bin/env bash
# Integration test of tessera-gateway against a real local network (tessera-sim: one satellite,
# 10 nodes on 127.B.X.1), driven by the S3 clients users run: python3-boto3 (s3_test.py: every
# operation and error), awscli, s3cmd and rclone. Nothing leaves 127.0.0.0/8: endpoints are
# explicit, instance metadata is disabled and HOME is a temp dir.
#
#   run.sh <tessera-gateway> <build dir>
# Programs are found in the build dir, or taken from TESSERA_{SIM,SATELLITE,NODE,CLI}_BIN.
# Logs stay in the temp dir when a step fails (its path is printed).
set -euo pipefail
GW=$(realpath "$1")
BUILD=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
SIM=${TESSERA_SIM_BIN:-$BUILD/sim/tessera-sim}
CLI=${TESSERA_CLI_BIN:-$BUILD/uplink/tessera}
export TESSERA_SATELLITE_BIN=${TESSERA_SATELLITE_BIN:-$BUILD/satellite/tessera-satellite}
export TESSERA_NODE_BIN=${TESSERA_NODE_BIN:-$BUILD/node/tessera-node}
export TESSERA_CLI_BIN=$CLI
for p in "$SIM" "$CLI" "$TESSERA_SATELLITE_BIN" "$TESSERA_NODE_BIN"; do
    [ -x "$p" ] || { echo "SKIP: $p not built"; exit 0; }
done
for t in aws s3cmd rclone; do
    command -v $t >/dev/null || { echo "missing $t: run scripts/install-deps.sh"; exit 1; }
done
python3 -c 'import boto3' || { echo "missing python3-boto3"; exit 1; }

T=$(mktemp -d /tmp/gw-it.XXXXXX)
SIM_PID=""
GW_PID=""
ok=0
cleanup() {
    [ -n "$GW_PID" ] && kill "$GW_PID" 2>/dev/null && wait "$GW_PID" 2>/dev/null || true
    [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null || true
    if [ $ok = 1 ]; then rm -rf "$T"; else echo "logs kept in $T"; tail -30 "$T/gateway.log" 2>/dev/null || true; fi
}
trap cleanup EXIT

wait_file() { # path deadline_s
    local end=$((SECONDS + $2))
    while [ ! -s "$1" ]; do
        [ $SECONDS -lt $end ] || { echo "timeout waiting for $1"; return 1; }
        sleep 0.2
    done
}

# ---- network ----
"$SIM" run --dir "$T/net" --quiet --ip-base $((20 + RANDOM % 200)) >"$T/sim.out" 2>"$T/sim.log" &
SIM_PID=$!
wait_file "$T/net/ready" 300
GRANT_FILE=$T/net/access

# ---- credentials: the full grant, a grant restricted to allowed/, a public read-only share ----
export HOME=$T/home TESSERA_CONFIG_DIR=$T/home/tessera
mkdir -p "$HOME"
"$GW" register --store "$T/store" --access-file "$GRANT_FILE" >"$T/full.cred"
"$CLI" mb ts://restricted --access "$(cat "$GRANT_FILE")" >/dev/null
"$CLI" access restrict --readwrite --access "$(cat "$GRANT_FILE")" ts://restricted/allowed \
    >"$T/restricted.grant"
"$GW" register --store "$T/store" --access-file "$T/restricted.grant" >"$T/restricted.cred"
"$CLI" mb ts://public --access "$(cat "$GRANT_FILE")" >/dev/null
"$CLI" share --access "$(cat "$GRANT_FILE")" ts://public/pics >"$T/share.grant"
"$GW" register --store "$T/store" --access-file "$T/share.grant" --public >"$T/share.cred"

# ---- gateway ----
"$GW" run --listen 127.0.0.1:0 --store "$T/store" --domain s3.test --ready-file "$T/gw.ready" \
    --allow-register >"$T/gateway.out" 2>"$T/gateway.log" &
GW_PID=$!
wait_file "$T/gw.ready" 30
ENDPOINT=$(head -1 "$T/gw.ready")
curl -fsS "$ENDPOINT/-/health" | grep ok >/dev/null

val() { grep "^$2=" "$1" | cut -d= -f2-; }
export AWS_ACCESS_KEY_ID=$(val "$T/full.cred" access_key_id)
export AWS_SECRET_ACCESS_KEY=$(val "$T/full.cred" secret_key)
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=$T/aws.config AWS_SHARED_CREDENTIALS_FILE=$T/aws.credentials
export NO_PROXY="*" no_proxy="*"
unset AWS_CA_BUNDLE HTTP_PROXY HTTPS_PROXY http_proxy https_proxy ALL_PROXY all_proxy  # plain HTTP on loopback only
printf '[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n' >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"
export GW_ENDPOINT=$ENDPOINT GW_TMP=$T GW_LOG=$T/gateway.log
export GW_RESTRICTED_KEY=$(val "$T/restricted.cred" access_key_id)
export GW_RESTRICTED_SECRET=$(val "$T/restricted.cred" secret_key)
export GW_SHARE_KEY=$(val "$T/share.cred" access_key_id)

echo "== boto3"
python3 "$HERE/s3_test.py"

echo "== tessera share --url (registers a public share through POST /-/register)"
# s3_test.py left public/pics/cat.jpg (4000 bytes of "meow") in place
"$CLI" share --url --gateway "$ENDPOINT" --access "$(cat "$GRANT_FILE")" ts://public/pics \
    >"$T/share.url" 2>"$T/share.err"
LINK=$(head -1 "$T/share.url")
case "$LINK" in "$ENDPOINT"/s/*/public/pics/) ;; *) echo "bad share link: $LINK"; exit 1 ;; esac
[ "$(curl -fsS "${LINK}cat.jpg" | head -c 8)" = "meowmeow" ]
curl -fsS "$LINK" | grep -q 'href="cat.jpg"'
if curl -fsS "${LINK%pics/}secret/x" >/dev/null 2>&1; then echo "share link escapes its prefix"; exit 1; fi
if TESSERA_GATEWAY_URL= "$CLI" share --url --access "$(cat "$GRANT_FILE")" ts://public/pics \
    >/dev/null 2>"$T/share.err"; then echo "share --url without a gateway succeeded"; exit 1; fi
grep -q -- "--gateway" "$T/share.err"

echo "== awscli"
AWS="aws --endpoint-url $ENDPOINT"
head -c 3000000 /dev/urandom >"$T/small.bin"
head -c 20000000 /dev/urandom >"$T/mid.bin"
$AWS s3 mb s3://cli-bucket >/dev/null
$AWS s3 cp "$T/small.bin" s3://cli-bucket/dir/small.bin >/dev/null
$AWS s3 cp "$T/mid.bin" s3://cli-bucket/dir/mid.bin >/dev/null   # multipart (8 MiB parts)
$AWS s3 ls s3://cli-bucket/dir/ | grep " 20000000 mid.bin" >/dev/null
$AWS s3 ls s3://cli-bucket | grep "PRE dir/" >/dev/null
$AWS s3 cp s3://cli-bucket/dir/mid.bin "$T/mid.out" >/dev/null
cmp "$T/mid.bin" "$T/mid.out"
# aws s3 presign: SigV2 query auth with awscli 1.x, SigV4 with 2.x; either must download.
curl -fsS -o "$T/presigned.out" "$($AWS s3 presign s3://cli-bucket/dir/small.bin --expires-in 300)"
cmp "$T/small.bin" "$T/presigned.out"
$AWS s3api copy-object --bucket cli-bucket --key copy.bin --copy-source cli-bucket/dir/small.bin >/dev/null
$AWS s3 cp s3://cli-bucket/copy.bin "$T/copy.out" >/dev/null
cmp "$T/small.bin" "$T/copy.out"
UP=$($AWS s3api create-multipart-upload --bucket cli-bucket --key mp.bin --query UploadId --output text)
head -c 5242880 /dev/urandom >"$T/p1"; head -c 1000 /dev/urandom >"$T/p2"
E1=$($AWS s3api upload-part --bucket cli-bucket --key mp.bin --part-number 1 --upload-id "$UP" --body "$T/p1" --query ETag --output text)
E2=$($AWS s3api upload-part --bucket cli-bucket --key mp.bin --part-number 2 --upload-id "$UP" --body "$T/p2" --query ETag --output text)
$AWS s3api list-parts --bucket cli-bucket --key mp.bin --upload-id "$UP" --query 'length(Parts)' --output text | grep -x 2 >/dev/null
printf '{"Parts":[{"PartNumber":1,"ETag":%s},{"PartNumber":2,"ETag":%s}]}' "$E1" "$E2" >"$T/parts.json"
$AWS s3api complete-multipart-upload --bucket cli-bucket --key mp.bin --upload-id "$UP" \
    --multipart-upload "file://$T/parts.json" --query ETag --output text | grep -- '-2"$' >/dev/null
$AWS s3 cp s3://cli-bucket/mp.bin "$T/mp.out" >/dev/null
cat "$T/p1" "$T/p2" | cmp - "$T/mp.out"
$AWS s3 rm --recursive s3://cli-bucket >/dev/null
$AWS s3 rb s3://cli-bucket >/dev/null
if $AWS s3 ls s3://cli-bucket 2>"$T/err.txt"; then echo "bucket still listed"; exit 1; fi
grep -q NoSuchBucket "$T/err.txt"

echo "== s3cmd"
HOSTPORT=${ENDPOINT#http://}
cat >"$T/s3cfg" <<CFG
[default]
access_key = $AWS_ACCESS_KEY_ID
secret_key = $AWS_SECRET_ACCESS_KEY
host_base = $HOSTPORT
host_bucket = $HOSTPORT
use_https = False
signature_v2 = False
bucket_location = us-east-1
CFG
S3CMD="s3cmd -c $T/s3cfg --no-progress"
$S3CMD mb s3://s3cmd-bucket >/dev/null
$S3CMD put "$T/small.bin" s3://s3cmd-bucket/a/small.bin >/dev/null
$S3CMD ls s3://s3cmd-bucket/a/ | grep "a/small.bin" >/dev/null
$S3CMD get s3://s3cmd-bucket/a/small.bin "$T/s3cmd.out" >/dev/null
cmp "$T/small.bin" "$T/s3cmd.out"
$S3CMD del s3://s3cmd-bucket/a/small.bin >/dev/null
$S3CMD rb s3://s3cmd-bucket >/dev/null

echo "== rclone"
export RCLONE_CONFIG=$T/rclone.conf
cat >"$RCLONE_CONFIG" <<CFG
[gw]
type = s3
provider = Other
access_key_id = $AWS_ACCESS_KEY_ID
secret_access_key = $AWS_SECRET_ACCESS_KEY
endpoint = $ENDPOINT
region = us-east-1
force_path_style = true
CFG
mkdir -p "$T/rc/sub"
head -c 100000 /dev/urandom >"$T/rc/one"; head -c 7000 /dev/urandom >"$T/rc/sub/two"
rclone mkdir gw:rclone-bucket
rclone copy "$T/rc" gw:rclone-bucket/tree
rclone lsf -R gw:rclone-bucket/tree | sort | tr '\n' ' ' | grep "one sub/ sub/two" >/dev/null
rclone copy gw:rclone-bucket/tree "$T/rc-back"
diff -r "$T/rc" "$T/rc-back"
rclone purge gw:rclone-bucket

echo "== clean stop"
kill -TERM "$GW_PID"
rc=0; wait "$GW_PID" || rc=$?
GW_PID=""
[ $rc = 0 ] || { echo "gateway exited with status $rc"; exit 1; }
if grep -E "AddressSanitizer|LeakSanitizer|runtime error" "$T/gateway.log"; then exit 1; fi

ok=1
echo "gateway integration: all passed"
