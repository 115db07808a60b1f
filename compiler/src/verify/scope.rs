//! Local names while checking one top-level function: a stack of frames (the function,
//! then one per lambda being checked inside it), each a stack of block scopes.
//!
//! Rules: `x=e` rebinds `x` if it is visible in the current frame, else binds it at
//! function level, so a loop body updates the variables around it. Loop variables and
//! match-arm bindings live in their block's scope only. A name found in an enclosing
//! frame is a capture of every lambda frame between there and here.
//!
//! A local has one static type, the join of every value assigned to it (so the code
//! generator can give it one register). Types are computed to a fixpoint over
//! repeated passes: `prev` holds the previous pass's result, `cur` this pass's joins.

use std::collections::HashMap;

use crate::ast::{ExprId, Type};

use super::types::join;

/// A local variable: the frame it belongs to (`None` for the top-level function,
/// `Some(lambda id)` for a lambda) and its name.
pub type LocalKey = (Option<ExprId>, String);

/// Where the code generator finds a body's locals: the function or lambda.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum BodyId {
    Func(String),
    Lambda(ExprId),
}

#[derive(Clone, Copy)]
struct LocalState {
    /// Block depth at which the local is certainly assigned.
    def_depth: usize,
    /// Read after leaving the block that first assigned it: it may still be nil.
    unsure: bool,
}

pub struct Frame {
    pub key: Option<ExprId>,
    pub ret: Type,
    scopes: Vec<HashMap<String, LocalState>>,
    pub loop_depth: usize,
    /// Enclosing-frame names this lambda uses, in first-use order.
    pub captures: Vec<String>,
    /// This frame's locals (parameters first) in first-binding order.
    pub order: Vec<String>,
}

impl Frame {
    pub fn new(key: Option<ExprId>, ret: Type) -> Frame {
        Frame {
            key,
            ret,
            scopes: vec![HashMap::new()],
            loop_depth: 0,
            captures: Vec::new(),
            order: Vec::new(),
        }
    }

    /// A new local `name` in scope `level`, certainly assigned from the current depth.
    fn declare(&mut self, level: usize, name: &str) {
        let def_depth = self.depth();
        self.scopes[level].insert(
            name.to_string(),
            LocalState {
                def_depth,
                unsure: false,
            },
        );
        if !self.order.iter().any(|n| n == name) {
            self.order.push(name.to_string());
        }
    }

    fn depth(&self) -> usize {
        self.scopes.len() - 1
    }

    fn find(&self, name: &str) -> Option<usize> {
        (0..self.scopes.len())
            .rev()
            .find(|&i| self.scopes[i].contains_key(name))
    }
}

/// Local-variable state of one pass over one top-level function.
pub struct Scopes {
    pub frames: Vec<Frame>,
    /// Local types from the previous pass (empty on the first).
    prev: HashMap<LocalKey, Type>,
    /// Joins of what this pass has assigned so far.
    pub cur: HashMap<LocalKey, Type>,
}

impl Scopes {
    pub fn new(prev: HashMap<LocalKey, Type>) -> Scopes {
        Scopes {
            frames: Vec::new(),
            prev,
            cur: HashMap::new(),
        }
    }

    pub fn top(&mut self) -> &mut Frame {
        self.frames
            .last_mut()
            .expect("a frame is always open while checking")
    }

    pub fn top_ref(&self) -> &Frame {
        self.frames
            .last()
            .expect("a frame is always open while checking")
    }

    pub fn push_scope(&mut self) {
        self.top().scopes.push(HashMap::new());
    }

    /// Leave a block: its own bindings end; function-level locals it introduced stay
    /// visible but may be unset after it.
    pub fn pop_scope(&mut self) {
        let frame = self.top();
        frame.scopes.pop();
        let depth = frame.depth();
        for state in frame.scopes[0].values_mut() {
            if state.def_depth > depth {
                state.def_depth = depth;
                state.unsure = true;
            }
        }
    }

    fn assign(&mut self, key: LocalKey, ty: &Type) {
        let joined = match self.cur.get(&key) {
            Some(old) => join(old, ty),
            None => ty.clone(),
        };
        self.cur.insert(key, joined);
    }

    /// `name=value`: rebind a visible local of this frame, or bind a new one at
    /// function level.
    pub fn bind_let(&mut self, name: &str, ty: &Type) {
        let frame = self.top();
        let depth = frame.depth();
        let key = (frame.key, name.to_string());
        match frame.find(name) {
            Some(level) => {
                let state = frame.scopes[level].get_mut(name).expect("found above");
                if depth <= state.def_depth {
                    state.def_depth = depth;
                    state.unsure = false;
                }
            }
            None => frame.declare(0, name),
        }
        self.assign(key, ty);
    }

    /// A parameter, loop variable or match-arm binding: lives in the innermost scope.
    pub fn bind_block(&mut self, name: &str, ty: &Type) {
        let frame = self.top();
        frame.declare(frame.depth(), name);
        let key = (frame.key, name.to_string());
        self.assign(key, ty);
    }

    /// Whether `name` is a local visible here (in this frame or an enclosing one).
    pub fn is_visible(&self, name: &str) -> bool {
        self.frames.iter().any(|f| f.find(name).is_some())
    }

    /// Resolve a use of the local `name`: records captures and may-be-nil reads.
    /// Returns its key, or `None` if no such local is visible.
    pub fn use_local(&mut self, name: &str) -> Option<LocalKey> {
        let owner = (0..self.frames.len())
            .rev()
            .find(|&i| self.frames[i].find(name).is_some())?;
        for frame in &mut self.frames[owner + 1..] {
            if !frame.captures.iter().any(|c| c == name) {
                frame.captures.push(name.to_string());
            }
        }
        let frame = &self.frames[owner];
        let level = frame.find(name).expect("found above");
        let unsure = frame.scopes[level][name].unsure;
        let key = (frame.key, name.to_string());
        if unsure {
            self.assign(key.clone(), &Type::Nil);
        }
        Some(key)
    }

    /// The static type of a local: everything assigned to it, this pass and the last.
    pub fn type_of(&self, key: &LocalKey) -> Type {
        match (self.prev.get(key), self.cur.get(key)) {
            (Some(a), Some(b)) => join(a, b),
            (Some(t), None) | (None, Some(t)) => t.clone(),
            (None, None) => Type::Any,
        }
    }

    /// Names of locals visible from here, for "did you mean" suggestions.
    pub fn visible_names(&self) -> Vec<&str> {
        self.frames
            .iter()
            .flat_map(|f| f.scopes.iter().flat_map(|s| s.keys().map(String::as_str)))
            .collect()
    }

    /// Whether this pass reached the same local types as the previous one.
    pub fn converged(&self) -> bool {
        self.prev == self.cur
    }

    pub fn into_types(self) -> HashMap<LocalKey, Type> {
        self.cur
    }
}
