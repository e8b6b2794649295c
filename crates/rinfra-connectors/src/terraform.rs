//! `@terraform[/OUTPUT.KEY]`: SSH hosts from a Terraform output (inventory only).
//!
//! `rinfra @terraform/server_group.value.node_ips exec -- uptime`
//!
//! As pyinfra's `TerraformInventoryConnector`: runs `terraform output -json` in the current
//! directory, flattens the nested objects with `.` (`{"a": {"b": 1}}` has keys `a` and `a.b`),
//! and reads the key given after `@terraform/` (default `pyinfra_inventory.value`, so an output
//! called `pyinfra_inventory` works with a bare `@terraform`). The value is
//!
//! * a list of hostnames (`"1.2.3.4"` → host `@terraform/1.2.3.4` with `ssh_hostname`), or of
//!   objects (`{"name": "web1", "ssh_hostname": "1.2.3.4", "ssh_user": "deploy"}`: the host is
//!   named by `name`, else by `ssh_hostname`; the other keys become host data), in group `all`;
//! * or an object of group name → such a list.
//!
//! Every host also joins `@terraform`. The hosts execute over SSH.

use std::process::Command;

use serde_json::{Map, Value};

use crate::base::{HostData, InventoryConnector, NameData};
use crate::error::InventoryError;

/// The output key used by a bare `@terraform`.
pub const DEFAULT_TERRAFORM_KEY: &str = "pyinfra_inventory.value";

/// `rinfra @terraform/OUTPUT.KEY ...`: the `@terraform` inventory connector.
#[derive(Debug, Clone)]
pub struct TerraformInventory {
    program: String,
}

impl Default for TerraformInventory {
    fn default() -> Self {
        Self {
            program: "terraform".into(),
        }
    }
}

impl TerraformInventory {
    /// Read outputs with this program instead of `terraform` from PATH (e.g. `tofu`).
    pub fn with_program(program: impl Into<String>) -> Self {
        Self {
            program: program.into(),
        }
    }

    fn output_json(&self) -> Result<Value, InventoryError> {
        let program = &self.program;
        let out = Command::new(program)
            .args(["output", "-json"])
            .output()
            .map_err(|e| {
                InventoryError::Other(format!("cannot run `{program} output -json`: {e}"))
            })?;
        if !out.status.success() {
            return Err(InventoryError::Other(format!(
                "`{program} output -json` failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| {
            InventoryError::Other(format!(
                "`{program} output -json` printed invalid JSON: {e}"
            ))
        })
    }
}

/// pyinfra's `_flatten_dict`: every key at every depth, nested keys joined with `.`.
fn flatten(map: &Map<String, Value>, parent: &str, into: &mut Map<String, Value>) {
    for (k, v) in map {
        let key = if parent.is_empty() {
            k.clone()
        } else {
            format!("{parent}.{k}")
        };
        into.insert(key.clone(), v.clone());
        if let Value::Object(inner) = v {
            flatten(inner, &key, into);
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

/// Hosts from the value at `key` of `terraform output -json`'s document.
fn hosts_from_output(output: &Value, key: &str) -> Result<Vec<NameData>, InventoryError> {
    let err = |m: String| InventoryError::Other(m);
    let Value::Object(top) = output else {
        return Err(err(format!(
            "terraform output is a {}, expected an object",
            type_name(output)
        )));
    };
    let mut flat = Map::new();
    flatten(top, "", &mut flat);
    let Some(value) = flat.get(key).filter(|v| !v.is_null()) else {
        let keys: Vec<String> = flat.keys().map(|k| format!("   - {k}")).collect();
        return Err(err(format!(
            "no Terraform output with key `{key}`, valid keys:\n{}",
            keys.join("\n")
        )));
    };
    let groups: Vec<(String, &Value)> = match value {
        Value::Array(_) => vec![("all".to_string(), value)],
        Value::Object(map) => map.iter().map(|(g, v)| (g.clone(), v)).collect(),
        other => {
            return Err(err(format!(
                "invalid Terraform output type, should be `list`, got `{}`",
                type_name(other)
            )))
        }
    };
    let mut hosts = Vec::new();
    for (group, list) in groups {
        let Value::Array(items) = list else {
            return Err(err(format!(
                "invalid Terraform map value type, all values should be `list`, got `{}`",
                type_name(list)
            )));
        };
        for item in items {
            let (name, data) = match item {
                Value::String(hostname) => {
                    let mut data = HostData::new();
                    data.insert("ssh_hostname".into(), Value::from(hostname.as_str()));
                    (hostname.clone(), data)
                }
                Value::Object(obj) => {
                    let mut data = obj.clone();
                    let name = data
                        .shift_remove("name")
                        .or_else(|| data.get("ssh_hostname").cloned())
                        .ok_or_else(|| {
                            err("invalid Terraform list item, missing `name` or `ssh_hostname` keys"
                                .into())
                        })?;
                    let name = match name {
                        Value::String(s) => s,
                        Value::Number(n) => n.to_string(),
                        other => {
                            return Err(err(format!(
                                "invalid Terraform host name, should be `string`, got `{}`",
                                type_name(&other)
                            )))
                        }
                    };
                    (name, data)
                }
                other => {
                    return Err(err(format!(
                        "invalid Terraform list item, should be `dict` or `str` got `{}`",
                        type_name(other)
                    )))
                }
            };
            hosts.push(NameData {
                name: format!("@terraform/{name}"),
                data,
                groups: vec!["@terraform".into(), group.clone()],
            });
        }
    }
    Ok(hosts)
}

impl InventoryConnector for TerraformInventory {
    fn name(&self) -> &str {
        "terraform"
    }

    fn description(&self) -> &str {
        "SSH hosts from `terraform output -json` (@terraform[/OUTPUT.KEY])"
    }

    fn handles_execution(&self) -> bool {
        false
    }

    fn make_names_data(&self, arg: Option<&str>) -> Result<Vec<NameData>, InventoryError> {
        let key = arg
            .filter(|a| !a.is_empty())
            .unwrap_or(DEFAULT_TERRAFORM_KEY);
        hosts_from_output(&self.output_json()?, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flattens_and_reads_lists_and_groups() {
        let doc = json!({
            "pyinfra_inventory": {"sensitive": false, "type": ["list", "string"],
                                  "value": ["1.2.3.4", "1.2.3.5"]},
            "groups": {"value": {"web": [{"name": "w1", "ssh_hostname": "10.0.0.1", "ssh_user": "u"}],
                                 "db": [{"ssh_hostname": "10.0.0.9"}]}}
        });
        let hosts = hosts_from_output(&doc, DEFAULT_TERRAFORM_KEY).unwrap();
        assert_eq!(hosts[0].name, "@terraform/1.2.3.4");
        assert_eq!(hosts[0].data["ssh_hostname"], "1.2.3.4");
        assert_eq!(hosts[0].groups, ["@terraform", "all"]);

        let hosts = hosts_from_output(&doc, "groups.value").unwrap();
        assert_eq!(hosts[0].name, "@terraform/w1");
        assert_eq!(hosts[0].groups, ["@terraform", "web"]);
        assert!(!hosts[0].data.contains_key("name"));
        assert_eq!(hosts[0].data["ssh_user"], "u");
        assert_eq!(hosts[1].name, "@terraform/10.0.0.9");
        assert_eq!(hosts[1].data["ssh_hostname"], "10.0.0.9");
        assert_eq!(hosts[1].groups, ["@terraform", "db"]);
    }

    #[test]
    fn explains_bad_keys_and_types() {
        let doc = json!({"a": {"value": "x", "n": [1]}, "m": {"value": {"g": "y"}}});
        let e = hosts_from_output(&doc, "nope").unwrap_err().to_string();
        assert!(e.contains("`nope`") && e.contains("   - a.value"), "{e}");
        let e = hosts_from_output(&doc, "a.value").unwrap_err().to_string();
        assert!(e.contains("got `string`"), "{e}");
        let e = hosts_from_output(&doc, "a.n").unwrap_err().to_string();
        assert!(e.contains("should be `dict` or `str` got `number`"), "{e}");
        let e = hosts_from_output(&doc, "m.value").unwrap_err().to_string();
        assert!(e.contains("all values should be `list`"), "{e}");
        let e = hosts_from_output(&json!({"a": {"value": [{}]}}), "a.value")
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing `name` or `ssh_hostname`"), "{e}");
    }
}
