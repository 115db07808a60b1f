//! Stable diagnostic codes of the parser. Numbers shared with the upstream language
//! keep its values; the loader's import codes (P017–P019) live in `loader::codes`.

/// Something other than a declaration at the top level.
pub const EXPECTED_DECLARATION: &str = "ILO-P001";
/// A token the grammar does not allow here.
pub const UNEXPECTED_TOKEN: &str = "ILO-P002";
/// A misspelt operator or function header (`=>`, `main:>n`).
pub const MALFORMED: &str = "ILO-P003";
/// Something that is not a type where a type belongs.
pub const EXPECTED_TYPE: &str = "ILO-P007";
/// Syntax from another language (`fn` lambdas, `;` between list items).
pub const FOREIGN_SYNTAX: &str = "ILO-P009";
/// Something that is not an expression where one belongs (often the end of input).
pub const EXPECTED_EXPRESSION: &str = "ILO-P010";
/// A builtin's name declared as a function, parameter or binding.
pub const BUILTIN_NAME: &str = "ILO-P011";
/// A reserved word used as a name.
pub const RESERVED_WORD: &str = "ILO-P012";
/// Something that is not a pattern at the start of a match arm.
pub const EXPECTED_PATTERN: &str = "ILO-P013";
/// A function header that runs off the end of its line.
pub const INCOMPLETE_HEADER: &str = "ILO-P020";
/// `- -op a b op c d`, which negates a subtraction rather than the first product.
pub const DOUBLE_MINUS: &str = "ILO-P021";
/// Nesting deeper than the parser's limit.
pub const TOO_DEEP: &str = "ILO-P022";
