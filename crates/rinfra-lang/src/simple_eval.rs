//! Evaluating data files (inventory, group_data, config): run the file, read its top-level
//! variables.

use std::collections::HashMap;

use serde_json::Value as Json;
use starlark::environment::{Globals, GlobalsBuilder, LibraryExtension, Module};
use starlark::eval::Evaluator;
use starlark::syntax::{AstModule, Dialect, DialectTypes};
use starlark::values::Value;

use crate::compat::{rewrite, CompatOutput};
use crate::convert::to_json;
use crate::error::{ErrorKind, LangError, Location};

/// The deploy-language dialect: standard Starlark plus top-level statements, f-strings,
/// keyword-only arguments, lambdas and type annotations (ignored unless wrong).
pub(crate) fn dialect() -> Dialect {
    Dialect {
        enable_top_level_stmt: true,
        enable_f_strings: true,
        enable_keyword_only_arguments: true,
        enable_lambda: true,
        enable_types: DialectTypes::Enable,
        ..Dialect::Standard
    }
}

/// The library extensions every file gets.
pub(crate) const EXTENSIONS: &[LibraryExtension] = &[
    LibraryExtension::StructType,
    LibraryExtension::Json,
    LibraryExtension::Map,
    LibraryExtension::Filter,
    LibraryExtension::Print,
    LibraryExtension::Partial,
    LibraryExtension::SetType,
    LibraryExtension::Typing,
];

/// Run the compatibility pass and parse.
pub(crate) fn parse(file: &str, source: &str) -> Result<(AstModule, CompatOutput), LangError> {
    let compat = rewrite(file, source)?;
    let ast = AstModule::parse(file, compat.source.clone(), &dialect())
        .map_err(|e| LangError::from_starlark(&e, |m| m.to_string()))?;
    Ok((ast, compat))
}

/// The line (1-based) of the first top-level `name = ...` of each name in `source`, in one
/// pass (a search per name was quadratic in a generated file with thousands of groups).
pub(crate) fn assignment_lines(source: &str) -> HashMap<&str, usize> {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let mut lines = HashMap::new();
    for (i, l) in source.lines().enumerate() {
        let name_len: usize = l
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .map(char::len_utf8)
            .sum();
        let rest = l[name_len..].trim_start();
        if name_len > 0 && rest.starts_with('=') && !rest.starts_with("==") {
            lines.entry(&l[..name_len]).or_insert(i + 1);
        }
    }
    lines
}

/// Public top-level variables of a data file, in source order: name → (JSON, line).
pub(crate) struct DataVars {
    pub(crate) values: Vec<(String, (Json, usize))>,
}

fn data_globals() -> Globals {
    data_globals_builder().build()
}

/// Globals of data files: the Starlark library and the `os` shims (no operations or facts).
pub(crate) fn data_globals_builder() -> GlobalsBuilder {
    let mut b = GlobalsBuilder::extended_by(EXTENSIONS);
    crate::os::register_os(&mut b);
    b
}

/// Evaluate `source` and hand the module's top-level variables (but `__x` and imported names,
/// sorted by the line that first assigns them) to `f`.
pub(crate) fn eval_module_vars<R>(
    file: &str,
    source: &str,
    globals: &Globals,
    setup: impl for<'v> FnOnce(&Module<'v>),
    f: impl for<'v> FnOnce(Vec<(String, Value<'v>, usize)>) -> Result<R, LangError>,
) -> Result<R, LangError> {
    rinfra_core::with_deep_stack(|| eval_module_vars_here(file, source, globals, setup, f))
}

/// [`eval_module_vars`] on the current stack.
fn eval_module_vars_here<R>(
    file: &str,
    source: &str,
    globals: &Globals,
    setup: impl for<'v> FnOnce(&Module<'v>),
    f: impl for<'v> FnOnce(Vec<(String, Value<'v>, usize)>) -> Result<R, LangError>,
) -> Result<R, LangError> {
    let (ast, compat) = parse(file, source)?;
    Module::with_temp_heap(|module| {
        setup(&module);
        let printer = crate::deploy::IgnorePrints;
        {
            let _evaluating = crate::evaluating::Evaluating::enter(file, "");
            let mut eval = Evaluator::new(&module);
            eval.set_print_handler(&printer);
            eval.eval_module(ast, globals)
                .map_err(|e| LangError::from_starlark(&e, |m| m.to_string()))?;
        }
        // Names starting with `_` are private to Starlark; pyinfra keeps them in group data
        // (`_sudo = True`), so read every name from the frozen module.
        let names: Vec<String> = module
            .names_and_visibilities()
            .map(|(n, _)| n.as_str().to_string())
            .filter(|n| !n.starts_with("__") && !compat.imported_names.contains(n))
            .collect();
        let frozen = module
            .freeze()
            .map_err(|e| LangError::new(ErrorKind::Eval, format!("{file}: {e:?}")))?;
        let lines = assignment_lines(source);
        let mut owned = Vec::new();
        for n in names {
            if let Ok((v, _)) = frozen.get_any_visibility(&n) {
                let line = lines.get(n.as_str()).copied().unwrap_or(usize::MAX);
                owned.push((n, v, line));
            }
        }
        owned.sort_by_key(|(_, _, line)| *line);
        let vars = owned
            .iter()
            .map(|(n, v, line)| (n.clone(), v.value(), *line))
            .collect();
        f(vars)
    })
}

/// Evaluate a data file (group_data, config): every public top-level variable that is data.
/// Functions are skipped; other non-data values are an error naming the variable.
pub(crate) fn eval_data_file(file: &str, source: &str) -> Result<DataVars, LangError> {
    eval_data_file_with(file, source, &data_globals(), |_| {})
}

pub(crate) fn eval_data_file_with(
    file: &str,
    source: &str,
    globals: &Globals,
    setup: impl for<'v> FnOnce(&Module<'v>),
) -> Result<DataVars, LangError> {
    eval_module_vars(file, source, globals, setup, |vars| {
        let mut values = Vec::new();
        for (name, v, line) in vars {
            if matches!(v.get_type(), "function" | "Inventory") {
                continue;
            }
            let j = to_json(v).map_err(|e| {
                LangError::new(ErrorKind::Invalid, format!("`{name}`: {e}")).at(Location {
                    file: file.to_string(),
                    line: line.min(source.lines().count().max(1)),
                    column: 1,
                })
            })?;
            values.push((name, (j, line)));
        }
        Ok(DataVars { values })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_lines_are_the_first_top_level_ones() {
        let src = "web = [\"a\"]\nif web == []:\n  db = 1\ndb = [\"b\"]\nweb = []\ncafé = 1\nport: int = 2\n";
        let lines = assignment_lines(src);
        assert_eq!(lines.get("web"), Some(&1));
        assert_eq!(
            lines.get("db"),
            Some(&4),
            "indented and `==` lines are not assignments"
        );
        assert_eq!(lines.get("café"), Some(&6));
        assert_eq!(lines.get("port"), None);
        assert_eq!(lines.len(), 3);
        // After a byte-order mark too.
        assert_eq!(assignment_lines("\u{feff}web = []\n").get("web"), Some(&1));
    }
}
