//! `ilo httpd [OPTIONS] FILE`: compile a handler with the JIT and serve it over HTTP.
//!
//! Only the wiring is here. Which function is the handler, the closure that calls it
//! per request, and how a runtime error becomes the logged diagnostic all live in
//! `ilo_runtime::program::server`, shared with servers built by `ilo build`, so the
//! two answer identically. Everything that can fail about the program (a missing
//! file or import, a parse or verify error, no handler) is reported before anything
//! listens, so a server that printed its readiness line is a server that works.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use ilo_compiler::codegen::aot;
use ilo_runtime::httpd::{self, ServerConfig};
use ilo_runtime::program::{server, Description};

use crate::check::{front_end, ProgramSource};
use crate::cli::HttpdArgs;
use crate::report::{Reporter, EXIT_PROGRAM_ERROR};
use crate::run;

pub fn httpd(args: &HttpdArgs, reporter: &Reporter) -> ExitCode {
    let path = Path::new(&args.file);
    if !path.is_file() {
        return reporter.usage_error(&format!("no such file: '{}'", args.file));
    }
    let config = match server_config(args) {
        Ok(c) => c,
        Err(msg) => return reporter.usage_error(&msg),
    };
    let (checked, sources) = match front_end(ProgramSource::File(path), reporter) {
        Ok(x) => x,
        Err(code) => return code,
    };
    // The selection rule only needs names, files and arities.
    let declared = Description {
        functions: aot::function_infos(&checked),
        ..Description::default()
    };
    let chosen = match server::pick_handler(&declared, args.func.as_deref()) {
        Ok(i) => declared.functions[i].name.clone(),
        Err(msg) => return reporter.usage_error(&msg),
    };
    let (program, index) = match run::compile(&checked, &sources, &chosen, reporter) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let handler = server::handler(Arc::new(program), index, reporter.diag_format());
    match httpd::serve(config, handler) {
        Ok(()) => ExitCode::SUCCESS,
        // Binding failed (port in use, unknown host, no permission): nothing listened.
        Err(e) => {
            eprintln!("ilo httpd: {e}");
            ExitCode::from(EXIT_PROGRAM_ERROR)
        }
    }
}

/// The server settings: the defaults (with `$PORT`) the shared flag parser starts
/// from, overridden by whatever was given on the command line.
fn server_config(args: &HttpdArgs) -> Result<ServerConfig, String> {
    let mut config = server::parse_flags(&[])?;
    if let Some(host) = &args.host {
        config.host = host.clone();
    }
    if let Some(port) = args.port {
        config.port = port;
    }
    if let Some(n) = args.workers {
        config.workers = usize::try_from(n).map_err(|_| format!("--workers {n} is too large"))?;
    }
    if let Some(n) = args.max_body {
        config.max_body = usize::try_from(n).map_err(|_| format!("--max-body {n} is too large"))?;
    }
    if let Some(secs) = args.handler_timeout {
        config.handler_timeout = server::timeout_from_secs(secs, "--handler-timeout")?;
    }
    config.quiet |= args.quiet;
    config.reuse_port |= args.reuse_port;
    if let Some(addr) = &args.metrics {
        config.metrics = Some(addr.clone());
    }
    if let Some(format) = &args.log_format {
        config.json_log = format == "json";
    }
    Ok(config)
}
