//! `vzctl.*` operations (OpenVZ containers). All always run (not idempotent).

use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{OpHost, OperationError};
use serde_json::Value;

use super::{define_op, fact, q, Args, Out};
use crate::python::python_str;

fn vzctl(action: &str, ctid: &str, tail: impl IntoIterator<Item = Bit>) -> StringCommand {
    let mut bits = vec![Bit::from(format!("vzctl {action}")), q(ctid)];
    bits.extend(tail);
    StringCommand::new(bits)
}

fn force(a: &Args<'_>) -> Option<Bit> {
    a.bool_or("force", false).then(|| Bit::from("--force"))
}

macro_rules! simple {
    ($($ty:ident = $name:literal, $f:ident, $action:literal, $doc:literal;)*) => {
        $(
            define_op! {
                #[doc = $doc]
                $ty = $name;
                params: [required "ctid" = "the container's ID"];
                idempotent: false;
                generate: $f;
            }

            async fn $f(a: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
                out.shell(vzctl($action, &a.str("ctid")?, []));
                Ok(())
            }
        )*
    };
}

simple! {
    Stop = "vzctl.stop", stop, "stop", "Stop a container.";
    Mount = "vzctl.mount", mount, "mount", "Mount a container's filesystem.";
    Unmount = "vzctl.unmount", unmount, "umount", "Unmount a container's filesystem.";
    Delete = "vzctl.delete", delete, "delete", "Delete a container.";
}

define_op! {
    /// Start a container.
    ///
    /// Deploy example: `vzctl.start(ctid=101)`
    Start = "vzctl.start";
    params: [required "ctid" = "the container's ID",
             optional "force" = "start it even if it is disabled (`--force`)"];
    idempotent: false;
    generate: start;
}

async fn start(a: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    out.shell(vzctl("start", &a.str("ctid")?, force(a)));
    Ok(())
}

define_op! {
    /// Stop then start a container.
    ///
    /// Deploy example: `vzctl.restart(ctid=101)`
    Restart = "vzctl.restart";
    params: [required "ctid" = "the container's ID",
             optional "force" = "start it even if it is disabled (`--force`)"];
    idempotent: false;
    generate: restart;
}

async fn restart(a: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let ctid = a.str("ctid")?;
    out.shell(vzctl("stop", &ctid, []));
    out.shell(vzctl("start", &ctid, force(a)));
    Ok(())
}

define_op! {
    /// Create a container (an error if the CTID is taken).
    ///
    /// Deploy example: `vzctl.create(ctid=101, template="ubuntu-22.04-x86_64")`
    Create = "vzctl.create";
    params: [required "ctid" = "the new container's ID",
             optional "template" = "the OS template (`--ostemplate`)"];
    idempotent: false;
    generate: create;
}

async fn create(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let ctid = a.str("ctid")?;
    let current = fact(host, &crate::facts::vzctl::OpenvzContainers, &[]).await?;
    let taken = match &current {
        Value::Object(m) => m.contains_key(&ctid),
        Value::Array(items) => items.iter().any(|i| python_str(i) == ctid),
        _ => false,
    };
    if taken {
        return Err(OperationError::Other(format!(
            "An OpenVZ container with CTID {ctid} already exists"
        )));
    }
    let template = a
        .nonempty("template")
        .map(|t| [Bit::from("--ostemplate"), q(t)]);
    out.shell(vzctl("create", &ctid, template.into_iter().flatten()));
    Ok(())
}

define_op! {
    /// Change a container's settings: every other keyword argument becomes `--<name> <value>`
    /// (a list repeats the option).
    ///
    /// Deploy example: `vzctl.set(ctid=101, hostname="web1.example.com", nameserver=["1.1.1.1"])`
    Set = "vzctl.set";
    params: [required "ctid" = "the container's ID",
             optional "save" = "keep the settings across restarts (`--save`, default True)"];
    idempotent: false;
    extra_kwargs: true;
    generate: set;
}

async fn set(a: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let ctid = a.str("ctid")?;
    let mut tail = Vec::new();
    if a.bool_or("save", true) {
        tail.push(Bit::from("--save"));
    }
    for (key, value) in a.raw() {
        if key == "ctid" || key == "save" {
            continue;
        }
        let values = match value {
            Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        };
        for v in values {
            tail.extend([q(format!("--{key}")), q(python_str(&v))]);
        }
    }
    out.shell(vzctl("set", &ctid, tail));
    Ok(())
}
