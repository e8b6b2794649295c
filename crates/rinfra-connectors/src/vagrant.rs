//! `@vagrant[/VM]`: SSH hosts for the running Vagrant machines (inventory only).
//!
//! `rinfra @vagrant/web exec -- uptime`
//!
//! As pyinfra's `VagrantInventoryConnector`: reads `vagrant status --machine-readable` in the
//! current directory, then `vagrant ssh-config VM` for every running machine (in parallel:
//! vagrant is slow to start), and maps `HostName`, `Port`, `User` and `IdentityFile` to
//! `ssh_hostname`, `ssh_port`, `ssh_user` and `ssh_key`. Hosts are named `@vagrant/VM` and join
//! `@vagrant`. An optional `@vagrant.json` in the current directory adds data and groups:
//! `{"data": {"VM": {...}}, "groups": {"VM": ["web", ...]}}`. The hosts execute over SSH.

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Map, Value};

use crate::base::{HostData, InventoryConnector, NameData};
use crate::error::InventoryError;

/// `rinfra @vagrant/VM ...`: the `@vagrant` inventory connector.
#[derive(Debug, Clone)]
pub struct VagrantInventory {
    options_file: PathBuf,
}

impl Default for VagrantInventory {
    fn default() -> Self {
        Self {
            options_file: PathBuf::from("@vagrant.json"),
        }
    }
}

impl VagrantInventory {
    /// Read extra data and groups from `path` instead of `./@vagrant.json`.
    pub fn with_options_file(path: impl Into<PathBuf>) -> Self {
        Self {
            options_file: path.into(),
        }
    }

    fn options(&self) -> Result<Map<String, Value>, InventoryError> {
        let path = &self.options_file;
        if !path.exists() {
            return Ok(Map::new());
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| InventoryError::Other(format!("cannot read `{}`: {e}", path.display())))?;
        match serde_json::from_str(&text) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(InventoryError::Other(format!(
                "`{}` must hold a JSON object",
                path.display()
            ))),
            Err(e) => Err(InventoryError::Other(format!(
                "invalid JSON in `{}`: {e}",
                path.display()
            ))),
        }
    }
}

fn vagrant(args: &[&str]) -> Result<String, InventoryError> {
    let shown = format!("vagrant {}", args.join(" "));
    let out = Command::new("vagrant")
        .args(args)
        .output()
        .map_err(|e| InventoryError::Other(format!("cannot run `{shown}`: {e}")))?;
    if !out.status.success() {
        return Err(InventoryError::Other(format!(
            "`{shown}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Running machines in `vagrant status --machine-readable` output
/// (`timestamp,target,type,data...` lines), keeping only `limit` when given.
fn running_machines(status: &str, limit: Option<&str>) -> Vec<String> {
    status
        .lines()
        .filter_map(|line| {
            let mut parts = line.trim().splitn(4, ',');
            let (_, target, kind, data) =
                (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
            let wanted = limit.is_none_or(|l| l == target);
            (wanted && kind == "state" && data == "running").then(|| target.to_string())
        })
        .collect()
}

/// `Host`/`HostName`/... blocks of `vagrant ssh-config` output, in order.
fn parse_ssh_config(text: &str) -> Vec<Vec<(String, String)>> {
    let mut hosts = Vec::new();
    let mut current: Option<Vec<(String, String)>> = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() {
            hosts.extend(current.take());
            continue;
        }
        let (key, value) = line
            .split_once(char::is_whitespace)
            .map(|(k, v)| (k, v.trim()))
            .unwrap_or((line, ""));
        // Vagrant quotes paths with spaces: IdentityFile "/home/a b/key".
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        if key == "Host" {
            hosts.extend(current.take());
            current = Some(vec![(key.into(), value.into())]);
        } else if let Some(host) = current.as_mut() {
            host.push((key.into(), value.into()));
        }
    }
    hosts.extend(current);
    hosts
}

fn make_name_data(
    config: &[(String, String)],
    options: &Map<String, Value>,
) -> Result<NameData, InventoryError> {
    let get = |k: &str| {
        config
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let vm = get("Host").unwrap_or_default();
    let mut data = HostData::new();
    data.insert(
        "ssh_hostname".into(),
        Value::from(get("HostName").unwrap_or_default()),
    );
    if let Some(port) = get("Port") {
        let port: u16 = port.parse().map_err(|_| {
            InventoryError::Other(format!(
                "invalid Port `{port}` in `vagrant ssh-config {vm}`"
            ))
        })?;
        data.insert("ssh_port".into(), Value::from(port));
    }
    if let Some(user) = get("User") {
        data.insert("ssh_user".into(), Value::from(user));
    }
    if let Some(key) = get("IdentityFile") {
        data.insert("ssh_key".into(), Value::from(key));
    }
    if let Some(Value::Object(extra)) = options.get("data").and_then(|d| d.get(vm)) {
        for (k, v) in extra {
            data.insert(k.clone(), v.clone());
        }
    }
    let mut groups: Vec<String> = options
        .get("groups")
        .and_then(|g| g.get(vm))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|g| g.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if !groups.iter().any(|g| g == "@vagrant") {
        groups.push("@vagrant".into());
    }
    Ok(NameData {
        name: format!("@vagrant/{vm}"),
        data,
        groups,
    })
}

impl InventoryConnector for VagrantInventory {
    fn name(&self) -> &str {
        "vagrant"
    }

    fn description(&self) -> &str {
        "SSH hosts for the running Vagrant machines (@vagrant[/VM])"
    }

    fn handles_execution(&self) -> bool {
        false
    }

    fn make_names_data(&self, arg: Option<&str>) -> Result<Vec<NameData>, InventoryError> {
        let limit = arg.filter(|a| !a.is_empty());
        let options = self.options()?;
        let status = vagrant(&["status", "--machine-readable"])?;
        let machines = running_machines(&status, limit);
        let configs: Vec<Result<String, InventoryError>> = std::thread::scope(|s| {
            let handles: Vec<_> = machines
                .iter()
                .map(|vm| s.spawn(move || vagrant(&["ssh-config", vm])))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(InventoryError::Other(
                            "`vagrant ssh-config` panicked".into(),
                        ))
                    })
                })
                .collect()
        });
        let mut hosts = Vec::new();
        for config in configs {
            for host in parse_ssh_config(&config?) {
                hosts.push(make_name_data(&host, &options)?);
            }
        }
        if hosts.is_empty() {
            return Err(InventoryError::Other(match limit {
                Some(vm) => format!("no running Vagrant instances matching `{vm}` found"),
                None => "no running Vagrant instances found".into(),
            }));
        }
        Ok(hosts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_machines_from_status() {
        let status = "1700000000,web,metadata,provider,virtualbox\n\
                      1700000000,web,state,running\n\
                      1700000000,db,state,poweroff\n\
                      1700000000,,ui,info,Current machine states:\n\
                      1700000000,cache,state,running\n";
        assert_eq!(running_machines(status, None), ["web", "cache"]);
        assert_eq!(running_machines(status, Some("cache")), ["cache"]);
        assert!(running_machines(status, Some("db")).is_empty());
    }

    #[test]
    fn ssh_config_to_host_data() {
        let text = "Host web\n  HostName 127.0.0.1\n  User vagrant\n  Port 2222\n  \
                    IdentityFile \"/home/a b/.vagrant/machines/web/virtualbox/private_key\"\n  \
                    IdentitiesOnly yes\n\nHost db\n  HostName 10.0.0.2\n";
        let hosts = parse_ssh_config(text);
        assert_eq!(hosts.len(), 2);
        let mut options = Map::new();
        options.insert(
            "data".into(),
            serde_json::json!({"web": {"ssh_user": "root", "role": "front"}}),
        );
        options.insert("groups".into(), serde_json::json!({"web": ["webservers"]}));
        let web = make_name_data(&hosts[0], &options).unwrap();
        assert_eq!(web.name, "@vagrant/web");
        assert_eq!(web.data["ssh_hostname"], "127.0.0.1");
        assert_eq!(web.data["ssh_port"], 2222);
        assert_eq!(web.data["ssh_user"], "root");
        assert_eq!(web.data["role"], "front");
        assert_eq!(
            web.data["ssh_key"],
            "/home/a b/.vagrant/machines/web/virtualbox/private_key"
        );
        assert_eq!(web.groups, ["webservers", "@vagrant"]);
        let db = make_name_data(&hosts[1], &options).unwrap();
        assert_eq!(db.groups, ["@vagrant"]);
        assert!(!db.data.contains_key("ssh_port"));
    }
}
