//! Python values to JSON (operation and fact arguments, global arguments) and back (facts,
//! host data).

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyBytes, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PySet, PyString, PyTuple,
};
use serde_json::{Map, Number, Value};

/// Values nested deeper than this are refused (a self-referencing list would recurse forever).
const MAX_DEPTH: usize = 128;

/// A Python value as JSON. `what` names it in errors (`argument `src` of files.put`).
///
/// Beyond JSON's types: tuples and sets become lists; `pathlib.Path` (anything with
/// `__fspath__`) its path; a file-like object (`StringIO`) `{"content": ...}`, which is how
/// `files.put` and `files.template` take in-memory content; a `StringCommand` its text.
pub(crate) fn to_json(value: &Bound<'_, PyAny>, what: &str) -> PyResult<Value> {
    to_json_at(value, what, 0)
}

fn to_json_at(value: &Bound<'_, PyAny>, what: &str, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(PyTypeError::new_err(format!(
            "{what}: nested more than {MAX_DEPTH} levels deep"
        )));
    }
    if value.is_none() {
        return Ok(Value::Null);
    }
    if value.is_instance_of::<PyBool>() {
        return Ok(Value::Bool(value.extract()?));
    }
    if value.is_instance_of::<PyInt>() {
        if let Ok(i) = value.extract::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        if let Ok(u) = value.extract::<u64>() {
            return Ok(Value::Number(u.into()));
        }
        return Ok(Value::String(value.str()?.to_string()));
    }
    if value.is_instance_of::<PyFloat>() {
        let f: f64 = value.extract()?;
        return Ok(Number::from_f64(f).map_or(Value::Null, Value::Number));
    }
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(Value::String(s.to_str()?.to_string()));
    }
    if let Ok(b) = value.cast::<PyBytes>() {
        return Ok(Value::String(
            String::from_utf8_lossy(b.as_bytes()).into_owned(),
        ));
    }
    if let Ok(d) = value.cast::<PyDict>() {
        let mut out = Map::new();
        for (k, v) in d.iter() {
            let key = match k.cast::<PyString>() {
                Ok(s) => s.to_str()?.to_string(),
                Err(_) => k.str()?.to_string(),
            };
            out.insert(key, to_json_at(&v, what, depth + 1)?);
        }
        return Ok(Value::Object(out));
    }
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        let mut out = Vec::new();
        for item in value.try_iter()? {
            out.push(to_json_at(&item?, what, depth + 1)?);
        }
        return Ok(Value::Array(out));
    }
    if value.is_instance_of::<PySet>() || value.is_instance_of::<PyFrozenSet>() {
        // Sorted by repr, so the same set always gives the same command.
        let mut items: Vec<(String, Value)> = Vec::new();
        for item in value.try_iter()? {
            let item = item?;
            items.push((
                item.repr()?.to_string(),
                to_json_at(&item, what, depth + 1)?,
            ));
        }
        items.sort_by(|a, b| a.0.cmp(&b.0));
        return Ok(Value::Array(items.into_iter().map(|(_, v)| v).collect()));
    }
    if value.hasattr("__fspath__")? {
        let path = value.call_method0("__fspath__")?;
        return to_json_at(&path, what, depth + 1);
    }
    if value.hasattr("read")? {
        // In-memory content (StringIO, BytesIO, an open file): read it whole, from the start.
        if value.hasattr("seek")? {
            value.call_method1("seek", (0,))?;
        }
        let content = value.call_method0("read")?;
        let text = match content.cast::<PyBytes>() {
            Ok(b) => String::from_utf8_lossy(b.as_bytes()).into_owned(),
            Err(_) => content.str()?.to_string(),
        };
        let mut o = Map::new();
        o.insert("content".into(), Value::String(text));
        return Ok(Value::Object(o));
    }
    if value.hasattr("get_raw_value")? {
        return Ok(Value::String(
            value.call_method0("get_raw_value")?.extract()?,
        ));
    }
    let type_name = value.get_type().name()?.to_string();
    Err(PyTypeError::new_err(format!(
        "{what}: a `{type_name}` value cannot be passed to rinfra's operations (use str, int, \
         float, bool, None, list, tuple, set, dict, a path or a file-like object)"
    )))
}

/// JSON as Python values (`dict`, `list`, `str`, `int`, `float`, `bool`, `None`).
pub(crate) fn to_python<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_python(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, to_python(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

/// A best-effort JSON rendering for display only (`module.op (args)` labels of Python
/// operations): what cannot be converted shows as its `repr`.
pub(crate) fn display_json(value: &Bound<'_, PyAny>) -> Value {
    to_json(value, "argument").unwrap_or_else(|_| {
        if let Ok(name) = value
            .getattr("__name__")
            .and_then(|n| n.extract::<String>())
        {
            return Value::String(name);
        }
        Value::String(value.repr().map(|r| r.to_string()).unwrap_or_default())
    })
}
