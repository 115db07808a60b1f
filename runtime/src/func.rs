//! Calling ilo function values (named functions, lambdas, closures) from Rust.
