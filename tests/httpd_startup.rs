//! `ilo httpd` before it listens: imports, load and verify errors (reported, non-zero
//! exit, no readiness line), and which function is the handler.

#[path = "support/httpd.rs"]
mod support;

use support::{handler_dir, start_failure, Server};

fn serve(dir: &tempfile::TempDir, extra: &[&str]) -> Server {
    let file = dir.path().join("main.ilo");
    let mut args: Vec<&str> = extra.to_vec();
    args.push(file.to_str().expect("utf-8 path"));
    Server::start(&args)
}

fn fails(dir: &tempfile::TempDir, extra: &[&str]) -> support::Failed {
    let file = dir.path().join("main.ilo");
    let mut args: Vec<&str> = extra.to_vec();
    args.push(file.to_str().expect("utf-8 path"));
    let failed = start_failure(&args);
    assert_ne!(failed.code, Some(0), "{}", failed.stderr);
    failed
}

#[test]
fn a_handler_using_a_sibling_module_serves() {
    let dir = handler_dir(&[
        (
            "main.ilo",
            "use \"lib/greet.ilo\"\nhandler req:_>_;shout req.path\n",
        ),
        ("lib/greet.ilo", "shout s:t>t;+upr s \"!\"\n"),
    ]);
    let server = serve(&dir, &[]);
    let r = server.get("/abc");
    assert_eq!((r.status, r.text()), (200, "/ABC!".to_string()));
}

#[test]
fn a_missing_module_fails_startup_naming_it() {
    let dir = handler_dir(&[(
        "main.ilo",
        "use \"lib/nowhere.ilo\"\nhandler req:_>_;\"x\"\n",
    )]);
    let failed = fails(&dir, &[]);
    assert!(failed.stderr.contains("ILO-P017"), "{}", failed.stderr);
    assert!(failed.stderr.contains("nowhere.ilo"), "{}", failed.stderr);
}

#[test]
fn parse_and_verify_errors_fail_startup_with_their_diagnostics() {
    let dir = handler_dir(&[("main.ilo", "handler req:_>_;+1 \"a\" (\n")]);
    let failed = fails(&dir, &[]);
    assert!(
        failed.stderr.contains("\"severity\":\"error\""),
        "{}",
        failed.stderr
    );

    let dir = handler_dir(&[("main.ilo", "handler req:_>_;undefined-fn req\n")]);
    let failed = fails(&dir, &[]);
    assert!(failed.stderr.contains("undefined-fn"), "{}", failed.stderr);

    // Text diagnostics when asked for.
    let failed = fails(&dir, &["--text"]);
    assert!(failed.stderr.contains("error["), "{}", failed.stderr);
}

#[test]
fn the_handler_is_handler_then_handle_then_the_only_unary_function() {
    let both = "handle req:_>_;\"handle\"\nhandler req:_>_;\"handler\"\nother req:_>_;\"other\"\n";
    let dir = handler_dir(&[("main.ilo", both)]);
    assert_eq!(serve(&dir, &[]).get("/").text(), "handler");
    assert_eq!(serve(&dir, &["--fn", "other"]).get("/").text(), "other");

    let dir = handler_dir(&[("main.ilo", "x>n;1\nhandle req:_>_;\"handle\"\nz r:_>_;1\n")]);
    assert_eq!(serve(&dir, &[]).get("/").text(), "handle");

    let dir = handler_dir(&[("main.ilo", "two a:n b:n>n;+a b\nserve r:_>_;\"only\"\n")]);
    assert_eq!(serve(&dir, &[]).get("/").text(), "only");
}

#[test]
fn no_handler_or_an_unknown_fn_fails_startup() {
    let dir = handler_dir(&[("main.ilo", "a r:_>_;1\nb r:_>_;2\n")]);
    let failed = fails(&dir, &[]);
    assert!(failed.stderr.contains("--fn"), "{}", failed.stderr);

    let dir = handler_dir(&[("main.ilo", "handler req:_>_;\"x\"\n")]);
    let failed = fails(&dir, &["--fn", "missing"]);
    assert!(failed.stderr.contains("missing"), "{}", failed.stderr);

    let dir = handler_dir(&[("main.ilo", "handler req:_>_;\"x\"\npair a:n b:n>n;+a b\n")]);
    let failed = fails(&dir, &["--fn", "pair"]);
    assert!(
        failed.stderr.contains("takes 2 parameters"),
        "{}",
        failed.stderr
    );

    let failed = start_failure(&["no-such-file.ilo"]);
    assert!(
        failed.stderr.contains("no-such-file.ilo"),
        "{}",
        failed.stderr
    );
    assert_ne!(failed.code, Some(0));
}

#[test]
fn a_port_in_use_fails_with_a_message() {
    let (listener, port) = support::local_listener();
    let dir = handler_dir(&[("main.ilo", "handler req:_>_;\"x\"\n")]);
    let file = dir.path().join("main.ilo");
    let failed = match Server::try_start(
        support::ilo()
            .args(["httpd", "--port", &port.to_string()])
            .arg(&file),
    ) {
        Ok(_) => panic!("bound a port that is in use"),
        Err(f) => f,
    };
    drop(listener);
    assert_eq!(failed.code, Some(1), "{}", failed.stderr);
    assert!(failed.stderr.contains("ilo httpd:"), "{}", failed.stderr);
}
