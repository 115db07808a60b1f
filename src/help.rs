//! `ilo help TOPIC`: documentation built into the binary.
//!
//! `lang` is SPEC.md verbatim; `ai` is ai.txt, the compact form build.rs derives from
//! SPEC.md. Both are embedded at compile time so the binary documents itself.

use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::report::Reporter;

pub const SPEC: &str = include_str!("../SPEC.md");
pub const AI_TXT: &str = include_str!("../ai.txt");

pub fn help(topic: Option<&str>, reporter: &Reporter) -> ExitCode {
    match topic {
        None => {
            print!("{}", Cli::command().render_long_help());
            ExitCode::SUCCESS
        }
        Some("lang") => {
            print!("{SPEC}");
            ExitCode::SUCCESS
        }
        Some("ai") => {
            print!("{AI_TXT}");
            ExitCode::SUCCESS
        }
        Some(other) => reporter.usage_error(&format!(
            "unknown help topic '{other}' (try `ilo help lang` or `ilo help ai`)"
        )),
    }
}
