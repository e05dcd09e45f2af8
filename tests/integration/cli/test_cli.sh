#!/usr/bin/env bash
# The tessera CLI against a real local network (tessera-sim: satellite + 10 nodes on loopback),
# driven as a user would: access create with the passphrase on stdin, bucket and object round
# trips compared byte for byte, ranges, metadata, recursive copies, mv/rm, and shares whose
# restrictions the satellite enforces (exit code 4 outside the shared prefix), plus the exit codes
# of not found (3), usage (2) and an unreachable satellite (5).
#
# usage: test_cli.sh TESSERA_SIM TESSERA_CLI [IP_BASE]
# Every process it starts is stopped by PID on exit; a failed run keeps the network's logs in
# $TS_BUILD_DIR/test-logs/cli (or the temp dir). Prints "N passed, M failed" last.
set -u

SIM=${1:?usage: test_cli.sh TESSERA_SIM TESSERA_CLI [IP_BASE]}
T=${2:?usage: test_cli.sh TESSERA_SIM TESSERA_CLI [IP_BASE]}
IP_BASE=${3:-60}
READY_TIMEOUT_S=300

# ASan builds: a known at-exit race in the library's detached workers, see lsan.supp.
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$(dirname "$0")/lsan.supp"

WORK=$(mktemp -d /tmp/tessera-cli-test.XXXXXX)
NET=$WORK/net
SIM_PID=
passed=0
failed=0

cleanup() {
    if [ -n "$SIM_PID" ] && kill -0 "$SIM_PID" 2>/dev/null; then
        kill -TERM "$SIM_PID" 2>/dev/null
        # The sim stops its satellite and nodes by PID; give it a bounded time.
        for _ in $(seq 1 150); do
            kill -0 "$SIM_PID" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$SIM_PID" 2>/dev/null
        wait "$SIM_PID" 2>/dev/null
    fi
    if [ "$failed" -ne 0 ] && [ -d "$NET/logs" ]; then
        if [ -n "${TS_BUILD_DIR:-}" ]; then
            keep=$TS_BUILD_DIR/test-logs/cli
        else
            keep=$(mktemp -d /tmp/tessera-cli-logs.XXXXXX)
        fi
        mkdir -p "$keep" && cp -r "$NET/logs" "$WORK/sim.out" "$keep/" 2>/dev/null
        echo "logs kept in $keep"
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() {
    passed=$((passed + 1))
    echo "ok   - $1"
}
bad() {
    failed=$((failed + 1))
    echo "FAIL - $1"
}

# expect RC DESCRIPTION CMD...: runs CMD (stdout to $WORK/out, stderr to $WORK/err) and checks
# its exit code.
expect() {
    local want=$1 what=$2
    shift 2
    "$@" >"$WORK/out" 2>"$WORK/err"
    local rc=$?
    if [ "$rc" -eq "$want" ]; then
        ok "$what (exit $rc)"
    else
        bad "$what: exit $rc, expected $want; stderr: $(head -c 400 "$WORK/err")"
    fi
}

# same FILE1 FILE2 DESCRIPTION
same() {
    if cmp -s "$1" "$2"; then ok "$3"; else bad "$3: $1 and $2 differ"; fi
}

# grep_out PATTERN FILE DESCRIPTION
has() {
    if grep -q -- "$1" "$2"; then ok "$3"; else bad "$3: no '$1' in $(head -c 300 "$2")"; fi
}

# ---- the network ----
"$SIM" run --dir "$NET" --quiet --ip-base "$IP_BASE" >"$WORK/sim.out" 2>&1 &
SIM_PID=$!
deadline=$((SECONDS + READY_TIMEOUT_S))
while [ ! -f "$NET/ready" ]; do
    if ! kill -0 "$SIM_PID" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
        echo "the network did not become ready:"
        tail -20 "$WORK/sim.out"
        failed=1
        echo "0 passed, 1 failed"
        exit 1
    fi
    sleep 0.2
done
SAT=$(cat "$NET/satellite.url")
KEY=$(cat "$NET/apikey")
export TESSERA_CONFIG_DIR=$WORK/cfg
D=$WORK/data
mkdir -p "$D"

# ---- accesses ----
echo "correct horse battery staple" >"$WORK/pass"
expect 0 "access create, passphrase on stdin" \
    "$T" access create --satellite "$SAT" --api-key "$KEY" <"$WORK/pass"
expect 0 "access list" "$T" access list
has "^\* main" "$WORK/out" "the first access is in use"
expect 1 "access create refuses to replace a name" \
    "$T" access create --satellite "$SAT" --api-key "$KEY" <"$WORK/pass"
expect 0 "a second access from the same passphrase" \
    "$T" access create --satellite "$SAT" --api-key "$KEY" --name twin <"$WORK/pass"
echo "another passphrase" >"$WORK/pass2"
expect 0 "an access from another passphrase" \
    "$T" access create --satellite "$SAT" --api-key "$KEY" --name other <"$WORK/pass2"
expect 2 "access create with an empty passphrase" \
    "$T" access create --satellite "$SAT" --api-key "$KEY" --name empty </dev/null
expect 2 "access create with a bad API key" \
    "$T" access create --satellite "$SAT" --api-key notakey --name x <"$WORK/pass"
expect 5 "access create against a closed port" \
    "$T" access create --satellite "${SAT%:*}:1" --api-key "$KEY" --name x <"$WORK/pass"
has "satellite unreachable at" "$WORK/err" "names the unreachable satellite"
expect 0 "access import from a file" "$T" access import sim "$NET/access"
expect 0 "access inspect" "$T" access inspect sim
has "\"satellite\": \"$SAT\"" "$WORK/out" "inspect shows the satellite"
has "\"default_key\": true" "$WORK/out" "inspect shows the root key's presence"
expect 3 "access use of an unknown name" "$T" access use nosuch
expect 0 "access use" "$T" access use main

# ---- buckets ----
expect 0 "mb" "$T" mb ts://clitest
expect 1 "mb of an existing bucket" "$T" mb ts://clitest
expect 2 "mb of a bad name" "$T" mb ts://Bad_Name
expect 0 "ls buckets" "$T" ls
has "clitest" "$WORK/out" "ls lists the bucket"

# ---- objects: sizes across inline, one stripe, several stripes, two segments' worth of pieces ----
for size in 0 1 4095 4096 7425 300000 3000000; do
    head -c "$size" /dev/urandom >"$D/f$size"
    expect 0 "cp up $size bytes" "$T" cp --no-progress "$D/f$size" "ts://clitest/sizes/f$size"
    expect 0 "cp down $size bytes" "$T" cp --no-progress "ts://clitest/sizes/f$size" "$D/g$size"
    same "$D/f$size" "$D/g$size" "round trip of $size bytes is byte-exact"
done
expect 0 "ls a prefix" "$T" ls ts://clitest/sizes/
has "f300000" "$WORK/out" "ls shows the key"
expect 0 "ls a bucket (non-recursive)" "$T" ls ts://clitest
has "PRE  sizes/" "$WORK/out" "ls folds keys into prefixes"

# stdin -> object -> stdout, and the default object name from a '/'-ending destination
head -c 100000 /dev/urandom >"$D/piped"
expect 0 "cp from stdin" "$T" cp - ts://clitest/piped.bin <"$D/piped"
"$T" cp ts://clitest/piped.bin - >"$D/piped.out" 2>"$WORK/err"
same "$D/piped" "$D/piped.out" "cp to stdout"
expect 0 "cp into a prefix keeps the file name" "$T" cp "$D/f1" ts://clitest/named/
expect 0 "the object has the file's name" "$T" cp ts://clitest/named/f1 "$D/named"
same "$D/f1" "$D/named" "named copy is byte-exact"

# ranges
"$T" cp --range 1000-1999 ts://clitest/sizes/f300000 - >"$D/r1" 2>"$WORK/err"
tail -c +1001 "$D/f300000" | head -c 1000 >"$D/r1.want"
same "$D/r1.want" "$D/r1" "--range START-END"
"$T" cp --range bytes=-4321 ts://clitest/sizes/f300000 - >"$D/r2" 2>"$WORK/err"
tail -c 4321 "$D/f300000" >"$D/r2.want"
same "$D/r2.want" "$D/r2" "--range bytes=-N (suffix)"
"$T" cp --range 299990- ts://clitest/sizes/f300000 - >"$D/r3" 2>"$WORK/err"
tail -c 10 "$D/f300000" >"$D/r3.want"
same "$D/r3.want" "$D/r3" "--range START-"
expect 2 "--range with END before START" "$T" cp --range 9-1 ts://clitest/sizes/f1 -

# metadata and expiry
expect 0 "cp with metadata" "$T" cp --metadata '{"content-type":"text/plain","q":"a\"b"}' \
    --meta owner=me --expires +7d "$D/f1" ts://clitest/meta.bin
expect 0 "meta get" "$T" meta get ts://clitest/meta.bin
has '"content-type": "text/plain"' "$WORK/out" "metadata from --metadata"
has '"q": "a\\"b"' "$WORK/out" "escaped metadata round trip"
has '"owner": "me"' "$WORK/out" "metadata from --meta"
expect 2 "bad metadata JSON" "$T" cp --metadata '{"a":1}' "$D/f1" ts://clitest/x
expect 2 "--expires in the past" "$T" cp --expires 2001-01-01T00:00:00Z "$D/f1" ts://clitest/x

# recursive copies both ways
mkdir -p "$D/tree/a/b" "$D/tree/empty"
echo one >"$D/tree/1.txt"
head -c 5000 /dev/urandom >"$D/tree/a/2.bin"
head -c 9000 /dev/urandom >"$D/tree/a/b/3.bin"
expect 0 "cp -r directory -> prefix" "$T" cp -r --no-progress "$D/tree" ts://clitest/tree/
expect 0 "ls -r" "$T" ls -r ts://clitest/tree
has "tree/a/b/3.bin" "$WORK/out" "ls -r shows nested keys"
expect 0 "cp -r prefix -> directory" "$T" cp -r --no-progress ts://clitest/tree "$D/back"
rmdir "$D/tree/empty"
if diff -r "$D/tree" "$D/back" >/dev/null; then ok "recursive round trip"; else
    bad "recursive round trip differs"; fi

# the same passphrase gives the same keys; another passphrase sees nothing
expect 0 "download through the twin access" \
    "$T" cp --access twin ts://clitest/sizes/f4096 "$D/twin"
same "$D/f4096" "$D/twin" "same passphrase, same keys"
expect 3 "another passphrase cannot find the object" \
    "$T" cp --access other ts://clitest/sizes/f4096 "$D/other"

# mv and rm
expect 0 "mv object -> object" "$T" mv ts://clitest/piped.bin ts://clitest/moved.bin
expect 3 "the moved source is gone" "$T" cp ts://clitest/piped.bin "$D/x"
"$T" cp ts://clitest/moved.bin - >"$D/moved" 2>"$WORK/err"
same "$D/piped" "$D/moved" "moved object is byte-exact"
expect 0 "rm" "$T" rm ts://clitest/moved.bin
expect 3 "cp of a removed object" "$T" cp ts://clitest/moved.bin "$D/x"
expect 3 "rm of a missing object" "$T" rm ts://clitest/moved.bin
expect 3 "cp from a missing bucket" "$T" cp ts://nosuchbucket/k "$D/x"
expect 2 "rm of a prefix without -r" "$T" rm ts://clitest/tree/

# ---- sharing: the satellite enforces the caveat ----
"$T" cp "$D/f4096" ts://clitest/private/secret.bin >/dev/null 2>&1
"$T" share ts://clitest/sizes --not-after +1h >"$WORK/share" 2>"$WORK/err"
G=$(head -1 "$WORK/share")
if [ -n "$G" ]; then ok "share prints a grant"; else bad "share printed nothing"; fi
expect 0 "shared grant reads inside its prefix" \
    "$T" cp --access "$G" ts://clitest/sizes/f7425 "$D/shared"
same "$D/f7425" "$D/shared" "shared read is byte-exact"
expect 0 "shared grant lists its prefix" "$T" ls --access "$G" ts://clitest/sizes/
expect 4 "shared grant cannot read outside its prefix" \
    "$T" cp --access "$G" ts://clitest/private/secret.bin "$D/x"
has "denied by the access's restrictions" "$WORK/err" "denial message names the cause"
expect 4 "shared grant cannot list the bucket root" "$T" ls --access "$G" ts://clitest
expect 4 "read-only share cannot upload" \
    "$T" cp --access "$G" "$D/f1" ts://clitest/sizes/new.bin
expect 4 "read-only share cannot delete" "$T" rm --access "$G" ts://clitest/sizes/f1
expect 0 "access inspect of the share" "$T" access inspect "$G"
has '"disallow_writes": true' "$WORK/out" "inspect shows the caveat"
has '"default_key": false' "$WORK/out" "the share carries no root key"
expect 2 "share needs a prefix" "$T" share
"$T" share ts://clitest/sizes --not-before +1h >"$WORK/later" 2>/dev/null
expect 4 "a share that is not valid yet is refused" \
    "$T" cp --access "$(head -1 "$WORK/later")" ts://clitest/sizes/f1 "$D/x"
"$T" access restrict --writeonly --prefix ts://clitest/drop >"$WORK/wo" 2>/dev/null
W=$(head -1 "$WORK/wo")
expect 0 "write-only grant uploads" "$T" cp --access "$W" "$D/f1" ts://clitest/drop/in.bin
expect 4 "write-only grant cannot download" \
    "$T" cp --access "$W" ts://clitest/drop/in.bin "$D/x"
expect 0 "the owner reads the dropped file" "$T" cp ts://clitest/drop/in.bin "$D/dropped"
same "$D/f1" "$D/dropped" "write-only upload is byte-exact"

# ---- removing ----
expect 1 "rb of a non-empty bucket" "$T" rb ts://clitest
has "not empty" "$WORK/err" "rb names the cause"
expect 0 "rm -r" "$T" rm -r ts://clitest/tree
expect 3 "rm -r of an emptied prefix" "$T" rm -r ts://clitest/tree
expect 0 "rb --force" "$T" rb --force ts://clitest
expect 3 "ls of a removed bucket" "$T" ls ts://clitest
expect 0 "access remove" "$T" access remove other
expect 3 "access remove again" "$T" access remove other

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
