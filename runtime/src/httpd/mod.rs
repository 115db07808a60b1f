//! The HTTP/1.1 server that serves a compiled handler.
