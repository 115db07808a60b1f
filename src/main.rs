//! The `ilo` command: parse the command line and hand off to the module for each job.

mod cli;
mod entry;
mod help;
mod report;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};
use report::Reporter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let reporter = Reporter::from_opts(&cli.opts);
    ilo_runtime::caps::set_allow_net(cli::allow_list(&cli.opts.allow_net));
    ilo_runtime::caps::set_allow_read(cli::allow_list(&cli.opts.allow_read));

    match cli.command {
        Some(Command::Help { topic }) => help::help(topic.as_deref(), &reporter),
        Some(Command::Check { file }) => {
            let _ = file;
            reporter.usage_error("`ilo check` is not yet available")
        }
        Some(Command::Run { program, args }) => {
            let _ = (program, args);
            reporter.usage_error("running programs is not yet available")
        }
        Some(Command::Httpd { .. }) => reporter.usage_error("`ilo httpd` is not yet available"),
        Some(Command::Build { .. }) => reporter.usage_error("`ilo build` is not yet available"),
        None => match cli.program {
            Some(program) => {
                let _ = (program, cli.args);
                reporter.usage_error("running programs is not yet available")
            }
            None => help::help(None, &reporter),
        },
    }
}
