//! `freebsd.service.service`: rc(8) services, on the host or in a jail.

use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{OpHost, OperationError};
use serde_json::json;

use super::{jail_arg, jail_bits};
use crate::operations::{define_op, fact, q, Args, Out};
use crate::python::truthy;

define_op! {
    /// Bring an rc(8) service to `srvstate`: `started`, `stopped` (only when needed),
    /// `restarted`, `reloaded` (always) or `custom` (run `command`).
    ///
    /// Deploy example: `freebsd.service.service(srvname="nginx", srvstate="started")`
    Service = "freebsd.service.service";
    params: [required "srvname" = "the rc(8) script",
             optional "jail" = "act in this jail",
             optional "srvstate" = "`started` (default), `stopped`, `restarted`, `reloaded` or `custom`",
             optional "command" = "with `custom`, the command (or words) to run",
             optional "environment" = "`NAME=value` settings for the script (`-E`)",
             optional "verbose" = "`service -v`"];
    generate: service;
}

async fn service(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let name = a.str("srvname")?;
    let state = a.opt_str("srvstate").unwrap_or_else(|| "started".into());
    let fact_args = [("srvname", json!(name)), ("jail", jail_arg(a))];
    if !truthy(&fact(host, &crate::facts::freebsd::ServiceScript, &fact_args).await?) {
        out.noop(format!("Cannot find rc(8) script '{name}'"));
        return Ok(());
    }
    let mut bits = vec![Bit::from("service")];
    if a.bool_or("verbose", false) {
        bits.push(Bit::from("-v"));
    }
    bits.extend(jail_bits(a));
    for var in a.list("environment")? {
        bits.extend([Bit::from("-E"), q(var)]);
    }
    let running = || fact(host, &crate::facts::freebsd::ServiceStatus, &fact_args);
    match state.as_str() {
        "started" => {
            if truthy(&running().await?) {
                out.noop(format!("Service '{name}' already started"));
                return Ok(());
            }
            bits.extend([q(&name), Bit::from("start")]);
        }
        "stopped" => {
            if !truthy(&running().await?) {
                out.noop(format!("Service '{name}' already stopped"));
                return Ok(());
            }
            bits.extend([q(&name), Bit::from("stop")]);
        }
        "restarted" => bits.extend([q(&name), Bit::from("restart")]),
        "reloaded" => bits.extend([q(&name), Bit::from("reload")]),
        "custom" => {
            bits.push(q(&name));
            bits.extend(a.list("command")?.into_iter().map(q));
        }
        other => return Err(a.invalid("srvstate", format!("Invalid service command: {other}"))),
    }
    out.shell(StringCommand::new(bits));
    Ok(())
}
