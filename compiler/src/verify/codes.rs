//! Stable diagnostic codes of the verifier. Codes shared with the upstream language
//! keep its numbers; the rest are this project's and must not be renumbered.

/// Two declarations (functions or record types, possibly imported) share a name.
pub const DUPLICATE: &str = "ILO-T001";
/// A type name that is neither built in nor a declared record type.
pub const UNKNOWN_TYPE: &str = "ILO-T002";
/// A name that is not a local, a parameter, a function or a builtin.
pub const UNDEFINED_VARIABLE: &str = "ILO-T004";
/// A call to a name that is not a function, builtin or function-valued local.
pub const UNDEFINED_FUNCTION: &str = "ILO-T005";
/// A call with the wrong number of arguments.
pub const ARITY: &str = "ILO-T006";
/// A call through a local whose value is certainly not a function.
pub const NOT_A_FUNCTION: &str = "ILO-T007";
/// A returned value that does not fit the declared return type.
pub const RETURN_TYPE: &str = "ILO-T008";
/// An operator applied to operands it cannot take (`+ 1 "a"`, `-"x"`, `+=5 1`).
pub const OPERAND_TYPE: &str = "ILO-T009";
/// `brk` or `cnt` outside any loop.
pub const OUTSIDE_LOOP: &str = "ILO-T010";
/// A match arm that can never match the subject (or an unknown sum-type variant).
pub const PATTERN: &str = "ILO-T011";
/// An argument that does not fit the parameter type.
pub const ARG_TYPE: &str = "ILO-T013";
/// A record constructor that leaves a declared field out.
pub const MISSING_FIELD: &str = "ILO-T014";
/// A record field given a value of the wrong type (constructor or `with`).
pub const FIELD_TYPE: &str = "ILO-T015";
/// Field access or indexing on a value that is certainly not a record or list.
pub const NOT_A_RECORD: &str = "ILO-T016";
/// Warning: a `tool` declaration with no provider configured; its calls answer `~nil`.
pub const TOOL_WITHOUT_PROVIDER: &str = "ILO-T017";
/// A field that the (known) record type does not declare.
pub const UNKNOWN_FIELD: &str = "ILO-T019";
/// A lazy line source used where a list is required (`len`, `hd`, `at`, indexing).
pub const STREAM_NOT_LIST: &str = "ILO-T020";
/// `@x v{…}` over a value that cannot be iterated.
pub const NOT_ITERABLE: &str = "ILO-T021";
/// `f! …` / `f!! …` where `f` returns neither R nor O.
pub const UNWRAP_CALLEE: &str = "ILO-T025";
/// `f! …` inside a function that does not itself return R or O.
pub const UNWRAP_CONTEXT: &str = "ILO-T026";
/// Warning: a `fmt`/`fmt2` result discarded as a statement (fmt does not print).
pub const FMT_DISCARDED: &str = "ILO-T032";
/// Warning: a `+=`/`mset`/`mdel` result discarded (they return new values).
pub const UPDATE_DISCARDED: &str = "ILO-T033";
/// Hint: a long builtin alias was used; the canonical short name is shorter.
pub const ALIAS_HINT: &str = "ILO-H001";
