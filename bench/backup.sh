#!/usr/bin/env bash
# Side-by-side benchmark: ledger-backup vs restic 0.14 on the same data and the same disk.
#
#   bench/backup.sh [--data DIR] [WORKDIR]
#
# Builds ledger-backup (release), then measures on a data set: initial backup, a change backed
# up incrementally, a full restore and `check --read-data`, for both tools, plus
# `tar cf - DIR | cat` as the floor. Without `--data` the data set is generated: a reproducible
# ~1 GiB (incompressible files, compressible text, 20,000 small files), changed by ~2% for the
# incremental step. With `--data DIR` any directory is the data set (a copy of it, symbolic
# links kept as links), and the change is one added file.
# Wall time, CPU time (user+sys) and peak memory come from /usr/bin/time; each step runs
# REPEAT times (default 3) per tool, alternating tools, and the run with the median wall time
# is reported. The machine's load average is recorded with every figure: on a shared machine
# wall times mean little when it is above the number of cores, CPU times much less so.
# Then one more restore per tool runs under `strace -f -c` for its system call counts, and
# both tools' first restored trees are compared with the data (`diff -r --no-dereference`).
#
# Restores: every restore (measured or under strace) goes into a directory of its own, and none
# is removed until all are done; which tool restores first alternates from run to run. Why: on
# an ext4 file system without a journal (this machine's root), creating a file skips every free
# inode whose dtime is recent (within `dirtime_expire_interval`, 12 h), reading its inode-table
# block to find out (`find_inode_bit` -> `recently_deleted`), so whoever creates tens of thousands
# of files right after a mass deletion pays seconds of system time: with the restored trees
# removed between runs, `perf record -a -g` put ~40% of all samples of a slow restore there, and
# the same restore took 6.5 s in one run and 15-17 s in the next. RESTORE_DIR=DIR restores onto
# another file system (e.g. /dev/shm, tmpfs: no such effect, and the disk's speed drops out);
# the file system restored onto is named in the figures. Room needed there: (REPEAT + 1) x 2
# copies of the data.
#
# Environment: REPEAT=N; WAIT_LOAD=L waits (up to WAIT_MAX seconds, default 900) until the
# 1-minute load average is below L before starting; DROP_CACHES=0 keeps the page cache warm
# (by default it is dropped before every step where that is permitted);
# LEDGER_BACKUP_BIN=PATH uses an already built binary instead of building one; RESTORE_DIR=DIR
# restores under DIR (default WORKDIR; see above).
#
# The generated data set's figures go between the `bench:begin`/`bench:end` markers of
# bench/RESULTS.md, keeping everything else in that file (the hand-written analysis). A
# `--data` run leaves RESULTS.md alone and prints its section (also in WORKDIR/section.md).
# Not part of the test command.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
SOURCE=""
while [ $# -gt 0 ]; do
    case "$1" in
        --data) [ $# -ge 2 ] || { echo "--data needs a directory" >&2; exit 2; }
                SOURCE="$(cd "$2" && pwd)"; shift 2 ;;
        --data=*) SOURCE="$(cd "${1#--data=}" && pwd)"; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
        *) break ;;
    esac
done
WORK="${1:-$(mktemp -d "${TMPDIR:-/tmp}/ledger-bench.XXXXXX")}"
REPEAT="${REPEAT:-3}"
mkdir -p "$WORK"
command -v restic >/dev/null || { echo "restic is needed: apt-get install -y restic" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is needed: apt-get install -y time" >&2; exit 2; }
command -v strace >/dev/null || { echo "strace is needed: apt-get install -y strace" >&2; exit 2; }

if [ -n "${LEDGER_BACKUP_BIN:-}" ]; then
    LB="$LEDGER_BACKUP_BIN"
else
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
    cargo build --release --locked -p thinledger-cli --no-default-features --features backup >&2
    LB="$CARGO_TARGET_DIR/release/ledger-backup"
fi

load1() { cut -d' ' -f1 /proc/loadavg; }
add() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a + b }'; }
# Whether the page cache can be dropped here (containers usually may not).
if [ "${DROP_CACHES:-1}" != 0 ] && sync && echo 3 2>/dev/null > /proc/sys/vm/drop_caches; then DROP=1; else DROP=0; fi

if [ -n "${WAIT_LOAD:-}" ]; then
    waited=0
    while awk -v l="$(load1)" -v m="$WAIT_LOAD" 'BEGIN { exit !(l >= m) }' && [ "$waited" -lt "${WAIT_MAX:-900}" ]; do
        echo "load average $(load1) >= $WAIT_LOAD; waiting" >&2
        sleep 30; waited=$((waited + 30))
    done
fi

DATA="$WORK/data"
if [ -n "$SOURCE" ]; then
    DATA="$SOURCE"
elif [ ! -e "$DATA/.complete" ]; then
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

change() {  # --data: one file added; generated: ~2% of the bytes: rewrite one incompressible file's first 16 MiB, append text, touch 400 small files
    if [ -n "$SOURCE" ]; then
        python3 -c 'import random, sys; open(sys.argv[1], "wb").write(random.Random(7).randbytes(1 << 20))' "$1/ledger-bench-added.bin"
        return
    fi
    python3 - "$1" <<'PY'
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
RESULTS="$WORK/results.tsv"   # tool step run wall cpu user sys peak_mib load_before
: > "$RESULTS"

measure() {  # measure TOOL STEP RUN -- command...
    local tool="$1" step="$2" run="$3"; shift 4
    local load; load=$(load1)
    if [ "$DROP" = 1 ]; then sync; echo 3 > /proc/sys/vm/drop_caches; fi
    /usr/bin/time -f "%e %U %S %M" -o "$WORK/time.out" "$@" > "$WORK/out.log" 2>&1 || { cat "$WORK/out.log" >&2; exit 1; }
    read -r wall user sys rss < "$WORK/time.out"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$step" "$run" "$wall" "$(add "$user" "$sys")" "$user" "$sys" "$((rss / 1024))" "$load" >> "$RESULTS"
    echo "$tool $step #$run: ${wall}s wall, $(add "$user" "$sys")s CPU, $((rss / 1024)) MiB peak, load $load" >&2
}

# Each run gets an untouched copy of the data (the change step edits it in place).
rm -rf "$WORK/data-run"; cp -a "$DATA" "$WORK/data-run"; DATA_RUN="$WORK/data-run"
lb() { "$LB" -q -r "$WORK/lb-repo" "$@"; }
rs() { restic -q -r "$WORK/restic-repo" "$@"; }

for run in $(seq "$REPEAT"); do
    measure floor tar "$run" -- sh -c "tar cf - -C '$DATA_RUN' . | cat > /dev/null"
done

# Initial backups, alternating tools; the last repository of each is kept.
for run in $(seq "$REPEAT"); do
    rm -rf "$WORK/lb-repo"; lb init > /dev/null
    measure ledger-backup initial "$run" -- "$LB" -q -r "$WORK/lb-repo" backup "$DATA_RUN"
    rm -rf "$WORK/restic-repo" "$WORK/restic-cache"; rs init > /dev/null
    measure restic initial "$run" -- restic -q -r "$WORK/restic-repo" backup "$DATA_RUN"
done
size_lb_initial=$(du -sb "$WORK/lb-repo" | cut -f1); size_restic_initial=$(du -sb "$WORK/restic-repo" | cut -f1)
rm -rf "$WORK/lb-repo.base" "$WORK/restic-repo.base" "$WORK/restic-cache.base"
cp -a "$WORK/lb-repo" "$WORK/lb-repo.base"; cp -a "$WORK/restic-repo" "$WORK/restic-repo.base"
cp -a "$WORK/restic-cache" "$WORK/restic-cache.base"

change "$DATA_RUN"
for run in $(seq "$REPEAT"); do
    rm -rf "$WORK/lb-repo"; cp -a "$WORK/lb-repo.base" "$WORK/lb-repo"
    measure ledger-backup incremental "$run" -- "$LB" -q -r "$WORK/lb-repo" backup "$DATA_RUN"
    rm -rf "$WORK/restic-repo" "$WORK/restic-cache"
    cp -a "$WORK/restic-repo.base" "$WORK/restic-repo"; cp -a "$WORK/restic-cache.base" "$WORK/restic-cache"
    measure restic incremental "$run" -- restic -q -r "$WORK/restic-repo" backup "$DATA_RUN"
done

# Restores: each into a fresh directory, none removed before the last (see the header: on ext4
# without a journal, creating files right after a mass deletion is slow for whoever comes next);
# the first tool alternates.
RESTORES="$(mktemp -d "${RESTORE_DIR:-$WORK}/ledger-bench-restores.XXXXXX")"
RESTORE_FS="$( (findmnt -n -o FSTYPE -T "$RESTORES" 2>/dev/null || stat -f -c %T "$RESTORES") | head -n 1)"
restore() {  # restore TOOL RUN
    if [ "$1" = ledger-backup ]; then
        measure ledger-backup restore "$2" -- "$LB" -q -r "$WORK/lb-repo" restore latest --target "$RESTORES/lb-$2"
    else
        measure restic restore "$2" -- restic -q -r "$WORK/restic-repo" restore latest --target "$RESTORES/restic-$2"
    fi
}
for run in $(seq "$REPEAT"); do
    if [ $((run % 2)) = 1 ]; then restore ledger-backup "$run"; restore restic "$run"
    else restore restic "$run"; restore ledger-backup "$run"; fi
done

for run in $(seq "$REPEAT"); do
    measure ledger-backup check "$run" -- "$LB" -q -r "$WORK/lb-repo" check --read-data
    measure restic check "$run" -- restic -q -r "$WORK/restic-repo" check --read-data
done

# One more restore per tool, under strace: how many system calls of each kind a restore makes.
STRACE_CALLS="openat close write pwrite64 fchmod fchmodat chmod utimensat fchown fchownat lchown renameat renameat2 mkdirat mkdir statx newfstatat fstat lstat fallocate ftruncate symlinkat"
for tool in ledger-backup restic; do
    if [ "$DROP" = 1 ]; then sync; echo 3 > /proc/sys/vm/drop_caches; fi
    if [ "$tool" = ledger-backup ]; then
        strace -f -c -o "$WORK/strace-$tool.txt" "$LB" -q -r "$WORK/lb-repo" restore latest --target "$RESTORES/strace-lb" > /dev/null
    else
        strace -f -c -o "$WORK/strace-$tool.txt" restic -q -r "$WORK/restic-repo" restore latest --target "$RESTORES/strace-restic" > /dev/null
    fi
done
calls() {  # calls TOOL SYSCALL -> the count (0 if never made); SYSCALL `total` for all
    awk -v c="$2" '$NF == c && $4 ~ /^[0-9]+$/ { n = $4 } END { print n + 0 }' "$WORK/strace-$1.txt"
}

verdicts=()
for tool in lb restic; do
    name=ledger-backup; [ "$tool" = restic ] && name=restic
    if diff -r --no-dereference "$DATA_RUN" "$RESTORES/$tool-1$DATA_RUN" > "$WORK/diff-$tool.log" 2>&1; then
        verdicts+=("$name's restore is identical to the data (\`diff -r --no-dereference\`)")
    else
        verdicts+=("**$name's restore DIFFERS from the data** (see $WORK/diff-$tool.log)")
    fi
done
if restic -q -r "$WORK/lb-repo" check --read-data > "$WORK/restic-check.log" 2>&1; then
    verdicts+=("\`restic check --read-data\` of ledger-backup's repository: no errors")
else
    verdicts+=("**\`restic check --read-data\` of ledger-backup's repository FAILED** (see $WORK/restic-check.log)")
fi
rm -rf "$RESTORES"
size_lb=$(du -sb "$WORK/lb-repo" | cut -f1); size_restic=$(du -sb "$WORK/restic-repo" | cut -f1)
data_size=$(du -sb "$DATA_RUN" | cut -f1)
n_files=$(find "$DATA_RUN" -type f | wc -l); n_links=$(find "$DATA_RUN" -type l | wc -l)
n_dirs=$(find "$DATA_RUN" -type d | wc -l)

# The run with the median wall time of each tool and step.
median() {  # median TOOL STEP -> the results.tsv line
    awk -F'\t' -v t="$1" -v s="$2" '$1==t && $2==s' "$RESULTS" | sort -t$'\t' -k4,4g | awk -v n="$REPEAT" 'NR==int((n+1)/2)'
}
field() { echo "$1" | cut -f"$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

SECTION="$WORK/section.md"
{
    # Markers only for the generated data set: a --data section is pasted by hand.
    [ -n "$SOURCE" ] || echo "<!-- bench:begin (generated by bench/backup.sh; edit outside these markers) -->"
    echo "## Figures ($(date -u +%Y-%m-%d), restic $(restic version | awk '{print $2}'))"
    echo
    echo "Machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB RAM; local folder repositories on the same disk; page cache $( [ "$DROP" = 1 ] && echo "dropped before each step" || echo "not dropped ($( [ "${DROP_CACHES:-1}" = 0 ] && echo "DROP_CACHES=0" || echo "not permitted here")), so every tool reads cached data")."
    if [ -n "$SOURCE" ]; then
        echo "Data: a copy of \`$SOURCE\`, $((data_size / 1048576)) MiB in $n_files files, $n_links symbolic links and $n_dirs directories; the change adds one 1 MiB file."
    else
        echo "Data: $((data_size / 1048576)) MiB — 16×32 MiB incompressible, 12×35 MiB text, 20,000 small files; the change rewrites 16 MiB of one file, appends ~4 MiB of text and edits 400 small files (~2%)."
    fi
    echo "Each step ran $REPEAT times per tool (tools alternating); the table shows the run with the median wall time. \`load\` is the 1-minute load average when that run started."
    echo "Restores onto $RESTORE_FS (\`$( [ -n "${RESTORE_DIR:-}" ] && echo "RESTORE_DIR=$RESTORE_DIR" || echo "the work directory's file system")\`), each into a fresh directory, none removed before the last, the first tool alternating per run."
    echo
    echo "| step | tool | wall s | CPU s (user + sys) | peak MiB | load |"
    echo "|---|---|---|---|---|---|"
    for step in tar initial incremental restore check; do
        for tool in floor ledger-backup restic; do
            l=$(median "$tool" "$step"); [ -n "$l" ] || continue
            echo "| $step | $tool | $(field "$l" 4) | $(field "$l" 5) ($(field "$l" 6) + $(field "$l" 7)) | $(field "$l" 8) | $(field "$l" 9) |"
        done
    done
    echo
    echo "| | ledger-backup | restic | restic / ledger-backup | target |"
    echo "|---|---|---|---|---|"
    for step in initial incremental restore check; do
        a=$(median ledger-backup "$step"); b=$(median restic "$step")
        case $step in initial) t="≥ 2.5";; incremental) t="≥ 2";; restore) t="≥ 1.5";; *) t="";; esac
        echo "| $step wall s | $(field "$a" 4) | $(field "$b" 4) | $(ratio "$(field "$b" 4)" "$(field "$a" 4)") | $t |"
        echo "| $step CPU s | $(field "$a" 5) | $(field "$b" 5) | $(ratio "$(field "$b" 5)" "$(field "$a" 5)") | |"
        echo "| $step peak MiB | $(field "$a" 8) | $(field "$b" 8) | $(ratio "$(field "$b" 8)" "$(field "$a" 8)") | ≥ 1 |"
    done
    echo "| repository size MiB, after initial | $((size_lb_initial / 1048576)) | $((size_restic_initial / 1048576)) | $(ratio "$size_restic_initial" "$size_lb_initial") | 0.95–1.05 |"
    echo "| repository size MiB, after incremental | $((size_lb / 1048576)) | $((size_restic / 1048576)) | $(ratio "$size_restic" "$size_lb") | 0.95–1.05 |"
    echo
    for v in "${verdicts[@]}"; do echo "- $v"; done
    echo
    echo "System calls of one restore (\`strace -f -c\`, every thread; $n_files files, $n_links symbolic links, $n_dirs directories):"
    echo
    echo "| system call | ledger-backup | restic | ledger-backup per file | restic per file |"
    echo "|---|---|---|---|---|"
    for c in $STRACE_CALLS total; do
        x=$(calls ledger-backup "$c"); y=$(calls restic "$c")
        [ "$x" = 0 ] && [ "$y" = 0 ] && continue
        echo "| \`$c\` | $x | $y | $(ratio "$x" "$n_files") | $(ratio "$y" "$n_files") |"
    done
    echo
    echo "<details><summary>Every run</summary>"
    echo
    echo "| tool | step | run | wall s | CPU s | user s | sys s | peak MiB | load |"
    echo "|---|---|---|---|---|---|---|---|---|"
    awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9}' "$RESULTS"
    echo
    echo "</details>"
    [ -n "$SOURCE" ] || echo "<!-- bench:end -->"
} > "$SECTION"

OUT="$ROOT/bench/RESULTS.md"
if [ -n "$SOURCE" ]; then
    echo "A --data run: bench/RESULTS.md left alone; the section is in $SECTION" >&2
elif [ -f "$OUT" ] && grep -q '^<!-- bench:begin' "$OUT" && grep -q '^<!-- bench:end' "$OUT"; then
    # Replace only the generated section.
    python3 - "$OUT" "$SECTION" <<'PY'
import re, sys
out, section = sys.argv[1], open(sys.argv[2]).read()
text = open(out).read()
text = re.sub(r"^<!-- bench:begin.*?^<!-- bench:end -->\n?", lambda m: section, text, count=1, flags=re.S | re.M)
open(out, "w").write(text)
PY
else
    # First run, or a file without markers: keep what is there below the new figures.
    { echo "# Backup benchmark: ledger-backup vs restic"; echo; cat "$SECTION"
      if [ -f "$OUT" ]; then echo; echo "## Earlier notes"; echo; sed '1{/^# /d}' "$OUT"; fi; } > "$OUT.new"
    mv "$OUT.new" "$OUT"
fi
cat "$SECTION"
