//! The command line, as clap definitions.
//!
//! `ilo FILE [func] [args…]` and `ilo 'inline code' [args…]` are shorthand for
//! `ilo run …`: [`parse`] inserts the `run` before clap sees the arguments, so that a
//! program argument that happens to be a subcommand's name (`ilo prog.ilo build`
//! calling a function `build`) stays an argument. Options go before the program:
//! everything after it is handed to the program unchanged, including values that
//! start with `-` (`ilo f.ilo -3`).

use std::ffi::OsString;

use clap::{Args, Parser, Subcommand};

/// Subcommand names; any other first word is a program (file or inline code).
const SUBCOMMANDS: &[&str] = &["run", "check", "help", "httpd", "build"];

/// Parse the process's command line, with the default `run` made explicit.
pub fn parse() -> Cli {
    Cli::parse_from(with_default_subcommand(std::env::args_os().collect()))
}

/// Insert `run` before the first non-option word unless that word is a subcommand.
/// Option values are always attached with `=`, so every word that does not start
/// with `-` is a positional one.
fn with_default_subcommand(mut args: Vec<OsString>) -> Vec<OsString> {
    let first_word = args
        .iter()
        .enumerate()
        .skip(1)
        .find(|(_, a)| !a.to_string_lossy().starts_with('-'))
        .map(|(i, a)| (i, a.to_string_lossy().into_owned()));
    if let Some((i, word)) = first_word {
        if !SUBCOMMANDS.contains(&word.as_str()) {
            args.insert(i, OsString::from("run"));
        }
    }
    args
}

#[derive(Parser, Debug)]
#[command(
    name = "ilo",
    version,
    about = "ilo: a tiny, token-dense language compiled to native code",
    long_about = None,
    disable_help_subcommand = true,
    override_usage = "ilo [OPTIONS] FILE|CODE [FUNC] [ARGS]...\n       ilo [OPTIONS] <COMMAND>",
    after_help = "Run `ilo help lang` for the language specification, `ilo help ai` for its compact form."
)]
pub struct Cli {
    #[command(flatten)]
    pub opts: GlobalOpts,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options accepted before or after any subcommand.
#[derive(Args, Debug, Clone, Default)]
pub struct GlobalOpts {
    /// Write diagnostics as JSON (the default when stderr is not a terminal)
    #[arg(long, global = true, conflicts_with = "text")]
    pub json: bool,

    /// Write diagnostics as text (the default when stderr is a terminal)
    #[arg(long, global = true)]
    pub text: bool,

    /// Only let network sources reach these hosts (comma-separated, HOST or HOST:PORT)
    #[arg(long, global = true, value_name = "HOSTS", require_equals = true)]
    pub allow_net: Option<String>,

    /// Only let file builtins and sources read below these paths (comma-separated;
    /// symlinks and `..` are resolved before the check)
    #[arg(long, global = true, value_name = "PATHS", require_equals = true)]
    pub allow_read: Option<String>,

    /// Only let `wr` and `wrl` write below these paths (comma-separated, resolved
    /// like --allow-read)
    #[arg(long, global = true, value_name = "PATHS", require_equals = true)]
    pub allow_write: Option<String>,

    /// Only let `env` read these variables (comma-separated names)
    #[arg(long, global = true, value_name = "NAMES", require_equals = true)]
    pub allow_env: Option<String>,

    /// Largest text or list (its elements) one value may take, in bytes; more is
    /// runtime error ILO-R007 [default: what the system grants; 256 MiB for httpd]
    #[arg(long, global = true, value_name = "BYTES", require_equals = true)]
    pub max_alloc: Option<u64>,

    /// Longest line a line source holds, in bytes; a longer one fails the source
    /// [default: 1048576]
    #[arg(long, global = true, value_name = "BYTES", require_equals = true)]
    pub max_line: Option<u64>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Compile and run a program: `ilo run FILE [func] [args…]`
    Run {
        /// A program file, or inline ilo code
        #[arg(value_name = "FILE|CODE")]
        program: String,
        /// Function name (optional) and arguments for the entry function
        #[arg(
            value_name = "ARGS",
            trailing_var_arg = true,
            allow_hyphen_values = true
        )]
        args: Vec<String>,
    },
    /// Parse and verify a program without running it (exit 0 clean, 2 on errors)
    Check {
        /// The program file
        file: String,
    },
    /// Print documentation: `lang` (the specification) or `ai` (its compact form)
    Help {
        /// `lang` or `ai`; nothing prints the command-line help
        topic: Option<String>,
    },
    /// Serve HTTP requests with an ilo handler: `ilo httpd [OPTIONS] FILE`
    Httpd(HttpdArgs),
    /// Compile a program to a standalone native binary
    Build {
        /// The program file
        file: String,
        /// Where to write the executable
        #[arg(short = 'o', long = "output", value_name = "OUT")]
        out: std::path::PathBuf,
        /// Build an HTTP server even if no function is named `handler`
        #[arg(long)]
        httpd: bool,
        /// The function to serve (builds a server)
        #[arg(long = "fn", value_name = "NAME")]
        func: Option<String>,
    },
}

/// `ilo httpd`'s flags. Unset ones fall back to the server defaults (the port to
/// `$PORT`, then 8080; the workers to the core count).
#[derive(Args, Debug)]
pub struct HttpdArgs {
    /// Compile the handler with the JIT (the default, and the only engine)
    #[arg(long)]
    pub jit: bool,
    /// Interface to listen on [default: 127.0.0.1]
    #[arg(long, value_name = "H")]
    pub host: Option<String>,
    /// Port to listen on; 0 picks a free one [default: $PORT, else 8080]
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,
    /// Accept threads [default: the number of cores]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub workers: Option<u64>,
    /// No access log (the readiness line is still printed)
    #[arg(long)]
    pub quiet: bool,
    /// Share the port with other processes (SO_REUSEPORT), so a new server can start
    /// before the old one stops
    #[arg(long)]
    pub reuse_port: bool,
    /// Serve Prometheus metrics at http://HOST:PORT/metrics (a separate listener)
    #[arg(long, value_name = "HOST:PORT")]
    pub metrics: Option<String>,
    /// Access-log format: `text`, or `json` (one object per line)
    #[arg(long, value_name = "FORMAT", value_parser = ["text", "json"])]
    pub log_format: Option<String>,
    /// Largest request body accepted, in bytes; more answers 413 [default: 1 MiB]
    #[arg(long, value_name = "BYTES")]
    pub max_body: Option<u64>,
    /// Cancel a handler call running longer than this (answered 503); 0 turns the
    /// limit off. A call whose client hangs up is cancelled regardless [default: 60]
    #[arg(long, value_name = "SECONDS")]
    pub handler_timeout: Option<f64>,
    /// The function to serve [default: `handler`, else `handle`, else the only
    /// one-parameter function]
    #[arg(long = "fn", value_name = "NAME")]
    pub func: Option<String>,
    /// The handler file
    pub file: String,
}

/// Split a comma-separated allow-list flag value into entries.
pub fn allow_list(value: &Option<String>) -> Option<Vec<String>> {
    value.as_deref().map(ilo_runtime::caps::split_list)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn program_args_may_look_like_flags() {
        let cli = parse_from(&["ilo", "f.ilo", "-3", "--x"]);
        let Some(Command::Run { program, args }) = cli.command else {
            panic!("expected run");
        };
        assert_eq!(program, "f.ilo");
        assert_eq!(args, ["-3", "--x"]);
    }

    fn parse_from(args: &[&str]) -> Cli {
        let args = args.iter().map(OsString::from).collect();
        Cli::try_parse_from(with_default_subcommand(args)).unwrap()
    }

    #[test]
    fn program_args_may_be_subcommand_names() {
        let cli = parse_from(&["ilo", "--json", "prog.ilo", "build", "check"]);
        assert!(cli.opts.json);
        let Some(Command::Run { program, args }) = cli.command else {
            panic!("expected run");
        };
        assert_eq!(program, "prog.ilo");
        assert_eq!(args, ["build", "check"]);
        assert!(parse_from(&["ilo"]).command.is_none());
    }

    #[test]
    fn subcommands_and_global_flags() {
        let cli = Cli::try_parse_from(["ilo", "check", "a.ilo", "--json"]).unwrap();
        assert!(cli.opts.json);
        assert!(matches!(cli.command, Some(Command::Check { ref file }) if file == "a.ilo"));
        let cli = Cli::try_parse_from(["ilo", "--text", "check", "a.ilo"]).unwrap();
        assert!(cli.opts.text);
        assert!(matches!(cli.command, Some(Command::Check { ref file }) if file == "a.ilo"));
        let cli = parse_from(&["ilo", "--allow-net=a.org, b:80", "x.ilo"]);
        assert_eq!(
            allow_list(&cli.opts.allow_net),
            Some(vec!["a.org".to_string(), "b:80".to_string()])
        );
    }
}
