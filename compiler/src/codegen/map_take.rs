//! Taking a map's value out for the update that puts it back, as in
//! `xs=mget m k ?? [];m=mset m k +=xs i`.
//!
//! A plain `mget` adds a reference to the value it returns, so the map and `xs` both
//! hold the list and `+=xs i` copies it: one copy per update, a quadratic loop. When
//! the same block soon sets the same key of the same map, the read can instead move
//! the value out of the entry (nil left there) whenever the map is held by the local
//! alone; the update then owns the only reference, and the `mset` overwrites the nil.
//!
//! The rule, inside one block: a statement `X=mget M K` (or `X=mget M K ?? D`), then
//! statements that neither name `M` nor rebind `K`, then `M=mset M K E`, where
//! - `M` is a word local and `K` a local or a literal (so the `mset` names the key the
//!   read named, compared by the map's own equality in both);
//! - nothing from the read to the `mset` names `M` (not the statements between, not
//!   `E`, not a lambda made there), so the nil in the entry is never seen;
//! - nothing there can carry on in this function without reaching the `mset`: no
//!   `ret`, guard, `brk`, `cnt` or loop anywhere inside. A runtime error, a `!` or a
//!   handler cancellation leaves the function, whose exit releases `M`; the map was
//!   held by `M` alone, so it goes with it, never observed;
//! - `X` is named nowhere after the `mset` in the block (otherwise the update would
//!   not own the value anyway; soundness does not depend on it).
//!
//! The same holds for a read inside the update itself, `M=mset M K (+=(mget M K ?? []) i)`:
//! the `mset` reads `M` after its value (`last_use::read_last`), so
//! when that `mget` is the value's only mention of `M` (outside any lambda, which
//! would run later) and the value binds neither `M` nor `K` and holds no statement
//! that can leave it, the read may take the value out too.
//!
//! The runtime decides at each read: when the map is shared (another local, a list,
//! a closure, a caller) its count is above one and the read is an ordinary `mget`.

use std::collections::HashSet;

use crate::ast::{Block, Expr, ExprId, ExprKind, MatchArm, Pattern, Stmt, StmtKind};
use crate::verify::{CallTarget, Checked};
use crate::walk::{walk_block, walk_expr, walk_stmt, Visitor};

/// The `mget` calls of `body` (and of its nested blocks) that may take their value
/// out of the map; `words` are the function's word locals, `locals` all its locals.
pub fn map_takes(
    body: &Block,
    checked: &Checked,
    words: &HashSet<String>,
    locals: &HashSet<String>,
) -> HashSet<ExprId> {
    let mut finder = Finder {
        checked,
        words,
        locals,
        takes: HashSet::new(),
    };
    walk_block(&mut finder, body);
    finder.takes
}

struct Finder<'a> {
    checked: &'a Checked,
    words: &'a HashSet<String>,
    locals: &'a HashSet<String>,
    takes: HashSet<ExprId>,
}

impl<'a> Visitor<'a> for Finder<'_> {
    fn block(&mut self, block: &'a Block) {
        for (i, s) in block.iter().enumerate() {
            if let Some(id) = self.take_at(block, i, s) {
                self.takes.insert(id);
            }
            if let Some(id) = self.take_inside(s) {
                self.takes.insert(id);
            }
        }
    }
}

/// The key of a read: a local or a literal.
#[derive(PartialEq)]
enum Key<'e> {
    Local(&'e str),
    Num(u64),
    Text(&'e str),
}

impl Finder<'_> {
    /// The id of the `mget` call of statement `block[i]` when the rule holds for it.
    fn take_at(&self, block: &Block, i: usize, s: &Stmt) -> Option<ExprId> {
        let StmtKind::Let { name: x, value } = &s.kind else {
            return None;
        };
        let read = match &value.kind {
            ExprKind::Coalesce { lhs, .. } => lhs,
            _ => value,
        };
        let (map, key) = self.builtin_call(read, "mget")?;
        let (map, key) = (self.local(map)?, self.key(key)?);
        if !self.words.contains(map) || x.name == map || Key::Local(&x.name) == key {
            return None;
        }
        for (j, between) in block.iter().enumerate().skip(i + 1) {
            if let StmtKind::Let { name, value } = &between.kind {
                if name.name == map {
                    let (m2, k2) = self.builtin_call(value, "mset")?;
                    let [_, e] = mset_rest(value)? else {
                        return None;
                    };
                    let sound = self.local(m2) == Some(map)
                        && self.key(k2).as_ref() == Some(&key)
                        && !Mentions::any_expr(e, map, &key)
                        && !block[j + 1..]
                            .iter()
                            .any(|later| Mentions::names(later, &x.name));
                    return sound.then_some(read.id);
                }
            }
            if Mentions::any_stmt(between, map, &key) {
                return None;
            }
        }
        None
    }

    /// The id of the `mget M K` inside statement `M=mset M K E` when the rule holds.
    fn take_inside(&self, s: &Stmt) -> Option<ExprId> {
        let StmtKind::Let { name, value } = &s.kind else {
            return None;
        };
        let (m, k) = self.builtin_call(value, "mset")?;
        let map = self
            .local(m)
            .filter(|m| *m == name.name && self.words.contains(*m))?;
        let key = self.key(k)?;
        let [_, e] = mset_rest(value)? else {
            return None;
        };
        // The one mention of the map in `e`, anywhere (lambda bodies included).
        let mut refs = Refs { name: map, n: 0 };
        walk_expr(&mut refs, e);
        if refs.n != 1 {
            return None;
        }
        // That mention is `mget M K`, outside lambdas.
        let mut reads = Reads {
            finder: self,
            map,
            key: &key,
            found: None,
        };
        walk_expr(&mut reads, e);
        let read = reads.found?;
        // Nothing else in `e` binds the map or the key, or leaves: the mention check
        // would see the map, so look for bindings and exits with a name never used.
        let mut exits = Mentions::new("", &key);
        walk_expr(&mut exits, e);
        let binds_map = super::last_use::rebinds(map, e);
        (!exits.found && !binds_map).then_some(read)
    }

    /// The map and key arguments of a call of builtin `name` with three or two args.
    fn builtin_call<'e>(&self, e: &'e Expr, name: &str) -> Option<(&'e Expr, &'e Expr)> {
        let ExprKind::Call { args, .. } = &e.kind else {
            return None;
        };
        match self.checked.calls.get(&e.id) {
            Some(CallTarget::Builtin(n)) if n == name && args.len() >= 2 => {
                Some((&args[0], &args[1]))
            }
            _ => None,
        }
    }

    fn local<'e>(&self, e: &'e Expr) -> Option<&'e str> {
        match &e.kind {
            ExprKind::Ref(id)
                if !self.checked.calls.contains_key(&e.id) && self.locals.contains(&id.name) =>
            {
                Some(&id.name)
            }
            _ => None,
        }
    }

    fn key<'e>(&self, e: &'e Expr) -> Option<Key<'e>> {
        match &e.kind {
            ExprKind::Num(n) => Some(Key::Num(n.to_bits())),
            ExprKind::Text(s) => Some(Key::Text(s)),
            _ => self.local(e).map(Key::Local),
        }
    }
}

/// Counts the reads of one local.
struct Refs<'n> {
    name: &'n str,
    n: usize,
}

impl<'a> Visitor<'a> for Refs<'_> {
    fn expr(&mut self, e: &'a Expr) -> bool {
        match &e.kind {
            ExprKind::Ref(id) if id.name == self.name => self.n += 1,
            ExprKind::Call { callee, .. } if callee.name == self.name => self.n += 1,
            _ => {}
        }
        true
    }
}

/// Finds `mget M K` outside lambda bodies.
struct Reads<'f, 'k> {
    finder: &'f Finder<'f>,
    map: &'k str,
    key: &'k Key<'k>,
    found: Option<ExprId>,
}

impl<'a> Visitor<'a> for Reads<'_, '_> {
    fn expr(&mut self, e: &'a Expr) -> bool {
        if matches!(e.kind, ExprKind::Lambda(_)) {
            return false;
        }
        if let Some((m, k)) = self.finder.builtin_call(e, "mget") {
            if self.finder.local(m) == Some(self.map)
                && self.finder.key(k).as_ref() == Some(self.key)
            {
                self.found = Some(e.id);
            }
        }
        true
    }
}

/// The key and value arguments of an `mset` call.
fn mset_rest(e: &Expr) -> Option<&[Expr]> {
    match &e.kind {
        ExprKind::Call { args, .. } if args.len() == 3 => Some(&args[1..]),
        _ => None,
    }
}

/// Whether code names a local, binds the key local, or can leave its block.
struct Mentions<'n> {
    map: &'n str,
    key: Option<&'n str>,
    /// Statements that can leave the block count as found.
    strict: bool,
    found: bool,
}

impl Mentions<'_> {
    /// `s` names `map`, binds the key local, or can leave the block without error.
    fn any_stmt(s: &Stmt, map: &str, key: &Key) -> bool {
        let mut m = Mentions::new(map, key);
        walk_stmt(&mut m, s);
        m.found
    }

    fn any_expr(e: &Expr, map: &str, key: &Key) -> bool {
        let mut m = Mentions::new(map, key);
        walk_expr(&mut m, e);
        m.found
    }

    /// `s` reads or binds `name`.
    fn names(s: &Stmt, name: &str) -> bool {
        let mut m = Mentions {
            map: name,
            key: None,
            strict: false,
            found: false,
        };
        walk_stmt(&mut m, s);
        m.found
    }

    fn new<'n>(map: &'n str, key: &Key<'n>) -> Mentions<'n> {
        Mentions {
            map,
            key: match key {
                Key::Local(k) => Some(k),
                _ => None,
            },
            strict: true,
            found: false,
        }
    }

    fn binds(&self, name: &str) -> bool {
        name == self.map || Some(name) == self.key
    }
}

impl<'a> Visitor<'a> for Mentions<'_> {
    fn stmt(&mut self, stmt: &'a Stmt) {
        match &stmt.kind {
            StmtKind::Let { name, .. } => self.found |= self.binds(&name.name),
            StmtKind::Destructure { fields, .. } => {
                self.found |= fields.iter().any(|f| self.binds(&f.name))
            }
            StmtKind::Expr(_) | StmtKind::When { .. } => {}
            StmtKind::Guard { .. }
            | StmtKind::ForEach { .. }
            | StmtKind::ForRange { .. }
            | StmtKind::While { .. }
            | StmtKind::Ret(_)
            | StmtKind::Brk(_)
            | StmtKind::Cnt => self.found |= self.strict,
        }
    }

    fn expr(&mut self, e: &'a Expr) -> bool {
        match &e.kind {
            ExprKind::Ref(id) => self.found |= id.name == self.map,
            ExprKind::Call { callee, .. } => self.found |= callee.name == self.map,
            _ => {}
        }
        !self.found
    }

    fn arm(&mut self, arm: &'a MatchArm) {
        if let Pattern::Ok(id) | Pattern::Err(id) | Pattern::IsType(_, id) = &arm.pattern {
            self.found |= self.binds(&id.name);
        }
    }
}
