//! `sysvinit.service`: init.d scripts and their rc*.d start links.

use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{OpHost, OperationError};
use serde_json::json;

use super::service::{enabled_arg, format_action, handle_service_control, Control};
use super::{define_op, fact, q, Args, Out};
use crate::python::python_str;

define_op! {
    /// Manage an `/etc/init.d` service; `enabled` adds or removes its start links.
    ///
    /// Deploy example: `sysvinit.service(service="nginx", running=True, enabled=True)`
    Service = "sysvinit.service";
    params: [required "service", optional "running", optional "restarted", optional "reloaded",
             optional "enabled", optional "command"];
    generate: service;
}

pub(crate) async fn service(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    let name = a.str("service")?;
    let status = fact(host, "sysvinit.InitdStatus", &[]).await?;
    let action = |action: &str| format_action("/etc/init.d/{0} {1}", &name, action);
    handle_service_control(out, &name, &status, action, &Control::from_args(a));
    let Some(enabled) = enabled_arg(a) else {
        return Ok(());
    };
    let links = fact(
        host,
        "files.FindLinks",
        &[
            ("path", json!("/etc")),
            ("path_match", json!(format!("/etc/rc*.d/S*{name}"))),
        ],
    )
    .await?;
    let links: Vec<String> = links
        .as_array()
        .map(|l| l.iter().map(python_str).collect())
        .unwrap_or_default();
    if enabled && links.is_empty() {
        let distro = fact(host, "server.LinuxDistribution", &[]).await?;
        let shell = |bits: Vec<Bit>| StringCommand::new(bits);
        match distro.get("name").and_then(|n| n.as_str()) {
            Some("Ubuntu" | "Debian") => out.shell(shell(vec![
                Bit::from("update-rc.d"),
                q(&name),
                Bit::from("defaults"),
            ])),
            Some("CentOS" | "Fedora" | "Red Hat Enterprise Linux") => {
                out.shell(shell(vec![
                    Bit::from("chkconfig"),
                    q(&name),
                    Bit::from("--add"),
                ]));
                out.shell(shell(vec![
                    Bit::from("chkconfig"),
                    q(&name),
                    Bit::from("on"),
                ]));
            }
            Some("Gentoo") => out.shell(shell(vec![
                Bit::from("rc-update add"),
                q(&name),
                Bit::from("default"),
            ])),
            _ => {}
        }
    } else if !enabled {
        for link in links {
            out.shell(StringCommand::new([Bit::from("rm -f"), q(link)]));
        }
    }
    Ok(())
}
