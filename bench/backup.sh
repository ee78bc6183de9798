#!/usr/bin/env bash
# Side-by-side benchmark: ledger-backup vs restic 0.14 on the same data and the same disk.
#
#   bench/backup.sh [WORKDIR]
#
# Builds ledger-backup (release), makes a reproducible ~1 GiB data set (incompressible files,
# compressible text, 20,000 small files), then measures initial backup, a ~2% change backed up
# incrementally, and a full restore, for both tools, plus `tar cf - DIR | cat` as the floor.
# Wall time, CPU time (user+sys) and peak memory come from /usr/bin/time. Writes
# bench/RESULTS.md. Not part of the test command.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
WORK="${1:-$(mktemp -d "${TMPDIR:-/tmp}/ledger-bench.XXXXXX")}"
mkdir -p "$WORK"
command -v restic >/dev/null || { echo "restic is needed: apt-get install -y restic" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is needed: apt-get install -y time" >&2; exit 2; }

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cargo build --release --locked -p thinledger-cli --no-default-features --features backup >&2
LB="$CARGO_TARGET_DIR/release/ledger-backup"

DATA="$WORK/data"
if [ ! -e "$DATA/.complete" ]; then
    rm -rf "$DATA"
    python3 - "$DATA" <<'PY'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(20260101)
os.makedirs(root)
# 512 MiB incompressible: 16 files of 32 MiB.
os.makedirs(f"{root}/blobs")
for i in range(16):
    with open(f"{root}/blobs/blob-{i:02}.bin", "wb") as f:
        f.write(rnd.randbytes(32 << 20))
# ~420 MiB compressible text: 12 files of 35 MiB of ledger-like lines.
os.makedirs(f"{root}/text")
words = ["debit", "credit", "account", "balance", "posting", "journal", "settled", "pending", "EUR", "USD"]
for i in range(12):
    with open(f"{root}/text/ledger-{i:02}.log", "w") as f:
        size = 0
        lines = []
        while size < (35 << 20):
            line = f"{rnd.randrange(10**12):012d} {rnd.choice(words)} {rnd.choice(words)} {rnd.randrange(10**6)}.{rnd.randrange(100):02d} {rnd.choice(words)}\n"
            lines.append(line); size += len(line)
            if len(lines) >= 10000:
                f.write("".join(lines)); lines = []
        f.write("".join(lines))
# 20,000 small files (~100 MiB), 200 directories.
for d in range(200):
    os.makedirs(f"{root}/small/d{d:03}")
    for j in range(100):
        n = rnd.randrange(512, 9 * 1024)
        with open(f"{root}/small/d{d:03}/f{j:03}.txt", "wb") as f:
            f.write(rnd.randbytes(n // 2).hex().encode()[:n])
open(f"{root}/.complete", "w").close()
PY
fi

change() {  # ~2% of the bytes: rewrite one incompressible file's first 16 MiB, append text, touch 400 small files
    python3 - "$DATA" <<'PY'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(7)
with open(f"{root}/blobs/blob-03.bin", "r+b") as f:
    f.write(rnd.randbytes(16 << 20))
with open(f"{root}/text/ledger-05.log", "a") as f:
    f.write("".join(f"{i:012d} credit appended {i}\n" for i in range(100000)))
for d in range(0, 200, 10):
    for j in range(20):
        with open(f"{root}/small/d{d:03}/f{j:03}.txt", "ab") as f:
            f.write(b"changed\n")
PY
}

echo "benchmark password" > "$WORK/pw"
export RESTIC_PASSWORD_FILE="$WORK/pw" THINLEDGER_PASSWORD_FILE="$WORK/pw"
export RESTIC_CACHE_DIR="$WORK/restic-cache"
RESULTS="$WORK/results.tsv"
: > "$RESULTS"

measure() {  # measure NAME STEP -- command...
    local name="$1" step="$2"; shift 3
    sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
    /usr/bin/time -f "%e %U %S %M" -o "$WORK/time.out" "$@" > "$WORK/out.log" 2>&1 || { cat "$WORK/out.log" >&2; exit 1; }
    read -r wall user sys rss < "$WORK/time.out"
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$step" "$wall" "$(echo "$user + $sys" | bc)" "$((rss / 1024))" >> "$RESULTS"
    echo "$name $step: ${wall}s wall, $((rss / 1024)) MiB peak" >&2
}

rm -rf "$WORK/lb-repo" "$WORK/restic-repo" "$WORK/restic-cache" "$WORK/restore-"*
# Each tool gets an untouched copy of the data (the change step edits it in place).
rm -rf "$WORK/data-run"; cp -a "$DATA" "$WORK/data-run"; DATA_RUN="$WORK/data-run"

measure floor "tar" -- sh -c "tar cf - -C '$DATA_RUN' . | cat > /dev/null"
"$LB" -q -r "$WORK/lb-repo" init > /dev/null
restic -q -r "$WORK/restic-repo" init > /dev/null
measure ledger-backup initial -- "$LB" -q -r "$WORK/lb-repo" backup "$DATA_RUN"
measure restic initial -- restic -q -r "$WORK/restic-repo" backup "$DATA_RUN"
DATA_SAVE="$DATA"; DATA="$DATA_RUN"; change; DATA="$DATA_SAVE"
measure ledger-backup incremental -- "$LB" -q -r "$WORK/lb-repo" backup "$DATA_RUN"
measure restic incremental -- restic -q -r "$WORK/restic-repo" backup "$DATA_RUN"
measure ledger-backup restore -- "$LB" -q -r "$WORK/lb-repo" restore latest --target "$WORK/restore-lb"
measure restic restore -- restic -q -r "$WORK/restic-repo" restore latest --target "$WORK/restore-restic"
diff -r "$DATA_RUN" "$WORK/restore-lb$DATA_RUN" > /dev/null && echo "ledger-backup restore: identical" >&2
restic -q -r "$WORK/lb-repo" check --read-data > "$WORK/restic-check.log" 2>&1 && echo "restic check --read-data of ledger-backup's repository: ok" >&2
size_lb=$(du -sb "$WORK/lb-repo" | cut -f1); size_restic=$(du -sb "$WORK/restic-repo" | cut -f1)
data_size=$(du -sb "$DATA_RUN" | cut -f1)

{
    echo "# Backup benchmark: ledger-backup vs restic $(restic version | awk '{print $2}')"
    echo
    echo "Generated by \`bench/backup.sh\` on $(date -u +%Y-%m-%d) ($(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB RAM, local folder repositories on the same disk, page cache dropped before each step when permitted)."
    echo "Data: $((data_size / 1048576)) MiB — 16×32 MiB incompressible, 12×35 MiB text, 20,000 small files; the change rewrites 16 MiB of one file, appends ~4 MiB of text and edits 400 small files (~2%)."
    echo
    echo "| step | tool | wall s | CPU s | peak MiB |"
    echo "|---|---|---|---|---|"
    awk -F'\t' '{printf "| %s | %s | %s | %s | %s |\n", $2, $1, $3, $4, $5}' "$RESULTS"
    echo
    echo "| | ledger-backup | restic | ratio (restic / ledger-backup) |"
    echo "|---|---|---|---|"
    for step in initial incremental restore; do
        a=$(awk -F'\t' -v s=$step '$1=="ledger-backup" && $2==s {print $3}' "$RESULTS")
        b=$(awk -F'\t' -v s=$step '$1=="restic" && $2==s {print $3}' "$RESULTS")
        echo "| $step wall s | $a | $b | $(echo "scale=2; $b / $a" | bc) |"
    done
    echo "| repository size MiB | $((size_lb / 1048576)) | $((size_restic / 1048576)) | $(echo "scale=3; $size_restic / $size_lb" | bc) |"
    echo
    echo "Targets (issue 5): initial ≥2.5×, incremental ≥2×, restore ≥1.5× faster than restic; peak memory ≤ restic's; repository within 5% of restic's."
} > "$ROOT/bench/RESULTS.md"
cat "$ROOT/bench/RESULTS.md"
