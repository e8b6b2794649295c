//! `launchd.*` operations (macOS).

use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{OpHost, OperationError};

use super::util::service::{format_action, handle_service_control, Control};
use super::{define_op, fact, q, Args, Out};

define_op! {
    /// Start or stop a launchd job; `restarted` stops and starts a running one.
    ///
    /// Deploy example: `launchd.service(service="com.example.agent", running=True)`
    Service = "launchd.service";
    params: [required "service" = "the job's label",
             optional "running" = "whether it should be running (default True)",
             optional "restarted" = "stop and start it when running (always)",
             optional "command" = "accepted for compatibility; launchctl has no custom commands"];
    generate: service;
}

async fn service(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let name = a.str("service")?;
    let status = fact(host, &crate::facts::launchd::LaunchdStatus, &[]).await?;
    let was_running = status.get(&name).is_some_and(crate::python::truthy);
    let control = Control {
        restarted: false,
        reloaded: false,
        command: None,
        ..Control::from_args(a)
    };
    let action = |action: &str| format_action("launchctl {1} {0}", &name, action);
    handle_service_control(out, &name, &status, action, &control);
    if a.bool_or("restarted", false) && was_running {
        for step in ["stop", "start"] {
            out.shell(StringCommand::new([
                Bit::from(format!("launchctl {step}")),
                q(&name),
            ]));
        }
    }
    Ok(())
}
