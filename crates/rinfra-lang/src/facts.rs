//! Facts in deploy code: `host.get_fact(File, path="/etc/x")`, fact names as values, and
//! user-defined facts (`fact(command=..., process=...)`).

use std::fmt;

use allocative::Allocative;
use serde_json::{Map, Value as Json};
use starlark::coerce::Coerce;
use starlark::environment::GlobalsBuilder;
use starlark::eval::Evaluator;
use starlark::starlark_complex_value;
use starlark::starlark_module;
use starlark::starlark_simple_value;
use starlark::values::dict::DictRef;
use starlark::values::list::AllocList;
use starlark::values::none::NoneType;
use starlark::values::{
    starlark_value, Freeze, NoSerialize, ProvidesStaticType, StarlarkValue, Trace, Value, ValueLike,
};

use crate::context::state;
use crate::convert::to_json;
use crate::error::{native_error, native_error_hint};

/// Loads facts for the host being evaluated. Evaluation is synchronous: the engine implements
/// this by blocking on the host's connection (facts are cached per host).
///
/// `fact` is pyinfra's name (`server.LinuxName`, `files.File`); `args` are keyword arguments,
/// positional ones already mapped to the fact's parameter names. User-defined facts in deploy
/// code are loaded as `server.Command` with `{"command": "..."}` (its stdout, as a string).
pub trait FactProvider: Send + Sync {
    /// The fact's JSON value, or a message saying why it could not be loaded.
    fn get_fact(&self, fact: &str, args: Map<String, Json>) -> Result<Json, String>;
}

/// A fact provider that fails every call: for evaluating files where facts make no sense
/// (inventory, group_data, config) and for tests.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoFacts;

impl FactProvider for NoFacts {
    fn get_fact(&self, fact: &str, _args: Map<String, Json>) -> Result<Json, String> {
        Err(format!("facts are not available here (asked for `{fact}`)"))
    }
}

/// A fact class as deploy code sees it (`LinuxName`, `files.File`).
#[derive(Debug, ProvidesStaticType, NoSerialize, Allocative)]
pub(crate) struct FactRef {
    pub(crate) name: String,
}
starlark_simple_value!(FactRef);

impl fmt::Display for FactRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<fact {}>", self.name)
    }
}

#[starlark_value(type = "fact")]
impl<'v> StarlarkValue<'v> for FactRef {}

/// A fact defined in deploy code: `fact(command="cat /etc/x", process=lambda lines: ...)`.
#[derive(Debug, Trace, Coerce, ProvidesStaticType, NoSerialize, Allocative, Freeze)]
#[repr(C)]
pub(crate) struct UserFactGen<V: starlark::values::ValueLifetimeless> {
    pub(crate) name: String,
    /// A string, or a function of the fact's arguments returning a string.
    pub(crate) command: V,
    /// `None`, or a function of the output lines.
    pub(crate) process: V,
}
starlark_complex_value!(pub(crate) UserFact);

impl<V: starlark::values::ValueLifetimeless> fmt::Display for UserFactGen<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<fact {}>", self.name)
    }
}

#[starlark_value(type = "user_fact")]
impl<'v, V: ValueLike<'v>> StarlarkValue<'v> for UserFactGen<V> where Self: ProvidesStaticType<'v> {}

/// Load `fact` (a [`FactRef`] or [`UserFact`]) with positional and keyword arguments.
pub(crate) fn get_fact<'v>(
    fact: Value<'v>,
    positional: &[Value<'v>],
    kwargs: Option<DictRef<'v>>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    if let Some(user) = UserFact::from_value(fact) {
        return get_user_fact(user, positional, kwargs, eval);
    }
    let Some(fact_ref) = fact.downcast_ref::<FactRef>() else {
        return Err(native_error_hint(
            &format!("`{}` is not a fact", fact.to_repr()),
            "pass a fact class, e.g. `host.get_fact(LinuxName)` or `host.get_fact(File, path=\"/etc/hosts\")`",
        ));
    };
    let st = state(eval)?;
    let registered = st
        .facts
        .get(&fact_ref.name)
        .map_err(|e| native_error(e.to_string()))?;
    let mut pos = Vec::new();
    for v in positional {
        pos.push(
            to_json(*v)
                .map_err(|e| native_error(format!("argument of `{}`: {e}", fact_ref.name)))?,
        );
    }
    let mut kw = Map::new();
    if let Some(kwargs) = kwargs {
        for (k, v) in kwargs.iter() {
            let k = k.unpack_str().unwrap_or_default().to_string();
            let v = to_json(v)
                .map_err(|e| native_error(format!("argument `{k}` of `{}`: {e}", fact_ref.name)))?;
            kw.insert(k, v);
        }
    }
    let args = rinfra_core::bind_fact_args(registered.as_ref(), &pos, &kw)
        .map_err(|e| native_error(e.to_string()))?;
    let value = st.load_fact(&fact_ref.name, args).map_err(|e| {
        native_error(format!(
            "[{}] could not load fact `{}`: {e}",
            st.host_name, fact_ref.name
        ))
    })?;
    Ok(eval.heap().alloc(value))
}

fn get_user_fact<'v>(
    fact: &UserFact<'v>,
    positional: &[Value<'v>],
    kwargs: Option<DictRef<'v>>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    let command = if let Some(s) = fact.command.unpack_str() {
        if !positional.is_empty() || kwargs.as_ref().is_some_and(|k| !k.is_empty()) {
            return Err(native_error_hint(
                &format!("fact `{}` takes no arguments", fact.name),
                "make `command` a function of the arguments: `fact(command=lambda path: \"cat \" + path)`",
            ));
        }
        s.to_string()
    } else {
        let named: Vec<(String, Value<'v>)> = kwargs
            .map(|k| {
                k.iter()
                    .map(|(k, v)| (k.unpack_str().unwrap_or_default().to_string(), v))
                    .collect()
            })
            .unwrap_or_default();
        let named_ref: Vec<(&str, Value<'v>)> =
            named.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let out = eval.eval_function(fact.command, positional, &named_ref)?;
        match out.unpack_str() {
            Some(s) => s.to_string(),
            None => {
                return Err(native_error(format!(
                    "the `command` of fact `{}` must return a string, got `{}`",
                    fact.name,
                    out.get_type()
                )))
            }
        }
    };
    let st = state(eval)?;
    let mut args = Map::new();
    args.insert("command".into(), Json::String(command));
    let output = st.load_fact("server.Command", args).map_err(|e| {
        native_error(format!(
            "[{}] could not load fact `{}`: {e}",
            st.host_name, fact.name
        ))
    })?;
    if fact.process.is_none() {
        return Ok(eval.heap().alloc(output));
    }
    let text = match &output {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    };
    let lines: Vec<Value<'v>> = text
        .lines()
        .map(|l| eval.heap().alloc_str(l).to_value())
        .collect();
    let lines = eval.heap().alloc(AllocList(lines));
    eval.eval_function(fact.process, &[lines], &[])
}

#[starlark_module]
pub(crate) fn fact_globals(builder: &mut GlobalsBuilder) {
    /// Define a fact in deploy code (pyinfra's `FactBase` subclass):
    /// `fact(name="app_version", command="cat /srv/app/VERSION", process=lambda lines: lines[0])`.
    /// `command` may be a function of the arguments given to `host.get_fact`.
    fn fact<'v>(
        #[starlark(require = named)] command: Value<'v>,
        #[starlark(require = named, default = NoneType)] process: Value<'v>,
        #[starlark(require = named, default = "")] name: &str,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        if command.unpack_str().is_none() && command.get_type() != "function" {
            return Err(native_error("`command` must be a string or a function"));
        }
        let name = if name.is_empty() {
            command.unpack_str().unwrap_or("user fact").to_string()
        } else {
            name.to_string()
        };
        Ok(eval.heap().alloc(UserFact {
            name,
            command,
            process,
        }))
    }
}
