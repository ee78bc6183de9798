//! The `ledger-backup` command lines another process runs to reach the same WAL archive:
//! PostgreSQL's `restore_command` (written by [`crate::pg::restore`]'s caller) and the
//! asynchronous archiver's worker (started by `wal push --async`).
//!
//! Those lines are read by a shell (PostgreSQL runs `restore_command` with `sh -c`) and by
//! every local user (`ps`), so the rules live here, tested: every word is quoted
//! ([`sh_quote`]), a password file is passed as an absolute path (the other process may run
//! elsewhere), and a password command can be kept off the worker's command line
//! ([`ArchiveCommand::worker_args`] and [`ArchiveCommand::worker_env`]).

use std::path::{Path, PathBuf};

use thinledger_repository::PasswordSource;

/// Environment variable a `ledger-backup` worker reads its password command from.
pub const PASSWORD_COMMAND_ENV: &str = "THINLEDGER_PASSWORD_COMMAND";

/// How another `ledger-backup` process reaches the same archive: the program, the
/// repository, its password source and the archive's selection flags.
///
/// ```
/// use thinledger_pitr::ArchiveCommand;
/// use thinledger_repository::PasswordSource;
///
/// let cmd = ArchiveCommand::new("/usr/bin/ledger-backup", "s3://bucket/pg", "main")
///     .with_password(Some(PasswordSource::File("/etc/thinledger/pw".into())));
/// assert_eq!(
///     cmd.restore_command(std::path::Path::new("/data/spool dir")),
///     "/usr/bin/ledger-backup --repo s3://bucket/pg --password-file /etc/thinledger/pw \
///      wal fetch --cluster main --spool '/data/spool dir' %f %p",
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ArchiveCommand {
    /// The `ledger-backup` executable.
    pub program: PathBuf,
    /// The repository URL (`--repo`).
    pub repository: String,
    /// Where the password comes from (`--password-file` / `--password-command`); `None`: the
    /// other process finds it in its own environment.
    pub password: Option<PasswordSource>,
    /// The PostgreSQL cluster whose archive this is (`--cluster`).
    pub cluster: String,
    /// The catalog cache directory (`--cache-dir`).
    pub cache_dir: Option<PathBuf>,
    /// No catalog cache (`--no-cache`; wins over `cache_dir`).
    pub no_cache: bool,
}

impl ArchiveCommand {
    /// `program` reaching the archive of `cluster` in `repository`, no password source, the
    /// default cache.
    pub fn new(
        program: impl Into<PathBuf>,
        repository: impl Into<String>,
        cluster: impl Into<String>,
    ) -> Self {
        ArchiveCommand {
            program: program.into(),
            repository: repository.into(),
            password: None,
            cluster: cluster.into(),
            cache_dir: None,
            no_cache: false,
        }
    }

    /// Sets the password source.
    pub fn with_password(mut self, password: Option<PasswordSource>) -> Self {
        self.password = password;
        self
    }

    /// Sets the catalog cache directory (`None`: the default).
    pub fn with_cache_dir(mut self, cache_dir: Option<PathBuf>) -> Self {
        self.cache_dir = cache_dir;
        self
    }

    /// Turns the catalog cache off.
    pub fn with_no_cache(mut self, no_cache: bool) -> Self {
        self.no_cache = no_cache;
        self
    }

    /// The global flags: `--repo URL`, then `--password-file ABSOLUTE` or
    /// `--password-command CMD`.
    pub fn repository_args(&self) -> Vec<String> {
        let mut v = vec!["--repo".to_owned(), self.repository.clone()];
        match &self.password {
            Some(PasswordSource::File(f)) => {
                let abs = std::path::absolute(f).unwrap_or_else(|_| f.clone());
                v.push("--password-file".into());
                v.push(abs.display().to_string());
            }
            Some(PasswordSource::Command(c)) => {
                v.push("--password-command".into());
                v.push(c.clone());
            }
            _ => {}
        }
        v
    }

    /// The flags that select the archive: `--cluster NAME`, then `--no-cache` or
    /// `--cache-dir DIR`.
    pub fn archive_args(&self) -> Vec<String> {
        let mut v = vec!["--cluster".to_owned(), self.cluster.clone()];
        if self.no_cache {
            v.push("--no-cache".into());
        } else if let Some(d) = &self.cache_dir {
            v.push("--cache-dir".into());
            v.push(d.display().to_string());
        }
        v
    }

    /// PostgreSQL's `restore_command`: `PROGRAM --repo … wal fetch --cluster … --spool SPOOL
    /// %f %p`, every word quoted for `sh -c`.
    pub fn restore_command(&self, spool: &Path) -> String {
        let mut words = vec![self.program.display().to_string()];
        words.extend(self.repository_args());
        words.extend(["wal".into(), "fetch".into()]);
        words.extend(self.archive_args());
        words.extend(["--spool".into(), spool.display().to_string()]);
        let mut cmd: Vec<String> = words.iter().map(|w| sh_quote(w)).collect();
        cmd.extend(["%f".into(), "%p".into()]);
        cmd.join(" ")
    }

    /// PostgreSQL's `recovery_end_command`: removes the prefetch spool.
    pub fn recovery_end_command(spool: &Path) -> String {
        format!("rm -rf {}", sh_quote(&spool.display().to_string()))
    }

    /// The asynchronous archiver worker's arguments (after the program): a password command
    /// is left out, it goes through [`ArchiveCommand::worker_env`] (a command line is
    /// readable by every local user).
    pub fn worker_args(&self, wal_dir: &Path, spool: &Path) -> Vec<String> {
        let mut v = match &self.password {
            Some(PasswordSource::Command(_)) => vec!["--repo".to_owned(), self.repository.clone()],
            _ => self.repository_args(),
        };
        v.extend(["wal".into(), "push-worker".into()]);
        v.extend(self.archive_args());
        v.extend([
            "--wal-dir".into(),
            wal_dir.display().to_string(),
            "--spool".into(),
            spool.display().to_string(),
        ]);
        v
    }

    /// The environment the worker needs besides [`ArchiveCommand::worker_args`]: the
    /// password command, if that is the source.
    pub fn worker_env(&self) -> Option<(&'static str, String)> {
        match &self.password {
            Some(PasswordSource::Command(c)) => Some((PASSWORD_COMMAND_ENV, c.clone())),
            _ => None,
        }
    }

    /// Starts the asynchronous archiver's worker for `wal_dir` and `spool` (what
    /// [`crate::wal::push_async`] calls when none runs) and returns without waiting for it:
    /// [`ArchiveCommand::worker_args`] with JSON logs appended to `SPOOL/worker.log`, the
    /// password command in its environment, in a process group of its own (a signal to the
    /// archive_command's group does not stop it).
    pub fn start_worker(&self, wal_dir: &Path, spool: &Path) -> std::io::Result<()> {
        use std::os::unix::process::CommandExt;
        std::fs::create_dir_all(spool)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(spool.join("worker.log"))?;
        let mut cmd = std::process::Command::new(&self.program);
        if let Some((key, value)) = self.worker_env() {
            cmd.env(key, value);
        }
        cmd.args(self.worker_args(wal_dir, spool))
            .args(["--log-format", "json"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .process_group(0)
            .spawn()
            .map(|_| ())
    }
}

/// Quotes a word for `sh -c`: words of safe characters as they are, anything else in single
/// quotes (a `'` inside as `'\''`).
pub fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("plain-word_1.0", "plain-word_1.0")]
    #[case("s3://bucket/p?x=1", "'s3://bucket/p?x=1'")]
    #[case("", "''")]
    #[case("it's", r"'it'\''s'")]
    #[case("a b", "'a b'")]
    fn sh_quote_keeps_safe_words_and_quotes_the_rest(#[case] word: &str, #[case] quoted: &str) {
        assert_eq!(sh_quote(word), quoted);
    }

    #[test]
    fn a_quoted_restore_command_reads_back_word_for_word_in_sh() {
        let cmd = ArchiveCommand::new("/opt/ledger backup", "/srv/it's here", "main")
            .with_password(Some(PasswordSource::Command("echo 'pw'".into())))
            .with_cache_dir(Some("/cache".into()));
        let line = cmd.restore_command(Path::new("/spool"));
        let script = format!(
            "set -- {}; printf '%s\\n' \"$@\"",
            line.replace("%f %p", "F P")
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .output()
            .unwrap();
        let words: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        assert_eq!(
            words,
            [
                "/opt/ledger backup",
                "--repo",
                "/srv/it's here",
                "--password-command",
                "echo 'pw'",
                "wal",
                "fetch",
                "--cluster",
                "main",
                "--cache-dir",
                "/cache",
                "--spool",
                "/spool",
                "F",
                "P"
            ]
        );
    }

    #[test]
    fn the_worker_gets_a_password_command_through_its_environment_only() {
        let cmd = ArchiveCommand::new("ledger-backup", "/repo", "main")
            .with_password(Some(PasswordSource::Command("vault read pw".into())))
            .with_no_cache(true);
        let args = cmd.worker_args(Path::new("/pg_wal"), Path::new("/spool"));
        assert!(!args.iter().any(|a| a.contains("vault")), "{args:?}");
        assert_eq!(
            cmd.worker_env(),
            Some((PASSWORD_COMMAND_ENV, "vault read pw".to_owned()))
        );
        assert_eq!(
            args,
            [
                "--repo",
                "/repo",
                "wal",
                "push-worker",
                "--cluster",
                "main",
                "--no-cache",
                "--wal-dir",
                "/pg_wal",
                "--spool",
                "/spool"
            ]
        );
    }

    #[test]
    fn a_relative_password_file_is_passed_absolute() {
        let cmd = ArchiveCommand::new("ledger-backup", "/repo", "main")
            .with_password(Some(PasswordSource::File("pw".into())));
        let args = cmd.repository_args();
        assert_eq!(args[2], "--password-file");
        assert!(Path::new(&args[3]).is_absolute(), "{args:?}");
        assert_eq!(cmd.worker_env(), None);
    }
}
