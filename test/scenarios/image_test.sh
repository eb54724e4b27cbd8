#!/bin/bash
# mosctl image show, and recovery refusing bad images with one clear line and starting nothing.
source "$(dirname "$0")/lib.sh"
start_agent
W="$T/work"; mkdir -p "$W"

bg_clean "$T/run.out" "$MOSRUN" -C "$W/ck" "$PROGS/selfcheck" "$W"
pid=$BG
wait_for_text "$T/run.out" ready
img=$("$MIGRATE" "$pid" checkpoint)
kill -9 "$pid"; wait "$pid" 2>/dev/null || true

text=$("$MOSCTL" image show "$img")
for want in "process: pid $pid (selfcheck)" "argv:" "cwd:    $W" "registers: rip" "xsave" "memory:" "[heap]" \
            "[stack]" "libc.so.6" "files:" "state.txt" "offset 6" "signals: handlers for " "USR1" "blocked USR2" \
            "timer real" "rseq:"; do
  [[ "$text" == *"$want"* ]] || fail "image show lacks '$want':
$text"
done
pass "image show (text)"

"$MOSCTL" image show "$img" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["format_version"] == 1, d["format_version"]
assert d["process"]["comm"] == "selfcheck"
assert d["memory"]["pages"] > 2000
assert any(r["kind"] == "stack" for r in d["memory"]["regions"])
assert sum(r["stored_pages"] for r in d["memory"]["regions"]) == d["memory"]["pages"]
assert any(f["fd"] == 3 and f["offset"] == 6 for f in d["fds"])
assert "USR1" in d["signals"]["handlers"]
' || fail "image show --json"
pass "image show --json"

# A sparse 256 MiB mapping with one page in 16 touched costs what it uses.
size=$(stat -c %s "$img")
[[ $size -lt $((40 * 1024 * 1024)) ]] || fail "image of $size bytes: untouched pages were stored"
pass "sparse memory costs what it uses ($size bytes)"

# A 1 GiB mapping with 8 pages touched: the image holds those pages, not the gigabyte.
bg_clean "$T/sparse.out" "$MOSRUN" "$PROGS/holder" "$W" sparse
pid=$BG
wait_for_text "$T/sparse.out" ready
simg=$("$MIGRATE" "$pid" checkpoint)
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
ssize=$(stat -c %s "$simg")
shown=$("$MOSCTL" image show "$simg")
grep -qE ' 1\.0G +rw-p +anon +32K' <<<"$shown" || fail "1 GiB region not shown with 32K stored: $shown"
[[ $ssize -lt $((2 * 1024 * 1024)) ]] || fail "sparse 1 GiB mapping gave a $ssize-byte image"
pass "sparse 1 GiB mapping: image of $ssize bytes"

# Bad images: truncated, corrupted, foreign version, not an image, missing.
head -c $((size / 2)) "$img" >"$W/truncated"
cp "$img" "$W/corrupted"
printf '\xde\xad' | dd of="$W/corrupted" bs=1 seek=$((size / 3)) conv=notrunc status=none
python3 - "$img" "$W/future" <<'PY'
import struct, sys
# Rewrite the manifest's format_version (field 1, varint) to 7 and fix both checksums.
data = bytearray(open(sys.argv[1], "rb").read())
magic, kind, length, crc, hcrc = struct.unpack_from("<IIQII", data, 0)
payload = bytearray(data[24:24 + length])
assert payload[0] == 0x08 and payload[1] == 1
payload[1] = 7
def crc32c(b):
    c = 0xffffffff
    for x in b:
        c ^= x
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
    return c ^ 0xffffffff
hdr = struct.pack("<IIQI", magic, kind, length, crc32c(payload))
data[0:24] = hdr + struct.pack("<I", crc32c(hdr))
data[24:24 + length] = payload
open(sys.argv[2], "wb").write(data)
PY
echo "not an image at all" >"$W/text"
for bad in truncated corrupted future text missing; do
  set +e
  out=$("$MOSRUN" -R "$W/$bad" 2>&1); st=$?
  set -e
  [[ $st -ne 0 ]] || fail "$bad image accepted"
  [[ $(echo "$out" | wc -l) -eq 1 ]] || fail "$bad: more than one line: $out"
  case $bad in
    truncated) [[ "$out" == *truncated* ]] ;;
    corrupted) [[ "$out" == *corrupted* ]] ;;
    future) [[ "$out" == *"format version 7"* ]] ;;
    text) [[ "$out" == *"not a mosix image"* ]] ;;
    missing) [[ "$out" == *"No such file"* ]] ;;
  esac || fail "$bad: unclear message: $out"
  out2=$("$MOSCTL" image show "$W/$bad" 2>&1) && fail "image show accepted $bad"
  pass "$bad image refused: $out"
done
# Nothing was started: no process of the image runs.
pgrep -f "$PROGS/selfcheck" && fail "a refused recovery started something"
pass "refused recoveries started nothing"
