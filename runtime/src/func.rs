//! Calling ilo function values (named functions, lambdas, closures) from Rust.
//!
//! Higher-order builtins (`map`, `flt`, `srt fn xs`, …) receive function values and
//! call them through [`call_value`], using the calling convention the code generator
//! compiles every function to (see [`crate::value::Func`]):
//!
//! `extern "C" fn(ctx: *mut u8, env: u64, a1: u64, …, an: u64) -> u64`
//!
//! with exactly `arity` value words after `env` whose references the callee takes over
//! (so it may update a value nothing else holds in place), an owned result word, and
//! `ERROR_SENTINEL` meaning "a runtime error is pending".
//!
//! ## Errors raised inside a called function
//!
//! When the called function fails, compiled code has already parked the error and
//! attached the span of the failing operation *inside* that function. That span is
//! the useful one to report, so the error is left parked and [`call_value`] returns the
//! marker error [`RtError::forwarded`]. A builtin simply propagates
//! it with `?`; when it reaches the `extern "C"` boundary, `error::raise` sees the
//! marker and keeps the parked error (with its span) instead of overwriting it.
//! Rust callers that want the real error rather than the marker call [`resolve`].

use crate::ctx;
use crate::error::{self, codes, RtError, RtResult};
use crate::value::{Value, ERROR_SENTINEL};

/// The largest arity [`call_value`] supports.
pub const MAX_ARITY: usize = 8;

type Word = u64;
type CtxPtr = *mut u8;

/// Call the code address `$code` as `extern "C" fn(CtxPtr, Word, Word…) -> Word`,
/// one `Word` per argument word given. Must be used inside `unsafe`, with the
/// signature guaranteed.
macro_rules! call_code {
    ($code:expr, $ctx:expr, $env:expr $(, $a:expr)*) => {{
        let f: unsafe extern "C" fn(CtxPtr, Word $(, call_code!(@word $a))*) -> Word =
            std::mem::transmute::<usize, _>($code);
        f($ctx, $env $(, $a)*)
    }};
    (@word $a:expr) => { Word };
}

/// Call the ilo function value `f` with borrowed `args`; the result is owned.
///
/// Errors: `f` is not a function or `args.len()` differs from its arity
/// (`ILO-R002`); the function raised an error (the [`forwarded`] marker).
pub fn call_value(f: &Value, args: &[Value]) -> RtResult {
    // The callee owns its parameters: it gets a reference of its own.
    call_words(f, args.len(), args.iter().map(|v| v.clone().into_raw()))
}

/// As [`call_value`], handing the arguments over: a value nobody else holds reaches
/// the callee unique, so it may be updated in place (a mapped stream line is).
pub fn call_value_owned<const N: usize>(f: &Value, args: [Value; N]) -> RtResult {
    call_words(f, N, args.into_iter().map(Value::into_raw))
}

/// Call `f` with `n` argument words, each an owned reference, taken from `words`
/// only once the call is known to go ahead (so none is leaked on an early error).
fn call_words(f: &Value, n: usize, words: impl Iterator<Item = Word>) -> RtResult {
    let func = f.as_func().ok_or_else(|| {
        RtError::new(
            codes::CALL,
            format!("cannot call a value of type {}", f.kind_name()),
        )
    })?;
    if func.arity as usize != n {
        return Err(RtError::new(
            codes::CALL,
            format!(
                "{} expects {} args, called with {}",
                func.name, func.arity, n
            ),
        ));
    }
    if n > MAX_ARITY {
        return Err(RtError::new(
            codes::CALL,
            format!(
                "{}: functions with more than {MAX_ARITY} parameters cannot be called as values",
                func.name
            ),
        ));
    }
    let ctx = ctx::current() as CtxPtr;
    let env = f.raw();
    let mut w = [0 as Word; MAX_ARITY];
    for (slot, word) in w.iter_mut().zip(words) {
        *slot = word;
    }
    let code = func.code;
    // SAFETY (all arms): `code` is the address of a compiled function whose signature is
    // `extern "C" fn(ctx, env, a1..an) -> u64` with n == `func.arity` (the Func
    // invariant, see value.rs), and n was checked against it above, so each arm's
    // pointer type is exactly the callee's. `env` is borrowed from `f`, which outlives
    // the call; each argument word is an owned reference for the callee to consume.
    let word = unsafe {
        match n {
            0 => call_code!(code, ctx, env),
            1 => call_code!(code, ctx, env, w[0]),
            2 => call_code!(code, ctx, env, w[0], w[1]),
            3 => call_code!(code, ctx, env, w[0], w[1], w[2]),
            4 => call_code!(code, ctx, env, w[0], w[1], w[2], w[3]),
            5 => call_code!(code, ctx, env, w[0], w[1], w[2], w[3], w[4]),
            6 => call_code!(code, ctx, env, w[0], w[1], w[2], w[3], w[4], w[5]),
            7 => call_code!(code, ctx, env, w[0], w[1], w[2], w[3], w[4], w[5], w[6]),
            _ => call_code!(code, ctx, env, w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]),
        }
    };
    if word == ERROR_SENTINEL {
        return Err(RtError::forwarded());
    }
    // SAFETY: a non-sentinel result of a compiled function is an owned value word.
    Ok(unsafe { Value::from_raw(word) })
}

/// Replace the [`RtError::forwarded`] marker by the parked error it stands for (dropping the
/// parked span); other errors are returned unchanged.
pub fn resolve(e: RtError) -> RtError {
    if e.is_forwarded() {
        if let Some(pending) = error::take_pending() {
            return pending.error;
        }
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{Func, Obj};

    fn func_value(name: &str, code: usize, arity: u32, captures: Vec<Value>) -> Value {
        // SAFETY: every caller below passes one of this module's test functions with
        // the arity it declares, or (f9) an arity the call is rejected for up front.
        Value::alloc(Obj::Func(Box::new(unsafe {
            Func::new(name.into(), code, arity, captures)
        })))
    }

    extern "C" fn answer(_ctx: CtxPtr, _env: Word) -> Word {
        Value::num(42.0).into_raw()
    }

    extern "C" fn add(_ctx: CtxPtr, _env: Word, a: Word, b: Word) -> Word {
        // SAFETY: test callers pass live number words.
        let (a, b) = unsafe { (Value::borrow_raw(&a), Value::borrow_raw(&b)) };
        Value::num(a.as_num().unwrap_or(0.0) + b.as_num().unwrap_or(0.0)).into_raw()
    }

    /// A closure: adds its first capture to the argument, reading it through `env`.
    extern "C" fn add_capture(_ctx: CtxPtr, env: Word, a: Word) -> Word {
        // SAFETY: `env` is the borrowed word of the Func being called.
        let env = unsafe { Value::borrow_raw(&env) };
        let k = env
            .as_func()
            .and_then(|f| f.captures.first())
            .and_then(Value::as_num)
            .unwrap_or(f64::NAN);
        // SAFETY: the argument is a live borrowed word.
        let a = unsafe { Value::borrow_raw(&a) }
            .as_num()
            .unwrap_or(f64::NAN);
        Value::num(k + a).into_raw()
    }

    extern "C" fn sum8(
        _ctx: CtxPtr,
        _env: Word,
        a: Word,
        b: Word,
        c: Word,
        d: Word,
        e: Word,
        f: Word,
        g: Word,
        h: Word,
    ) -> Word {
        let total: f64 = [a, b, c, d, e, f, g, h]
            .iter()
            .map(|w| f64::from_bits(*w))
            .sum();
        Value::num(total).into_raw()
    }

    extern "C" fn fails(_ctx: CtxPtr, _env: Word, _a: Word) -> Word {
        let w = error::raise(RtError::new(codes::DOMAIN, "boom"));
        error::attach_span(7);
        w
    }

    extern "C" fn echo_ctx(ctx: CtxPtr, _env: Word) -> Word {
        Value::bool(ctx == ctx::current() as CtxPtr).into_raw()
    }

    #[test]
    fn calls_functions_of_each_supported_arity() {
        let f0 = func_value("answer", answer as *const () as usize, 0, vec![]);
        assert_eq!(call_value(&f0, &[]).unwrap(), Value::num(42.0));
        let f2 = func_value("add", add as *const () as usize, 2, vec![]);
        let r = call_value(&f2, &[Value::num(2.0), Value::num(3.0)]).unwrap();
        assert_eq!(r, Value::num(5.0));
        let f8 = func_value("sum8", sum8 as *const () as usize, 8, vec![]);
        let args: Vec<Value> = (1..=8).map(|i| Value::num(i as f64)).collect();
        assert_eq!(call_value(&f8, &args).unwrap(), Value::num(36.0));
    }

    #[test]
    fn passes_the_thread_context_and_the_closure_itself() {
        let f = func_value("echo", echo_ctx as *const () as usize, 0, vec![]);
        assert_eq!(call_value(&f, &[]).unwrap(), Value::bool(true));
        let c = func_value(
            "plus10",
            add_capture as *const () as usize,
            1,
            vec![Value::num(10.0)],
        );
        assert_eq!(
            call_value(&c, &[Value::num(5.0)]).unwrap(),
            Value::num(15.0)
        );
    }

    #[test]
    fn wrong_arity_and_non_functions_are_call_errors() {
        let f2 = func_value("add", add as *const () as usize, 2, vec![]);
        let e = call_value(&f2, &[Value::num(1.0)]).unwrap_err();
        assert_eq!(e.code, codes::CALL);
        assert!(e.message.contains("add expects 2 args"), "{}", e.message);
        let e = call_value(&Value::num(1.0), &[]).unwrap_err();
        assert_eq!(e.code, codes::CALL);
        let f9 = func_value("nine", add as *const () as usize, 9, vec![]);
        let args: Vec<Value> = (0..9).map(|i| Value::num(i as f64)).collect();
        assert_eq!(call_value(&f9, &args).unwrap_err().code, codes::CALL);
    }

    #[test]
    fn errors_inside_the_callee_stay_parked_with_their_span() {
        let f = func_value("fails", fails as *const () as usize, 1, vec![]);
        let e = call_value(&f, &[Value::NIL]).unwrap_err();
        assert!(e.is_forwarded());
        // Re-raising the marker at the boundary must keep the callee's error and span.
        assert_eq!(error::raise(e), ERROR_SENTINEL);
        let pending = error::take_pending().expect("error still parked");
        assert_eq!(pending.error, RtError::new(codes::DOMAIN, "boom"));
        assert_eq!(pending.span, Some(7));
    }

    #[test]
    fn resolve_recovers_the_parked_error() {
        let f = func_value("fails", fails as *const () as usize, 1, vec![]);
        let e = resolve(call_value(&f, &[Value::NIL]).unwrap_err());
        assert_eq!(e, RtError::new(codes::DOMAIN, "boom"));
        assert!(error::take_pending().is_none());
        let plain = RtError::new(codes::TYPE, "x");
        assert_eq!(resolve(plain.clone()), plain);
    }
}
