//! The storage behind map values: a hash index for lookups, and the key order every
//! traversal uses.
//!
//! A map is observed in key order (integers first, then texts by bytes): `mkeys`,
//! `mvals`, `@k m`, display, JSON and `=` all see that order. Building a map in a
//! loop, on the other hand, is one lookup and one update per element, so lookups go
//! through a hash table (one hash and usually one key comparison) instead of a search
//! tree (a dozen comparisons for ten thousand keys). The sorted order is worked out by
//! the first traversal after the set of keys changed and kept until it changes again,
//! so traversing an unchanged map repeatedly sorts it once.
//!
//! The hasher (foldhash) takes a random seed per table, so a client cannot prepare
//! one set of keys that collides in every server; it is built for speed and offers
//! only that minimal resistance to deliberate collisions.

use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

use indexmap::{Equivalent, IndexMap};

use crate::value::Value;

/// Map keys: integers and texts are distinct (`7` and `"7"` are different keys).
/// Integers sort before texts.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MapKey {
    Int(i64),
    Text(String),
}

/// A key borrowed from the value that names it, so looking up a text key copies no
/// text. Orders, hashes and compares like the [`MapKey`] it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyRef<'a> {
    Int(i64),
    Text(&'a str),
}

impl MapKey {
    pub fn to_value(&self) -> Value {
        match self {
            MapKey::Int(i) => Value::num(*i as f64),
            MapKey::Text(s) => Value::text(s.clone()),
        }
    }

    pub fn key_ref(&self) -> KeyRef<'_> {
        match self {
            MapKey::Int(i) => KeyRef::Int(*i),
            MapKey::Text(s) => KeyRef::Text(s),
        }
    }
}

impl KeyRef<'_> {
    pub fn to_key(self) -> MapKey {
        match self {
            KeyRef::Int(i) => MapKey::Int(i),
            KeyRef::Text(s) => MapKey::Text(s.to_owned()),
        }
    }
}

impl fmt::Display for MapKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MapKey::Int(i) => write!(f, "{i}"),
            MapKey::Text(s) => f.write_str(s),
        }
    }
}

// Both key forms hash through `KeyRef`, so a table keyed by `MapKey` can be searched
// with a `KeyRef`.
impl Hash for KeyRef<'_> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        match self {
            KeyRef::Int(i) => {
                h.write_u8(0);
                h.write_i64(*i);
            }
            KeyRef::Text(s) => {
                h.write_u8(1);
                h.write(s.as_bytes());
            }
        }
    }
}

impl Hash for MapKey {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.key_ref().hash(h);
    }
}

impl Equivalent<MapKey> for KeyRef<'_> {
    fn equivalent(&self, key: &MapKey) -> bool {
        *self == key.key_ref()
    }
}

type Table = IndexMap<MapKey, Value, foldhash::fast::RandomState>;

/// The contents of a map value.
#[derive(Clone, Default)]
pub struct Map {
    entries: Table,
    /// Positions in `entries` in key order, once a traversal has asked for them.
    /// Cleared whenever a key is added or removed (changing a value keeps it).
    order: OnceLock<Box<[usize]>>,
    /// The position of the entry the last [`Map::take`] emptied. The `mset` that
    /// follows a take (the compiler's `map_take` rule) sets the same key, so [`Map::set`]
    /// compares that entry's key before hashing. Only a hint: a stale one (the entries
    /// moved, or another key is set) costs one key comparison.
    taken: usize,
}

impl Map {
    pub fn new() -> Map {
        Map::default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, key: KeyRef) -> Option<&Value> {
        self.entries.get(&key)
    }

    pub fn contains_key(&self, key: KeyRef) -> bool {
        self.entries.contains_key(&key)
    }

    /// Set `key` to `value`. An existing key keeps its entry, so only a new key costs a
    /// copy of its text.
    pub fn set(&mut self, key: KeyRef, value: Value) {
        if let Some((k, slot)) = self.entries.get_index_mut(self.taken) {
            if k.key_ref() == key {
                *slot = value;
                return;
            }
        }
        match self.entries.get_mut(&key) {
            Some(slot) => *slot = value,
            None => self.insert(key.to_key(), value),
        }
    }

    /// Move the value of `key` out, leaving nil in its entry (the key and the order
    /// stay): for a caller about to set the same key again (see `builtins::map_take`).
    pub fn take(&mut self, key: KeyRef) -> Option<Value> {
        let (at, _, slot) = self.entries.get_full_mut(&key)?;
        self.taken = at;
        Some(std::mem::replace(slot, Value::NIL))
    }

    pub fn insert(&mut self, key: MapKey, value: Value) {
        if self.entries.insert(key, value).is_none() {
            self.order.take();
        }
    }

    pub fn remove(&mut self, key: KeyRef) -> Option<Value> {
        // Swapping the last entry into the hole is O(1); the order is rebuilt anyway.
        let removed = self.entries.swap_remove(&key);
        if removed.is_some() {
            self.order.take();
        }
        removed
    }

    /// The entry at position `i` in key order.
    pub fn nth(&self, i: usize) -> Option<(&MapKey, &Value)> {
        let at = *self.order().get(i)?;
        self.entries.get_index(at)
    }

    /// Entries in key order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            entries: &self.entries,
            order: self.order().iter(),
        }
    }

    pub fn keys(&self) -> impl Iterator<Item = &MapKey> {
        self.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = &Value> {
        self.iter().map(|(_, v)| v)
    }

    /// Every value, in no particular order (for freeing).
    pub fn into_values(self) -> impl Iterator<Item = Value> {
        self.entries.into_values()
    }

    fn order(&self) -> &[usize] {
        self.order.get_or_init(|| {
            let mut order: Vec<usize> = (0..self.entries.len()).collect();
            // Keys are unique, so an unstable sort gives the one order there is.
            order.sort_unstable_by(|&a, &b| self.key_at(a).cmp(&self.key_at(b)));
            order.into_boxed_slice()
        })
    }

    fn key_at(&self, i: usize) -> KeyRef<'_> {
        match self.entries.get_index(i) {
            Some((k, _)) => k.key_ref(),
            None => unreachable!("order holds positions of entries"),
        }
    }
}

/// Entries of a [`Map`] in key order.
pub struct Iter<'a> {
    entries: &'a Table,
    order: std::slice::Iter<'a, usize>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a MapKey, &'a Value);

    fn next(&mut self) -> Option<Self::Item> {
        let at = *self.order.next()?;
        self.entries.get_index(at)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.order.size_hint()
    }
}

impl<'a> IntoIterator for &'a Map {
    type Item = (&'a MapKey, &'a Value);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl FromIterator<(MapKey, Value)> for Map {
    fn from_iter<I: IntoIterator<Item = (MapKey, Value)>>(items: I) -> Map {
        let mut map = Map::new();
        for (k, v) in items {
            map.insert(k, v);
        }
        map
    }
}

impl From<BTreeMap<MapKey, Value>> for Map {
    fn from(m: BTreeMap<MapKey, Value>) -> Map {
        m.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(m: &Map) -> Vec<String> {
        m.keys().map(|k| format!("{k:?}")).collect()
    }

    #[test]
    fn a_set_after_a_take_finds_its_key_whatever_happened_between() {
        let text = |s: &str| MapKey::Text(s.to_string());
        let mut m = Map::new();
        for (k, v) in [("a", 1.0), ("b", 2.0), ("c", 3.0)] {
            m.insert(text(k), Value::num(v));
        }
        assert_eq!(
            m.take(KeyRef::Text("c")).and_then(|v| v.as_num()),
            Some(3.0)
        );
        // Another key is set: the hint's entry is left alone.
        m.set(KeyRef::Text("a"), Value::num(10.0));
        // The hinted entry moves away (removing swaps the last into the hole).
        m.remove(KeyRef::Text("a"));
        m.set(KeyRef::Text("c"), Value::num(30.0));
        m.set(KeyRef::Text("b"), Value::num(20.0));
        // The hint now points past the end.
        m.remove(KeyRef::Text("b"));
        m.set(KeyRef::Int(7), Value::num(70.0));
        let got: Vec<String> = m.iter().map(|(k, v)| format!("{k:?}={v}")).collect();
        assert_eq!(got, ["Int(7)=70", "Text(\"c\")=30"]);
    }

    #[test]
    fn traversals_see_key_order_whatever_the_insertion_order() {
        let mut m = Map::new();
        for k in ["b", "a", "10", "9"] {
            m.set(KeyRef::Text(k), Value::num(1.0));
        }
        m.set(KeyRef::Int(10), Value::NIL);
        m.set(KeyRef::Int(-2), Value::NIL);
        let want = [
            "Int(-2)",
            "Int(10)",
            "Text(\"10\")",
            "Text(\"9\")",
            "Text(\"a\")",
            "Text(\"b\")",
        ];
        assert_eq!(keys(&m), want);
        assert_eq!(
            m.nth(2).map(|(k, _)| k.clone()),
            Some(MapKey::Text("10".into()))
        );
        assert!(m.nth(6).is_none());
    }

    #[test]
    fn the_order_follows_additions_and_removals() {
        let mut m = Map::new();
        m.set(KeyRef::Text("b"), Value::num(1.0));
        m.set(KeyRef::Text("c"), Value::num(2.0));
        assert_eq!(keys(&m), ["Text(\"b\")", "Text(\"c\")"]);
        m.set(KeyRef::Text("a"), Value::num(3.0));
        assert_eq!(
            m.remove(KeyRef::Text("b")).map(|v| v.to_string()),
            Some("1".into())
        );
        assert!(m.remove(KeyRef::Text("b")).is_none());
        assert_eq!(keys(&m), ["Text(\"a\")", "Text(\"c\")"]);
        m.set(KeyRef::Text("c"), Value::num(5.0));
        let vals: Vec<String> = m.values().map(|v| v.to_string()).collect();
        assert_eq!(vals, ["3", "5"]);
    }

    #[test]
    fn integer_and_text_keys_never_meet() {
        let mut m = Map::new();
        m.set(KeyRef::Int(7), Value::num(1.0));
        m.set(KeyRef::Text("7"), Value::num(2.0));
        assert_eq!(m.len(), 2);
        assert_eq!(
            m.get(KeyRef::Int(7)).map(|v| v.to_string()),
            Some("1".into())
        );
        assert_eq!(
            m.get(KeyRef::Text("7")).map(|v| v.to_string()),
            Some("2".into())
        );
        assert!(!m.contains_key(KeyRef::Int(8)));
    }
}
