//! Loops that only update one list in place: `@i 0..n{xs=lst xs i v}`.
//!
//! The inline `lst` (see `inline_update.rs`) tests, on every update, what the runtime
//! would find: a list, held once, and reads its length and element pointer. When a
//! loop body names the list only in updates `xs=lst xs a b` whose `a` and `b` do not
//! name it, none of that can change while the loop runs: nothing else can take a
//! reference to the list, and an in-place `lst` keeps its length and its elements
//! where they are (the runtime, given a list held once, stores in place or fails).
//! So the loop is compiled twice: a version that tests the list once, before the
//! loop, and then only checks each index against the length it read then; and the
//! ordinary version, for a list that fails the test (shared, or not a list).
//!
//! The body is checked by its syntax ([`updated_in_place`]) and, as it is translated,
//! by what the translator does with the list: should any assignment to it not come
//! from a tested update (an update that could not move the list, say), the tested
//! version is never entered (see [`TestedList::broken`]).

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{Block, InstBuilder, Value as ClifValue};
use cranelift_module::Module;
use ilo_runtime::value::layout;

use super::abi::PTR_MASK;
use super::translator::{Operand, Translator};
use crate::ast::{
    Block as AstBlock, Expr, ExprId, ExprKind, MatchArm, Pattern, Stmt, StmtKind, Unwrap,
};
use crate::verify::{CallTarget, Checked};
use crate::walk::{walk_block, walk_expr, Visitor};

/// The list a loop version tested before entering the loop: held once, of this length,
/// its elements at `items`, for as long as the loop runs.
pub struct TestedList {
    pub local: String,
    pub items: ClifValue,
    pub len: ClifValue,
    /// A tested update of the list was translated and its result not yet assigned.
    rebind_pending: bool,
    /// Something other than a tested update assigned the list: this version of the
    /// loop must not run.
    broken: bool,
    /// The loop's own integer counter, when the version is entered only with it in
    /// bounds throughout: an update indexed by it needs no bounds test.
    counter: Counter,
    /// Some update was indexed by that counter.
    counter_used: bool,
}

/// What a tested version knows of its loop's counter.
#[derive(Clone, Copy, PartialEq)]
enum Counter {
    /// Not known to stay in bounds (or not an integer).
    Unbounded,
    /// Bounded, and the loop's body not yet begun.
    Awaiting,
    /// The counter's value in the loop's body.
    Bounded(ClifValue),
}

/// The update `local=lst local a b` in statement `s`: its `a` and `b`.
fn in_place_update<'e>(s: &'e Stmt, checked: &Checked) -> Option<(&'e str, &'e [Expr])> {
    let StmtKind::Let { name, value } = &s.kind else {
        return None;
    };
    let ExprKind::Call {
        args,
        unwrap: Unwrap::None,
        ..
    } = &value.kind
    else {
        return None;
    };
    let is_lst = matches!(checked.calls.get(&value.id), Some(CallTarget::Builtin(b)) if b == "lst");
    match args.as_slice() {
        [Expr {
            kind: ExprKind::Ref(list),
            ..
        }, rest @ ..]
            if is_lst && list.name == name.name =>
        {
            Some((name.name.as_str(), rest))
        }
        _ => None,
    }
}

/// The local that `body` names only in in-place updates `xs=lst xs a b` (with `a` and
/// `b` not naming it), if there is one. Bodies matching on a previous statement's
/// value (`?{…}`, which can read the list without naming it) have none.
pub fn updated_in_place(body: &AstBlock, checked: &Checked) -> Option<String> {
    let mut candidates = Candidates {
        checked,
        names: Vec::new(),
        subjectless: false,
    };
    walk_block(&mut candidates, body);
    if candidates.subjectless {
        return None;
    }
    candidates.names.into_iter().find(|name| {
        let mut uses = Uses {
            checked,
            local: name,
            stray: false,
            update: None,
        };
        walk_block(&mut uses, body);
        !uses.stray
    })
}

/// Collects the locals updated in place anywhere in a body.
struct Candidates<'c> {
    checked: &'c Checked,
    names: Vec<String>,
    subjectless: bool,
}

impl<'a> Visitor<'a> for Candidates<'_> {
    fn stmt(&mut self, s: &'a Stmt) {
        if let Some((name, _)) = in_place_update(s, self.checked) {
            if !self.names.iter().any(|n| n == name) {
                self.names.push(name.to_string());
            }
        }
    }

    fn expr(&mut self, e: &'a Expr) -> bool {
        if matches!(e.kind, ExprKind::Match { subject: None, .. }) {
            self.subjectless = true;
        }
        true
    }
}

/// Looks for any mention of `local` other than as the list of an in-place update:
/// reads, calls, bindings (of any kind) of the name.
struct Uses<'c> {
    checked: &'c Checked,
    local: &'c str,
    stray: bool,
    /// The value of the in-place update whose statement was just visited: skipped.
    update: Option<ExprId>,
}

impl Uses<'_> {
    fn names(&mut self, name: &str) {
        if name == self.local {
            self.stray = true;
        }
    }
}

impl<'a> Visitor<'a> for Uses<'_> {
    fn stmt(&mut self, s: &'a Stmt) {
        match &s.kind {
            StmtKind::Let { name, value } => {
                let updated = in_place_update(s, self.checked).is_some_and(|(_, rest)| {
                    // The index and value must leave the list alone too.
                    let mut inner = Uses {
                        checked: self.checked,
                        local: self.local,
                        stray: false,
                        update: None,
                    };
                    rest.iter().for_each(|x| walk_expr(&mut inner, x));
                    !inner.stray
                });
                if updated {
                    self.update = Some(value.id);
                } else {
                    self.names(&name.name);
                }
            }
            StmtKind::Destructure { fields, .. } => {
                fields.iter().for_each(|f| self.names(&f.name));
            }
            StmtKind::ForEach { var, .. } | StmtKind::ForRange { var, .. } => self.names(&var.name),
            _ => {}
        }
    }

    fn expr(&mut self, e: &'a Expr) -> bool {
        if self.update.take() == Some(e.id) {
            // An in-place update, its index and value checked in `stmt`.
            return false;
        }
        match &e.kind {
            ExprKind::Ref(id) => self.names(&id.name),
            ExprKind::Call { callee, .. } => self.names(&callee.name),
            ExprKind::Lambda(f) => f.params.iter().for_each(|p| self.names(&p.name.name)),
            _ => {}
        }
        true
    }

    fn arm(&mut self, arm: &'a MatchArm) {
        if let Pattern::Ok(v) | Pattern::Err(v) | Pattern::IsType(_, v) = &arm.pattern {
            self.names(&v.name);
        }
    }
}

impl<M: Module> Translator<'_, M> {
    /// Emit a loop through `emit`, twice when `body` only updates one list in place
    /// and `header` (what the loop evaluates on each iteration besides its body, a
    /// `wh` condition) does not name it: a version for that list held once (and,
    /// with `limit`, at least that long when an update relies on it), tested here,
    /// and the loop as usual for anything else. The test is emitted last, so a
    /// version the translation found unsound is never entered. Both versions leave
    /// to the block `emit` leaves to.
    pub fn list_versioned_loop(
        &mut self,
        (body, header): (&AstBlock, &[&Expr]),
        limit: Option<ClifValue>,
        emit: &dyn Fn(&mut Self),
    ) {
        let Some(list) = self.list_to_test(body, header) else {
            return emit(self);
        };
        let choose = self.b.create_block();
        let tested = self.b.create_block();
        let ordinary = self.b.create_block();
        self.b.ins().jump(choose, &[]);
        self.b.switch_to_block(tested);
        self.begin_tested_list(&list, limit.is_some());
        emit(self);
        let version = self.end_tested_list();
        self.b.switch_to_block(ordinary);
        emit(self);
        self.b.switch_to_block(choose);
        match version {
            Some(indexed_by_counter) => {
                let limit = limit.filter(|_| indexed_by_counter);
                self.choose_list_version(&list, limit, (tested, ordinary));
            }
            None => {
                self.b.ins().jump(ordinary, &[]);
            }
        }
    }

    /// The list local a loop body only updates in place, when this loop should be
    /// versioned for it (not already inside a version testing a list).
    fn list_to_test(&self, body: &AstBlock, header: &[&Expr]) -> Option<String> {
        if self.tested_list.is_some() {
            return None;
        }
        let list = updated_in_place(body, self.checked)?;
        let mut uses = Uses {
            checked: self.checked,
            local: &list,
            stray: false,
            update: None,
        };
        header.iter().for_each(|x| walk_expr(&mut uses, x));
        // A `?{…}` there could read the list as the previous statement's value.
        let mut header_matches = Candidates {
            checked: self.checked,
            names: Vec::new(),
            subjectless: false,
        };
        header
            .iter()
            .for_each(|x| walk_expr(&mut header_matches, x));
        let word = self.locals.get(&list).is_some_and(|l| !l.numeric);
        (word && !uses.stray && !header_matches.subjectless).then_some(list)
    }

    /// Start translating the tested version of a loop over list local `local`: the
    /// current block (with no predecessor yet) reads its length and element pointer.
    /// With `bounded`, the version is entered only when its loop's integer counter
    /// stays within the list's length (see [`Translator::choose_list_version`]).
    fn begin_tested_list(&mut self, local: &str, bounded: bool) {
        let w = match self.read_local(local) {
            Some(Operand::Borrowed(w)) => w,
            _ => self.nil_word,
        };
        let p = self.b.ins().band_imm_s(w, PTR_MASK as i64);
        let items = self.list_items(p);
        let len = self.list_len(p);
        self.tested_list = Some(TestedList {
            local: local.to_string(),
            items,
            len,
            rebind_pending: false,
            broken: false,
            counter: if bounded {
                Counter::Awaiting
            } else {
                Counter::Unbounded
            },
            counter_used: false,
        });
    }

    /// A range loop's integer counter `n` at the top of its body: the tested loop's
    /// own when it is the first such loop since the version began.
    pub fn note_loop_counter(&mut self, n: ClifValue) {
        if let Some(t) = self.tested_list.as_mut() {
            if t.counter == Counter::Awaiting {
                t.counter = Counter::Bounded(n);
            }
        }
    }

    /// Finish the tested version: `None` when it must not run (an assignment to the
    /// list other than a tested update was translated), else whether an update
    /// relied on the loop's counter staying in bounds.
    fn end_tested_list(&mut self) -> Option<bool> {
        let t = self.tested_list.take()?;
        (!t.broken && !t.rebind_pending).then_some(t.counter_used)
    }

    /// Branch to `tested` when list local `local` is a list held once (and, with
    /// `limit`, at least that long), to `ordinary` otherwise: what the tested version
    /// relies on.
    fn choose_list_version(
        &mut self,
        local: &str,
        limit: Option<ClifValue>,
        (tested, ordinary): (Block, Block),
    ) {
        let Some(Operand::Borrowed(w)) = self.read_local(local) else {
            self.b.ins().jump(ordinary, &[]);
            return;
        };
        let p = self.object_of_kind(w, layout::KIND_LIST, ordinary);
        self.require_unique(p, ordinary);
        if let Some(limit) = limit {
            let len = self.list_len(p);
            let fits = self
                .b
                .ins()
                .icmp(IntCC::UnsignedLessThanOrEqual, limit, len);
            self.continue_if(fits, ordinary);
        }
        self.b.ins().jump(tested, &[]);
    }

    /// Note an assignment to `name`: in a tested version, one that is not the result
    /// of a tested update means that version must not run.
    pub fn note_assignment(&mut self, name: &str) {
        if let Some(t) = self.tested_list.as_mut().filter(|t| t.local == name) {
            if t.rebind_pending {
                t.rebind_pending = false;
            } else {
                t.broken = true;
            }
        }
    }

    /// The tested list's element pointer and length when `list` (an update's list
    /// expression) is the tested local, marking the update as a tested one.
    pub fn tested_update(&mut self, list: &Expr) -> Option<(ClifValue, ClifValue)> {
        let ExprKind::Ref(id) = &list.kind else {
            return None;
        };
        let t = self.tested_list.as_mut().filter(|t| t.local == id.name)?;
        t.rebind_pending = true;
        Some((t.items, t.len))
    }

    /// The fast path of `xs=lst xs i v` on the tested list (`items`, `len` from
    /// [`Translator::tested_update`]): only the index is checked, against the length
    /// read before the loop.
    pub fn store_tested_element(
        &mut self,
        (items, len): (ClifValue, ClifValue),
        (xs, i, index): (ClifValue, ClifValue, Operand),
        v: ClifValue,
        slow: Block,
    ) -> Option<ClifValue> {
        let n = self.element_index((i, index), slow);
        let counter = self
            .tested_list
            .as_mut()
            .filter(|t| t.counter == Counter::Bounded(n));
        if let Some(t) = counter {
            // The loop's own counter, within the length for the whole loop.
            t.counter_used = true;
        } else {
            let in_bounds = self.b.ins().icmp(IntCC::UnsignedLessThan, n, len);
            self.continue_if(in_bounds, slow);
        }
        let offset = self.b.ins().ishl_imm_u(n, 3);
        let addr = self.b.ins().iadd(items, offset);
        self.replace_word(addr, 0, v);
        Some(xs)
    }
}
