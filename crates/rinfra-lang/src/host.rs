//! `host` in deploy code: `host.name`, `host.groups`, `host.data.x`, `host.data.get("x", d)`,
//! `host.get_fact(Fact, ...)`, `host.loop(items)`, `host.noop(reason)`.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use allocative::Allocative;
use starlark::coerce::Coerce;
use starlark::environment::{Methods, MethodsBuilder, MethodsStatic};
use starlark::eval::Evaluator;
use starlark::starlark_complex_value;
use starlark::starlark_module;
use starlark::starlark_simple_value;
use starlark::values::dict::DictRef;
use starlark::values::list::AllocList;
use starlark::values::none::NoneType;
use starlark::values::tuple::UnpackTuple;
use starlark::values::{
    starlark_value, Freeze, FreezeResult, Freezer, Heap, NoSerialize, ProvidesStaticType,
    StarlarkValue, Trace, Tracer, Value, ValueLifetimeless, ValueLike,
};

use crate::context::{lock, state, DeployFrame, HostDataLayers};
use crate::convert::to_json;
use crate::error::native_error;
use crate::facts::get_fact;
use crate::operations::{if_conditions, split_global_args};

/// The `host` object of one evaluation.
#[derive(Debug, ProvidesStaticType, NoSerialize, Allocative)]
pub(crate) struct HostValue {
    pub(crate) name: String,
    pub(crate) groups: Vec<String>,
    #[allocative(skip)]
    pub(crate) data: Arc<HostDataLayers>,
}
starlark_simple_value!(HostValue);

impl fmt::Display for HostValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[starlark_value(type = "Host")]
impl<'v> StarlarkValue<'v> for HostValue {
    fn get_methods() -> Option<&'static Methods> {
        static RES: MethodsStatic = MethodsStatic::new("host_methods", host_methods);
        Some(RES.methods())
    }

    fn get_attr(&self, attribute: &str, heap: Heap<'v>) -> Option<Value<'v>> {
        match attribute {
            "name" => Some(heap.alloc_str(&self.name).to_value()),
            "groups" => Some(heap.alloc(AllocList(
                self.groups.iter().map(|g| heap.alloc_str(g).to_value()),
            ))),
            "data" => Some(heap.alloc(HostDataValue {
                host: self.name.clone(),
                data: self.data.clone(),
            })),
            _ => None,
        }
    }

    fn has_attr(&self, attribute: &str, _heap: Heap<'v>) -> bool {
        matches!(attribute, "name" | "groups" | "data")
    }

    fn dir_attr(&self) -> Vec<String> {
        vec!["name".into(), "groups".into(), "data".into()]
    }
}

#[starlark_module]
fn host_methods(builder: &mut MethodsBuilder) {
    /// Load a fact for this host: `host.get_fact(File, path="/etc/hosts")`. Facts are read
    /// before any operation runs (as pyinfra); use `_if=` for execute-time conditions.
    fn get_fact<'v>(
        #[starlark(this)] _this: &HostValue,
        #[starlark(require = pos)] fact: Value<'v>,
        #[starlark(args)] args: UnpackTuple<Value<'v>>,
        #[starlark(kwargs)] kwargs: DictRef<'v>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        get_fact(fact, &args.items, Some(kwargs), eval)
    }

    /// `for x in host.loop(items):` the items, with the loop position added to the order key of
    /// the operations called in the loop body (pyinfra's `host.loop`), so that hosts taking
    /// different branches inside loops still agree on the order.
    fn r#loop<'v>(
        #[starlark(this)] _this: &HostValue,
        #[starlark(require = pos)] items: Value<'v>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let heap = eval.heap();
        let items: Vec<Value<'v>> = items.iterate(heap)?.collect();
        let positions = state(eval)?.loop_position.clone();
        Ok(heap.alloc(HostLoop {
            items,
            shared: LoopShared {
                positions,
                pushed: Arc::new(AtomicBool::new(false)),
            },
        }))
    }

    /// `with host.when(condition):` (rewritten to a one-pass `for`): the block's operations
    /// get `_if=condition` (pyinfra's `host.deploy("", {"_if": [condition]})`): a function is
    /// called at execute time, before each of them.
    fn when<'v>(
        #[starlark(this)] _this: &HostValue,
        #[starlark(require = pos)] condition: Value<'v>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<WithContext> {
        let conditions = if_conditions(condition, eval)?;
        with_context(
            eval,
            DeployFrame {
                conditions,
                ..Default::default()
            },
        )
    }

    /// `with host.arguments(_sudo=True, ...):`: global arguments for the block's operations.
    fn arguments<'v>(
        #[starlark(this)] _this: &HostValue,
        #[starlark(kwargs)] kwargs: DictRef<'v>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<WithContext> {
        let named: Vec<(String, Value<'v>)> = kwargs
            .iter()
            .map(|(k, v)| (k.unpack_str().unwrap_or_default().to_string(), v))
            .collect();
        let (globals, rest) = split_global_args(&named, eval)?;
        if let Some((k, _)) = rest.first() {
            return Err(native_error(format!(
                "`host.arguments` takes global arguments only, got `{k}`"
            )));
        }
        with_context(
            eval,
            DeployFrame {
                name: None,
                args: globals.args,
                conditions: globals.conditions,
                retry_until: globals.retry_until,
            },
        )
    }

    /// `host.run_shell_command(cmd)` inside a `python.call` function: `(ok, output)`.
    fn run_shell_command<'v>(
        #[starlark(this)] _this: &HostValue,
        #[starlark(require = pos)] command: &str,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        crate::python_call::run_shell_command(command, eval)
    }

    /// `host.noop(reason)`: accepted and ignored outside operations.
    fn noop<'v>(
        #[starlark(this)] _this: &HostValue,
        #[starlark(require = pos)] _reason: &str,
    ) -> starlark::Result<NoneType> {
        Ok(NoneType)
    }
}

fn with_context(eval: &Evaluator<'_, '_, '_>, frame: DeployFrame) -> starlark::Result<WithContext> {
    Ok(WithContext {
        frame,
        stack: state(eval)?.deploys.clone(),
        pushed: AtomicBool::new(false),
    })
}

/// The value of `host.when(...)`/`host.arguments(...)`. The compatibility pass turns
/// `with X:` into `for _ in X:`; iterating pushes the context for the one pass through the
/// block and `iter_stop` (called exactly once, also on `break`/`return`) pops it.
#[derive(Debug, ProvidesStaticType, NoSerialize, Allocative)]
pub(crate) struct WithContext {
    #[allocative(skip)]
    frame: DeployFrame,
    #[allocative(skip)]
    stack: Arc<Mutex<Vec<DeployFrame>>>,
    #[allocative(skip)]
    pushed: AtomicBool,
}
starlark_simple_value!(WithContext);

impl fmt::Display for WithContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<host context>")
    }
}

#[starlark_value(type = "HostContext")]
impl<'v> StarlarkValue<'v> for WithContext {
    unsafe fn iterate(&self, me: Value<'v>, _heap: Heap<'v>) -> starlark::Result<Value<'v>> {
        Ok(me)
    }

    unsafe fn iter_next(&self, index: usize, _heap: Heap<'v>) -> Option<Value<'v>> {
        if index == 0 && !self.pushed.swap(true, Ordering::SeqCst) {
            lock(&self.stack).push(self.frame.clone());
            Some(Value::new_none())
        } else {
            None
        }
    }

    unsafe fn iter_stop(&self) {
        if self.pushed.swap(false, Ordering::SeqCst) {
            lock(&self.stack).pop();
        }
    }
}

/// What a [`HostLoop`] shares with the evaluation: the loop position stack.
#[derive(Debug, Clone, Allocative)]
pub(crate) struct LoopShared {
    #[allocative(skip)]
    positions: Arc<Mutex<Vec<u64>>>,
    #[allocative(skip)]
    pushed: Arc<AtomicBool>,
}

// SAFETY: `LoopShared` holds no Starlark values.
unsafe impl Coerce<LoopShared> for LoopShared {}

// SAFETY: `LoopShared` holds no Starlark values.
unsafe impl<'v> Trace<'v> for LoopShared {
    fn trace(&mut self, _tracer: &Tracer<'v>) {}
}

impl Freeze for LoopShared {
    type Frozen = Self;
    fn freeze(self, _freezer: &Freezer) -> FreezeResult<Self> {
        Ok(self)
    }
}

/// The value of `host.loop(items)`: iterating it pushes a loop position, sets it to each
/// item's index and pops it when the loop ends (`iter_stop` is called exactly once).
#[derive(Debug, Trace, Coerce, ProvidesStaticType, NoSerialize, Allocative, Freeze)]
#[repr(C)]
pub(crate) struct HostLoopGen<V: ValueLifetimeless> {
    items: Vec<V>,
    shared: LoopShared,
}
starlark_complex_value!(pub(crate) HostLoop);

impl<V: ValueLifetimeless> fmt::Display for HostLoopGen<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<host.loop of {} items>", self.items.len())
    }
}

#[starlark_value(type = "HostLoop")]
impl<'v, V: ValueLike<'v>> StarlarkValue<'v> for HostLoopGen<V>
where
    Self: ProvidesStaticType<'v>,
{
    unsafe fn iterate(&self, me: Value<'v>, _heap: Heap<'v>) -> starlark::Result<Value<'v>> {
        Ok(me)
    }

    unsafe fn iter_next(&self, index: usize, _heap: Heap<'v>) -> Option<Value<'v>> {
        let item = self.items.get(index)?.to_value();
        let mut positions = lock(&self.shared.positions);
        if index == 0 && !self.shared.pushed.swap(true, Ordering::SeqCst) {
            positions.push(0);
        } else if let Some(last) = positions.last_mut() {
            *last = index as u64;
        }
        Some(item)
    }

    unsafe fn iter_stop(&self) {
        if self.shared.pushed.swap(false, Ordering::SeqCst) {
            lock(&self.shared.positions).pop();
        }
    }

    fn length(&self) -> starlark::Result<i32> {
        Ok(self.items.len() as i32)
    }
}

/// `host.data`: attribute access to the host's data, pyinfra's `HostData`.
#[derive(Debug, ProvidesStaticType, NoSerialize, Allocative)]
pub(crate) struct HostDataValue {
    pub(crate) host: String,
    #[allocative(skip)]
    pub(crate) data: Arc<HostDataLayers>,
}
starlark_simple_value!(HostDataValue);

impl fmt::Display for HostDataValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<data of host {}>", self.host)
    }
}

/// The Starlark type name of `host.data`; errors about missing attributes of this type are
/// reworded to name the key and the host (see [`crate::deploy`]).
pub(crate) const HOST_DATA_TYPE: &str = "HostData";

#[starlark_value(type = "HostData")]
impl<'v> StarlarkValue<'v> for HostDataValue {
    fn get_methods() -> Option<&'static Methods> {
        static RES: MethodsStatic = MethodsStatic::new("host_data_methods", host_data_methods);
        Some(RES.methods())
    }

    fn get_attr(&self, attribute: &str, heap: Heap<'v>) -> Option<Value<'v>> {
        self.data.get(attribute).map(|v| heap.alloc(v))
    }

    fn has_attr(&self, attribute: &str, _heap: Heap<'v>) -> bool {
        self.data.get(attribute).is_some()
    }

    fn dir_attr(&self) -> Vec<String> {
        self.data.keys()
    }

    fn set_attr(&self, attribute: &str, new_value: Value<'v>) -> starlark::Result<()> {
        let v =
            to_json(new_value).map_err(|e| native_error(format!("host.data.{attribute}: {e}")))?;
        lock(&self.data.overrides).insert(attribute.to_string(), v);
        Ok(())
    }

    fn is_in(&self, other: Value<'v>) -> starlark::Result<bool> {
        Ok(other
            .unpack_str()
            .is_some_and(|k| self.data.get(k).is_some()))
    }
}

#[starlark_module]
fn host_data_methods(builder: &mut MethodsBuilder) {
    /// `host.data.get("key", default)`.
    fn get<'v>(
        #[starlark(this)] this: &HostDataValue,
        #[starlark(require = pos)] key: &str,
        #[starlark(require = pos, default = NoneType)] default: Value<'v>,
        heap: Heap<'v>,
    ) -> starlark::Result<Value<'v>> {
        Ok(match this.data.get(key) {
            Some(v) => heap.alloc(v),
            None => default,
        })
    }

    /// `host.data.dict()`: all the host's data, merged.
    fn dict<'v>(
        #[starlark(this)] this: &HostDataValue,
        heap: Heap<'v>,
    ) -> starlark::Result<Value<'v>> {
        Ok(heap.alloc(this.data.merged()))
    }
}
