//! ilo runtime: the value model, the builtins, lazy line sources and the HTTP server.
//!
//! Compiled code (JIT or AOT) calls into this crate only through the `extern "C"`
//! entry points listed in [`abi`]. Nothing here knows ilo syntax or Cranelift.

#![deny(unsafe_op_in_unsafe_fn)]

pub mod abi;
pub mod aot;
pub mod builtins;
pub mod caps;
pub mod copy_stats;
pub mod ctx;
pub(crate) mod deep;
pub mod error;
pub(crate) mod func;
#[doc(hidden)] // its tests drive it directly; programs reach it through builtins
pub mod http_client;
pub mod httpd;
pub mod limits;
pub mod line_source;
pub(crate) mod ops;
pub mod program;
pub mod suspend;
pub(crate) mod sys;
pub mod text_shape;
pub mod value;
pub mod value_map;
pub mod value_vec;

pub use error::{RtError, RtResult};
pub use value::Value;
