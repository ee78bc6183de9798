//! Where a repository password comes from: a file, a command's output or an environment
//! variable. The CLI's `--password-file`/`--password-command`, PostgreSQL's archive worker and
//! the scheduler's `password: {file: …}` all read passwords through [`PasswordSource`], so a
//! password is read, trimmed and refused when empty the same way everywhere.
//!
//! Messages never contain the password nor a command's text (it may embed a secret).

use std::fmt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Output, Stdio};

use serde::{Deserialize, Serialize};
use thinledger_store::EnvVars;

use crate::repo::key::Password;

/// Where to read a password (or another secret, such as a connection URL) from.
///
/// In files it is a one-entry mapping: `{file: PATH}`, `{command: CMD}` or `{env: NAME}`; a
/// plain value is refused without being echoed, so a password never sits in a config file.
///
/// ```
/// use thinledger_repository::PasswordSource;
///
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("pw"), "s3cret\n")?;
/// let source = PasswordSource::File("pw".into()).resolve(dir.path());
/// let env = thinledger_store::EnvVars::from_iter([("OTHER", "x")]);
/// let _password = source.read(&env)?;
/// let unset = PasswordSource::Env("LEDGER_PASSWORD".into()).read(&env).unwrap_err();
/// assert_eq!(unset.to_string(), "environment variable LEDGER_PASSWORD is not set; set it, or use a password file");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PasswordSource {
    /// A file holding the password (one trailing newline ignored), e.g. a mounted Secret.
    File(PathBuf),
    /// A command (run with `sh -c`, its stderr passed through) that prints it.
    Command(String),
    /// The name of an environment variable holding it.
    Env(String),
}

/// Why a password could not be read. No variant holds the password or a command's text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// The password file cannot be read.
    #[error(
        "cannot read the password file {} ({source}); check the path and its permissions",
        path.display()
    )]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The password command cannot be started.
    #[error("the password command cannot run ({source})")]
    CommandCannotRun {
        /// Why.
        source: std::io::Error,
    },
    /// The password command exited unsuccessfully (`exit 3`, `killed by signal 9`).
    #[error("the password command failed ({status}; its messages are above); fix the command")]
    CommandFailed {
        /// How it ended.
        status: String,
    },
    /// The command printed something that is not UTF-8.
    #[error("the password command printed something that is not UTF-8")]
    NotUtf8,
    /// The environment variable is not set.
    #[error("environment variable {name} is not set; set it, or use a password file")]
    EnvUnset {
        /// The variable.
        name: String,
    },
    /// The source gave an empty password.
    #[error("the password is empty; put the password in the file, command output or variable")]
    Empty,
}

impl PasswordSource {
    /// The source with a relative file path taken relative to `base_dir` (e.g. the folder of
    /// the file that named it).
    pub fn resolve(&self, base_dir: &Path) -> PasswordSource {
        match self {
            PasswordSource::File(p) if p.is_relative() => PasswordSource::File(base_dir.join(p)),
            other => other.clone(),
        }
    }

    /// Reads the password (blocking); `env` is where [`PasswordSource::Env`] looks. A
    /// password command shares the caller's terminal (stdin and stderr), so it may prompt.
    pub fn read(&self, env: &EnvVars) -> Result<Password, PasswordError> {
        let raw = match self {
            PasswordSource::File(p) => {
                std::fs::read_to_string(p).map_err(|source| PasswordError::Unreadable {
                    path: p.clone(),
                    source,
                })?
            }
            PasswordSource::Command(cmd) => command_output(
                std::process::Command::new("sh")
                    .arg("-c")
                    .arg(cmd)
                    .stderr(Stdio::inherit())
                    .output(),
            )?,
            PasswordSource::Env(name) => env_value(env, name)?,
        };
        password_from(&raw)
    }

    /// Reads the password without blocking the runtime (for daemons: a command gets no stdin,
    /// and is killed when the future is dropped).
    pub async fn read_async(&self, env: &EnvVars) -> Result<Password, PasswordError> {
        let raw = match self {
            PasswordSource::File(p) => {
                tokio::fs::read_to_string(p)
                    .await
                    .map_err(|source| PasswordError::Unreadable {
                        path: p.clone(),
                        source,
                    })?
            }
            PasswordSource::Command(cmd) => command_output(
                tokio::process::Command::new("sh")
                    .arg("-c")
                    .arg(cmd)
                    .stdin(Stdio::null())
                    .stderr(Stdio::inherit())
                    .kill_on_drop(true)
                    .output()
                    .await,
            )?,
            PasswordSource::Env(name) => env_value(env, name)?,
        };
        password_from(&raw)
    }
}

fn env_value(env: &EnvVars, name: &str) -> Result<String, PasswordError> {
    env.get(name)
        .map(str::to_owned)
        .ok_or_else(|| PasswordError::EnvUnset {
            name: name.to_owned(),
        })
}

fn command_output(out: std::io::Result<Output>) -> Result<String, PasswordError> {
    let out = out.map_err(|source| PasswordError::CommandCannotRun { source })?;
    if !out.status.success() {
        return Err(PasswordError::CommandFailed {
            status: exit_status(out.status),
        });
    }
    String::from_utf8(out.stdout).map_err(|_| PasswordError::NotUtf8)
}

/// `exit 3`, `killed by signal 9`: how a command ended, for messages.
fn exit_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => "no exit status".to_owned(),
    }
}

/// One trailing newline (`\n` or `\r\n`) is not part of the password; an empty one is refused.
fn password_from(raw: &str) -> Result<Password, PasswordError> {
    let pw = raw.strip_suffix('\n').unwrap_or(raw);
    let pw = pw.strip_suffix('\r').unwrap_or(pw);
    if pw.is_empty() {
        return Err(PasswordError::Empty);
    }
    Ok(Password::new(pw))
}

impl fmt::Debug for PasswordSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordSource::File(p) => write!(f, "file {}", p.display()),
            PasswordSource::Command(c) => write!(f, "command `{c}`"),
            PasswordSource::Env(n) => write!(f, "env {n}"),
        }
    }
}

// A one-entry mapping (`{file: …}`), the form the file is written in.
impl Serialize for PasswordSource {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            PasswordSource::File(p) => map.serialize_entry("file", p)?,
            PasswordSource::Command(c) => map.serialize_entry("command", c)?,
            PasswordSource::Env(n) => map.serialize_entry("env", n)?,
        }
        map.end()
    }
}

const PASSWORD_FIX: &str = "write `password: {file: /run/secrets/backup-password}`, `{command: CMD}` or `{env: VARIABLE}`; the password itself never goes in the schedule file";

// Hand-written so that a password written inline is refused without being echoed.
impl<'de> Deserialize<'de> for PasswordSource {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = PasswordSource;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping with one of file, command, env")
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Err(E::custom(format!(
                    "password: a plain value is not accepted (not shown here); {PASSWORD_FIX}"
                )))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut found: Option<PasswordSource> = None;
                while let Some(key) = map.next_key::<String>()? {
                    let value: String = map.next_value()?;
                    let source = match key.as_str() {
                        "file" => PasswordSource::File(PathBuf::from(value)),
                        "command" => PasswordSource::Command(value),
                        "env" => PasswordSource::Env(value),
                        other => {
                            return Err(serde::de::Error::custom(format!(
                                "password: unknown key `{other}`; {PASSWORD_FIX}"
                            )));
                        }
                    };
                    if found.is_some() {
                        return Err(serde::de::Error::custom(format!(
                            "password: give exactly one source; {PASSWORD_FIX}"
                        )));
                    }
                    found = Some(source);
                }
                found.ok_or_else(|| {
                    serde::de::Error::custom(format!("password: no source; {PASSWORD_FIX}"))
                })
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> EnvVars {
        EnvVars::from_iter([("LEDGER_PW", "from-env\r\n")])
    }

    #[test]
    fn reads_a_file_a_command_and_a_variable_without_the_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), "from-file\n").unwrap();
        let file = PasswordSource::File("pw".into()).resolve(dir.path());
        assert_eq!(file.read(&env()).unwrap().expose(), "from-file");
        let cmd = PasswordSource::Command("printf 'from-command\\n'".into());
        assert_eq!(cmd.read(&env()).unwrap().expose(), "from-command");
        let var = PasswordSource::Env("LEDGER_PW".into());
        assert_eq!(var.read(&env()).unwrap().expose(), "from-env");
    }

    #[tokio::test]
    async fn async_reads_agree_with_blocking_reads() {
        let cmd = PasswordSource::Command("echo s3cret".into());
        assert_eq!(cmd.read_async(&env()).await.unwrap().expose(), "s3cret");
        let failing = PasswordSource::Command("echo hunter2; exit 3".into());
        let err = failing.read_async(&env()).await.unwrap_err().to_string();
        assert!(err.contains("password command failed (exit 3"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn failures_name_the_source_never_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let missing = PasswordSource::File(dir.path().join("none"));
        assert!(matches!(
            missing.read(&env()),
            Err(PasswordError::Unreadable { .. })
        ));
        let failing = PasswordSource::Command("SECRET=x; exit 3".into());
        let err = failing.read(&env()).unwrap_err().to_string();
        assert!(err.contains("password command failed (exit 3"), "{err}");
        assert!(
            !err.contains("SECRET"),
            "the command's text is not repeated: {err}"
        );
        let empty = PasswordSource::Command("echo".into());
        assert!(matches!(empty.read(&env()), Err(PasswordError::Empty)));
        let unset = PasswordSource::Env("NOT_SET_HERE".into());
        assert!(matches!(
            unset.read(&env()),
            Err(PasswordError::EnvUnset { name }) if name == "NOT_SET_HERE"
        ));
    }

    #[test]
    fn an_inline_password_is_refused_without_echoing_it() {
        let err = serde_json::from_str::<PasswordSource>(r#""hunter2""#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("plain value") && !err.contains("hunter2"),
            "{err}"
        );
        let source: PasswordSource = serde_json::from_str(r#"{"env": "PW"}"#).unwrap();
        assert_eq!(source, PasswordSource::Env("PW".into()));
        assert_eq!(serde_json::to_string(&source).unwrap(), r#"{"env":"PW"}"#);
    }
}
