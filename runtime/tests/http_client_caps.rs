//! Capabilities deny before anything is opened. (A test binary of its own: the
//! allow-lists are process-global.)

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

mod builtin_support;

use builtin_support::call;
use ilo_runtime::caps;
use ilo_runtime::error::codes;
use ilo_runtime::Value;

#[test]
fn denied_capabilities_name_their_flag_and_open_nothing() {
    // An upstream that counts the connections it receives.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    let watcher = thread::spawn(move || {
        for _ in 0..40 {
            if listener.accept().is_ok() {
                counter.fetch_add(1, Ordering::SeqCst);
            }
            thread::sleep(Duration::from_millis(5));
        }
    });

    caps::set_allow_net(Some(vec!["example.invalid".to_string()]));
    let url = Value::text(format!("http://127.0.0.1:{port}/"));
    for (name, args) in [
        ("get", vec![url.clone()]),
        ("post", vec![url.clone(), Value::text("b")]),
        ("get-stream", vec![url.clone()]),
        ("pst-stream", vec![url.clone(), Value::text("b")]),
    ] {
        let r = call(name, &args).expect("builtin");
        let shown = r.to_string();
        assert!(
            shown.starts_with('^') && shown.contains("--allow-net"),
            "{name}: {shown}"
        );
    }
    // The host itself, with any port, and with this port: allowed again.
    caps::set_allow_net(Some(vec![format!("127.0.0.1:{port}")]));
    assert!(caps::check_net(&format!("127.0.0.1:{port}")).is_ok());
    assert!(caps::check_net("127.0.0.1:1").is_err());
    caps::set_allow_net(Some(vec!["127.0.0.1".to_string()]));
    assert!(caps::check_net("127.0.0.1:1").is_ok());
    caps::set_allow_net(None);

    let dir = tempfile::tempdir().expect("tempdir");
    let allowed = dir.path().join("ok");
    std::fs::create_dir(&allowed).expect("mkdir");
    let inside = allowed.join("in.txt");
    let outside = dir.path().join("out.txt");
    std::fs::write(&inside, "in\n").expect("write");
    std::fs::write(&outside, "out\n").expect("write");
    caps::set_allow_read(Some(vec![allowed.to_str().expect("utf-8").to_string()]));
    for name in ["for-line", "tail-file"] {
        let err = call(name, &[Value::text(outside.to_str().expect("utf-8"))]).expect_err("denied");
        assert_eq!(err.code, codes::PANIC);
        assert!(
            err.message.contains("--allow-read"),
            "{name}: {}",
            err.message
        );
        assert!(
            call(name, &[Value::text(inside.to_str().expect("utf-8"))]).is_ok(),
            "{name} inside"
        );
    }
    let sneaky = allowed.join("..").join("out.txt");
    assert!(call("for-line", &[Value::text(sneaky.to_str().expect("utf-8"))]).is_err());
    caps::set_allow_read(None);
    assert!(call("for-line", &[Value::text(outside.to_str().expect("utf-8"))]).is_ok());

    watcher.join().expect("watcher");
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        0,
        "a denied request connected"
    );
}
