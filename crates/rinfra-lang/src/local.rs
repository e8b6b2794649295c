//! `local.include(...)` and `local.read_file(...)`.

use std::path::Path;

use serde_json::Value as Json;
use starlark::environment::GlobalsBuilder;
use starlark::eval::Evaluator;
use starlark::starlark_module;
use starlark::values::none::NoneType;
use starlark::values::tuple::UnpackTuple;
use starlark::values::Value;

use crate::context::{lock, state, DeployFrame, FileFrame};
use crate::convert::to_json;
use crate::deploy::{eval_file, LoadedFile};
use crate::error::{native_error, native_error_hint};

const MAX_INCLUDE_DEPTH: usize = 32;

#[starlark_module]
pub(crate) fn local_module(builder: &mut GlobalsBuilder) {
    /// Run another deploy file for this host (`local.include("tasks/app.py", data={...})`).
    /// `data` is visible as `host.data` inside it, below all inventory data.
    fn include<'v>(
        #[starlark(require = pos)] filename: &str,
        #[starlark(default = NoneType)] data: Value<'v>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<NoneType> {
        let data = if data.is_none() {
            None
        } else {
            match to_json(data).map_err(|e| native_error(format!("local.include data: {e}")))? {
                Json::Object(m) => Some(m),
                _ => return Err(native_error("`data` of `local.include` must be a dict")),
            }
        };
        let stack = eval.call_stack();
        let st = state(eval)?;
        if *st.include_depth.borrow() >= MAX_INCLUDE_DEPTH {
            return Err(native_error(format!(
                "`local.include` nested more than {MAX_INCLUDE_DEPTH} deep (does a file include itself?)"
            )));
        }
        let path = st.local_path(filename);
        let display = display_path(&path, &st.cwd);
        let file = match LoadedFile::load(&path, &display) {
            Ok(f) => f,
            Err(e) if e.location().is_some() => {
                let message = e.to_string();
                st.inner_error.borrow_mut().get_or_insert(e);
                return Err(native_error(format!("in included file: {message}")));
            }
            Err(e) => return Err(native_error(format!("local.include: {e}"))),
        };
        // Order prefix of the included file: this file's prefix plus the lines that led here.
        let mut prefix = st.order_prefix.borrow().clone();
        for frame in &stack.frames {
            if frame.name == "__rinfra_decorated" {
                continue;
            }
            if let Some(loc) = &frame.location {
                prefix.push((loc.resolve_span().begin.line + 1) as u64);
            }
        }
        let old_prefix = st.order_prefix.replace(prefix);
        let old_config = lock(&st.config).clone();
        st.files.borrow_mut().push(FileFrame {
            path: path.clone(),
            display: display.clone(),
        });
        // pyinfra names operations of included files `<file> | <op>`.
        lock(&st.deploys).push(DeployFrame {
            name: Some(display.clone()),
            ..Default::default()
        });
        lock(&st.data.deploy_data).push(data);
        *st.include_depth.borrow_mut() += 1;

        let result = eval_file(st, &file);

        *st.include_depth.borrow_mut() -= 1;
        lock(&st.data.deploy_data).pop();
        lock(&st.deploys).pop();
        st.files.borrow_mut().pop();
        st.order_prefix.replace(old_prefix);
        // pyinfra resets config changes made by an included file.
        *lock(&st.config) = old_config;
        if let Err(e) = result {
            let message = e.to_string();
            st.inner_error.borrow_mut().get_or_insert(e);
            return Err(native_error(format!("in included file: {message}")));
        }
        Ok(NoneType)
    }

    /// The text of a local file, relative to the deploy directory (or, failing that, to the
    /// current file): the read-only stand-in for `open(path).read()`.
    fn read_file(
        #[starlark(require = pos)] path: &str,
        eval: &mut Evaluator<'_, '_, '_>,
    ) -> starlark::Result<String> {
        let st = state(eval)?;
        let p = st.local_path(path);
        std::fs::read_to_string(&p)
            .map_err(|e| native_error(format!("could not read `{}`: {e}", p.display())))
    }

    /// Not supported: deploy code does not run local commands.
    fn shell(#[starlark(args)] _args: UnpackTuple<Value>) -> starlark::Result<NoneType> {
        Err(native_error_hint(
            "`local.shell` is not supported in deploy files",
            "run the command before rinfra and pass its output with `--data`, or read a file with `local.read_file`",
        ))
    }
}

/// `path` relative to `cwd` when it is inside it.
pub(crate) fn display_path(path: &Path, cwd: &Path) -> String {
    path.strip_prefix(cwd)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.display().to_string())
}
