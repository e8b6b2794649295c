//! Operations in deploy code: `files.put(src=..., dest=..., _sudo=True)` records an [`OpCall`]
//! and returns an operation result whose `did_change`/`did_not_change`/`did_succeed`/
//! `did_error` become `_if=` conditions.

use std::fmt;
use std::sync::Arc;

use allocative::Allocative;
use rinfra_core::{
    is_global_argument, Condition, ConditionKind, GlobalArguments, OpCall, Operation,
};
use serde_json::{Map, Value as Json};
use starlark::environment::GlobalsBuilder;
use starlark::eval::{Arguments, Evaluator};
use starlark::starlark_module;
use starlark::starlark_simple_value;
use starlark::values::tuple::UnpackTuple;
use starlark::values::{
    starlark_value, Heap, NoSerialize, ProvidesStaticType, StarlarkValue, Value, ValueLike,
};

use crate::context::state;
use crate::convert::to_json;
use crate::error::{native_error, native_error_hint};

/// An operation function, `files.put`.
#[derive(ProvidesStaticType, NoSerialize, Allocative)]
pub(crate) struct OpFunction {
    #[allocative(skip)]
    pub(crate) op: Arc<dyn Operation>,
}
starlark_simple_value!(OpFunction);

impl fmt::Debug for OpFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OpFunction({})", self.op.name())
    }
}

impl fmt::Display for OpFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<operation {}>", self.op.name())
    }
}

#[starlark_value(type = "operation")]
impl<'v> StarlarkValue<'v> for OpFunction {
    fn invoke(
        &self,
        _me: Value<'v>,
        args: &Arguments<'v, '_>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let op = self.op.as_ref();
        let heap = eval.heap();
        let positional: Vec<Value<'v>> = args.positions(heap)?.collect();
        let named: Vec<(String, Value<'v>)> = args
            .names_map()?
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), *v))
            .collect();
        let (globals, named) = split_global_args(&named, eval)?;
        let op_args = bind_op_args(op, &positional, &named)?;
        record_call(eval, op.name(), op_args, globals)
    }
}

/// Map positional and keyword arguments onto the operation's parameters, rejecting unknown
/// and missing ones with the valid names.
fn bind_op_args<'v>(
    op: &dyn Operation,
    positional: &[Value<'v>],
    named: &[(String, Value<'v>)],
) -> starlark::Result<Map<String, Json>> {
    let params: Vec<&rinfra_core::Param> = op.params().iter().collect();
    let valid: Vec<&str> = op.params().iter().map(|p| p.name).collect();
    let mut out = Map::new();
    if positional.len() > params.len() {
        return Err(native_error_hint(
            &format!(
                "`{}` takes at most {} positional argument(s), {} given",
                op.name(),
                params.len(),
                positional.len()
            ),
            &format!("arguments of `{}`: {}", op.name(), valid.join(", ")),
        ));
    }
    for (p, v) in params.iter().zip(positional) {
        let j = to_json(*v)
            .map_err(|e| native_error(format!("argument `{}` of `{}`: {e}", p.name, op.name())))?;
        out.insert(p.name.to_string(), j);
    }
    // An operation taking arbitrary keyword arguments (pyinfra's `files.template(**kwargs)`)
    // says so with `Operation::accepts_extra_kwargs`.
    let any_keyword = op.accepts_extra_kwargs();
    for (k, v) in named {
        if !valid.contains(&k.as_str()) && !any_keyword {
            let mut hint = format!("arguments of `{}`: {}", op.name(), valid.join(", "));
            let globals: Vec<&str> = rinfra_core::all_global_arguments().collect();
            let candidates = valid.iter().chain(globals.iter()).copied();
            if let Some(best) = did_you_mean(k, candidates) {
                hint = format!("did you mean `{best}`? {hint}");
            }
            hint.push_str("; plus the global arguments (`_sudo`, `_if`, `name`, ...)");
            return Err(native_error_hint(
                &format!("unknown argument `{k}` for operation `{}`", op.name()),
                &hint,
            ));
        }
        if out.contains_key(k) {
            return Err(native_error(format!(
                "argument `{k}` of `{}` given both by position and by name",
                op.name()
            )));
        }
        let j = to_json(*v)
            .map_err(|e| native_error(format!("argument `{k}` of `{}`: {e}", op.name())))?;
        out.insert(k.clone(), j);
    }
    for p in params.iter().filter(|p| p.required) {
        if !out.contains_key(p.name) {
            return Err(native_error_hint(
                &format!(
                    "missing required argument `{}` for operation `{}`",
                    p.name,
                    op.name()
                ),
                &format!("arguments of `{}`: {}", op.name(), valid.join(", ")),
            ));
        }
    }
    Ok(out)
}

/// The global arguments of one call (an operation, a `@deploy` function, `host.arguments`).
#[derive(Default)]
pub(crate) struct CallGlobals {
    /// As JSON (`_sudo`, `name`, `_retries`, ...).
    pub(crate) args: Map<String, Json>,
    /// `_if`.
    pub(crate) conditions: Vec<Condition>,
    /// `_retry_until`, called at execute time.
    pub(crate) retry_until: Option<Arc<crate::python_call::DeployCallable>>,
}

/// Split global arguments (`_sudo`, `name`, `_if`, ...) off keyword arguments, checking their
/// types. Returns the globals and the remaining arguments. Functions given to `_if` and
/// `_retry_until` are called at execute time (see `python_call.rs`).
#[allow(clippy::type_complexity)]
pub(crate) fn split_global_args<'v>(
    named: &[(String, Value<'v>)],
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<(CallGlobals, Vec<(String, Value<'v>)>)> {
    let mut out = CallGlobals::default();
    let mut rest = Vec::new();
    for (k, v) in named {
        if !is_global_argument(k) {
            if k.starts_with('_') {
                let globals: Vec<&str> = rinfra_core::all_global_arguments().collect();
                let hint = match did_you_mean(k, globals.iter().copied()) {
                    Some(best) => format!(
                        "did you mean `{best}`? global arguments: {}",
                        globals.join(", ")
                    ),
                    None => format!("global arguments: {}", globals.join(", ")),
                };
                return Err(native_error_hint(
                    &format!("unknown global argument `{k}`"),
                    &hint,
                ));
            }
            rest.push((k.clone(), *v));
            continue;
        }
        match k.as_str() {
            "_if" => out.conditions.extend(if_conditions(*v, eval)?),
            "_retry_until" => {
                if v.is_none() {
                    continue;
                }
                if !is_function(*v) {
                    return Err(native_error_hint(
                        &format!(
                            "`_retry_until` must be a function, got `{}`",
                            v.get_type()
                        ),
                        "write `_retry_until=lambda output: \"done\" not in output[\"stdout_lines\"]`",
                    ));
                }
                out.retry_until = crate::python_call::defer_callable(*v, eval)?;
            }
            _ => {
                let j =
                    to_json(*v).map_err(|e| native_error(format!("global argument `{k}`: {e}")))?;
                // Check the type now, so the error points at the call.
                GlobalArguments::default()
                    .set(k, &j)
                    .map_err(|e| native_error(e.to_string()))?;
                out.args.insert(k.clone(), j);
            }
        }
    }
    Ok((out, rest))
}

fn is_function(v: Value<'_>) -> bool {
    matches!(v.get_type(), "function" | "partial" | "native_function")
}

/// `_if=` of a call (or `host.when(...)`): functions (alone or in a list) are called at execute time; anything else
/// as [`to_conditions`].
pub(crate) fn if_conditions<'v>(
    v: Value<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Vec<Condition>> {
    let items: Vec<Value<'v>> = if matches!(v.get_type(), "list" | "tuple") {
        v.iterate(eval.heap())?.collect()
    } else {
        vec![v]
    };
    let mut out = Vec::new();
    for item in items {
        if is_function(item) {
            // `None` in a replay that is not about this callable: the calls are not used.
            if let Some(c) = crate::python_call::defer_callable(item, eval)? {
                out.push(Condition::Callable(c));
            }
        } else {
            out.extend(to_conditions(item, eval)?);
        }
    }
    Ok(out)
}

/// Turn a condition value into conditions now: a condition (`op.did_change`), a bool, a list
/// of those, or a function returning one of those (called now, with no arguments).
pub(crate) fn to_conditions<'v>(
    v: Value<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Vec<Condition>> {
    if v.is_none() {
        return Ok(Vec::new());
    }
    if let Some(c) = v.downcast_ref::<ConditionValue>() {
        return Ok(vec![c.condition.clone()]);
    }
    if let Some(b) = v.unpack_bool() {
        return Ok(vec![Condition::Constant(b)]);
    }
    if v.downcast_ref::<OpMeta>().is_some() {
        return Err(native_error_hint(
            "`_if` got an operation result, not a condition",
            "write `_if=op.did_change` (or `did_not_change`, `did_succeed`, `did_error`)",
        ));
    }
    if matches!(v.get_type(), "list" | "tuple") {
        let items: Vec<Value<'v>> = v.iterate(eval.heap())?.collect();
        let mut out = Vec::new();
        for item in items {
            out.extend(to_conditions(item, eval)?);
        }
        return Ok(out);
    }
    if v.get_type() == "function" {
        let r = eval.eval_function(v, &[], &[])?;
        return to_conditions(r, eval);
    }
    Err(native_error_hint(
        &format!(
            "`_if` must be a condition, a bool or a list of them, got `{}`",
            v.get_type()
        ),
        "write `_if=op.did_change`, `_if=any_changed(a, b)` or `_if=[a.did_change, b.did_succeed]`",
    ))
}

/// Record one operation call on the current host and return its result value.
pub(crate) fn record_call<'v>(
    eval: &mut Evaluator<'v, '_, '_>,
    op: &str,
    args: Map<String, Json>,
    globals: CallGlobals,
) -> starlark::Result<Value<'v>> {
    let stack = eval.call_stack();
    let st = state(eval)?;
    let mut order = st.order_prefix.borrow().clone();
    let mut location = None;
    for frame in &stack.frames {
        // The wrapper of decorated functions is called from the decorator line; leave it out
        // so the key and location are those of the user's call.
        if frame.name == "__rinfra_decorated" {
            continue;
        }
        if let Some(loc) = &frame.location {
            let line = loc.resolve_span().begin.line + 1;
            order.push(line as u64);
            location = Some(format!("{}:{line}", loc.filename()));
        }
    }
    order.extend(crate::context::lock(&st.loop_position).iter().copied());
    {
        // A second call with the same stack (a loop) gets the number of earlier ones appended,
        // as pyinfra does for duplicate operation hashes.
        let mut seen = st.seen_orders.borrow_mut();
        let count = seen.entry(order.clone()).or_insert(0);
        if *count > 0 {
            order.push(*count);
        }
        *count += 1;
    }
    let location = location.unwrap_or_else(|| st.current_file().display);
    let mut call = OpCall::new(op, args, order, location);
    call.global_args = globals.args;
    call.config_args = crate::config::config_to_global_args(&crate::context::lock(&st.config));
    for frame in crate::context::lock(&st.deploys).iter() {
        if let Some(name) = &frame.name {
            call.deploy_names.push(name.clone());
        }
        for (k, v) in &frame.args {
            call.deploy_args.insert(k.clone(), v.clone());
        }
        call.conditions.extend(frame.conditions.iter().cloned());
        if let Some(r) = &frame.retry_until {
            call.retry_until = Some(r.clone());
        }
    }
    call.conditions.extend(globals.conditions);
    if let Some(r) = globals.retry_until {
        call.retry_until = Some(r);
    }
    let mut calls = st.calls.borrow_mut();
    let call_index = calls.len();
    calls.push(call);
    Ok(eval.heap().alloc(OpMeta {
        call_index,
        op: op.to_string(),
    }))
}

/// `file:line` of the deploy code calling the native function being run (the innermost
/// frame with a location, leaving out the wrapper of decorated functions).
pub(crate) fn call_location(eval: &Evaluator<'_, '_, '_>) -> Option<String> {
    let stack = eval.call_stack();
    stack
        .frames
        .iter()
        .filter(|f| f.name != "__rinfra_decorated")
        .filter_map(|f| f.location.as_ref())
        .next_back()
        .map(|loc| {
            let line = loc.resolve_span().begin.line + 1;
            format!("{}:{line}", loc.filename())
        })
}

/// What an operation call returns (pyinfra's `OperationMeta`).
#[derive(Debug, ProvidesStaticType, NoSerialize, Allocative)]
pub(crate) struct OpMeta {
    pub(crate) call_index: usize,
    pub(crate) op: String,
}
starlark_simple_value!(OpMeta);

impl fmt::Display for OpMeta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<operation result {} #{}>", self.op, self.call_index)
    }
}

const CONDITION_ATTRS: &[(&str, ConditionKind)] = &[
    ("did_change", ConditionKind::DidChange),
    ("did_not_change", ConditionKind::DidNotChange),
    ("did_succeed", ConditionKind::DidSucceed),
    ("did_error", ConditionKind::DidError),
];

#[starlark_value(type = "OperationMeta")]
impl<'v> StarlarkValue<'v> for OpMeta {
    fn get_attr(&self, attribute: &str, heap: Heap<'v>) -> Option<Value<'v>> {
        let (_, kind) = CONDITION_ATTRS.iter().find(|(n, _)| *n == attribute)?;
        Some(heap.alloc(ConditionValue {
            condition: Condition::Op {
                call_index: self.call_index,
                kind: *kind,
            },
        }))
    }

    fn has_attr(&self, attribute: &str, _heap: Heap<'v>) -> bool {
        CONDITION_ATTRS.iter().any(|(n, _)| *n == attribute)
    }

    fn dir_attr(&self) -> Vec<String> {
        CONDITION_ATTRS.iter().map(|(n, _)| n.to_string()).collect()
    }
}

/// A condition checked at execute time; callable (`op.did_change()` is the same condition).
#[derive(Debug, ProvidesStaticType, NoSerialize, Allocative)]
pub(crate) struct ConditionValue {
    #[allocative(skip)]
    pub(crate) condition: Condition,
}
starlark_simple_value!(ConditionValue);

impl fmt::Display for ConditionValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<condition {:?}>", self.condition)
    }
}

#[starlark_value(type = "condition")]
impl<'v> StarlarkValue<'v> for ConditionValue {
    fn invoke(
        &self,
        me: Value<'v>,
        args: &Arguments<'v, '_>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        args.no_named_args()?;
        args.no_positional_args(eval.heap())?;
        // Inside an `_if`/`_retry_until` function at execute time: the real answer.
        if let Some(earlier) = state(eval).ok().and_then(|st| st.python.earlier()) {
            return Ok(Value::new_bool(earlier.check(&self.condition)));
        }
        Ok(me)
    }
}

fn metas_to_conditions<'v>(
    ops: &[Value<'v>],
    kind: ConditionKind,
    what: &str,
) -> starlark::Result<Vec<Condition>> {
    ops.iter()
        .map(|v| match v.downcast_ref::<OpMeta>() {
            Some(m) => Ok(Condition::Op {
                call_index: m.call_index,
                kind,
            }),
            None => match v.downcast_ref::<ConditionValue>() {
                Some(c) => Ok(c.condition.clone()),
                None => Err(native_error(format!(
                    "`{what}` takes operation results, got `{}`",
                    v.get_type()
                ))),
            },
        })
        .collect()
}

#[starlark_module]
pub(crate) fn condition_globals(builder: &mut GlobalsBuilder) {
    /// `any_changed(op1, op2, ...)`: true at execute time when any of the operations changed
    /// the host (pyinfra's `pyinfra.operations.util.any_changed`).
    fn any_changed<'v>(
        #[starlark(args)] ops: UnpackTuple<Value<'v>>,
        heap: Heap<'v>,
    ) -> starlark::Result<Value<'v>> {
        let conds = metas_to_conditions(&ops.items, ConditionKind::DidChange, "any_changed")?;
        Ok(heap.alloc(ConditionValue {
            condition: Condition::Any(conds),
        }))
    }

    /// `all_changed(op1, op2, ...)`: true when all of the operations changed the host.
    fn all_changed<'v>(
        #[starlark(args)] ops: UnpackTuple<Value<'v>>,
        heap: Heap<'v>,
    ) -> starlark::Result<Value<'v>> {
        let conds = metas_to_conditions(&ops.items, ConditionKind::DidChange, "all_changed")?;
        Ok(heap.alloc(ConditionValue {
            condition: Condition::All(conds),
        }))
    }
}

/// The closest candidate within a small edit distance.
pub fn did_you_mean<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = edit_distance(word, c);
        let limit = (word.len().max(c.len()) / 3).max(1);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Optimal string alignment distance (an adjacent transposition costs 1).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("sudo", ["_sudo", "src"].into_iter()),
            Some("_sudo")
        );
        assert_eq!(
            did_you_mean("dset", ["src", "dest"].into_iter()),
            Some("dest")
        );
        assert_eq!(did_you_mean("zzzzzz", ["src", "dest"].into_iter()), None);
    }
}
