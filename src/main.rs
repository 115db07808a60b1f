//! The `ilo` command: parse the command line and hand off to the module for each job.

mod build;
mod check;
mod cli;
mod help;
mod httpd;
mod report;
mod run;
mod runtime_lib;

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
    // A server has a ceiling on one value by default; a command only what the system
    // grants (allocation is fallible either way).
    let serving = matches!(cli.command, Some(Command::Httpd(_)));
    let default_alloc = serving.then_some(ilo_runtime::limits::SERVER_MAX_ALLOC);
    if let Some(bytes) = cli.opts.max_alloc.map(saturating_usize).or(default_alloc) {
        ilo_runtime::limits::set_max_alloc(bytes);
    }
    if let Some(bytes) = cli.opts.max_line {
        ilo_runtime::line_source::buffer::set_max_line(saturating_usize(bytes));
    }

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

fn saturating_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}
