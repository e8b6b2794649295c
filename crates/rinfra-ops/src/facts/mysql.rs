//! `mysql.*` facts: databases, users and grants, read with the `mysql` client.

use rinfra_connectors::{quoted, Bit, Secret, StringCommand};
use serde_json::{json, Map, Value};

use super::define_fact;
use super::parse::{re_match, try_int};
use crate::python::python_str;

/// How to reach the server: `mysql_user`, `mysql_password`, `mysql_host`, `mysql_port`.
#[derive(Default)]
pub(crate) struct Connection {
    pub(crate) user: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) host: Option<String>,
    pub(crate) port: Option<String>,
}

impl Connection {
    pub(crate) fn from_map(args: &Map<String, Value>) -> Self {
        let get = |k: &str| {
            args.get(k)
                .filter(|v| crate::python::truthy(v))
                .map(python_str)
        };
        Self {
            user: get("mysql_user"),
            password: get("mysql_password"),
            host: get("mysql_host"),
            port: get("mysql_port"),
        }
    }

    /// `<executable> [database] [-u<user>] [-p<password>] [-h<host>] [-P<port>]`, the password
    /// masked when printed.
    pub(crate) fn command(&self, executable: &str, database: Option<&str>) -> StringCommand {
        let mut bits = vec![Bit::from(executable)];
        if let Some(d) = database {
            bits.push(quoted(d));
        }
        let joined = |flag: &str, value: Bit| -> Bit {
            StringCommand::with_separator([Bit::from(flag), quoted(value)], "").into()
        };
        if let Some(u) = &self.user {
            bits.push(joined("-u", Bit::from(u.as_str())));
        }
        if let Some(p) = &self.password {
            bits.push(joined("-p", Bit::from(Secret::new(p.as_str()))));
        }
        if let Some(h) = &self.host {
            bits.push(joined("-h", Bit::from(h.as_str())));
        }
        if let Some(p) = &self.port {
            bits.push(joined("-P", Bit::from(p.as_str())));
        }
        StringCommand::new(bits)
    }

    /// `mysql ... -Be '<sql>'` (`|| true` when errors are expected).
    pub(crate) fn execute(
        &self,
        sql: impl Into<Bit>,
        database: Option<&str>,
        ignore_errors: bool,
    ) -> StringCommand {
        let mut bits = vec![
            self.command("mysql", database).into(),
            Bit::from("-Be"),
            quoted(sql),
        ];
        if ignore_errors {
            bits.push(Bit::from("|| true"));
        }
        StringCommand::new(bits)
    }
}

/// Tab-separated rows under a title line; empty cells None.
fn rows(lines: &[String], lower_titles: bool) -> Vec<Vec<(String, Value)>> {
    let Some((titles, data)) = lines.split_first() else {
        return Vec::new();
    };
    let titles: Vec<String> = titles
        .split('\t')
        .map(|t| {
            if lower_titles {
                t.to_lowercase()
            } else {
                t.to_string()
            }
        })
        .collect();
    data.iter()
        .map(|line| {
            line.split('\t')
                .enumerate()
                .map(|(i, v)| {
                    let title = titles.get(i).cloned().unwrap_or_default();
                    (title, if v.is_empty() { Value::Null } else { json!(v) })
                })
                .collect()
        })
        .collect()
}

define_fact! {
    /// Databases: `{name: {character_set, collation_name}}`.
    MysqlDatabases = "mysql.MysqlDatabases";
    params: ["mysql_user", "mysql_password", "mysql_host", "mysql_port"];
    command: |args| Ok(Connection::from_map(args).execute("SELECT * FROM information_schema.SCHEMATA", None, false));
    process: |lines, _| {
        let mut databases = Map::new();
        for row in rows(lines, true) {
            let get = |k: &str| row.iter().find(|(t, _)| t == k).map_or(Value::Null, |(_, v)| v.clone());
            let name = python_str(&get("schema_name"));
            databases.insert(name, json!({
                "character_set": get("default_character_set_name"),
                "collation_name": get("default_collation_name"),
            }));
        }
        Ok(Value::Object(databases))
    };
    default: || json!({});
    requires: |_| Some("mysql".into());
}

define_fact! {
    /// Users by `user@host`: their `mysql.user` columns, `privileges` (the `*_priv` columns
    /// set to Y, without `_priv`, sorted), limits as numbers and flags as booleans.
    MysqlUsers = "mysql.MysqlUsers";
    params: ["mysql_user", "mysql_password", "mysql_host", "mysql_port"];
    command: |args| Ok(Connection::from_map(args).execute("SELECT * FROM mysql.user", None, false));
    process: |lines, _| {
        let mut users = Map::new();
        for row in rows(lines, false) {
            let mut details = Map::new();
            let mut privileges: Vec<String> = Vec::new();
            let (mut user, mut host) = (None, None);
            for (key, value) in row {
                match key.as_str() {
                    "User" => user = value.as_str().map(String::from),
                    "Host" => host = value.as_str().map(String::from),
                    k if k.ends_with("_priv") => {
                        if value.as_str() == Some("Y") {
                            privileges.push(k.trim_end_matches("_priv").to_string());
                        }
                    }
                    k if k.starts_with("max_") => {
                        details.insert(key.clone(), value.as_str().map_or(Value::Null, try_int));
                    }
                    "password_expired" | "is_role" => {
                        details.insert(key.clone(), json!(value.as_str() == Some("Y")));
                    }
                    _ => {
                        details.insert(key.clone(), value);
                    }
                }
            }
            let (Some(user), Some(host)) = (user, host) else { continue };
            privileges.sort();
            details.insert("privileges".into(), json!(privileges));
            users.insert(format!("{user}@{host}"), Value::Object(details));
        }
        Ok(Value::Object(users))
    };
    default: || json!({});
    requires: |_| Some("mysql".into());
}

define_fact! {
    /// A user's grants: `{"db.table": [privileges]}` (`GRANT OPTION` included), sorted.
    MysqlUserGrants = "mysql.MysqlUserGrants";
    params: ["user", "hostname", "mysql_user", "mysql_password", "mysql_host", "mysql_port"];
    command: |args| {
        let user = super::arg_str(args, "user")?;
        let hostname = super::arg_opt(args, "hostname").unwrap_or_else(|| "localhost".into());
        if user.contains('"') || hostname.contains('"') {
            return Err("user and hostname must not contain `\"`".into());
        }
        Ok(Connection::from_map(args).execute(format!("SHOW GRANTS FOR \"{user}\"@\"{hostname}\""), None, true))
    };
    process: |lines, _| {
        let mut grants: Map<String, Value> = Map::new();
        for line in lines {
            // Any quoted name (pyinfra's pattern only knows lowercase letters and `_`, so a
            // database such as `app2` was never seen as granted and re-granted on every run).
            let Some(m) = re_match(
                r"GRANT ([A-Z,\s]+) ON ((?:\*|`(?:[^`]|``)+`)\.(?:\*|`(?:[^`]|``)+`)) TO `(?:[^`]|``)+`@`(?:[^`]|``)+`(.*)",
                line,
            ) else {
                continue;
            };
            let target = m[2].replace("\\\\", "\\");
            let mut privileges: Vec<String> = grants
                .get(&target)
                .and_then(Value::as_array)
                .map(|a| a.iter().map(python_str).collect())
                .unwrap_or_default();
            privileges.extend(m[1].split(',').map(|p| p.trim().to_string()));
            if m[3].contains("WITH GRANT OPTION") {
                privileges.push("GRANT OPTION".into());
            }
            privileges.sort();
            privileges.dedup();
            grants.insert(target, json!(privileges));
        }
        Ok(Value::Object(grants))
    };
    default: || json!({});
    requires: |_| Some("mysql".into());
}
