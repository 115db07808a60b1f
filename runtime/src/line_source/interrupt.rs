//! Ending a blocked read from another thread.
//!
//! A source sits behind a mutex while a consumer is blocked in `next_line`, so `close`
//! cannot reach it then. Instead a consumer takes the source's [`Interrupter`] up front
//! (e.g. the server, before streaming a body); firing it makes the blocked `next_line`
//! return end promptly: the tail source wakes from its wait, an HTTP source's socket is
//! shut down. The owner then closes or drops the source as usual.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

struct State {
    fired: AtomicBool,
    /// Wakes the blocked reader; runs after `fired` is set.
    wake: Box<dyn Fn() + Send + Sync>,
}

/// A cloneable handle that ends a source's blocked or future reads.
#[derive(Clone)]
pub struct Interrupter(Arc<State>);

impl Interrupter {
    pub fn new(wake: impl Fn() + Send + Sync + 'static) -> Interrupter {
        Interrupter(Arc::new(State {
            fired: AtomicBool::new(false),
            wake: Box::new(wake),
        }))
    }

    /// End the source's reads: the current blocked one and every later one.
    pub fn interrupt(&self) {
        self.0.fired.store(true, Ordering::SeqCst);
        (self.0.wake)();
    }

    pub fn fired(&self) -> bool {
        self.0.fired.load(Ordering::SeqCst)
    }
}

impl fmt::Debug for Interrupter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Interrupter(fired: {})", self.fired())
    }
}
