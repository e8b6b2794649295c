//! `runit.*` operations: services supervised by runit (`sv`), managed by links in `SVDIR`.

use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{OpHost, OperationError};
use serde_json::{json, Value};

use super::util::service::{enabled_arg, handle_service_control, Control};
use super::{call, define_op, fact, q, Args, Out};
use crate::facts::shell::formatted;
use crate::python::truthy;

/// A service name that stays one path component (it is joined into `svdir`/`sourcedir`).
fn service_name(a: &Args<'_>) -> Result<String, OperationError> {
    let name = a.str("service")?;
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(a.invalid("service", format!("not a service name: {name:?}")));
    }
    Ok(name)
}

fn dir_arg(a: &Args<'_>, name: &str, default: &str) -> String {
    a.nonempty(name)
        .unwrap_or_else(|| default.into())
        .trim_end_matches('/')
        .to_string()
}

/// Whether `name` is in a `runit.RunitManaged` value (a list, or pyinfra's set as a mapping).
fn in_managed(managed: &Value, name: &str) -> bool {
    match managed {
        Value::Array(items) => items.iter().any(|i| i == name),
        Value::Object(map) => map.contains_key(name),
        _ => false,
    }
}

async fn link_service(
    host: &dyn OpHost,
    out: &mut Out,
    name: &str,
    managed: bool,
    svdir: &str,
    sourcedir: &str,
) -> Result<(), OperationError> {
    let pairs = [
        ("path", json!(format!("{svdir}/{name}"))),
        ("target", json!(format!("{sourcedir}/{name}"))),
        ("present", json!(managed)),
        ("create_remote_dir", json!(false)),
    ];
    call!(super::files::link, "files.link", &pairs, host, out).await
}

async fn down_file(
    host: &dyn OpHost,
    out: &mut Out,
    path: &str,
    present: bool,
) -> Result<(), OperationError> {
    let pairs = [
        ("path", json!(path)),
        ("present", json!(present)),
        ("create_remote_dir", json!(false)),
    ];
    call!(super::files::file, "files.file", &pairs, host, out).await
}

fn wait_command(name: &str, svdir: &str, timeout: i64) -> StringCommand {
    StringCommand::with_separator(
        [
            Bit::from("export SVDIR="),
            q(svdir),
            Bit::from(format!("\nfor i in $(seq {timeout}); do\n    sv status ")),
            q(name),
            Bit::from(" > /dev/null && exit 0\n    sleep 1;\ndone\nexit 1"),
        ],
        "",
    )
}

define_op! {
    /// Manage a runit service: supervise it (a link in `svdir`), start it at boot or not (the
    /// `down` file in its source directory), and start, stop, restart or reload it.
    ///
    /// Deploy example: `runit.service(service="nginx", running=True, enabled=True)`
    Service = "runit.service";
    params: [required "service" = "the service's name",
             optional "running" = "whether it should be running (default True)",
             optional "restarted" = "restart it (always)",
             optional "reloaded" = "reload it (always)",
             optional "command" = "run `sv <command> <service>` (always)",
             optional "enabled" = "whether it starts automatically (the `down` file); unset keeps it as it was",
             optional "managed" = "whether runit supervises it (default True); False removes the link, the other options then do nothing",
             optional "svdir" = "the supervised services' directory (default `/var/service`)",
             optional "sourcedir" = "the directory the services are defined in (default `/etc/sv`)"];
    generate: service;
}

pub(crate) async fn service(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    let name = service_name(a)?;
    let managed = a.bool_or("managed", true);
    let svdir = dir_arg(a, "svdir", "/var/service");
    let sourcedir = dir_arg(a, "sourcedir", "/etc/sv");
    let down = format!("{sourcedir}/{name}/down");
    let managed_now = fact(
        host,
        &crate::facts::runit::RunitManaged,
        &[("service", json!(name)), ("svdir", json!(svdir))],
    )
    .await?;
    let was_managed = in_managed(&managed_now, &name);
    let was_auto =
        !truthy(&fact(host, &crate::facts::files::File, &[("path", json!(down))]).await?);
    // a service runit starts supervising starts at once unless `down` exists: create it
    // first, so `running=False` does not start it for a moment
    let mut created_down = false;
    if !was_managed && managed && was_auto {
        down_file(host, out, &down, true).await?;
        created_down = true;
    }
    link_service(host, out, &name, managed, &svdir, &sourcedir).await?;
    if !was_managed && managed {
        // runsvdir looks for new services every 5 seconds
        out.shell(wait_command(&name, &svdir, 10));
    }
    let auto = enabled_arg(a).unwrap_or(was_auto);
    if created_down && auto {
        // created above for the start: the fact does not know it exists now
        out.shell(StringCommand::new([Bit::from("rm -f"), q(&down)]));
    } else if !created_down {
        down_file(host, out, &down, !auto).await?;
    }
    if !managed {
        return Ok(());
    }
    let status = if was_managed {
        fact(
            host,
            &crate::facts::runit::RunitStatus,
            &[("service", json!(name)), ("svdir", json!(svdir))],
        )
        .await?
    } else {
        // Not supervised before this run: `sv status` cannot answer yet (it fails), and the
        // service is linked while its `down` file exists (made above, or already there), so
        // `runsv` starts it down. pyinfra reads the status after linking and gets the same.
        json!({ name.as_str(): false })
    };
    let cmd = |action: &str| {
        formatted(
            "SVDIR={0} sv {1} {2}",
            &[q(&svdir), Bit::from(action), q(&name)],
        )
    };
    handle_service_control(out, &name, &status, cmd, &Control::from_args(a));
    Ok(())
}

define_op! {
    /// Make runit supervise a service (a link `svdir/service` → `sourcedir/service`), or stop
    /// supervising it.
    ///
    /// Deploy example: `runit.manage(service="nginx", managed=True)`
    Manage = "runit.manage";
    params: [required "service" = "the service's name",
             optional "managed" = "whether the link should exist (default True)",
             optional "svdir" = "the supervised services' directory (default `/var/service`)",
             optional "sourcedir" = "the directory the services are defined in (default `/etc/sv`)"];
    generate: manage;
}

async fn manage(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let name = service_name(a)?;
    let svdir = dir_arg(a, "svdir", "/var/service");
    let sourcedir = dir_arg(a, "sourcedir", "/etc/sv");
    link_service(
        host,
        out,
        &name,
        a.bool_or("managed", true),
        &svdir,
        &sourcedir,
    )
    .await
}

define_op! {
    /// Wait until runit supervises a service (`sv status` works), failing after `timeout`
    /// seconds (not idempotent: it always waits).
    ///
    /// Deploy example: `runit.wait_runsv(service="nginx")`
    WaitRunsv = "runit.wait_runsv";
    params: [required "service" = "the service's name",
             optional "svdir" = "the supervised services' directory (default `/var/service`)",
             optional "timeout" = "seconds to wait (default 10)"];
    idempotent: false;
    generate: wait_runsv;
}

async fn wait_runsv(a: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let name = service_name(a)?;
    let timeout = a.int_or("timeout", 10)?;
    if timeout < 1 {
        return Err(a.invalid("timeout", "must be at least one second"));
    }
    out.shell(wait_command(
        &name,
        &dir_arg(a, "svdir", "/var/service"),
        timeout,
    ));
    Ok(())
}

define_op! {
    /// Start a service automatically or not, by removing or creating its `down` file.
    ///
    /// Deploy example: `runit.auto(service="nginx", auto=False)`
    Auto = "runit.auto";
    params: [required "service" = "the service's name",
             optional "auto" = "whether it starts automatically (default True)",
             optional "sourcedir" = "the directory the services are defined in (default `/etc/sv`)"];
    generate: auto;
}

async fn auto(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let name = service_name(a)?;
    let sourcedir = dir_arg(a, "sourcedir", "/etc/sv");
    let down = format!("{sourcedir}/{name}/down");
    down_file(host, out, &down, !a.bool_or("auto", true)).await
}
