//! Read-only shims for the bits of Python's `os` module deploys use most: `os.path.join`,
//! `dirname`, `basename`, `splitext`, `abspath`, `exists`, `isfile`, `isdir`, `expanduser`,
//! `os.environ` (a snapshot, read-only), `os.getenv` and `os.getcwd`. Relative paths are
//! relative to the deploy directory (pyinfra's `state.cwd`).

use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value as Json};
use starlark::environment::GlobalsBuilder;
use starlark::eval::Evaluator;
use starlark::starlark_module;
use starlark::values::none::NoneType;
use starlark::values::tuple::UnpackTuple;
use starlark::values::Value;

use crate::context::state;

fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn cwd_path(eval: &Evaluator<'_, '_, '_>, path: &str) -> starlark::Result<PathBuf> {
    let st = state(eval)?;
    Ok(st.cwd.join(path))
}

#[starlark_module]
pub(crate) fn os_path_module(builder: &mut GlobalsBuilder) {
    /// `os.path.join(a, b, ...)`.
    fn join(#[starlark(args)] parts: UnpackTuple<String>) -> starlark::Result<String> {
        let mut out = String::new();
        for p in parts.items {
            if p.starts_with('/') {
                out = p;
            } else if out.is_empty() || out.ends_with('/') {
                out.push_str(&p);
            } else {
                out.push('/');
                out.push_str(&p);
            }
        }
        Ok(out)
    }

    /// `os.path.dirname(p)`.
    fn dirname(#[starlark(require = pos)] p: &str) -> starlark::Result<String> {
        Ok(match p.rfind('/') {
            Some(0) => "/".into(),
            Some(i) => p[..i].trim_end_matches('/').to_string(),
            None => String::new(),
        })
    }

    /// `os.path.basename(p)`.
    fn basename(#[starlark(require = pos)] p: &str) -> starlark::Result<String> {
        Ok(p.rsplit('/').next().unwrap_or("").to_string())
    }

    /// `os.path.splitext(p)`.
    fn splitext(#[starlark(require = pos)] p: &str) -> starlark::Result<(String, String)> {
        let base_start = p.rfind('/').map_or(0, |i| i + 1);
        let base = &p[base_start..];
        match base.rfind('.') {
            Some(i) if i > 0 && !base[..i].chars().all(|c| c == '.') => {
                Ok((p[..base_start + i].to_string(), base[i..].to_string()))
            }
            _ => Ok((p.to_string(), String::new())),
        }
    }

    /// `os.path.abspath(p)`, relative to the deploy directory.
    fn abspath(
        #[starlark(require = pos)] p: &str,
        eval: &mut Evaluator<'_, '_, '_>,
    ) -> starlark::Result<String> {
        Ok(normalize(&cwd_path(eval, p)?).display().to_string())
    }

    /// `os.path.exists(p)`, relative to the deploy directory.
    fn exists(
        #[starlark(require = pos)] p: &str,
        eval: &mut Evaluator<'_, '_, '_>,
    ) -> starlark::Result<bool> {
        Ok(cwd_path(eval, p)?.exists())
    }

    /// `os.path.isfile(p)`.
    fn isfile(
        #[starlark(require = pos)] p: &str,
        eval: &mut Evaluator<'_, '_, '_>,
    ) -> starlark::Result<bool> {
        Ok(cwd_path(eval, p)?.is_file())
    }

    /// `os.path.isdir(p)`.
    fn isdir(
        #[starlark(require = pos)] p: &str,
        eval: &mut Evaluator<'_, '_, '_>,
    ) -> starlark::Result<bool> {
        Ok(cwd_path(eval, p)?.is_dir())
    }

    /// `os.path.expanduser(p)`.
    fn expanduser(#[starlark(require = pos)] p: &str) -> starlark::Result<String> {
        let home = std::env::var("HOME").unwrap_or_default();
        Ok(match p.strip_prefix('~') {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("{home}{rest}"),
            _ => p.to_string(),
        })
    }
}

#[starlark_module]
pub(crate) fn os_module(builder: &mut GlobalsBuilder) {
    /// `os.getenv(name, default=None)`.
    fn getenv<'v>(
        #[starlark(require = pos)] name: &str,
        #[starlark(require = pos, default = NoneType)] default: Value<'v>,
        heap: starlark::values::Heap<'v>,
    ) -> starlark::Result<Value<'v>> {
        Ok(match std::env::var(name) {
            Ok(v) => heap.alloc_str(&v).to_value(),
            Err(_) => default,
        })
    }

    /// `os.getcwd()`: the deploy directory.
    fn getcwd(eval: &mut Evaluator<'_, '_, '_>) -> starlark::Result<String> {
        Ok(state(eval)?.cwd.display().to_string())
    }
}

/// A snapshot of the environment for `os.environ` (a read-only dict).
pub(crate) fn environ_snapshot() -> Map<String, Json> {
    std::env::vars()
        .map(|(k, v)| (k, Json::String(v)))
        .collect()
}

/// Add the `os` namespace to `b`.
pub(crate) fn register_os(b: &mut GlobalsBuilder) {
    b.namespace("os", |b| {
        os_module(b);
        b.namespace("path", os_path_module);
        b.set("environ", environ_snapshot());
        b.set("name", "posix");
        b.set("sep", "/");
    });
}
