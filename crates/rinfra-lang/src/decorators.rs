//! `@deploy("Name")` functions and user-defined `@operation()`s.
//!
//! The compatibility pass turns
//!
//! ```python
//! @deploy("Install app", data_defaults={"version": "1"})
//! def install_app(): ...
//! ```
//!
//! into `install_app = lambda *a, **k: __rinfra_decorated(deploy("Install app", ...),
//! "install_app", __rinfra_install_app, a, k)` and renames the `def`; `__rinfra_decorated` then
//! does what pyinfra's wrappers do.

use std::fmt;

use allocative::Allocative;
use serde_json::{Map, Value as Json};
use starlark::environment::GlobalsBuilder;
use starlark::eval::Evaluator;
use starlark::starlark_module;
use starlark::starlark_simple_value;
use starlark::values::dict::DictRef;
use starlark::values::none::NoneType;
use starlark::values::tuple::UnpackTuple;
use starlark::values::{
    starlark_value, NoSerialize, ProvidesStaticType, StarlarkValue, Value, ValueLike,
};

use crate::context::{lock, state, DeployFrame};
use crate::convert::to_json;
use crate::error::{native_error, native_error_hint};
use crate::operations::{record_call, split_global_args};

/// The value of `deploy("Name", data_defaults=...)`.
#[derive(Debug, ProvidesStaticType, NoSerialize, Allocative)]
pub(crate) struct DeployDecorator {
    name: Option<String>,
    #[allocative(skip)]
    data_defaults: Option<Map<String, Json>>,
}
starlark_simple_value!(DeployDecorator);

impl fmt::Display for DeployDecorator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<deploy {}>", self.name.as_deref().unwrap_or(""))
    }
}

#[starlark_value(type = "deploy")]
impl<'v> StarlarkValue<'v> for DeployDecorator {}

/// The value of `operation(...)`.
#[derive(Debug, ProvidesStaticType, NoSerialize, Allocative)]
pub(crate) struct OperationDecorator;
starlark_simple_value!(OperationDecorator);

impl fmt::Display for OperationDecorator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<operation decorator>")
    }
}

#[starlark_value(type = "operation_decorator")]
impl<'v> StarlarkValue<'v> for OperationDecorator {}

/// The op that runs the commands of a user-defined operation.
pub(crate) const USER_OP_RUNNER: &str = "server.shell";

#[starlark_module]
pub(crate) fn decorator_globals(builder: &mut GlobalsBuilder) {
    /// `@deploy("Name", data_defaults={...})`: group the operations a function calls under a
    /// name; global arguments given when calling it apply to all of them.
    fn deploy<'v>(
        #[starlark(require = pos, default = NoneType)] name: Value<'v>,
        #[starlark(require = named, default = NoneType)] data_defaults: Value<'v>,
    ) -> starlark::Result<DeployDecorator> {
        let name = if name.is_none() {
            None
        } else {
            Some(
                name.unpack_str()
                    .ok_or_else(|| native_error("`deploy` takes the deploy's name, a string"))?
                    .to_string(),
            )
        };
        let data_defaults = if data_defaults.is_none() {
            None
        } else {
            match to_json(data_defaults).map_err(|e| native_error(format!("data_defaults: {e}")))? {
                Json::Object(m) => Some(m),
                _ => return Err(native_error("`data_defaults` must be a dict")),
            }
        };
        Ok(DeployDecorator {
            name,
            data_defaults,
        })
    }

    /// `@operation()`: a user-defined operation; the function yields (or returns a list of)
    /// shell commands.
    fn operation(#[starlark(kwargs)] _kwargs: DictRef) -> starlark::Result<OperationDecorator> {
        Ok(OperationDecorator)
    }

    /// Called by the code the compatibility pass writes for decorated functions.
    fn __rinfra_decorated<'v>(
        #[starlark(require = pos)] decorator: Value<'v>,
        #[starlark(require = pos)] fname: &str,
        #[starlark(require = pos)] func: Value<'v>,
        #[starlark(require = pos)] args: UnpackTuple<Value<'v>>,
        #[starlark(require = pos)] kwargs: DictRef<'v>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let named: Vec<(String, Value<'v>)> = kwargs
            .iter()
            .map(|(k, v)| (k.unpack_str().unwrap_or_default().to_string(), v))
            .collect();
        drop(kwargs);
        let (globals, rest) = split_global_args(&named, eval)?;
        let rest_ref: Vec<(&str, Value<'v>)> = rest.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        if let Some(d) = decorator.downcast_ref::<DeployDecorator>() {
            {
                let st = state(eval)?;
                lock(&st.deploys).push(DeployFrame {
                    name: Some(d.name.clone().unwrap_or_else(|| fname.to_string())),
                    args: globals.args,
                    conditions: globals.conditions,
                    retry_until: globals.retry_until,
                });
                lock(&st.data.deploy_data).push(d.data_defaults.clone());
            }
            let result = eval.eval_function(func, &args.items, &rest_ref);
            let st = state(eval)?;
            lock(&st.deploys).pop();
            lock(&st.data.deploy_data).pop();
            return result;
        }
        if decorator.downcast_ref::<OperationDecorator>().is_some() {
            state(eval)?.yields.borrow_mut().push(Vec::new());
            let result = eval.eval_function(func, &args.items, &rest_ref);
            let mut commands = state(eval)?.yields.borrow_mut().pop().unwrap_or_default();
            let result = result?;
            if !result.is_none() {
                let items: Vec<Value<'v>> = if result.unpack_str().is_some() {
                    vec![result]
                } else {
                    result.iterate(eval.heap())
                        .map_err(|_| native_error(format!(
                            "operation `{fname}` must yield or return shell commands (strings), it returned `{}`",
                            result.get_type()
                        )))?
                        .collect()
                };
                for item in items {
                    commands.push(command_json(fname, item)?);
                }
            }
            let mut globals = globals;
            globals
                .args
                .entry("name")
                .or_insert_with(|| Json::String(fname.to_string()));
            let mut op_args = Map::new();
            op_args.insert("commands".into(), Json::Array(commands));
            check_runner(eval)?;
            return record_call(eval, USER_OP_RUNNER, op_args, globals);
        }
        Err(native_error(format!(
            "`{}` is not a decorator",
            decorator.get_type()
        )))
    }

    /// `yield cmd` inside an `@operation()` function (written by the compatibility pass).
    fn __Y__<'v>(
        #[starlark(require = pos)] command: Value<'v>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<NoneType> {
        let c = command_json("operation", command)?;
        let st = state(eval)?;
        let mut y = st.yields.borrow_mut();
        match y.last_mut() {
            Some(list) => list.push(c),
            None => return Err(native_error("`yield` outside an `@operation()` function")),
        }
        Ok(NoneType)
    }
}

fn command_json(fname: &str, v: Value<'_>) -> starlark::Result<Json> {
    match v.unpack_str() {
        Some(s) => Ok(Json::String(s.trim().to_string())),
        None => Err(native_error_hint(
            &format!(
                "operation `{fname}` yielded a `{}`; user operations yield shell commands (strings)",
                v.get_type()
            ),
            "call other operations directly from deploy code instead of yielding them",
        )),
    }
}

fn check_runner(eval: &Evaluator<'_, '_, '_>) -> starlark::Result<()> {
    let st = state(eval)?;
    if st.ops.get(USER_OP_RUNNER).is_none() {
        return Err(native_error(format!(
            "user-defined operations need the `{USER_OP_RUNNER}` operation, which is not registered"
        )));
    }
    Ok(())
}
