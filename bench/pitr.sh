#!/usr/bin/env bash
# PITR benchmark: ledger-backup's WAL archive vs Debian's pgBackRest 2.45, same machine, same
# local disk, same PostgreSQL (Debian 15).
#
#   bench/pitr.sh [WORKDIR]        (as root: PostgreSQL and both tools run as `postgres`)
#
# 1. WAL burst: a fresh cluster writes ≥200 × 16 MiB segments of real WAL while archiving is
#    paused (archive_command empty), then archive_command is set and reloaded; we time until
#    PostgreSQL's archiver has archived every ready segment. Once per tool, each on its own
#    fresh cluster: ledger-backup `wal push --async`, pgBackRest `archive-push` with
#    archive-async=y. Both: zstd level 1, encrypted (pgBackRest aes-256-cbc), process-max 2.
# 2. Base backup + restore-to-time of a ~1 GiB database (pgbench scale 64), archiving to both
#    repositories: base backup time, then restore to a time between two commits into a new
#    directory, start PostgreSQL, and time until it has promoted; the rows are checked.
# Each timed step runs RUNS times (default 3), the tools alternating; the tables show medians
# and every run is listed. Appends nothing by itself: prints a Markdown section for
# bench/RESULTS.md (PITR part).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
WORK="${1:-$(mktemp -d "${TMPDIR:-/tmp}/pitr-bench.XXXXXX")}"
mkdir -p "$WORK"
chmod 755 "$WORK"
chown postgres: "$WORK"
command -v pgbackrest >/dev/null || { echo "pgBackRest is needed: apt-get install -y pgbackrest" >&2; exit 2; }
PGBIN="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d | sort -V | tail -n 1)"
# LEDGER_BACKUP_BIN: use an already built release binary instead of building one.
if [ -n "${LEDGER_BACKUP_BIN:-}" ]; then
    LB="$LEDGER_BACKUP_BIN"
else
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
    cargo build --release -p thinledger-cli --no-default-features --features backup --bin ledger-backup >&2
    LB="$CARGO_TARGET_DIR/release/ledger-backup"
fi
SEGMENTS="${SEGMENTS:-200}"
RUNS="${RUNS:-3}"
# Restores start from a cold page cache where this user may drop it (as the backup bench).
if sync && echo 3 2>/dev/null >/proc/sys/vm/drop_caches; then DROP=1; else DROP=0; fi
cold() { sync; if [ "$DROP" = 1 ]; then echo 3 >/proc/sys/vm/drop_caches; fi; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

as_pg() { runuser -u postgres -- "$@"; }
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
psql_at() { as_pg "$PGBIN/psql" -h "$WORK" -p "$1" -U postgres -XAtq -c "$2"; }
echo "bench-password" >"$WORK/pw"
chown postgres: "$WORK/pw"; chmod 600 "$WORK/pw"

new_cluster() { # name port
    local d="$WORK/$1"
    rm -rf "$d"
    as_pg "$PGBIN/initdb" -D "$d" -A trust -U postgres -E UTF8 --no-locale >/dev/null
    cat >>"$d/postgresql.conf" <<CONF
port = $2
listen_addresses = ''
unix_socket_directories = '$WORK'
wal_level = replica
archive_mode = on
archive_command = ''
max_wal_size = 16GB
checkpoint_timeout = 1h
shared_buffers = 256MB
CONF
    as_pg "$PGBIN/pg_ctl" -D "$d" -l "$WORK/$1.log" -w start >/dev/null
}
stop_cluster() { as_pg "$PGBIN/pg_ctl" -D "$WORK/$1" -m fast -w stop >/dev/null 2>&1 || true; }

pgbr_conf() { # file repo spool datadir port
    cat >"$1" <<CONF
[global]
repo1-path=$2
repo1-type=posix
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=bench-password
compress-type=zst
compress-level=1
process-max=2
archive-async=y
spool-path=$3
start-fast=y
log-level-console=warn
log-level-file=off
[bench]
pg1-path=$4
pg1-port=$5
pg1-socket-path=$WORK
CONF
    chown postgres: "$1"
}

# ---- 1. WAL burst -------------------------------------------------------------------------
burst() { # tool port
    local tool=$1 port=$2 name="burst-$1"
    rm -rf "$WORK/$1-burst-repo" "$WORK/$1-burst-spool" "$WORK/$1-burst-cache" "$WORK/$1-burst.conf"
    new_cluster "$name" "$port"
    local d="$WORK/$name"
    # Real WAL, moderately compressible (hex text and numbers), no archiving yet.
    local rows=$(( SEGMENTS * 16 * 1024 * 1024 / 225 + 400000 ))
    psql_at "$port" "create table filler as select g, md5(g::text) || md5((g * 7)::text) as a, repeat(md5((g % 1000)::text), 3) as b, now() + g * interval '1 ms' as t from generate_series(1, $rows) g" >/dev/null
    psql_at "$port" "select pg_switch_wal()" >/dev/null
    local ready; ready=$(ls "$d/pg_wal/archive_status" | grep -c '\.ready$')
    local last; last=$(ls "$d/pg_wal/archive_status" | grep '\.ready$' | sort | tail -n 1 | cut -c1-24)
    local cmd
    if [ "$tool" = ledger ]; then
        as_pg "$LB" --repo "$WORK/ledger-burst-repo" --password-file "$WORK/pw" init >/dev/null
        cmd="$LB --repo $WORK/ledger-burst-repo --password-file $WORK/pw wal push --async --spool $WORK/ledger-burst-spool --cache-dir $WORK/ledger-burst-cache %p"
    else
        pgbr_conf "$WORK/pgbr-burst.conf" "$WORK/pgbr-burst-repo" "$WORK/pgbr-burst-spool" "$d" "$port"
        as_pg pgbackrest --config="$WORK/pgbr-burst.conf" --stanza=bench stanza-create >/dev/null
        cmd="pgbackrest --config=$WORK/pgbr-burst.conf --stanza=bench archive-push %p"
    fi
    local load; load=$(cut -d' ' -f1 /proc/loadavg)
    local t0; t0=$(now)
    psql_at "$port" "alter system set archive_command = '$cmd'" >/dev/null
    psql_at "$port" "select pg_reload_conf()" >/dev/null
    until [ "$(psql_at "$port" "select coalesce(last_archived_wal, '') >= '$last' from pg_stat_archiver")" = t ]; do sleep 0.05; done
    local secs; secs=$(since "$t0")
    local repo_size
    if [ "$tool" = ledger ]; then repo_size=$(du -sm "$WORK/ledger-burst-repo" | cut -f1); else repo_size=$(du -sm "$WORK/pgbr-burst-repo" | cut -f1); fi
    stop_cluster "$name"
    echo "$tool $ready $secs $repo_size $load"
    rm -rf "$d"
}

# ---- 2. base backup + restore to time -----------------------------------------------------
restore_part() {
    local port=55710 d="$WORK/db"
    rm -rf "$WORK/ledger-repo" "$WORK/ledger-cache" "$WORK/pgbr-repo" "$WORK/pgbr-spool" "$WORK/pgbr.conf"
    new_cluster db $port
    as_pg "$LB" --repo "$WORK/ledger-repo" --password-file "$WORK/pw" init >/dev/null
    pgbr_conf "$WORK/pgbr.conf" "$WORK/pgbr-repo" "$WORK/pgbr-spool" "$d" $port
    # Both archives receive every segment (synchronous pushes here; the burst part times async).
    local both="$LB --repo $WORK/ledger-repo --password-file $WORK/pw wal push --cache-dir $WORK/ledger-cache %p && pgbackrest --config=$WORK/pgbr.conf --stanza=bench --archive-async=n archive-push %p"
    psql_at $port "alter system set archive_command = '$both'" >/dev/null
    psql_at $port "select pg_reload_conf()" >/dev/null
    as_pg pgbackrest --config="$WORK/pgbr.conf" --stanza=bench stanza-create >/dev/null
    as_pg "$PGBIN/pgbench" -h "$WORK" -p $port -U postgres -i -s 64 -q postgres >/dev/null 2>&1
    psql_at $port "create table marks (id int primary key, at timestamptz default clock_timestamp())" >/dev/null
    local sw; sw=$(psql_at $port "select pg_walfile_name(pg_switch_wal())")
    until [ "$(psql_at $port "select coalesce(last_archived_wal, '') >= '$sw' from pg_stat_archiver")" = t ]; do sleep 0.2; done
    local db_mb; db_mb=$(psql_at $port "select pg_database_size('postgres') / 1048576")

    local load_b; load_b=$(cut -d' ' -f1 /proc/loadavg)
    local t0; t0=$(now)
    as_pg "$LB" --repo "$WORK/ledger-repo" --password-file "$WORK/pw" pg base-backup --cache-dir "$WORK/ledger-cache" --pg-bin "$PGBIN" -d "host=$WORK port=$port user=postgres" >/dev/null
    local lb_backup; lb_backup=$(since "$t0")
    t0=$(now)
    as_pg pgbackrest --config="$WORK/pgbr.conf" --stanza=bench --type=full backup >/dev/null
    local br_backup; br_backup=$(since "$t0")

    psql_at $port "insert into marks (id) values (1)" >/dev/null
    sleep 1.2
    local target; target=$(psql_at $port "select clock_timestamp()::text")
    sleep 1.2
    psql_at $port "insert into marks (id) values (2)" >/dev/null
    # Some WAL after the target to replay past (pgbench for a few seconds), then switch.
    as_pg "$PGBIN/pgbench" -h "$WORK" -p $port -U postgres -T 5 -c 2 postgres >/dev/null 2>&1
    sw=$(psql_at $port "select pg_walfile_name(pg_switch_wal())")
    until [ "$(psql_at $port "select coalesce(last_archived_wal, '') >= '$sw' from pg_stat_archiver")" = t ]; do sleep 0.2; done
    stop_cluster db

    # Restores, RUNS times each, alternating; one line per run: tool unpack total rows load.
    local r
    for r in $(seq 1 "$RUNS"); do
        restore_once ledger "$target" "$r"
        restore_once pgbr "$target" "$r"
    done >"$WORK/restores.txt"
    local lb_size br_size
    lb_size=$(du -sm "$WORK/ledger-repo" | cut -f1); br_size=$(du -sm "$WORK/pgbr-repo" | cut -f1)
    echo "$db_mb $lb_backup $br_backup $lb_size $br_size $load_b"
}

restore_once() { # tool target run: prints "tool run unpack_s total_s rows load"
    local tool=$1 target=$2 run=$3 port=55710 dir="$WORK/r-$1"
    rm -rf "$dir"
    cold
    local load; load=$(cut -d' ' -f1 /proc/loadavg)
    local t0; t0=$(now)
    if [ "$tool" = ledger ]; then
        as_pg "$LB" --repo "$WORK/ledger-repo" --password-file "$WORK/pw" pg restore --cache-dir "$WORK/ledger-cache" --target "$dir" --to-time "$target" >/dev/null
    else
        as_pg pgbackrest --config="$WORK/pgbr.conf" --stanza=bench --pg1-path="$dir" --type=time "--target=$target" --target-action=promote restore >/dev/null
    fi
    local unpack; unpack=$(since "$t0")
    echo "archive_mode = off" >>"$dir/postgresql.auto.conf"
    as_pg "$PGBIN/pg_ctl" -D "$dir" -l "$WORK/r-$tool.log" -w -t 600 start >/dev/null
    until [ "$(psql_at $port "select pg_is_in_recovery()")" = f ]; do sleep 0.05; done
    local total; total=$(since "$t0")
    local rows; rows=$(psql_at $port "select string_agg(id::text, ',') from marks")
    stop_cluster "r-$tool"
    echo "$tool $run $unpack $total $rows $load"
}

# One line per burst: tool ready secs repo_mib load.
for r in $(seq 1 "$RUNS"); do
    burst ledger 55701
    burst pgbr 55702
done >"$WORK/bursts.txt"
read -r db_mb lb_backup br_backup lb_size br_size load_b < <(restore_part)

rate() { echo "scale=1; $1 * 16 / $2" | bc; }
col() { awk -v t="$1" -v c="$2" '$1 == t { print $c }' "$3"; }
# Bursts: the median wall time; ready count and repository size of the run closest to it.
burst_median() { # tool -> "ready secs size load" of the median run
    local m; m=$(median $(col "$1" 3 "$WORK/bursts.txt"))
    awk -v t="$1" -v m="$m" '$1 == t && $3 == m { print $2, $3, $4, $5; exit }' "$WORK/bursts.txt"
}
read -r l_ready l_secs l_size l_load < <(burst_median ledger)
read -r p_ready p_secs p_size p_load < <(burst_median pgbr)
lb_unpack=$(median $(col ledger 3 "$WORK/restores.txt")); lb_total=$(median $(col ledger 4 "$WORK/restores.txt"))
br_unpack=$(median $(col pgbr 3 "$WORK/restores.txt")); br_total=$(median $(col pgbr 4 "$WORK/restores.txt"))
lb_rows=$(col ledger 5 "$WORK/restores.txt" | sort -u | paste -sd' ')
br_rows=$(col pgbr 5 "$WORK/restores.txt" | sort -u | paste -sd' ')
load_r=$(median $(awk '{ print $6 }' "$WORK/restores.txt"))
cat <<MD
<!-- pitr:begin -->
## PITR: WAL archive and restore to a time — ledger-backup vs pgBackRest 2.45

\`bench/pitr.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores, local disk, PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}'),
both tools encrypting and compressing with zstd level 1, pgBackRest process-max 2.

Each step ran $RUNS times per tool, the tools alternating; the tables show the median run
(every run is listed below them).

**WAL burst** ($l_ready and $p_ready ready 16 MiB segments of real WAL; archiving paused while they were
written, then archive_command reloaded; time until PostgreSQL's archiver had archived them all):

| | ledger-backup \`wal push --async\` | pgBackRest \`archive-push\` (archive-async) |
|---|---|---|
| wall s | $(printf %.1f "$l_secs") | $(printf %.1f "$p_secs") |
| MiB/s | $(rate "$l_ready" "$l_secs") | $(rate "$p_ready" "$p_secs") |
| repository MiB | $l_size | $p_size |
| load average at start | $l_load | $p_load |

**Base backup and restore to a time** (pgbench scale 64, $db_mb MiB database; restore into a new
directory to a time between two commits, then PostgreSQL started and timed until promoted;
page cache dropped before each restore: $( [ "$DROP" = 1 ] && echo yes || echo no)):

| | ledger-backup | pgBackRest |
|---|---|---|
| base backup wall s | $(printf %.1f "$lb_backup") | $(printf %.1f "$br_backup") |
| restore (unpack + recovery settings) s | $(printf %.2f "$lb_unpack") | $(printf %.2f "$br_unpack") |
| restore to promoted server s | $(printf %.2f "$lb_total") | $(printf %.2f "$br_total") |
| rows recovered in every run (expected \`1\`) | \`$lb_rows\` | \`$br_rows\` |
| repository MiB (base + WAL) | $lb_size | $br_size |

Load average at the start of the backups: $load_b; median at the start of the restores: $load_r.

<details><summary>Every run</summary>

| step | tool | run | wall s | MiB/s or s to promoted | load |
|---|---|---|---|---|---|
$(awk '{ n[$1]++; printf "| burst | %s | %d | %.1f | %.1f MiB/s | %s |\n", ($1 == "ledger" ? "ledger-backup" : "pgBackRest"), n[$1], $3, $2 * 16 / $3, $5 }' "$WORK/bursts.txt")
$(awk '{ printf "| restore | %s | %d | %.2f (unpack) | %.2f s | %s |\n", ($1 == "ledger" ? "ledger-backup" : "pgBackRest"), $2, $3, $4, $6 }' "$WORK/restores.txt")

</details>
<!-- pitr:end -->
MD
