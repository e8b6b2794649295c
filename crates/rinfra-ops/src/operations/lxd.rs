//! `lxd.*` operations.

use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{OpHost, OperationError};

use super::{define_op, fact, q, Args, Out};

define_op! {
    /// Create (from `image`) or stop and delete an LXD container.
    ///
    /// Deploy example: `lxd.container(id="web1", image="ubuntu:24.04")`
    Container = "lxd.container";
    params: [required "id" = "the container's name",
             optional "present" = "whether it should exist (default True)",
             optional "image" = "the image to launch it from (default `ubuntu:16.04`)"];
    generate: container;
}

async fn container(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let id = a.str("id")?;
    let containers = fact(host, &crate::facts::lxd::LxdContainers, &[]).await?;
    let current = containers.as_array().and_then(|c| {
        c.iter()
            .find(|c| c.get("name").and_then(|n| n.as_str()) == Some(id.as_str()))
    });
    if a.bool_or("present", true) {
        match current {
            None => {
                let image = a.nonempty("image").unwrap_or_else(|| "ubuntu:16.04".into());
                out.shell(StringCommand::new([
                    Bit::from("lxc launch"),
                    q(&image),
                    q(&id),
                    Bit::from("< /dev/null"),
                ]));
            }
            Some(_) => out.noop(format!("container {id} exists")),
        }
    } else {
        match current {
            Some(c) => {
                if c.get("status").and_then(|s| s.as_str()) == Some("Running") {
                    out.shell(StringCommand::new([Bit::from("lxc stop"), q(&id)]));
                }
                out.shell(StringCommand::new([Bit::from("lxc delete"), q(&id)]));
            }
            None => out.noop(format!("container {id} does not exist")),
        }
    }
    Ok(())
}
