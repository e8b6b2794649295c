//! Starlark values to JSON (operation arguments, data) and back.

use serde_json::Value as Json;
use starlark::values::dict::DictRef;
use starlark::values::list::ListRef;
use starlark::values::tuple::TupleRef;
use starlark::values::Value;

/// serde_json's own limit when it reads JSON back. Starlark serialises recursively, so a value
/// built inside itself a million times would otherwise overflow the stack.
const MAX_DEPTH: usize = 128;

/// Whether `v` nests lists, tuples and dicts more than [`MAX_DEPTH`] deep; a walk with a stack
/// of its own, stopping at the first path that is.
fn too_deep<'v>(v: Value<'v>) -> bool {
    let mut todo = vec![(v, 0usize)];
    while let Some((v, depth)) = todo.pop() {
        let before = todo.len();
        let child = |c: Value<'v>| (c, depth + 1);
        if let Some(l) = ListRef::from_value(v) {
            todo.extend(l.content().iter().copied().map(child));
        } else if let Some(t) = TupleRef::from_value(v) {
            todo.extend(t.content().iter().copied().map(child));
        } else if let Some(d) = DictRef::from_value(v) {
            todo.extend(d.iter().flat_map(|(k, v)| [child(k), child(v)]));
        }
        if todo.len() > before && depth + 1 > MAX_DEPTH {
            return true;
        }
    }
    false
}

/// Convert a Starlark value to JSON: `None`, bools, ints, floats, strings, lists, tuples (as
/// lists) and dicts with string keys. Functions, operation results and other objects are
/// rejected with a message naming their type.
pub(crate) fn to_json(v: Value<'_>) -> Result<Json, String> {
    if too_deep(v) {
        return Err(format!(
            "a `{}` value nested more than {MAX_DEPTH} levels deep cannot be used as data",
            v.get_type()
        ));
    }
    v.to_json_value().map_err(|_| {
        format!(
            "a `{}` value (`{}`) cannot be used as data; use strings, numbers, bools, None, lists and dicts",
            v.get_type(),
            truncate(&v.to_repr())
        )
    })
}

fn truncate(s: &str) -> String {
    if s.chars().count() > 60 {
        let mut t: String = s.chars().take(57).collect();
        t.push_str("...");
        t
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use starlark::values::Heap;

    #[test]
    fn nesting_is_limited_without_recursion() {
        // As in a run: conversions happen during an evaluation, on its stack.
        rinfra_core::with_deep_stack(|| {
            Heap::temp(|heap| {
                let mut v = heap.alloc(1);
                for _ in 0..MAX_DEPTH {
                    v = heap.alloc(vec![v]);
                }
                assert!(to_json(v).is_ok());
                for _ in 0..1_000_000 {
                    v = heap.alloc(vec![v]);
                }
                let e = to_json(v).unwrap_err();
                assert!(e.contains("nested more than 128 levels"), "{e}");
            })
        });
    }
}
