//! `freebsd.*` operations, in pyinfra's sub-modules: [`pkg`] (`freebsd.pkg.install`...),
//! [`service`] (`freebsd.service.service`), [`sysrc`] (`freebsd.sysrc.sysrc`) and
//! [`freebsd_update`] (`freebsd.freebsd_update.update`). Most take `jail` to act inside a jail.

pub(crate) mod freebsd_update;
pub(crate) mod pkg;
pub(crate) mod service;
pub(crate) mod sysrc;

use rinfra_connectors::Bit;
use serde_json::{json, Value};

use crate::operations::{q, Args};

/// `-j <jail>` when a jail is given.
pub(crate) fn jail_bits(a: &Args<'_>) -> Vec<Bit> {
    match a.opt_str("jail") {
        Some(j) => vec![Bit::from("-j"), q(j)],
        None => Vec::new(),
    }
}

/// The `jail` fact argument (None on the host).
pub(crate) fn jail_arg(a: &Args<'_>) -> Value {
    a.opt_str("jail").map_or(Value::Null, |j| json!(j))
}
