//! `selinux.*` operations: booleans, file contexts and port types.

use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{OpHost, OperationError};
use serde_json::{json, Value};

use super::{define_op, fact, q, Args, Out};
use crate::python::{python_str, truthy};

define_op! {
    /// Set an SELinux boolean, for now or (`persistent`) across reboots.
    ///
    /// Deploy example: `selinux.boolean(bool_name="httpd_can_network_connect", value="on", persistent=True)`
    Boolean = "selinux.boolean";
    params: [required "bool_name" = "the boolean",
             required "value" = "`on` or `off` (or `Boolean.ON`/`Boolean.OFF`)",
             optional "persistent" = "keep the value across reboots (`setsebool -P`)"];
    generate: boolean;
}

async fn boolean(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let name = a.str("bool_name")?;
    let value = match a.get("value") {
        Some(Value::Bool(b)) => {
            if *b {
                "on"
            } else {
                "off"
            }
        }
        Some(v) => match python_str(v)
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .to_lowercase()
            .as_str()
        {
            "on" => "on",
            "off" => "off",
            _ => {
                return Err(a.invalid(
                    "value",
                    format!("Invalid value '{}' for boolean operation", python_str(v)),
                ))
            }
        },
        None => return Err(a.invalid("value", "missing required argument")),
    };
    let current = fact(
        host,
        &crate::facts::selinux::SEBoolean,
        &[("boolean", json!(name))],
    )
    .await?;
    if current.as_str() == Some(value) {
        out.noop(format!("boolean '{name}' already had the value '{value}'"));
        return Ok(());
    }
    let mut bits = vec![Bit::from("setsebool")];
    if a.bool_or("persistent", false) {
        bits.push(Bit::from("-P"));
    }
    bits.extend([q(&name), Bit::from(value)]);
    out.shell(StringCommand::new(bits));
    Ok(())
}

define_op! {
    /// Set a path's SELinux type now (`chcon`; a relabel may undo it: see
    /// `file_context_mapping`).
    ///
    /// Deploy example: `selinux.file_context(path="/srv/www", se_type="httpd_sys_content_t")`
    FileContext = "selinux.file_context";
    params: [required "path" = "the file or directory",
             required "se_type" = "the SELinux type"];
    generate: file_context;
}

async fn file_context(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    let path = a.str("path")?;
    let se_type = a.str("se_type")?;
    let current = fact(
        host,
        &crate::facts::selinux::FileContext,
        &[("path", json!(path))],
    )
    .await?;
    let current_type = current.get("type").map(python_str).unwrap_or_default();
    if current_type == se_type {
        out.noop(format!(
            "file_context: '{path}' already had type '{se_type}'"
        ));
    } else {
        out.shell(StringCommand::new([
            Bit::from("chcon -t"),
            q(&se_type),
            q(&path),
        ]));
    }
    Ok(())
}

define_op! {
    /// Add, change or remove a file-context mapping (`semanage fcontext`): the type files
    /// matching `target` get when relabelled. Existing files keep theirs until `restorecon`.
    ///
    /// Deploy example: `selinux.file_context_mapping(target="/web(/.*)?", se_type="httpd_sys_content_t")`
    FileContextMapping = "selinux.file_context_mapping";
    params: [required "target" = "the path regex",
             optional "se_type" = "the SELinux type (needed when `present`)",
             optional "present" = "whether the mapping should exist (default True)"];
    generate: file_context_mapping;
}

async fn file_context_mapping(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    let target = a.str("target")?;
    let present = a.bool_or("present", true);
    let se_type = a.nonempty("se_type");
    if present && se_type.is_none() {
        return Err(a.invalid(
            "se_type",
            "se_type must have a valid value if present is set",
        ));
    }
    let current = fact(
        host,
        &crate::facts::selinux::FileContextMapping,
        &[("target", json!(target))],
    )
    .await?;
    let exists = truthy(&current);
    match (present, se_type) {
        (true, Some(t)) => {
            let option = if !exists {
                Some("-a")
            } else if current.get("type").map(python_str).as_deref() != Some(t.as_str()) {
                Some("-m")
            } else {
                None
            };
            match option {
                Some(o) => out.shell(StringCommand::new([
                    Bit::from(format!("semanage fcontext {o} -t")),
                    q(&t),
                    q(&target),
                ])),
                None => out.noop(format!("mapping for '{target}' -> '{t}' already present")),
            }
        }
        _ if exists => out.shell(StringCommand::new([
            Bit::from("semanage fcontext -d"),
            q(&target),
        ])),
        _ => out.noop(format!("no existing mapping for '{target}'")),
    }
    Ok(())
}

define_op! {
    /// Add, change or remove the SELinux type of a port (`semanage port`).
    ///
    /// Deploy example: `selinux.port(protocol="tcp", port_num=2222, se_type="ssh_port_t")`
    Port = "selinux.port";
    params: [required "protocol" = "`tcp`, `udp`, `dccp` or `sctp` (or `Protocol.TCP`...)",
             required "port_num" = "the port number",
             optional "se_type" = "the SELinux type (needed when `present`)",
             optional "present" = "whether the port should have the type (default True)"];
    generate: port;
}

async fn port(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    // `Protocol.TCP` (the enum, as a deploy passes it) or the name; any other text is passed
    // on quoted, as pyinfra does, and `semanage` refuses it on the host
    let protocol = a.str("protocol")?;
    let protocol = protocol
        .strip_prefix("Protocol.")
        .unwrap_or(&protocol)
        .to_lowercase();
    let port = a.int_or("port_num", -1)?;
    if !(0..=65535).contains(&port) {
        return Err(a.invalid("port_num", "must be a port number"));
    }
    let present = a.bool_or("present", true);
    let se_type = a.nonempty("se_type");
    if present && se_type.is_none() {
        return Err(a.invalid(
            "se_type",
            "se_type must have a valid value if present is set",
        ));
    }
    let sepolicy = fact(
        host,
        &crate::facts::server::Which,
        &[("command", json!("sepolicy"))],
    )
    .await?;
    let current = if truthy(&sepolicy) {
        let c = fact(
            host,
            &crate::facts::selinux::SEPort,
            &[("protocol", json!(protocol)), ("port", json!(port))],
        )
        .await?;
        python_str(&c)
    } else {
        let all = fact(host, &crate::facts::selinux::SEPorts, &[]).await?;
        all.get(&protocol)
            .and_then(|p| p.get(port.to_string()))
            .map(python_str)
            .unwrap_or_default()
    };
    let proto_port = [q(&protocol), q(port.to_string())];
    match (present, se_type) {
        (true, Some(t)) => {
            let option = if current.is_empty() {
                Some("-a")
            } else if current != t {
                Some("-m")
            } else {
                None
            };
            match option {
                Some(o) => {
                    let mut bits = vec![
                        Bit::from(format!("semanage port {o} -t")),
                        q(&t),
                        Bit::from("-p"),
                    ];
                    bits.extend(proto_port);
                    out.shell(StringCommand::new(bits));
                }
                None => out.noop(format!("setype for '{protocol}/{port}' is already '{t}'")),
            }
        }
        _ if !current.is_empty() => {
            let mut bits = vec![Bit::from("semanage port -d -p")];
            bits.extend(proto_port);
            out.shell(StringCommand::new(bits));
        }
        _ => out.noop(format!("setype for '{protocol}/{port}' is already unset")),
    }
    Ok(())
}
