//! `freebsd.sysrc.sysrc`: `rc.conf` variables.

use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{OpHost, OperationError};
use serde_json::json;

use super::{jail_arg, jail_bits};
use crate::operations::{define_op, fact, q, Args, Out};
use crate::python::truthy;

define_op! {
    /// Set, add to, remove from or delete an `rc.conf` variable with sysrc(8). `set` leaves a
    /// variable that already has a value alone unless `overwrite`.
    ///
    /// Deploy example: `freebsd.sysrc.sysrc(parameter="nginx_enable", value="YES")`
    Sysrc = "freebsd.sysrc.sysrc";
    params: [required "parameter" = "the variable",
             required "value" = "its value",
             optional "jail" = "act in this jail",
             optional "command" = "`set` (default), `add`, `sub` or `del`",
             optional "overwrite" = "with `set`, replace an existing value"];
    generate: sysrc;
}

async fn sysrc(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let parameter = a.str("parameter")?;
    let command = a.opt_str("command").unwrap_or_else(|| "set".into());
    // `sysrc -x` ignores a value: `del` may give None (written `None`, as pyinfra does)
    let value = match a.get("value") {
        Some(v) => crate::python::python_str(v),
        None if command == "del" => "None".into(),
        None => return Err(a.invalid("value", "missing required argument")),
    };
    let is_set = || async {
        let args = [("parameter", json!(parameter)), ("jail", jail_arg(a))];
        Ok::<bool, OperationError>(truthy(
            &fact(host, &crate::facts::freebsd::Sysrc, &args).await?,
        ))
    };
    let mut bits = vec![Bit::from("sysrc -i")];
    let sign = match command.as_str() {
        "del" => {
            if !is_set().await? {
                out.noop(format!("Cannot find sysrc(8) parameter '{parameter}'"));
                return Ok(());
            }
            bits.push(Bit::from("-x"));
            "="
        }
        "set" => {
            if !a.bool_or("overwrite", false) && is_set().await? {
                out.noop(format!("sysrc(8) parameter '{parameter}' already set"));
                return Ok(());
            }
            "="
        }
        "add" => "+=",
        "sub" => "-=",
        other => return Err(a.invalid("command", format!("Invalid sysrc command: {other}"))),
    };
    bits.extend(jail_bits(a));
    bits.extend([Bit::from("--"), q(format!("{parameter}{sign}{value}"))]);
    out.shell(StringCommand::new(bits));
    Ok(())
}
