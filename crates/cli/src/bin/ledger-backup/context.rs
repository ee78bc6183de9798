//! What every command shares: the repository's global flags, the password sources and
//! opening a repository from its URL. (Exit codes: `thinledger_cli::exit_code_for`.)

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use thinledger_backup::store::{
    EnvVars, ObjectLockOptions, Store, StoreBuilder, StoreError, StoreLocation,
};
use thinledger_backup::{Error as EngineError, Password, PasswordSource, Repository};
use thinledger_cli::OutputFormat;
pub use thinledger_cli::bad;

/// Flags every subcommand accepts (flags win over `THINLEDGER_*` variables).
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct Globals {
    // `--help` never prints these variables' values (hide_env_values): a URL may carry
    // an endpoint's credentials, and a password command may embed a secret.
    /// Repository URL: a folder, file://, s3://, az:// or gs://.
    #[arg(
        long,
        short = 'r',
        global = true,
        env = "THINLEDGER_REPOSITORY",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub repo: Option<String>,
    /// File holding the repository password (trailing newline ignored).
    #[arg(
        long,
        global = true,
        env = "THINLEDGER_PASSWORD_FILE",
        hide_env_values = true,
        value_name = "FILE",
        conflicts_with = "password_command"
    )]
    pub password_file: Option<PathBuf>,
    /// Command that prints the repository password (run with `sh -c`; never repeated in
    /// messages).
    #[arg(
        long,
        global = true,
        env = "THINLEDGER_PASSWORD_COMMAND",
        hide_env_values = true,
        value_name = "CMD"
    )]
    pub password_command: Option<String>,
    /// How data is printed: the shared `--output` (`thinledger_cli::OutputArgs`), resolved
    /// by `main`.
    #[arg(skip)]
    pub output: OutputFormat,
    /// No progress display: the shared `--quiet` (`thinledger_cli::GlobalArgs`), set by `main`.
    #[arg(skip)]
    pub quiet: bool,
    /// How long to keep retrying while another process holds a conflicting repository lock
    /// (e.g. 5m); by default a locked repository fails at once (exit 11).
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        value_parser = parse_duration,
        env = "THINLEDGER_RETRY_LOCK"
    )]
    pub retry_lock: Option<std::time::Duration>,
    /// Do not lock the repository (read-only commands only: snapshots, ls, restore, dump,
    /// check, wal fetch/list, pg list/restore). For read-only access (credentials without
    /// write permission, immutable buckets); a concurrent prune may then remove data being read.
    #[arg(
        long,
        global = true,
        env = "THINLEDGER_NO_LOCK",
        value_parser = clap::builder::FalseyValueParser::new()
    )]
    pub no_lock: bool,
}

pub(crate) fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    text.parse::<thinledger_backup::schedule::DurationText>()
        .map(|d| d.0)
        .map_err(|e| format!("{e}; write a duration such as 90s, 5m or 1h30m"))
}

impl Globals {
    /// The repository URL from --repo or THINLEDGER_REPOSITORY.
    pub fn repo_url(&self) -> anyhow::Result<String> {
        self.repo
            .clone()
            .ok_or_else(|| bad("no repository: give --repo URL or set THINLEDGER_REPOSITORY"))
    }

    /// The repository password from --password-file or --password-command (or their
    /// variables, which messages then name); without either, asked for on a terminal.
    pub fn password(&self) -> anyhow::Result<Password> {
        self.password_or_prompt(false)
    }

    /// The password of a new repository (`init`): as [`Globals::password`], but a terminal
    /// is asked twice, and the two entries must match.
    pub fn new_password(&self) -> anyhow::Result<Password> {
        self.password_or_prompt(true)
    }

    fn password_or_prompt(&self, confirm: bool) -> anyhow::Result<Password> {
        if self.password_file.is_none()
            && self.password_command.is_none()
            && std::io::stdin().is_terminal()
        {
            // Never off a terminal: a job or a pipe gets the error below, naming the flags.
            return thinledger_cli::prompt_password("repository", confirm)
                .map(Password::new)
                .map_err(|e| bad(e.to_string()));
        }
        read_password_as(
            self.password_file.as_ref(),
            self.password_command.as_deref(),
            "repository",
            given_as("password-file", "THINLEDGER_PASSWORD_FILE"),
            given_as("password-command", "THINLEDGER_PASSWORD_COMMAND"),
        )
    }

    /// The password source --password-file or --password-command names, if any.
    pub fn password_flag_source(&self) -> Option<PasswordSource> {
        match (&self.password_file, &self.password_command) {
            (Some(f), _) => Some(PasswordSource::File(f.clone())),
            (None, Some(c)) => Some(PasswordSource::Command(c.clone())),
            (None, None) => None,
        }
    }

    /// Opens the repository at --repo with the password.
    pub async fn open(&self) -> anyhow::Result<Arc<Repository>> {
        let url = self.repo_url()?;
        let password = self.password()?;
        let (store, shown) = store_for(&url).await?;
        let repo = Repository::open(store.object_store(), shown.clone(), &password)
            .await
            .map_err(|e| {
                let wrong = matches!(e, EngineError::WrongPassword { .. });
                let e = anyhow::Error::new(e);
                if wrong {
                    e.context(format!(
                        "opening the repository at {shown} with the password from {}",
                        self.password_source()
                    ))
                } else {
                    e
                }
            })?;
        let mut repo = repo
            .with_lock_wait(self.retry_lock.unwrap_or_default())
            .with_object_lock(store.object_lock().cloned());
        if let StoreLocation::Local { root } = store.location() {
            // Lets check report (and prune remove) temporaries the store's listing hides.
            repo = repo.with_local_root(root.clone());
        }
        let repo = if self.no_lock {
            repo.with_no_lock()
        } else {
            repo
        };
        Ok(Arc::new(repo))
    }

    /// Where the password came from, for messages: never the password, nor the password
    /// command's text (it may embed a secret).
    pub fn password_source(&self) -> String {
        match (&self.password_file, &self.password_command) {
            (Some(f), _) => given_as("password-file", "THINLEDGER_PASSWORD_FILE").with(f),
            (None, Some(_)) => format!(
                "the password command ({})",
                given_as("password-command", "THINLEDGER_PASSWORD_COMMAND").name
            ),
            (None, None) => "the terminal prompt".to_string(),
        }
    }
}

/// How a setting was given, for messages: `--flag` when typed, else the variable that set
/// it (naming a flag the user never typed misleads).
#[derive(Debug)]
struct GivenAs {
    name: String,
    variable: bool,
}

impl GivenAs {
    /// The setting with its value: `--password-file F` or `THINLEDGER_PASSWORD_FILE=F`.
    fn with(&self, path: &std::path::Path) -> String {
        let sep = if self.variable { "=" } else { " " };
        format!("{}{sep}{}", self.name, path.display())
    }
}

fn given_as(flag: &str, variable: &str) -> GivenAs {
    let from_variable =
        !thinledger_cli::typed_on_command_line(flag) && std::env::var_os(variable).is_some();
    GivenAs {
        name: if from_variable {
            variable.to_owned()
        } else {
            format!("--{flag}")
        },
        variable: from_variable,
    }
}

/// Reads a password from a file or a command's output (the library's [`PasswordSource`]);
/// messages name the flag and `what` password it is.
pub fn read_password(
    file: Option<&PathBuf>,
    command: Option<&str>,
    what: &str,
) -> anyhow::Result<Password> {
    let flag = |name: &str| GivenAs {
        name: format!("--{name}"),
        variable: false,
    };
    read_password_as(
        file,
        command,
        what,
        flag("password-file"),
        flag("password-command"),
    )
}

fn read_password_as(
    file: Option<&PathBuf>,
    command: Option<&str>,
    what: &str,
    file_given: GivenAs,
    command_given: GivenAs,
) -> anyhow::Result<Password> {
    let (source, flag) = match (file, command) {
        (Some(f), _) => (PasswordSource::File(f.clone()), file_given.with(f)),
        (None, Some(cmd)) => (PasswordSource::Command(cmd.to_owned()), command_given.name),
        (None, None) => {
            return Err(bad(format!(
                "no {what} password: give --password-file FILE or --password-command CMD, or set THINLEDGER_PASSWORD_FILE or THINLEDGER_PASSWORD_COMMAND (on a terminal, ledger-backup asks for it)"
            )));
        }
    };
    source
        .read(&EnvVars::from_process())
        .map_err(|e| bad(format!("{flag} ({what} password): {e}")))
}

/// Builds the store for a repository URL (credentials from the environment) and the URL as
/// it may be shown (no secrets).
///
/// An S3 or GCS repository made with `init --object-lock` records its policy; the store is
/// built with it ([`StoreBuilder::build_with_recorded_policy`]), so every command's writes
/// keep the retention (lock files excepted) and forget, prune and check see each object's.
pub async fn store_for(url: &str) -> anyhow::Result<(Store, String)> {
    let store = StoreBuilder::from_env(url)
        .build_with_recorded_policy()
        .await
        .map_err(|e| match e {
            // The store's answer, not the user's input.
            StoreError::PolicyUnreadable { .. } => anyhow::Error::new(e),
            e => bad(format!("--repo: {e}")),
        })?;
    let shown = store.display_url().to_string();
    Ok((store, shown))
}

/// The store for a repository URL, writing with `lock`'s retention when given.
pub fn store_with_lock(url: &str, lock: Option<ObjectLockOptions>) -> anyhow::Result<Store> {
    let mut builder = StoreBuilder::from_env(url);
    if let Some(lock) = lock {
        builder = builder.with_object_lock(lock);
    }
    builder
        .build_for_repository()
        .map_err(|e| bad(format!("--repo: {e}")))
}
