//! `host` in deploy code: `host.name`, `host.groups`, `host.data.x`, `host.data.get("x", d)`,
//! `host.get_fact(Fact, ...)`, `host.loop(items)`, `host.noop(reason)`.

use std::fmt;
use std::sync::Arc;

use allocative::Allocative;
use starlark::environment::{Methods, MethodsBuilder, MethodsStatic};
use starlark::eval::Evaluator;
use starlark::starlark_module;
use starlark::starlark_simple_value;
use starlark::values::dict::DictRef;
use starlark::values::list::AllocList;
use starlark::values::none::NoneType;
use starlark::values::tuple::UnpackTuple;
use starlark::values::{
    starlark_value, Heap, NoSerialize, ProvidesStaticType, StarlarkValue, Value,
};

use crate::context::{lock, HostDataLayers};
use crate::convert::to_json;
use crate::error::native_error;
use crate::facts::get_fact;

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

    /// `host.loop(items)`: the items as a list. Operations in any loop already get distinct
    /// order keys, so this only exists for pyinfra compatibility.
    fn r#loop<'v>(
        #[starlark(this)] _this: &HostValue,
        #[starlark(require = pos)] items: Value<'v>,
        heap: Heap<'v>,
    ) -> starlark::Result<Value<'v>> {
        let items: Vec<Value<'v>> = items.iterate(heap)?.collect();
        Ok(heap.alloc(AllocList(items)))
    }

    /// `host.noop(reason)`: accepted and ignored outside operations.
    fn noop<'v>(
        #[starlark(this)] _this: &HostValue,
        #[starlark(require = pos)] _reason: &str,
    ) -> starlark::Result<NoneType> {
        Ok(NoneType)
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
