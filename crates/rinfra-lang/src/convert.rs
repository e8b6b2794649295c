//! Starlark values to JSON (operation arguments, data) and back.

use serde_json::Value as Json;
use starlark::values::Value;

/// Convert a Starlark value to JSON: `None`, bools, ints, floats, strings, lists, tuples (as
/// lists) and dicts with string keys. Functions, operation results and other objects are
/// rejected with a message naming their type.
pub(crate) fn to_json(v: Value<'_>) -> Result<Json, String> {
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
