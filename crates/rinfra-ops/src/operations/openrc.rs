//! `openrc.service`: OpenRC services and their runlevels.

use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{OpHost, OperationError};
use serde_json::json;

use super::util::service::{enabled_arg, format_action, handle_service_control, Control};
use super::{define_op, fact, q, Args, Out};

define_op! {
    /// Manage an OpenRC service; `enabled` adds it to or removes it from `runlevel`.
    ///
    /// Deploy example: `openrc.service(service="sshd", running=True, enabled=True)`
    Service = "openrc.service";
    params: [required "service" = "the service's name",
             optional "running" = "whether it should be running",
             optional "restarted" = "restart it (always)",
             optional "reloaded" = "reload it (always)",
             optional "command" = "run this service command instead (`status`, ...)",
             optional "enabled" = "whether it starts at boot",
             optional "runlevel" = "the runlevel `enabled` refers to (default `default`)"];
    generate: service;
}

pub(crate) async fn service(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    let name = a.str("service")?;
    let runlevel = a.nonempty("runlevel").unwrap_or_else(|| "default".into());
    let status = fact(
        host,
        &crate::facts::openrc::OpenrcStatus,
        &[("runlevel", json!(runlevel))],
    )
    .await?;
    let action = |action: &str| format_action("rc-service {0} {1}", &name, action);
    handle_service_control(out, &name, &status, action, &Control::from_args(a));
    let Some(enabled) = enabled_arg(a) else {
        return Ok(());
    };
    let states = fact(
        host,
        &crate::facts::openrc::OpenrcEnabled,
        &[("runlevel", json!(runlevel))],
    )
    .await?;
    let is_enabled = states.get(&name).is_some_and(crate::python::truthy);
    match (enabled, is_enabled) {
        (true, false) => out.shell(StringCommand::new([
            Bit::from("rc-update add"),
            q(&name),
            q(&runlevel),
        ])),
        (true, true) => out.noop(format!("service {name} is enabled")),
        (false, true) => out.shell(StringCommand::new([
            Bit::from("rc-update del"),
            q(&name),
            q(&runlevel),
        ])),
        (false, false) => out.noop(format!("service {name} is disabled")),
    }
    Ok(())
}
