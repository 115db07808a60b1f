//! Declarations a program has without writing them.
//!
//! Only one so far: `rsp`, the HTTP response record (`status`, `body`, optional
//! `headers`), so a handler can be one line: `handler req:_>_;rsp status:200 body:"hi"`.
//! A program that declares anything named `rsp` itself keeps its own declaration;
//! the prelude only fills a name nobody claimed.

use crate::ast::Type;

/// The built-in response record's name.
pub const RESPONSE: &str = "rsp";

/// The response record's fields in the order the server reads them.
pub fn response_fields() -> Vec<(String, Type)> {
    vec![
        ("status".to_string(), Type::Num),
        ("body".to_string(), Type::Any),
        (
            "headers".to_string(),
            Type::Opt(Box::new(Type::Map(
                Box::new(Type::Text),
                Box::new(Type::Text),
            ))),
        ),
    ]
}

/// Fields of the built-in response that a construction may leave out (they are nil).
pub const RESPONSE_OPTIONAL: [&str; 1] = ["headers"];
