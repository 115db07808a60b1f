//! Serving a program over HTTP: which function is the handler, the server's
//! command-line flags, and the [`Handler`] closure around the compiled function.
//!
//! `ilo httpd FILE` and a server built with `ilo build` both come through here, so
//! they pick the same handler, accept the same flags and answer the same way.

use std::sync::Arc;
use std::time::Duration;

use super::command::{render_failure, usage_error, EXIT_PROGRAM_ERROR};
use super::render::DiagFormat;
use super::{Description, Program};
use crate::caps;
use crate::httpd::{self, Handler, ServerConfig};
use crate::limits;
use crate::line_source::buffer::set_max_line;
use crate::value::Value;

/// The handler: `over` when given, else `handler`, else `handle`, else the main
/// file's only one-parameter function.
pub fn pick_handler(desc: &Description, over: Option<&str>) -> Result<usize, String> {
    let find = |name: &str| desc.functions.iter().position(|f| f.name == name);
    if let Some(name) = over {
        let i = find(name).ok_or_else(|| format!("no function '{name}' to serve"))?;
        // Checked here, not per request: a handler takes exactly the request.
        return match desc.functions[i].params.len() {
            1 => Ok(i),
            n => Err(format!(
                "'{name}' takes {n} parameters; a handler takes one, the request"
            )),
        };
    }
    if let Some(i) = find("handler").or_else(|| find("handle")) {
        return Ok(i);
    }
    let unary: Vec<usize> = (0..desc.functions.len())
        .filter(|&i| desc.functions[i].file == 0 && desc.functions[i].params.len() == 1)
        .collect();
    match unary.as_slice() {
        [only] => Ok(*only),
        [] => Err("no handler: declare `handler req:_>_` (or name one with --fn)".into()),
        _ => Err("several one-parameter functions and no `handler`; name one with --fn".into()),
    }
}

/// Does the file have a handler by name (what makes `ilo build` produce a server)?
pub fn has_named_handler(desc: &Description) -> bool {
    desc.functions
        .iter()
        .any(|f| f.name == "handler" && f.params.len() == 1)
}

/// Parse `--host H --port N --workers N --quiet --reuse-port --max-body N
/// --metrics HOST:PORT --log-format text|json`, the capability flags, `--max-alloc`
/// and `--max-line` (also `--flag=value`).
/// The port defaults to `$PORT`, then to the configuration's default.
pub fn parse_flags(args: &[String]) -> Result<ServerConfig, String> {
    let mut config = ServerConfig::default();
    if let Some(port) = std::env::var("PORT").ok().filter(|p| !p.is_empty()) {
        config.port = parse_num(&port, "PORT")?;
    }
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let switch = match flag {
            "--quiet" => Some(&mut config.quiet),
            "--reuse-port" => Some(&mut config.reuse_port),
            _ => None,
        };
        if let (Some(on), None) = (switch, &inline) {
            *on = true;
            continue;
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag {
            "--host" => config.host = value()?,
            "--port" => config.port = parse_num(&value()?, flag)?,
            "--workers" => config.workers = parse_num::<usize>(&value()?, flag)?.max(1),
            "--max-body" => config.max_body = parse_num(&value()?, flag)?,
            "--metrics" => config.metrics = Some(value()?),
            "--log-format" => {
                config.json_log = match value()?.as_str() {
                    "json" => true,
                    "text" => false,
                    other => return Err(format!("--log-format: expected text or json, got '{other}'")),
                }
            }
            // Capabilities are process-wide, as for `ilo httpd --allow-net=…`.
            f if caps::FLAGS.contains(&f) => {
                caps::apply_flag(f, &value()?);
            }
            "--handler-timeout" => {
                config.handler_timeout = timeout_from_secs(parse_num(&value()?, flag)?, flag)?;
            }
            "--max-alloc" => limits::set_max_alloc(parse_num(&value()?, flag)?),
            "--max-line" => set_max_line(parse_num(&value()?, flag)?),
            _ => {
                return Err(format!(
                    "unknown argument '{arg}' (expected --host H, --port N, --workers N, --max-body N, --quiet, --handler-timeout=SECONDS, --reuse-port, --metrics HOST:PORT, --log-format text|json, --allow-net=HOSTS, --allow-read=PATHS, --allow-write=PATHS, --allow-env=NAMES, --max-alloc=BYTES, --max-line=BYTES)"
                ))
            }
        }
    }
    Ok(config)
}

/// `--handler-timeout`'s value: seconds, `0` for no limit.
pub fn timeout_from_secs(secs: f64, flag: &str) -> Result<Option<Duration>, String> {
    if secs == 0.0 {
        return Ok(None);
    }
    Duration::try_from_secs_f64(secs)
        .map(Some)
        .map_err(|_| format!("{flag}: expected seconds (0 for no limit), got {secs}"))
}

fn parse_num<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String> {
    s.parse()
        .map_err(|_| format!("{what}: expected a number, got '{s}'"))
}

/// The handler closure: call function `index` with the request record. A runtime
/// error becomes the rendered diagnostic the server logs (and answers 500).
pub fn handler(program: Arc<Program>, index: usize, format: DiagFormat) -> Handler {
    Arc::new(move |request: Value| {
        program.call(index, &[request]).map_err(|failure| {
            render_failure(&program, &failure, format)
                .trim_end()
                .to_string()
        })
    })
}

/// Serve `program`'s handler with the command-line `args`; returns the exit code.
pub fn run(program: Arc<Program>, index: usize, args: &[String], format: DiagFormat) -> u8 {
    // A server has a ceiling on one value unless `--max-alloc` says otherwise.
    limits::set_max_alloc(limits::SERVER_MAX_ALLOC);
    let config = match parse_flags(args) {
        Ok(c) => c,
        Err(msg) => return usage_error(&msg, format),
    };
    match httpd::serve(config, handler(program, index, format)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("ilo httpd: {e}");
            EXIT_PROGRAM_ERROR
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::{FunctionInfo, ParamInfo, ParamKind};

    fn f(name: &str, file: u32, arity: usize) -> FunctionInfo {
        FunctionInfo {
            name: name.into(),
            file,
            params: (0..arity)
                .map(|i| ParamInfo {
                    name: format!("p{i}"),
                    kind: ParamKind::Any,
                    type_text: "_".into(),
                })
                .collect(),
            silent_result: false,
        }
    }

    fn desc(functions: Vec<FunctionInfo>) -> Description {
        Description {
            functions,
            ..Description::default()
        }
    }

    #[test]
    fn handler_by_name_then_only_unary_function() {
        let d = desc(vec![f("x", 0, 1), f("handle", 0, 1), f("handler", 0, 1)]);
        assert_eq!(pick_handler(&d, None), Ok(2));
        assert_eq!(pick_handler(&d, Some("x")), Ok(0));
        assert!(pick_handler(&d, Some("nope")).is_err());
        let d = desc(vec![f("handler", 0, 1), f("pair", 0, 2)]);
        assert!(pick_handler(&d, Some("pair")).is_err_and(|e| e.contains("takes 2")));
        let d = desc(vec![f("lib", 1, 1), f("serve", 0, 1), f("two", 0, 2)]);
        assert_eq!(pick_handler(&d, None), Ok(1));
        assert!(!has_named_handler(&d));
        let d = desc(vec![f("a", 0, 1), f("b", 0, 1)]);
        assert!(pick_handler(&d, None).is_err());
    }

    #[test]
    fn flags() {
        let args: Vec<String> = ["--host", "0.0.0.0", "--port=0", "--workers", "3", "--quiet"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let c = parse_flags(&args).unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.workers, c.quiet),
            ("0.0.0.0", 0, 3, true)
        );
        assert!(!c.reuse_port);
        assert!(parse_flags(&["--reuse-port".to_string()]).is_ok_and(|c| c.reuse_port));
        assert!(parse_flags(&["--port".to_string()]).is_err());
        assert!(parse_flags(&["--port".to_string(), "x".to_string()]).is_err());
        assert!(parse_flags(&["serve".to_string()]).is_err());
    }
}
