//! `bsdinit.service`: BSD rc.d services, enabled through `/etc/rc.conf.local`.

use rinfra_core::{OpHost, OperationError};
use serde_json::json;

use super::util::service::{enabled_arg, format_action, handle_service_control, Control};
use super::{call, define_op, fact, Args, Out};

define_op! {
    /// Manage a BSD rc.d service; `enabled` sets `<service>_enable="YES"` in rc.conf.local.
    ///
    /// Deploy example: `bsdinit.service(service="nginx", running=True, enabled=True)`
    Service = "bsdinit.service";
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
    let status = fact(host, &crate::facts::bsdinit::RcdStatus, &[]).await?;
    let action = |action: &str| {
        format_action(
            "test -e /etc/rc.d/{0} && /etc/rc.d/{0} {1} || /usr/local/etc/rc.d/{0} {1}",
            &name,
            action,
        )
    };
    handle_service_control(out, &name, &status, action, &Control::from_args(a));
    if let Some(enabled) = enabled_arg(a) {
        let pairs = [
            ("path", json!("/etc/rc.conf.local")),
            ("line", json!(format!("^{name}_enable="))),
            ("replace", json!(format!("{name}_enable=\"YES\""))),
            ("present", json!(enabled)),
        ];
        call!(super::files::text::line, "files.line", &pairs, host, out).await?;
    }
    Ok(())
}
