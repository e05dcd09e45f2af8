#!/usr/bin/env bash
# The tessera CLI against a real local network (tessera-sim: satellite + 10 nodes on loopback),
# driven as a user would: access create with the passphrase on stdin, bucket and object round
# trips compared byte for byte, ranges, metadata (meta get/set), recursive copies, server-side
# cp/mv, pending multipart uploads, an interrupted download leaving no part file, mv/rm, and
# shares whose restrictions the satellite enforces (exit code 4 outside the shared prefix), plus
# the exit codes of not found (3), usage (2) and an unreachable satellite (5). Under ASan, every
# CLI process must also exit leak-free (no suppressions).
#
# usage: test_cli.sh TESSERA_SIM TESSERA_CLI [IP_BASE]
# $TS_CLI_MP_BEGIN (optional): the cli_mp_begin helper, to create a pending multipart upload.
# Every process it starts is stopped by PID on exit; a failed run keeps the network's logs in
# $TS_BUILD_DIR/test-logs/cli (or the temp dir). Prints "N passed, M failed" last.
set -u

SIM=${1:?usage: test_cli.sh TESSERA_SIM TESSERA_CLI [IP_BASE]}
T=${2:?usage: test_cli.sh TESSERA_SIM TESSERA_CLI [IP_BASE]}
IP_BASE=${3:-60}
READY_TIMEOUT_S=300
MP_BEGIN=${TS_CLI_MP_BEGIN:-}

WORK=$(mktemp -d /tmp/tessera-cli-test.XXXXXX)
NET=$WORK/net
SIM_PID=
STOPPED_NODES=
passed=0
failed=0

cleanup() {
    if [ -n "$STOPPED_NODES" ]; then
        kill -CONT $STOPPED_NODES 2>/dev/null
    fi
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
# Every CLI process (and the helper) runs through a wrapper that sends sanitizer reports (ASan,
# LeakSanitizer, UBSan builds) to files: a leak or error in any of them fails the run at the end,
# even where the test only looks at a command's output.
SAN=$WORK/san
mkdir -p "$SAN"
wrap() {
    printf '#!/bin/sh\nASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=%s/%s" ' "$SAN" "$2" >"$1"
    printf 'UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=%s/%s" ' "$SAN" "$2" >>"$1"
    printf 'exec "%s" "$@"\n' "$3" >>"$1"
    chmod +x "$1"
}
wrap "$WORK/tessera" cli "$T"
T=$WORK/tessera
if [ -n "$MP_BEGIN" ]; then
    wrap "$WORK/mp_begin" mp "$MP_BEGIN"
    MP_BEGIN=$WORK/mp_begin
fi

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
expect 0 "mb of a second bucket" "$T" mb ts://clitest2
expect 0 "ls of an empty bucket" "$T" ls ts://clitest2
if [ -s "$WORK/out" ]; then bad "ls of an empty bucket printed $(head -c 200 "$WORK/out")"; else
    ok "ls of an empty bucket prints nothing"; fi
expect 0 "ls -r of an empty bucket" "$T" ls -r ts://clitest2
expect 3 "ls of a missing bucket" "$T" ls ts://nosuchbucket

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
expect 0 "meta set" "$T" meta set ts://clitest/meta.bin --meta color=blue --metadata '{"k":"v"}'
expect 0 "meta get after set" "$T" meta get ts://clitest/meta.bin
if [ "$(cat "$WORK/out")" = '{"k": "v", "color": "blue"}' ] ||
    [ "$(cat "$WORK/out")" = '{"color": "blue", "k": "v"}' ]; then
    ok "meta set replaced the whole map"
else
    bad "meta set: got $(cat "$WORK/out")"
fi
"$T" cp ts://clitest/meta.bin "$D/meta.back" >/dev/null 2>&1
same "$D/f1" "$D/meta.back" "meta set leaves the data alone"
expect 2 "meta set without entries or --clear" "$T" meta set ts://clitest/meta.bin
expect 0 "meta set --clear" "$T" meta set ts://clitest/meta.bin --clear
expect 0 "meta get after --clear" "$T" meta get ts://clitest/meta.bin
has '^{}$' "$WORK/out" "the metadata is empty"
expect 3 "meta set of a missing object" "$T" meta set ts://clitest/nosuch --meta a=b
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

# server-side copies and moves (no data through the client), keeping or replacing metadata
expect 0 "cp object -> object" "$T" cp ts://clitest/sizes/f3000000 ts://clitest2/copy.bin
"$T" cp ts://clitest2/copy.bin - >"$D/copy" 2>"$WORK/err"
same "$D/f3000000" "$D/copy" "copied object is byte-exact"
expect 0 "cp object -> object keeps the metadata" "$T" cp ts://clitest/meta.bin ts://clitest2/m1
"$T" meta set ts://clitest/meta.bin --meta owner=me >/dev/null 2>&1
expect 0 "cp keeps metadata" "$T" cp ts://clitest/meta.bin ts://clitest2/m2
expect 0 "meta get of the copy" "$T" meta get ts://clitest2/m2
has '"owner": "me"' "$WORK/out" "the copy has the source's metadata"
expect 0 "cp --meta replaces metadata" "$T" cp --meta new=1 ts://clitest/meta.bin ts://clitest2/m3
expect 0 "meta get of the copy with new metadata" "$T" meta get ts://clitest2/m3
has '^{"new": "1"}$' "$WORK/out" "the copy has only the new metadata"
expect 0 "cp --expires (streamed)" "$T" cp --no-progress --expires +1d ts://clitest/sizes/f7425 \
    ts://clitest2/exp.bin
"$T" cp ts://clitest2/exp.bin - >"$D/exp" 2>"$WORK/err"
same "$D/f7425" "$D/exp" "streamed copy is byte-exact"
expect 3 "cp into a missing bucket" "$T" cp ts://clitest/sizes/f1 ts://nosuchbucket/k
has 'no such bucket "nosuchbucket"' "$WORK/err" "names the missing destination bucket"
expect 3 "cp of a missing object" "$T" cp ts://clitest/nosuch ts://clitest2/k
expect 0 "cp -r prefix -> prefix" "$T" cp -r ts://clitest/tree ts://clitest2/treecopy/
expect 0 "ls -r of the copied prefix" "$T" ls -r ts://clitest2/treecopy
has "treecopy/a/b/3.bin" "$WORK/out" "prefix copied"

# mv and rm
expect 0 "mv object -> object" "$T" mv ts://clitest/piped.bin ts://clitest/moved.bin
expect 3 "the moved source is gone" "$T" cp ts://clitest/piped.bin "$D/x"
"$T" cp ts://clitest/moved.bin - >"$D/moved" 2>"$WORK/err"
same "$D/piped" "$D/moved" "moved object is byte-exact"
expect 0 "mv to another bucket" "$T" mv ts://clitest2/copy.bin ts://clitest/back.bin
expect 3 "mv source gone" "$T" meta get ts://clitest2/copy.bin
"$T" cp ts://clitest/back.bin - >"$D/back.bin" 2>"$WORK/err"
same "$D/f3000000" "$D/back.bin" "moved across buckets byte-exact"
expect 0 "mv with --meta" "$T" mv --meta moved=yes ts://clitest2/m1 ts://clitest2/m1b
expect 3 "mv --meta removed the source" "$T" meta get ts://clitest2/m1
expect 0 "meta get after mv --meta" "$T" meta get ts://clitest2/m1b
has '^{"moved": "yes"}$' "$WORK/out" "mv --meta set the metadata"
expect 3 "mv of a missing object" "$T" mv ts://clitest/nosuch ts://clitest/x
expect 0 "rm" "$T" rm ts://clitest/moved.bin
expect 3 "cp of a removed object" "$T" cp ts://clitest/moved.bin "$D/x"
expect 3 "rm of a missing object" "$T" rm ts://clitest/moved.bin
expect 3 "cp from a missing bucket" "$T" cp ts://nosuchbucket/k "$D/x"
expect 2 "rm of a prefix without -r" "$T" rm ts://clitest/tree/

# ---- pending multipart uploads ----
expect 0 "ls --pending with none" "$T" ls --pending ts://clitest
if [ -s "$WORK/out" ]; then bad "ls --pending printed $(head -c 200 "$WORK/out")"; else
    ok "no pending uploads listed"; fi
expect 2 "ls --pending needs a bucket" "$T" ls --pending
expect 3 "ls --pending of a missing bucket" "$T" ls --pending ts://nosuchbucket
if [ -n "$MP_BEGIN" ]; then
    GRANT=$(cat "$NET/access")
    UID1=$("$MP_BEGIN" "$GRANT" clitest uploads/big.iso 2>"$WORK/err")
    UID2=$("$MP_BEGIN" "$GRANT" clitest other/x.bin 2>>"$WORK/err")
    if [ -n "$UID1" ] && [ -n "$UID2" ]; then ok "multipart uploads started"; else
        bad "cli_mp_begin failed: $(head -c 300 "$WORK/err")"; fi
    expect 0 "ls --pending" "$T" ls --access sim --pending ts://clitest
    has "^UPL  .*  uploads/big.iso  $UID1\$" "$WORK/out" "ls --pending shows key and upload ID"
    has "  other/x.bin  $UID2\$" "$WORK/out" "ls --pending shows every pending upload"
    expect 0 "ls --pending of a prefix" "$T" ls --access sim --pending ts://clitest/uploads
    if grep -q "other/x.bin" "$WORK/out"; then bad "ls --pending ignored the prefix"; else
        ok "ls --pending keeps to the prefix"; fi
    expect 0 "ls lists no pending upload as an object" "$T" ls --access sim -r ts://clitest/uploads
    if grep -q "big.iso" "$WORK/out"; then bad "a pending upload is listed as an object"; else
        ok "pending uploads are not objects"; fi
fi

# ---- an interrupted download leaves no part file ----
# With the nodes stopped the download opens (the satellite answers), creates its part file and
# blocks on the nodes: the signal then arrives mid-download, deterministically.
STOPPED_NODES=$(awk '/^node-/ {print $2}' "$NET/pids")
for sig in INT TERM; do
    mkdir -p "$D/intr$sig"
    kill -STOP $STOPPED_NODES
    # Job control on: a background job of a script would otherwise start with SIGINT ignored.
    set -m
    "$T" cp --no-progress ts://clitest/sizes/f3000000 "$D/intr$sig/out.bin" 2>"$WORK/err" &
    CP_PID=$!
    set +m
    deadline=$((SECONDS + 60))
    while ! ls "$D/intr$sig" | grep -q '\.part-' && [ "$SECONDS" -lt "$deadline" ]; do
        sleep 0.05
    done
    if ls "$D/intr$sig" | grep -q '\.part-'; then ok "the download writes a part file"; else
        bad "no part file appeared"; fi
    kill -"$sig" "$CP_PID"
    wait "$CP_PID"
    rc=$?
    kill -CONT $STOPPED_NODES
    if [ "$rc" -ge 128 ]; then ok "SIG$sig ends the download (exit $rc)"; else
        bad "SIG$sig: exit $rc"; fi
    if [ -z "$(ls -A "$D/intr$sig")" ]; then ok "SIG$sig leaves no part file behind"; else
        bad "SIG$sig left $(ls "$D/intr$sig")"; fi
done
STOPPED_NODES=
expect 0 "the nodes serve again" "$T" cp ts://clitest/sizes/f3000000 "$D/after"
same "$D/f3000000" "$D/after" "download after the interruption is byte-exact"

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
expect 0 "rb --force of the second bucket" "$T" rb --force ts://clitest2
expect 0 "access remove" "$T" access remove other
expect 3 "access remove again" "$T" access remove other

reports=$(ls "$SAN")
if [ -z "$reports" ]; then ok "no sanitizer report from any CLI process"; else
    bad "sanitizer reports: $reports: $(cat "$SAN"/* | head -c 1500)"; fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
