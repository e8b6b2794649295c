//! `sysvinit.service`: init.d scripts and their rc*.d start links.

use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{OpHost, OperationError};
use serde_json::json;

use super::util::service::{enabled_arg, format_action, handle_service_control, Control};
use super::{define_op, fact, q, Args, Out};
use crate::python::python_str;

define_op! {
    /// Manage an `/etc/init.d` service; `enabled` adds or removes its start links.
    ///
    /// Deploy example: `sysvinit.service(service="nginx", running=True, enabled=True)`
    Service = "sysvinit.service";
    params: [required "service" = "the service's name",
             optional "running" = "whether it should be running",
             optional "restarted" = "restart it (always)",
             optional "reloaded" = "reload it (always)",
             optional "enabled" = "whether it starts at boot",
             optional "command" = "run this service command instead (`status`, ...)"];
    generate: service;
}

pub(crate) async fn service(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    let name = a.str("service")?;
    let status = fact(host, &crate::facts::sysvinit::InitdStatus, &[]).await?;
    let action = |action: &str| format_action("/etc/init.d/{0} {1}", &name, action);
    handle_service_control(out, &name, &status, action, &Control::from_args(a));
    let Some(enabled) = enabled_arg(a) else {
        return Ok(());
    };
    let links = fact(
        host,
        &crate::facts::files::FindLinks,
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
        let distro = fact(host, &crate::facts::server::LinuxDistribution, &[]).await?;
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

define_op! {
    /// Enable an `/etc/init.d` script by hand: `S<priority><service>` links in the start
    /// runlevels' `/etc/rcN.d`, `K<priority><service>` links in the stop runlevels'.
    ///
    /// Deploy example: `sysvinit.enable(service="rsyslog", start_levels=[3, 4, 5], stop_levels=[0, 1, 2, 6])`
    Enable = "sysvinit.enable";
    params: [required "service" = "the init.d script's name",
             optional "start_priority" = "the start links' priority (default 20)",
             optional "stop_priority" = "the stop links' priority (default 80)",
             optional "start_levels" = "runlevels to start it in (default 2, 3, 4, 5)",
             optional "stop_levels" = "runlevels to stop it in (default 0, 1, 6)"];
    generate: enable;
}

async fn enable(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let name = a.str("service")?;
    if name.is_empty() || name.contains('/') {
        return Err(a.invalid("service", format!("not a script name: {name:?}")));
    }
    let start = a.int_or("start_priority", 20)?;
    let stop = a.int_or("stop_priority", 80)?;
    let levels = |arg: &str, default: &[&str]| -> Result<Vec<String>, OperationError> {
        let levels = match a.get(arg) {
            None => default.iter().map(|s| s.to_string()).collect(),
            Some(_) => a.list(arg)?,
        };
        match levels
            .iter()
            .find(|l| !l.chars().all(|c| c.is_ascii_alphanumeric()) || l.is_empty())
        {
            Some(bad) => Err(a.invalid(arg, format!("not a runlevel: {bad:?}"))),
            None => Ok(levels),
        }
    };
    let mut links: Vec<String> = levels("start_levels", &["2", "3", "4", "5"])?
        .iter()
        .map(|l| format!("/etc/rc{l}.d/S{start}{name}"))
        .collect();
    links.extend(
        levels("stop_levels", &["0", "1", "6"])?
            .iter()
            .map(|l| format!("/etc/rc{l}.d/K{stop}{name}")),
    );
    let target = format!("/etc/init.d/{name}");
    for link in links {
        super::call!(
            super::files::link,
            "files.link",
            &[("path", json!(link)), ("target", json!(target))],
            host,
            out
        )
        .await?;
    }
    Ok(())
}
