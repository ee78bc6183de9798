//! What every tool's command line has besides its own commands: `completion SHELL` and `man`,
//! the version, examples in every subcommand's `--help`, and the colour of clap's own output.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches};

use crate::exit::EXIT_OK;
use crate::globals::ColorChoice;
use crate::version::VERSION;

/// `completion` and `man`: flattened into each tool's subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ToolCommand {
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    Completion {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout, or write one page per command into --dir.
    Man {
        /// Write TOOL.1 and TOOL-SUBCOMMAND.1 pages into this directory (created if missing).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// The examples of `completion` and `man`, for the tool `name`.
fn tool_examples(name: &str) -> (String, String) {
    (
        format!(
            "Examples:
  {name} completion bash > ~/.local/share/bash-completion/completions/{name}
  {name} completion zsh > \"${{fpath[1]}}/_{name}\"
  {name} completion fish > ~/.config/fish/completions/{name}.fish
  source <({name} completion bash)   # this shell only"
        ),
        format!(
            "Examples:
  {name} man | man -l -
  {name} man --dir ~/.local/share/man/man1   # one page per command"
        ),
    )
}

impl ToolCommand {
    /// Prints the completion script or the man page(s) of `cmd` (the tool's whole command
    /// line, from `CommandFactory::command`).
    pub fn run(&self, cmd: clap::Command) -> anyhow::Result<i32> {
        let mut cmd = cmd;
        let name = cmd.get_name().to_owned();
        match self {
            ToolCommand::Completion { shell } => {
                // clap_complete panics on a write error: render first, so `| head` stays quiet
                let mut script = Vec::new();
                clap_complete::generate(*shell, &mut cmd, name, &mut script);
                let mut out = std::io::stdout().lock();
                out.write_all(&script)?;
                out.flush()?;
            }
            ToolCommand::Man { dir: None } => {
                let mut out = std::io::stdout().lock();
                clap_mangen::Man::new(cmd).render(&mut out)?;
                out.flush()?;
            }
            ToolCommand::Man { dir: Some(dir) } => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                clap_mangen::generate_to(cmd, dir)
                    .with_context(|| format!("writing man pages into {}", dir.display()))?;
            }
        }
        Ok(EXIT_OK)
    }
}

/// The tool's command line as users see it: `T`'s clap command with the [`VERSION`] (commit
/// and features), `examples` as the `--help` epilogue of subcommands that have none of their
/// own (each `(path, text)`, the path as typed: `"wal push"`), and clap's colour from
/// `--color`/`THINLEDGER_COLOR`.
pub fn command<T: CommandFactory>(examples: &[(&str, &'static str)]) -> clap::Command {
    let mut cmd = T::command()
        .version(VERSION)
        .color(ColorChoice::from_args_and_env().into());
    let (completion, man) = tool_examples(cmd.get_name());
    for (sub, text) in [("completion", completion), ("man", man)] {
        if cmd.find_subcommand(sub).is_some() {
            cmd = cmd.mut_subcommand(sub, |c| c.after_help(text));
        }
    }
    for (path, text) in examples {
        let words: Vec<&str> = path.split_whitespace().collect();
        cmd = with_examples(cmd, &words, text);
    }
    cmd
}

fn with_examples(cmd: clap::Command, path: &[&str], text: &'static str) -> clap::Command {
    match path.split_first() {
        None if cmd.get_after_help().is_some() => cmd,
        None => cmd.after_help(text),
        Some((first, rest)) => {
            let first = (*first).to_owned();
            if cmd.find_subcommand(&first).is_none() {
                // a table entry for a command that is gone: a test over every subcommand's
                // --help catches the missing examples
                return cmd;
            }
            cmd.mut_subcommand(first, |sub| with_examples(sub, rest, text))
        }
    }
}

/// Parses the process's arguments into `T` through [`command`]: prints help, the version or
/// a usage error (exit 2) and exits as clap does. A usage error that a `THINLEDGER_*`
/// variable caused (set but empty, or an invalid value) names the variable, not a flag the
/// user never typed.
pub fn parse<T: CommandFactory + FromArgMatches>(examples: &[(&str, &'static str)]) -> T {
    let mut cmd = command::<T>(examples);
    let matches = cmd
        .try_get_matches_from_mut(std::env::args_os())
        .unwrap_or_else(|e| blame_variable(&mut cmd, e).exit());
    T::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// Whether `--long` (or `--long=…`) is on this process's command line: a value clap took
/// from its `THINLEDGER_*` variable instead is named by the variable in messages.
pub fn typed_on_command_line(long: &str) -> bool {
    let flag = format!("--{long}");
    std::env::args_os().skip(1).any(|a| {
        let a = a.to_string_lossy();
        a == flag || a.starts_with(&format!("{flag}="))
    })
}

fn blame_variable(cmd: &mut clap::Command, err: clap::Error) -> clap::Error {
    use clap::error::{ContextKind, ContextValue};
    let Some(ContextValue::String(shown)) = err.get(ContextKind::InvalidArg) else {
        return err;
    };
    // "--password-file <FILE>" → "password-file"
    let long = shown
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .trim_start_matches('-')
        .to_owned();
    let Some(arg) = find_arg(cmd, &long) else {
        return err;
    };
    let Some(var) = arg.get_env().map(|v| v.to_string_lossy().into_owned()) else {
        return err;
    };
    let short = arg.get_short().map(|c| format!("-{c}"));
    let typed = std::env::args_os().skip(1).any(|a| {
        let a = a.to_string_lossy();
        a == format!("--{long}")
            || a.starts_with(&format!("--{long}="))
            || short.as_deref().is_some_and(|s| a.starts_with(s))
    });
    let Some(value) = std::env::var_os(&var).filter(|_| !typed) else {
        return err;
    };
    let message = if value.is_empty() {
        format!(
            "the environment variable {var} is set but empty: unset it, or set it to a value for {shown}"
        )
    } else {
        // clap's own words (the value, the possible values), without its usage lines
        let rendered = err.render().to_string();
        let reason: Vec<&str> = rendered.lines().take_while(|l| !l.is_empty()).collect();
        format!(
            "the environment variable {var}: {}",
            reason.join("\n").trim_start_matches("error: ")
        )
    };
    cmd.error(err.kind(), message)
}

/// The argument `--long` of `cmd` or of any of its subcommands (global flags live on the top).
fn find_arg<'a>(cmd: &'a clap::Command, long: &str) -> Option<&'a clap::Arg> {
    cmd.get_arguments()
        .find(|a| a.get_long() == Some(long))
        .or_else(|| cmd.get_subcommands().find_map(|s| find_arg(s, long)))
}
