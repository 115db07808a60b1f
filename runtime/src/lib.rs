//! ilo runtime: the value model, the builtins, lazy line sources and the HTTP server.
//!
//! Compiled code (JIT or AOT) calls into this crate only through the `extern "C"`
//! entry points listed in [`abi`]. Nothing here knows ilo syntax or Cranelift.

pub mod abi;
pub mod aot;
pub mod builtins;
pub mod caps;
pub mod copy_stats;
pub mod ctx;
pub mod deep;
pub mod error;
pub mod func;
pub mod http_client;
pub mod httpd;
pub mod limits;
pub mod line_source;
pub mod ops;
pub mod program;
pub mod value;

pub use error::{RtError, RtResult};
pub use value::Value;
