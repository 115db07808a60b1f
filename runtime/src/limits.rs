//! How large one value may grow when its size comes from the program's data.
//!
//! `padl "x" 1e13`, `range 0 1e9` or a text doubled in a loop ask for memory in
//! amounts a request can choose. Allocating them infallibly ends in an abort of the
//! whole process when the allocator says no, and a server that says yes to 8 GB for
//! one request is not much better. So the builtins and operators that build a text
//! or list from a computed size reserve through here: the size is checked against
//! the process-wide ceiling (`--max-alloc`, which `ilo httpd` sets by default) and
//! the memory is reserved fallibly. Either failure is the runtime error ILO-R007 for
//! that program or request, never an abort.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{codes, RtError, RtResult};
use crate::value::Value;
use crate::value_vec;

/// The ceiling a server starts with: 256 MiB for one text or one list's elements.
pub const SERVER_MAX_ALLOC: usize = 256 * 1024 * 1024;

/// Bytes one text (or one list's element array) may take; `usize::MAX` when only the
/// allocator limits it (`ilo FILE`).
static MAX_ALLOC: AtomicUsize = AtomicUsize::new(usize::MAX);

/// Set the ceiling in bytes.
pub fn set_max_alloc(bytes: usize) {
    MAX_ALLOC.store(bytes, Ordering::Relaxed);
}

#[inline]
pub fn max_alloc() -> usize {
    MAX_ALLOC.load(Ordering::Relaxed)
}

/// An empty text with room for `bytes` bytes.
pub fn text_with_capacity(what: &str, bytes: usize) -> RtResult<String> {
    let mut s = String::new();
    reserve_text(what, &mut s, bytes)?;
    Ok(s)
}

/// An empty list with room for `len` elements.
pub fn list_with_capacity(what: &str, len: usize) -> RtResult<Vec<Value>> {
    let mut v = Vec::new();
    reserve_list(what, &mut v, len)?;
    Ok(v)
}

/// Make room in `s` for `more` bytes.
pub fn reserve_text(what: &str, s: &mut String, more: usize) -> RtResult<()> {
    let total = s.len().saturating_add(more);
    check(what, total)?;
    s.try_reserve(more).map_err(|_| too_large(what, total))
}

/// Make room in `v` for `more` elements.
pub fn reserve_list(what: &str, v: &mut Vec<Value>, more: usize) -> RtResult<()> {
    let total = v.len().saturating_add(more);
    if total > value_vec::MAX_LEN {
        return Err(RtError::new(
            codes::LIMIT,
            format!(
                "{what}: a list of {total} elements is over the {} a list holds",
                value_vec::MAX_LEN
            ),
        ));
    }
    check(what, total.saturating_mul(size_of::<Value>()))?;
    v.try_reserve(more)
        .map_err(|_| too_large(what, total.saturating_mul(size_of::<Value>())))
}

/// Is a value of `bytes` bytes within the ceiling?
pub fn check(what: &str, bytes: usize) -> RtResult<()> {
    if bytes > max_alloc() {
        Err(too_large(what, bytes))
    } else {
        Ok(())
    }
}

fn too_large(what: &str, bytes: usize) -> RtError {
    let max = max_alloc();
    let limit = if max == usize::MAX {
        "more memory than the system grants".to_string()
    } else {
        format!("over the --max-alloc limit of {max} bytes")
    };
    RtError::new(
        codes::LIMIT,
        format!("{what}: a value of {bytes} bytes is {limit}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_sizes_are_errors_not_aborts() {
        let e = text_with_capacity("padl", usize::MAX / 2).unwrap_err();
        assert_eq!(e.code, codes::LIMIT);
        assert!(e.message.starts_with("padl: a value of"), "{}", e.message);
        let e = list_with_capacity("range", usize::MAX / 16).unwrap_err();
        assert_eq!(e.code, codes::LIMIT);
        assert!(list_with_capacity("range", 10).is_ok());
        // Refused by its element count before any memory is asked for.
        let e = list_with_capacity("range", u32::MAX as usize + 1).unwrap_err();
        assert_eq!(e.code, codes::LIMIT);
        assert!(e.message.contains("elements is over"), "{}", e.message);
    }
}
