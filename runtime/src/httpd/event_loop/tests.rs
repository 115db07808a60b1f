//! Replacing a loop's thread: a replacement that cannot be started, or that loses
//! the loop to another, never leaves the loop without a thread; and a loop under
//! shutdown does not leave while a replaced thread still holds its connection.

use std::cell::Cell;
use std::net::TcpListener;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::table::Slot;
use super::Loops;
use crate::httpd::access_log::AccessLog;
use crate::httpd::config::ServerConfig;
use crate::httpd::connection::Shared;
use crate::httpd::listener::InFlight;
use crate::httpd::running::Running;
use crate::httpd::shutdown::Shutdown;
use crate::line_source::readable_within;
use crate::value::Value;

/// What [`before_spawn`] does on this test's thread (each test runs on its own).
#[derive(Clone, Copy, Default)]
struct Inject {
    /// Starting the thread fails.
    fail: bool,
    /// Another replacement takes the loop while this one starts.
    raced: bool,
}

thread_local! {
    static INJECT: Cell<Inject> = const { Cell::new(Inject { fail: false, raced: false }) };
    /// The loop's owner generation when each thread was about to start.
    static OWNER_AT_SPAWN: Cell<Option<u64>> = const { Cell::new(None) };
}

/// Called by `spawn_worker` before it starts a thread.
pub(super) fn before_spawn(loops: &Loops, idx: usize) -> std::io::Result<()> {
    let owner = &loops.loops[idx].owner;
    OWNER_AT_SPAWN.set(Some(owner.load(Ordering::SeqCst)));
    let inject = INJECT.get();
    if inject.raced {
        owner.fetch_add(1, Ordering::SeqCst);
    }
    if inject.fail {
        return Err(std::io::Error::other("no thread for you (injected)"));
    }
    Ok(())
}

/// One loop, no thread started yet (generation 0 stands for the running one).
fn one_loop() -> (Arc<Loops>, Arc<InFlight>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let config = ServerConfig {
        quiet: true,
        ..ServerConfig::default()
    };
    let shared = Arc::new(Shared {
        log: AccessLog {
            quiet: true,
            json: false,
        },
        metrics: None,
        config,
        handler: Arc::new(|_: Value| Ok(Value::NIL)),
        shutdown: Shutdown::new().expect("shutdown pipe"),
        stats: Arc::default(),
        running: Running::default(),
    });
    let in_flight = Arc::new(InFlight::default());
    let loops = Loops::new(listener, shared, Arc::clone(&in_flight), 1).expect("loops");
    (loops, in_flight)
}

fn owner(loops: &Loops) -> u64 {
    loops.loops[0].owner.load(Ordering::SeqCst)
}

#[test]
fn a_replacement_that_cannot_start_leaves_the_loop_to_its_thread() {
    let (loops, in_flight) = one_loop();
    INJECT.set(Inject {
        fail: true,
        raced: false,
    });
    assert!(!loops.take_over(0, 0));
    // The thread was being started while the old one still owned the loop, so the
    // old one never saw itself replaced, and it owns the loop still.
    assert_eq!(OWNER_AT_SPAWN.get(), Some(0));
    assert_eq!(owner(&loops), 0);
    assert!(in_flight.wait_idle(Instant::now()), "no thread left behind");
}

#[test]
fn a_replacement_takes_the_loop_once_it_runs() {
    let (loops, in_flight) = one_loop();
    INJECT.set(Inject::default());
    assert!(loops.take_over(0, 0));
    assert_eq!(OWNER_AT_SPAWN.get(), Some(0));
    assert_eq!(owner(&loops), 1);
    // Replacing generation 0 again does nothing: it is gone already.
    assert!(!loops.take_over(0, 0));
    assert_eq!(owner(&loops), 1);
    // The new thread serves the loop until shutdown, then leaves.
    assert!(!in_flight.wait_idle(Instant::now()), "the new thread runs");
    loops.shared.shutdown.trigger();
    assert!(in_flight.wait_idle(Instant::now() + Duration::from_secs(30)));
}

#[test]
fn a_replacement_that_loses_the_loop_to_another_leaves_at_once() {
    let (loops, in_flight) = one_loop();
    INJECT.set(Inject {
        fail: false,
        raced: true,
    });
    assert!(!loops.take_over(0, 0));
    assert_eq!(owner(&loops), 1, "the other replacement's generation");
    // The thread started for generation 1 by this call was told it lost: it leaves
    // without serving (nothing here triggers shutdown).
    assert!(in_flight.wait_idle(Instant::now() + Duration::from_secs(30)));
}

#[test]
fn under_shutdown_a_loop_stays_while_a_thread_holds_one_of_its_connections() {
    let (loops, _in_flight) = one_loop();
    loops.shared.shutdown.trigger();
    let timer = loops.loops[0].timer.raw_fd();
    // A replaced thread (generation 0) is still in a handler with connection 7.
    let held = Slot::Held {
        by: 0,
        missed: false,
    };
    loops.table(0).expect("table").slots.insert(7, held);
    assert!(!loops.may_leave(0), "its answer still needs the loop");
    assert!(!readable_within(timer, 0), "nothing to look at yet");
    // The thread lets the connection go: the loop is woken to decide again, and
    // may leave now.
    loops.release(0, 7, 0);
    assert!(readable_within(timer, 5000), "the loop's timer fires");
    assert!(loops.may_leave(0));
    assert!(loops.table(0).expect("table").closed);
}
