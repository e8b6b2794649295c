//! `upstart.service`: upstart jobs; disabling writes a `manual` override file.

use rinfra_core::{OpHost, OperationError};
use serde_json::json;

use super::util::service::{enabled_arg, format_action, handle_service_control, Control};
use super::{call, define_op, fact, Args, Out};

define_op! {
    /// Manage an upstart job; `enabled=False` writes `/etc/init/<service>.override`.
    ///
    /// Deploy example: `upstart.service(service="nginx", running=True)`
    Service = "upstart.service";
    params: [required "service" = "the service's name",
             optional "running" = "whether it should be running",
             optional "restarted" = "restart it (always)",
             optional "reloaded" = "reload it (always)",
             optional "command" = "run this service command instead (`status`, ...)",
             optional "enabled" = "whether it starts at boot"];
    generate: service;
}

pub(crate) async fn service(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    let name = a.str("service")?;
    let status = fact(host, &crate::facts::upstart::UpstartStatus, &[]).await?;
    let action = |action: &str| format_action("initctl {1} {0}", &name, action);
    handle_service_control(out, &name, &status, action, &Control::from_args(a));
    let path = format!("/etc/init/{name}.override");
    match enabled_arg(a) {
        Some(true) => {
            let pairs = [("path", json!(path)), ("present", json!(false))];
            call!(super::files::file, "files.file", &pairs, host, out).await?;
        }
        Some(false) => {
            let pairs = [
                ("src", json!({"content": "manual\n"})),
                ("dest", json!(path)),
            ];
            call!(super::files::put::put, "files.put", &pairs, host, out).await?;
        }
        None => {}
    }
    Ok(())
}
