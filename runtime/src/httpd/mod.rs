//! The HTTP/1.1 server that serves a compiled handler.
//!
//! The handler is a closure from the request record to a response value; the JIT
//! wraps a compiled function in one. Everything else is here:
//!
//! - [`listener`]: bind, readiness line, graceful shutdown;
//! - [`event_loop`], [`timer`]: accepting, parking idle connections, serving requests
//!   inline on a few threads (a thread stuck in a slow handler is replaced), driving
//!   streamed bodies, deadlines (on the epoll and timerfd wrappers of [`crate::sys`]);
//! - [`connection`]: serving buffered requests (keep-alive, pipelining, limits);
//!   [`linger`]: the graceful close after a last response, without blocking a loop;
//!   [`client_out`]: answers written without blocking (a full socket suspends the task);
//! - [`request`] / [`request_body`]: request heads and bodies from bytes, no I/O
//!   (parsing, framing rules, the incremental body decoder); [`request_reuse`]: the
//!   record's parts shared with earlier requests; [`input`]: the read buffer;
//! - [`response`]: what the handler's value means (status, headers, body shape);
//! - [`head`], [`framing`], [`body_writer`]: writing responses (one `send` for a small
//!   answer, slices through `sendmsg` otherwise);
//! - [`body_stream`]: a streamed body as a non-blocking state machine;
//! - [`running`]: cancelling handlers whose client left or whose time is up;
//! - [`shutdown`], [`process`], [`access_log`], [`stats`], [`reclaim`],
//!   [`metrics`]: operations.

pub(crate) mod access_log;
#[doc(hidden)] // benches and tests drive it directly
pub mod body_stream;
#[doc(hidden)] // benches and tests drive it directly
pub mod body_writer;
pub(crate) mod client_out;
pub(crate) mod config;
pub(crate) mod connection;
pub(crate) mod event_loop;
#[doc(hidden)] // benches and tests drive it directly
pub mod framing;
pub(crate) mod head;
pub(crate) mod input;
pub(crate) mod linger;
pub(crate) mod listener;
pub(crate) mod metrics;
#[doc(hidden)] // benches and tests drive it directly
pub mod process;
pub(crate) mod reclaim;
#[doc(hidden)] // benches and tests drive it directly
pub mod request;
#[doc(hidden)] // benches and tests drive it directly
pub mod request_body;
pub(crate) mod request_reuse;
pub(crate) mod response;
pub(crate) mod running;
pub(crate) mod shutdown;
pub(crate) mod stats;
pub(crate) mod timer;

use std::io;
use std::sync::Arc;

pub use config::ServerConfig;
pub use listener::{bind, Server};
pub use shutdown::ShutdownHandle;
pub use stats::ServerStats;

use crate::value::Value;

/// The request handler: request record in, response value out. `Err` is an already
/// rendered diagnostic: it is logged and answered with 500, and serving goes on.
pub type Handler = Arc<dyn Fn(Value) -> Result<Value, String> + Send + Sync>;

/// A table keyed by a counter the server hands out (connection tokens, handler calls),
/// touched on every request: foldhash costs far less than the default SipHash, whose
/// resistance to keys chosen by a peer is not needed here.
type CounterMap<V> = std::collections::HashMap<u64, V, foldhash::fast::RandomState>;

/// Bind, print the readiness line, route SIGINT/SIGTERM to a graceful shutdown, and
/// serve until then. Returns `Ok(())` after shutdown (the command then exits 0).
pub fn serve(config: ServerConfig, handler: Handler) -> io::Result<()> {
    let server = bind(config)?;
    server.handle_signals()?;
    server.run(handler)
}
