//! The abstract syntax tree shared by the parser, the verifier and the code generator.
//!
//! Every expression carries a source [`Span`] and a unique [`ExprId`]; the verifier
//! records what it learns (static types, what a call resolves to) in side tables keyed
//! by that id, so the tree itself stays a plain description of the source.
//! Pipes (`a>>f`) and the `xs.i` index sugar are already desugared by the parser and
//! verifier respectively; nothing downstream sees them.

use crate::span::Span;

/// Dense per-program expression id, assigned by the parser in creation order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExprId(pub u32);

#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A whole program after imports are merged: declarations from every file, in load
/// order (imported files first). `expr_count` bounds every `ExprId` in the program.
#[derive(Clone, Debug, Default)]
pub struct SourceProgram {
    pub decls: Vec<Decl>,
    pub expr_count: u32,
}

#[derive(Clone, Debug)]
pub enum Decl {
    Func(FnDecl),
    Type(TypeDecl),
    Use(UseDecl),
}

#[derive(Clone, Debug)]
pub struct FnDecl {
    pub name: Ident,
    pub params: Vec<Param>,
    pub ret: TypeExpr,
    pub body: Block,
    /// Span of the whole declaration (signature and body).
    pub span: Span,
    /// A `tool name"desc" params>ret …` declaration: verified like a function. No
    /// tool provider is configured here, so its body is `~nil`, the answer upstream
    /// ilo gives without one, and its return type is not checked against that body.
    pub tool: bool,
}

#[derive(Clone, Debug)]
pub struct Param {
    pub name: Ident,
    pub ty: TypeExpr,
}

/// `type point{x:n;y:n}`
#[derive(Clone, Debug)]
pub struct TypeDecl {
    pub name: Ident,
    pub fields: Vec<(Ident, TypeExpr)>,
    pub span: Span,
}

/// `use "file.ilo"` or `use "file.ilo" [a b]`
#[derive(Clone, Debug)]
pub struct UseDecl {
    pub path: String,
    pub names: Option<Vec<Ident>>,
    pub span: Span,
}

/// A type as written in the source.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeExpr {
    pub kind: Type,
    pub span: Span,
}

/// Types of the language. Also used by the verifier for inferred types.
#[derive(Clone, Debug, PartialEq)]
pub enum Type {
    /// `n`
    Num,
    /// `t`
    Text,
    /// `b`
    Bool,
    /// `_`, and whatever the verifier cannot pin down.
    Any,
    /// The type of the `nil` literal (compatible with `O T` and `_`).
    Nil,
    /// `L T`
    List(Box<Type>),
    /// `R ok err`
    Result(Box<Type>, Box<Type>),
    /// `O T`
    Opt(Box<Type>),
    /// `M k v`
    Map(Box<Type>, Box<Type>),
    /// `S red green blue`: closed set of text variants.
    Sum(Vec<String>),
    /// `F a b c`: parameters `a b`, return `c` (the last type is the return type).
    Fn(Vec<Type>, Box<Type>),
    /// A declared record type, by name (also `json` for records made by `jpar`).
    Named(String),
    /// A type variable: one lowercase letter other than n, t, b.
    Var(char),
    /// A lazy line source (`for-line`, `get-stream`, `tail-file`): yields text lines.
    Stream,
}

pub type Block = Vec<Stmt>;

#[derive(Clone, Debug)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum StmtKind {
    /// `x=expr` (binds a new name or rebinds an existing one in the enclosing scope).
    Let { name: Ident, value: Expr },
    /// `{a;b}=expr`: bind record fields to same-named locals.
    Destructure { fields: Vec<Ident>, value: Expr },
    /// Any expression; the value of the last statement is the block's value.
    Expr(Expr),
    /// Braceless guard `cond expr` / `!cond expr`: when the condition holds (or, when
    /// `negated`, does not hold), return `value` from the enclosing function.
    Guard {
        cond: Expr,
        negated: bool,
        value: Expr,
    },
    /// Braced conditional `cond{body}` / `!cond{body}`: run `body` when the condition
    /// holds; execution continues after it either way.
    When {
        cond: Expr,
        negated: bool,
        body: Block,
    },
    /// `@x xs{body}`: iterate a list (or a lazy line source).
    ForEach { var: Ident, iter: Expr, body: Block },
    /// `@i a..b{body}`: half-open numeric range.
    ForRange {
        var: Ident,
        start: Expr,
        end: Expr,
        body: Block,
    },
    /// `wh cond{body}`
    While { cond: Expr, body: Block },
    /// `ret expr`
    Ret(Expr),
    /// `brk` / `brk expr` (the value is evaluated and discarded).
    Brk(Option<Expr>),
    /// `cnt`
    Cnt,
}

#[derive(Clone, Debug)]
pub struct Expr {
    pub id: ExprId,
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    /// `-x`
    Neg,
    /// `!x`
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    /// `&a b` (short-circuit, truthiness)
    And,
    /// `|a b` (short-circuit, truthiness)
    Or,
    /// `+=xs v`: a new list with `v` appended.
    Append,
}

impl BinOp {
    /// Comparisons and `&`/`|`: the operators that test a condition.
    pub fn is_condition(self) -> bool {
        matches!(
            self,
            BinOp::Eq
                | BinOp::Ne
                | BinOp::Lt
                | BinOp::Gt
                | BinOp::Le
                | BinOp::Ge
                | BinOp::And
                | BinOp::Or
        )
    }
}

/// How a call's result is unwrapped: `f x`, `f! x`, `f!! x`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unwrap {
    None,
    /// `!`: Ok/some → value, Err/nil → return it from the enclosing function.
    Propagate,
    /// `!!`: Ok/some → value, Err/nil → runtime error ILO-R009, exit 1.
    Panic,
}

#[derive(Clone, Debug)]
pub enum ExprKind {
    Num(f64),
    Text(String),
    Bool(bool),
    Nil,
    /// A local, a parameter, or a function used as a value (`map dbl xs`).
    Ref(Ident),
    /// `[a b c]`
    List(Vec<Expr>),
    Unary {
        op: UnOp,
        expr: Box<Expr>,
    },
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `name args…`: a user function, a builtin, or a local holding a function value.
    /// Zero-argument calls are written `name()`. The verifier decides which.
    Call {
        callee: Ident,
        args: Vec<Expr>,
        unwrap: Unwrap,
    },
    /// `e.name` (strict) or `e.?name` (safe: nil instead of an error).
    Field {
        expr: Box<Expr>,
        name: Ident,
        safe: bool,
    },
    /// `e.0`: literal list index.
    Index {
        expr: Box<Expr>,
        index: usize,
    },
    /// `pt x:1 y:2`
    Record {
        ty: Ident,
        fields: Vec<(Ident, Expr)>,
    },
    /// `e with x:1 y:2`
    With {
        expr: Box<Expr>,
        fields: Vec<(Ident, Expr)>,
    },
    /// `~e`
    Ok(Box<Expr>),
    /// `^e`
    Err(Box<Expr>),
    /// `a??b`: `b` is evaluated only when `a` is nil.
    Coalesce {
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `?x{arms}`; `subject: None` is `?{arms}`, matching the previous statement's value.
    Match {
        subject: Option<Box<Expr>>,
        arms: Vec<MatchArm>,
    },
    /// Every two-branch conditional that yields a value without returning:
    /// `cond{a}{b}`, `!cond{a}{b}`, `?h{a}{b}`, `?=x 0 10 20`, `?h 1 0`.
    /// A negated form is represented by wrapping `cond` in `Unary{Not}`.
    Ternary {
        cond: Box<Expr>,
        then: Block,
        els: Block,
    },
    /// `(x:n>n;*x 2)`: an inline function. Free variables that are locals of the
    /// enclosing function are captures (the verifier lists them).
    Lambda(Box<FnDecl>),
}

#[derive(Clone, Debug)]
pub struct MatchArm {
    pub pattern: Pattern,
    pub body: Block,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Pattern {
    /// `"gold":`
    Text(String),
    /// `42:`
    Num(f64),
    /// `true:` / `false:`
    Bool(bool),
    /// `nil:`
    Nil,
    /// `~v:` binds the Ok value (or a present optional) to `v`.
    Ok(Ident),
    /// `^e:` binds the Err value.
    Err(Ident),
    /// `n v:` `t v:` `b v:` `l v:`: runtime type test, binds the subject.
    IsType(TypeTest, Ident),
    /// `_:`
    Wildcard,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeTest {
    Num,
    Text,
    Bool,
    List,
}
