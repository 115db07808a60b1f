//! The `ilo` command: parse the command line and hand off to the module for each job.

mod build;
mod check;
mod cli;
mod help;
mod httpd;
mod report;
mod run;

use std::process::ExitCode;

use cli::Command;
use report::Reporter;

fn main() -> ExitCode {
    let cli = cli::parse();
    let reporter = Reporter::from_opts(&cli.opts);
    ilo_runtime::caps::set_allow_net(cli::allow_list(&cli.opts.allow_net));
    ilo_runtime::caps::set_allow_read(cli::allow_list(&cli.opts.allow_read));
    ilo_runtime::caps::set_allow_write(cli::allow_list(&cli.opts.allow_write));
    ilo_runtime::caps::set_allow_env(cli::allow_list(&cli.opts.allow_env));

    match cli.command {
        Some(Command::Help { topic }) => help::help(topic.as_deref(), &reporter),
        Some(Command::Check { file }) => check::check(&file, &reporter),
        Some(Command::Run { program, args }) => run::run(&program, &args, &reporter),
        Some(Command::Httpd(args)) => httpd::httpd(&args, &reporter),
        Some(Command::Build {
            file,
            out,
            httpd,
            func,
        }) => build::build(
            &build::BuildRequest {
                file: &file,
                out: &out,
                httpd,
                func: func.as_deref(),
            },
            &reporter,
        ),
        None => help::help(None, &reporter),
    }
}
