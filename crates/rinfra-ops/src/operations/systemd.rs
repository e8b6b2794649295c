//! `systemd.service` and `systemd.daemon_reload`.

use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{OpHost, OperationError};
use serde_json::json;

use super::util::service::{enabled_arg, handle_service_control, Control};
use super::{define_op, fact, q, Args, Out};
use crate::facts::systemctl_command;

/// Unit suffixes systemd knows; a name without one is a `.service`.
const UNIT_SUFFIXES: &[&str] = &[
    ".service",
    ".socket",
    ".device",
    ".mount",
    ".automount",
    ".swap",
    ".target",
    ".path",
    ".timer",
    ".slice",
    ".scope",
];

fn systemctl(a: &Args<'_>) -> StringCommand {
    systemctl_command(
        a.bool_or("user_mode", false),
        a.nonempty("machine").as_deref(),
        a.nonempty("user_name").as_deref(),
    )
}

define_op! {
    /// Reload the systemd daemon so it reads changed unit files (always runs).
    ///
    /// Deploy example: `systemd.daemon_reload(user_mode=True)`
    DaemonReload = "systemd.daemon_reload";
    params: [optional "user_mode" = "manage the user's systemd instance (`systemctl --user`)",
             optional "machine" = "manage a systemd container or remote machine (`--machine`)",
             optional "user_name" = "with `user_mode` and `machine`, the user on that machine"];
    idempotent: false;
    generate: daemon_reload;
}

async fn daemon_reload(a: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    out.shell(StringCommand::new([
        Bit::from(systemctl(a)),
        Bit::from("daemon-reload"),
    ]));
    Ok(())
}

define_op! {
    /// Start, stop, restart, reload, enable or disable a systemd unit.
    ///
    /// Deploy example: `systemd.service(service="nginx.service", running=True, enabled=True)`
    Service = "systemd.service";
    params: [required "service" = "the service's name",
             optional "running" = "whether it should be running",
             optional "restarted" = "restart it (always)",
             optional "reloaded" = "reload it (always)",
             optional "command" = "run this service command instead (`status`, ...)",
             optional "enabled" = "whether it starts at boot",
             optional "daemon_reload" = "run `systemctl daemon-reload` first",
             optional "user_mode" = "manage the user's systemd instance (`systemctl --user`)",
             optional "machine" = "manage a systemd container or remote machine (`--machine`)",
             optional "user_name" = "with `user_mode` and `machine`, the user on that machine"];
    generate: service;
}

pub(crate) async fn service(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    let mut unit = a.str("service")?;
    if !UNIT_SUFFIXES.iter().any(|s| unit.ends_with(s)) {
        unit.push_str(".service");
    }
    let systemctl = systemctl(a);
    if a.bool_or("daemon_reload", false) {
        daemon_reload(a, host, out).await?;
    }
    let fact_args = [
        ("user_mode", json!(a.bool_or("user_mode", false))),
        ("machine", json!(a.nonempty("machine"))),
        ("user_name", json!(a.nonempty("user_name"))),
        ("services", json!([unit])),
    ];
    let status = fact(host, &crate::facts::systemd::SystemdStatus, &fact_args).await?;
    let action = |action: &str| {
        StringCommand::new([Bit::from(systemctl.clone()), Bit::from(action), q(&unit)])
    };
    handle_service_control(out, &unit, &status, action, &Control::from_args(a));
    if let Some(enabled) = enabled_arg(a) {
        let states = fact(host, &crate::facts::systemd::SystemdEnabled, &fact_args).await?;
        let is_enabled = states.get(&unit).is_some_and(crate::python::truthy);
        if enabled && !is_enabled {
            out.shell(StringCommand::new([
                Bit::from(systemctl.clone()),
                Bit::from("enable"),
                q(&unit),
            ]));
        } else if !enabled && is_enabled {
            out.shell(StringCommand::new([
                Bit::from(systemctl.clone()),
                Bit::from("disable"),
                q(&unit),
            ]));
        }
    }
    Ok(())
}
