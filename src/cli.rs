//! The command line, as clap definitions.
//!
//! `ilo FILE [func] [args…]` and `ilo 'inline code' [args…]` are the default form (no
//! subcommand); `ilo run …` is the same thing spelled out. Options go before the
//! program: everything after it is handed to the program unchanged, including values
//! that start with `-` (`ilo f.ilo -3`).

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "ilo",
    version,
    about = "ilo: a tiny, token-dense language compiled to native code",
    long_about = None,
    disable_help_subcommand = true,
    after_help = "Run `ilo help lang` for the language specification, `ilo help ai` for its compact form."
)]
pub struct Cli {
    #[command(flatten)]
    pub opts: GlobalOpts,

    #[command(subcommand)]
    pub command: Option<Command>,

    /// A program file, or inline ilo code
    #[arg(value_name = "FILE|CODE")]
    pub program: Option<String>,

    /// Function name (optional) and arguments for the entry function
    #[arg(
        value_name = "ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub args: Vec<String>,
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

    /// Only let file sources read below these paths (comma-separated)
    #[arg(long, global = true, value_name = "PATHS", require_equals = true)]
    pub allow_read: Option<String>,
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
    /// Serve HTTP requests with an ilo handler
    Httpd {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
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

/// Split a comma-separated allow-list flag value into entries.
pub fn allow_list(value: &Option<String>) -> Option<Vec<String>> {
    value.as_ref().map(|v| {
        v.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    })
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
        let cli = Cli::try_parse_from(["ilo", "f.ilo", "-3", "--x"]).unwrap();
        assert_eq!(cli.program.as_deref(), Some("f.ilo"));
        assert_eq!(cli.args, ["-3", "--x"]);
    }

    #[test]
    fn subcommands_and_global_flags() {
        let cli = Cli::try_parse_from(["ilo", "check", "a.ilo", "--json"]).unwrap();
        assert!(cli.opts.json);
        assert!(matches!(cli.command, Some(Command::Check { ref file }) if file == "a.ilo"));
        let cli = Cli::try_parse_from(["ilo", "--text", "check", "a.ilo"]).unwrap();
        assert!(cli.opts.text);
        assert!(matches!(cli.command, Some(Command::Check { ref file }) if file == "a.ilo"));
        let cli = Cli::try_parse_from(["ilo", "--allow-net=a.org, b:80", "x.ilo"]).unwrap();
        assert_eq!(
            allow_list(&cli.opts.allow_net),
            Some(vec!["a.org".to_string(), "b:80".to_string()])
        );
    }
}
