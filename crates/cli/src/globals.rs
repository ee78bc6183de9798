//! The global flags all four tools share, each with its `THINLEDGER_*` environment variable
//! (a flag on the command line wins over the variable).

use std::io::IsTerminal;

use crate::output::OutputFormat;

/// Verbosity and colour: flattened into every tool's top-level flags (`global`, so they are
/// accepted before or after the subcommand).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct GlobalArgs {
    /// More detail on stderr (-v info, -vv debug: ledger-backup's log lines).
    #[arg(
        long,
        short = 'v',
        global = true,
        action = clap::ArgAction::Count,
        env = "THINLEDGER_VERBOSE",
        help_heading = "Global options"
    )]
    pub verbose: u8,
    /// No progress display or notes on stderr (warnings and errors are still printed).
    #[arg(
        long,
        short = 'q',
        global = true,
        env = "THINLEDGER_QUIET",
        value_parser = clap::builder::FalseyValueParser::new(),
        help_heading = "Global options"
    )]
    pub quiet: bool,
    /// When to colour stderr (help, errors, log lines): auto colours a terminal unless
    /// NO_COLOR is set.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t = ColorChoice::Auto,
        env = "THINLEDGER_COLOR",
        value_name = "WHEN",
        help_heading = "Global options"
    )]
    pub color: ColorChoice,
}

/// `--output`: the format of the data a command prints, for the tools whose every data
/// command shares the three formats.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct OutputArgs {
    /// How data is printed: table, json or yaml (the same data in each) [default: table;
    /// `ledger-topology render`: yaml].
    #[arg(
        long,
        short = 'o',
        global = true,
        value_enum,
        env = "THINLEDGER_OUTPUT",
        value_name = "FORMAT",
        help_heading = "Global options"
    )]
    pub output: Option<OutputFormat>,
}

impl OutputArgs {
    /// The format asked for, or the command's own default.
    pub fn format_or(&self, default: OutputFormat) -> OutputFormat {
        self.output.unwrap_or(default)
    }
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour a terminal, unless the NO_COLOR environment variable is set.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    /// Whether to colour stderr.
    pub fn for_stderr(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stderr().is_terminal()
            }
        }
    }

    /// The choice the command line or `THINLEDGER_COLOR` makes, read before clap parses
    /// (clap prints help and usage errors while parsing, in colour or not).
    pub fn from_args_and_env() -> ColorChoice {
        let mut choice = std::env::var("THINLEDGER_COLOR")
            .ok()
            .and_then(|v| <ColorChoice as clap::ValueEnum>::from_str(&v, true).ok())
            .unwrap_or_default();
        let mut args = std::env::args_os().skip(1);
        while let Some(arg) = args.next() {
            let Some(arg) = arg.to_str() else { continue };
            if arg == "--" {
                break;
            }
            let value = match arg.strip_prefix("--color") {
                Some("") => args.next().and_then(|v| v.into_string().ok()),
                Some(rest) => rest.strip_prefix('=').map(str::to_owned),
                None => None,
            };
            if let Some(c) =
                value.and_then(|v| <ColorChoice as clap::ValueEnum>::from_str(&v, true).ok())
            {
                choice = c;
            }
        }
        choice
    }
}

impl From<ColorChoice> for clap::ColorChoice {
    fn from(c: ColorChoice) -> Self {
        match c {
            ColorChoice::Always => clap::ColorChoice::Always,
            ColorChoice::Never => clap::ColorChoice::Never,
            // clap's own auto already honours NO_COLOR and a terminal
            ColorChoice::Auto => clap::ColorChoice::Auto,
        }
    }
}
