//! Lazy line sources: runtime objects that yield one line at a time as bytes arrive.
//!
//! Compiled code and the HTTP server see a source only through the handle ABI
//! (`next_line` / `ready` / `close`); every concrete source implements [`LineSource`].
//!
//! The sources: [`reader::ReaderSource`] (a file, an HTTP response body),
//! [`stdin::StdinSource`] (a handle on the process's one shared stdin reader) and
//! [`tail::TailSource`] (`tail -F`). All split bytes with [`buffer::LineBuffer`], which
//! yields a line as soon as its newline arrives. A source holds its file, socket or
//! descriptor only while open: `close` and drop release it at once.

pub mod buffer;
pub mod handle;
pub mod interrupt;
pub mod open;
pub mod reader;
pub mod stdin;
pub mod tail;

pub use handle::next_text;
pub use interrupt::Interrupter;

/// One lazily-read sequence of lines.
pub trait LineSource: Send {
    /// The next line without its `\n` or `\r\n`; `Ok(None)` at end. The slice stays
    /// valid until the next call. Must yield a line as soon as its newline has arrived.
    fn next_line(&mut self) -> Result<Option<&[u8]>, String>;
    /// A whole line is already buffered: the next `next_line` will not block.
    fn ready(&self) -> bool;
    /// Release the underlying socket, file or reader now. Further reads return end.
    fn close(&mut self);
    /// A handle that ends a `next_line` blocked in another thread (which holds the
    /// source's lock, so `close` cannot be called then). Take it before reading; `None`
    /// for sources whose reads never block for long.
    fn interrupter(&self) -> Option<Interrupter> {
        None
    }
}
