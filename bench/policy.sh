#!/usr/bin/env bash
# Guardrail check time on large Terraform plans.
#
#   bench/policy.sh [WORKDIR]
#
# Builds ledger-policy (release), writes reproducible plans with bench/gen-plan.py (PLANS, a
# list of MIX:CHANGES, default "mixed:1000 mixed:5000 mixed:20000 manifest:20000 backup:2000
# backup:20000": the realistic spread, then kinds that stress one rule each), and times
# `ledger-policy check PLAN --output json` REPEAT times (default 3) per plan with /usr/bin/time:
# wall, CPU (user + sys) and peak memory of the median-wall run, with the load average at its
# start (on a shared machine wall time means little when the load is above the core count; CPU
# time much less so).
#
# BASELINE=/path/to/an/older/ledger-policy times that binary on the same plans (those in
# BASELINE_PLANS, default all but backup:20000, which took the old policies about half an
# hour) and checks that both report the same findings (the speed-up must not change a
# verdict). Every run is checked
# to deny exactly one change in 1000 (the generator deletes a claim every 1000th change).
#
# Prints a Markdown section for bench/RESULTS.md (paste it between the policy:begin/end
# markers). Not part of the test command.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
WORK="${1:-$(mktemp -d "${TMPDIR:-/tmp}/policy-bench.XXXXXX")}"
REPEAT="${REPEAT:-3}"
PLANS="${PLANS:-mixed:1000 mixed:5000 mixed:20000 manifest:20000 backup:2000 backup:20000}"
BASELINE_PLANS="${BASELINE_PLANS:-${PLANS/backup:20000/}}"
mkdir -p "$WORK"
[ -x /usr/bin/time ] || { echo "/usr/bin/time is needed: apt-get install -y time" >&2; exit 2; }

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cargo build --release --locked -p thinledger-cli --no-default-features --features policy >&2
LP="$CARGO_TARGET_DIR/release/ledger-policy"

read -r -a plans <<< "$PLANS"
with_baseline() { [ -n "${BASELINE:-}" ] && [[ " $BASELINE_PLANS " == *" $1 "* ]]; }
for p in "${plans[@]}"; do
    # Written under a temporary name: a partly written plan is never timed.
    [ -s "$WORK/$p.json" ] || { python3 bench/gen-plan.py "${p#*:}" "${p%%:*}" > "$WORK/$p.json.$$" && mv "$WORK/$p.json.$$" "$WORK/$p.json"; }
done

load1() { cut -d' ' -f1 /proc/loadavg; }
RESULTS="$WORK/results.tsv" # tool plan run wall cpu peak_mib load
: > "$RESULTS"
run() { # tool binary plan run
    local out="$WORK/$1.$3.out.$$" load rc
    load="$(load1)"
    rc=0
    /usr/bin/time -o "$WORK/time.$$" -f '%e %U %S %M' "$2" check "$WORK/$3.json" --output json > "$out" || rc=$?
    [ "$rc" = 1 ] || { echo "$1 on $3: exit $rc (expected 1: denied)" >&2; exit 1; }
    local n="${3#*:}" denied
    denied="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["denied"])' "$out")"
    [ "$denied" = "$((n / 1000))" ] || { echo "$1 on $3: $denied denied, expected $((n / 1000))" >&2; exit 1; }
    # The last line: /usr/bin/time writes "Command exited with non-zero status 1" first.
    read -r wall user sys rss < <(tail -n 1 "$WORK/time.$$")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$3" "$4" "$wall" \
        "$(awk -v a="$user" -v b="$sys" 'BEGIN { printf "%.2f", a + b }')" "$((rss / 1024))" "$load" >> "$RESULTS"
}
for p in "${plans[@]}"; do
    for r in $(seq "$REPEAT"); do
        run ledger-policy "$LP" "$p" "$r"
        if with_baseline "$p"; then run baseline "$BASELINE" "$p" "$r"; fi
    done
    if with_baseline "$p"; then
        python3 - "$WORK/ledger-policy.$p.out.$$" "$WORK/baseline.$p.out.$$" "$p" <<'PY'
import json, sys
a, b = (json.load(open(f))["findings"] for f in sys.argv[1:3])
key = lambda f: (f["severity"], f["rule"], f["resource"], f["message"])
if sorted(map(key, a)) != sorted(map(key, b)):
    sys.exit(f"{sys.argv[3]}: findings differ from the baseline's")
PY
    fi
done

median() { # tool plan -> the run with the median wall time
    awk -F'\t' -v t="$1" -v p="$2" '$1==t && $2==p' "$RESULTS" | sort -t$'\t' -k4,4g | awk -v n="$REPEAT" 'NR==int((n+1)/2)'
}
mib() { awk -v b="$(stat -c %s "$WORK/$1.json")" 'BEGIN { printf "%.1f", b / 1048576 }'; }

echo "## Guardrails: ledger-policy on large Terraform plans"
echo
echo "\`bench/policy.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores; plans from \`bench/gen-plan.py\`;"
echo "median of $REPEAT runs of \`ledger-policy check PLAN --output json\` (every run below)."
echo
if [ -n "${BASELINE:-}" ]; then
    echo "| plan | changes | MiB | before: wall s | before: CPU s | before: peak MiB | after: wall s | after: CPU s | after: peak MiB | load |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
else
    echo "| plan | changes | MiB | wall s | CPU s | peak MiB | load |"
    echo "|---|---|---|---|---|---|---|"
fi
for p in "${plans[@]}"; do
    IFS=$'\t' read -r _ _ _ wall cpu peak load <<< "$(median ledger-policy "$p")"
    if with_baseline "$p"; then
        IFS=$'\t' read -r _ _ _ bwall bcpu bpeak _ <<< "$(median baseline "$p")"
        echo "| ${p%%:*} | ${p#*:} | $(mib "$p") | $bwall | $bcpu | $bpeak | $wall | $cpu | $peak | $load |"
    elif [ -n "${BASELINE:-}" ]; then
        echo "| ${p%%:*} | ${p#*:} | $(mib "$p") | – | – | – | $wall | $cpu | $peak | $load |"
    else
        echo "| ${p%%:*} | ${p#*:} | $(mib "$p") | $wall | $cpu | $peak | $load |"
    fi
done
echo
echo "<details><summary>Every run</summary>"
echo
echo "| tool | plan | run | wall s | CPU s | peak MiB | load |"
echo "|---|---|---|---|---|---|---|"
awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7 }' "$RESULTS"
echo
echo "</details>"
