//! Lazy line sources: runtime objects that yield one line at a time as bytes arrive.
//!
//! Compiled code and the HTTP server see a source only through the handle ABI
//! (`next_line` / `ready` / `close`); every concrete source implements [`LineSource`].

/// One lazily-read sequence of lines.
pub trait LineSource: Send {
    /// The next line without its `\n` or `\r\n`; `Ok(None)` at end. The slice stays
    /// valid until the next call. Must yield a line as soon as its newline has arrived.
    fn next_line(&mut self) -> Result<Option<&[u8]>, String>;
    /// A whole line is already buffered: the next `next_line` will not block.
    fn ready(&self) -> bool;
    /// Release the underlying socket, file or reader now. Further reads return end.
    fn close(&mut self);
}
