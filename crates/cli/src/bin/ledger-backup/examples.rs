//! The examples at the end of each subcommand's `--help`, in one table (`thinledger_cli::parse`
//! puts each where the subcommand has none of its own; `cockroach` has its own).
//!
//! URLs with `?` are quoted so the lines paste into zsh as into bash.

/// `(subcommand path, examples)`.
pub const EXAMPLES: &[(&str, &str)] = &[
    (
        "init",
        "\
Examples:
  ledger-backup -r /srv/backups/ledger-a --password-file ~/.ledger-password init
  export THINLEDGER_REPOSITORY='s3://ledger-backups/eu-west-1/ledger-a'
  export THINLEDGER_PASSWORD_FILE=/run/secrets/backup-password
  ledger-backup init
  # a second copy in another cloud that deduplicates with the first (for `copy`):
  ledger-backup -r 'gs://ledger-dr/ledger-a' init --copy-chunker-params \\
    --from-repo 's3://ledger-backups/eu-west-1/ledger-a'",
    ),
    (
        "backup",
        "\
Examples:
  ledger-backup backup /var/lib/exports
  ledger-backup backup /etc /var/lib/exports --tag daily,config --host ledger-a
  pg_dump ledger | ledger-backup backup --stdin --stdin-filename ledger.sql
  ledger-backup backup /var/lib/exports --output json   # the summary as JSON
  ledger-backup backup /home --exclude '*.tmp' --exclude '/home/*/.cache' --exclude-caches
  ledger-backup backup --files-from paths.txt --exclude-file excludes.txt",
    ),
    (
        "snapshots",
        "\
Examples:
  ledger-backup snapshots
  ledger-backup snapshots --host ledger-a --tag daily --output json
  ledger-backup snapshots --path /var/lib/exports --output yaml",
    ),
    (
        "ls",
        "\
Examples:
  ledger-backup ls latest
  ledger-backup ls latest:/var/lib/exports
  ledger-backup ls 1a2b3c4d --output json",
    ),
    (
        "restore",
        "\
Examples:
  ledger-backup restore latest --target /restore
  ledger-backup restore latest:/var/lib/exports --target /restore --host ledger-a
  ledger-backup --no-lock restore latest --target /restore   # read-only credentials",
    ),
    (
        "dump",
        "\
Examples:
  ledger-backup dump latest /ledger.sql > ledger.sql
  ledger-backup dump latest /ledger.sql --tag daily | psql ledger_drill
  ledger-backup dump latest /var/lib/exports > exports.tar   # a directory: a tar
  ledger-backup dump latest / | tar -tvf -                   # the whole snapshot",
    ),
    (
        "check",
        "\
Examples:
  ledger-backup check
  ledger-backup check --read-data-subset 10%
  ledger-backup check --read-data --output json",
    ),
    (
        "forget",
        "\
Examples:
  ledger-backup forget --keep-daily 7 --keep-weekly 5 --keep-monthly 12 --dry-run
  ledger-backup forget --keep-last 30 --prune",
    ),
    (
        "prune",
        "\
Examples:
  ledger-backup prune --dry-run
  ledger-backup prune --max-unused 10",
    ),
    (
        "repair",
        "\
Examples:
  ledger-backup repair index
  ledger-backup repair index && ledger-backup repair snapshots --forget",
    ),
    (
        "repair index",
        "\
Examples:
  ledger-backup repair index --dry-run
  ledger-backup repair index",
    ),
    (
        "repair snapshots",
        "\
Examples:
  ledger-backup repair snapshots --dry-run
  ledger-backup repair snapshots --forget",
    ),
    (
        "copy",
        "\
Examples:
  # once: a target that deduplicates with this repository
  ledger-backup -r 'az://backups/ledger-a?account=ledgerdr' init --copy-chunker-params \\
    --from-repo \"$THINLEDGER_REPOSITORY\"
  ledger-backup copy --to 'az://backups/ledger-a?account=ledgerdr'
  ledger-backup copy --to 'gs://ledger-dr/ledger-a' --to-password-file /run/secrets/dr-password latest",
    ),
    (
        "unlock",
        "\
Examples:
  ledger-backup unlock
  ledger-backup unlock --remove-all   # only when no other process uses the repository",
    ),
    (
        "wal",
        "\
Examples (postgresql.conf):
  archive_command = 'ledger-backup wal push %p'
  restore_command = 'ledger-backup wal fetch %f %p'
  ledger-backup wal list --output json",
    ),
    (
        "wal push",
        "\
Examples:
  archive_command = 'ledger-backup wal push %p'           # in postgresql.conf
  archive_command = 'ledger-backup wal push --async %p'
  ledger-backup wal push --cluster ledger-a pg_wal/000000010000000000000001",
    ),
    (
        "wal fetch",
        "\
Examples:
  restore_command = 'ledger-backup wal fetch %f %p'       # in postgresql.conf
  ledger-backup wal fetch 000000010000000000000001 /tmp/wal --cluster ledger-a",
    ),
    (
        "wal list",
        "\
Examples:
  ledger-backup wal list
  ledger-backup wal list --cluster ledger-a --output json",
    ),
    (
        "pg",
        "\
Examples:
  ledger-backup pg base-backup -d 'host=/run/postgresql user=backup'
  ledger-backup pg list
  ledger-backup pg restore --target /var/lib/postgresql/17/drill --to-time '2025-06-01 12:00:00+00'
  ledger-backup pg forget --keep-daily 7 --prune",
    ),
    (
        "pg base-backup",
        "\
Examples:
  ledger-backup pg base-backup -d 'host=/run/postgresql user=backup'
  ledger-backup pg base-backup --cluster ledger-a --label nightly --spread-checkpoint",
    ),
    (
        "pg list",
        "\
Examples:
  ledger-backup pg list
  ledger-backup pg list --cluster ledger-a --output json",
    ),
    (
        "pg restore",
        "\
Examples:
  ledger-backup pg restore --target /var/lib/postgresql/17/drill --to-latest
  ledger-backup pg restore --target /var/lib/postgresql/17/drill --to-time '2025-06-01 12:00:00+00'",
    ),
    (
        "pg forget",
        "\
Examples:
  ledger-backup pg forget --keep-daily 7 --keep-weekly 4 --dry-run
  ledger-backup pg forget --keep-last 3 --prune",
    ),
    (
        "bucket",
        "\
Examples:
  ledger-backup -r 's3://ledger-backups/eu-west-1/ledger-a?region=eu-west-1' bucket check
  ledger-backup bucket check --kms-key arn:aws:kms:eu-west-1:111122223333:key/ledger --object-lock
  ledger-backup bucket plan --output json
  ledger-backup bucket apply

Credentials are the repository's (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY). check exits 1
while the bucket breaks a rule; apply makes the changes the identity may and checks again.",
    ),
    (
        "bucket check",
        "\
Examples:
  ledger-backup -r 's3://ledger-backups/eu-west-1/ledger-a?region=eu-west-1' bucket check
  ledger-backup bucket check --object-lock --kms-key arn:aws:kms:eu-west-1:111122223333:key/ledger
  ledger-backup bucket check --output json | jq '.findings[].rule'",
    ),
    (
        "bucket plan",
        "\
Examples:
  ledger-backup bucket plan
  ledger-backup bucket plan --kms-key arn:aws:kms:eu-west-1:111122223333:key/ledger --output json",
    ),
    (
        "bucket apply",
        "\
Examples:
  ledger-backup bucket plan && ledger-backup bucket apply
  ledger-backup bucket apply --noncurrent-days 90 --multipart-days 3 --output json",
    ),
    (
        "schedule",
        "\
Examples:
  ledger-backup schedule run examples/schedules/ledger.yaml
  ledger-backup schedule once examples/schedules/ledger.yaml --job ledger-exports
  ledger-backup schedule render examples/schedules/ledger.yaml | kubectl apply -f -",
    ),
    (
        "schedule run",
        "\
Examples:
  ledger-backup schedule run examples/schedules/ledger.yaml
  THINLEDGER_LOG=debug ledger-backup schedule run /etc/ledger/schedule.yaml",
    ),
    (
        "schedule once",
        "\
Examples:
  ledger-backup schedule once examples/schedules/ledger.yaml --job ledger-exports
  ledger-backup schedule once schedule.yaml --job ledger-exports --retries --output json",
    ),
    (
        "schedule render",
        "\
Examples:
  ledger-backup schedule render examples/schedules/ledger.yaml > cronjobs.yaml
  ledger-backup schedule render schedule.yaml --output json",
    ),
];
