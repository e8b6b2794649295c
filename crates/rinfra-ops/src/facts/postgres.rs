//! `postgres.*` facts (and pyinfra's deprecated `postgresql.*` names): roles and databases,
//! read with `psql`.

use rinfra_connectors::{quoted, Bit, Secret, StringCommand};
use serde_json::{json, Map, Value};

use super::define_fact;
use super::parse::try_int;
use crate::python::python_str;

/// How to reach the server: `psql_user`, `psql_password`, `psql_host`, `psql_port`,
/// `psql_database` (each optional).
#[derive(Default)]
pub(crate) struct Connection {
    pub(crate) user: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) host: Option<String>,
    pub(crate) port: Option<String>,
    pub(crate) database: Option<String>,
}

impl Connection {
    pub(crate) fn from_map(args: &Map<String, Value>) -> Self {
        let get = |k: &str| {
            args.get(k)
                .filter(|v| crate::python::truthy(v))
                .map(python_str)
        };
        Self {
            user: get("psql_user"),
            password: get("psql_password"),
            host: get("psql_host"),
            port: get("psql_port"),
            database: get("psql_database"),
        }
    }

    /// `[PGPASSWORD=...] <executable> [-d db] [-U user] [-h host] [-p port]`, the password
    /// masked when printed.
    pub(crate) fn command(&self, executable: &str) -> StringCommand {
        let mut bits: Vec<Bit> = Vec::new();
        if let Some(p) = &self.password {
            bits.push(
                StringCommand::with_separator(
                    [Bit::from("PGPASSWORD"), quoted(Secret::new(p.as_str()))],
                    "=",
                )
                .into(),
            );
        }
        bits.push(Bit::from(executable));
        for (flag, value) in [
            ("-d", &self.database),
            ("-U", &self.user),
            ("-h", &self.host),
            ("-p", &self.port),
        ] {
            if let Some(v) = value {
                bits.extend([Bit::from(flag), quoted(v.as_str())]);
            }
        }
        StringCommand::new(bits)
    }

    /// `psql ... -Ac '<sql>'`.
    pub(crate) fn execute(&self, sql: impl Into<Bit>) -> StringCommand {
        StringCommand::new([self.command("psql").into(), Bit::from("-Ac"), quoted(sql)])
    }
}

/// psql's `-A` output (`a|b|c` lines, a title line first, a `(N rows)` line last) as rows,
/// `prefix` removed from the column names, empty cells None.
fn rows(lines: &[String], prefix: &str) -> Vec<Map<String, Value>> {
    let lines = &lines[..lines.len().saturating_sub(1)];
    let Some((titles, data)) = lines.split_first() else {
        return Vec::new();
    };
    let titles: Vec<&str> = titles
        .split('|')
        .map(|t| t.strip_prefix(prefix).unwrap_or(t))
        .collect();
    data.iter()
        .map(|line| {
            line.split('|')
                .enumerate()
                .map(|(i, v)| {
                    let title = titles.get(i).copied().unwrap_or_default().to_string();
                    (title, if v.is_empty() { Value::Null } else { json!(v) })
                })
                .collect()
        })
        .collect()
}

fn int_or_none(v: &Value) -> Value {
    v.as_str().map_or(Value::Null, try_int)
}

fn process_roles(lines: &[String]) -> super::ProcessResult {
    let mut roles = Map::new();
    for mut row in rows(lines, "rol") {
        for (key, value) in row.iter_mut() {
            match key.as_str() {
                "oid" | "connlimit" => *value = int_or_none(value),
                "super" | "inherit" | "createrole" | "createdb" | "canlogin" | "replication"
                | "bypassrls" => {
                    *value = json!(value.as_str() == Some("t"));
                }
                _ => {}
            }
        }
        let name = row
            .remove("name")
            .map(|n| python_str(&n))
            .ok_or("a role without a name")?;
        roles.insert(name, Value::Object(row));
    }
    Ok(Value::Object(roles))
}

fn process_databases(lines: &[String]) -> super::ProcessResult {
    let mut databases = Map::new();
    for mut row in rows(lines, "dat") {
        if let Some(e) = row.remove("pg_encoding_to_char") {
            row.insert("encoding".into(), e);
        }
        for (key, value) in row.iter_mut() {
            if key.ends_with("id") || matches!(key.as_str(), "dba" | "tablespace" | "connlimit") {
                *value = int_or_none(value);
            }
            if matches!(key.as_str(), "istemplate" | "allowconn") {
                *value = json!(value.as_str() == Some("t"));
            }
        }
        let name = row
            .remove("name")
            .map(|n| python_str(&n))
            .ok_or("a database without a name")?;
        databases.insert(name, Value::Object(row));
    }
    Ok(Value::Object(databases))
}

const ROLES_SQL: &str = "SELECT * FROM pg_catalog.pg_roles";
const DATABASES_SQL: &str = "SELECT pg_catalog.pg_encoding_to_char(encoding), *, pg_catalog.pg_get_userbyid(datdba) AS owner FROM pg_catalog.pg_database";

macro_rules! psql_facts {
    ($($ty:ident = $name:literal, $doc:literal, $sql:expr, $process:expr;)*) => {
        $(
            define_fact! {
                #[doc = $doc]
                $ty = $name;
                params: ["psql_user", "psql_password", "psql_host", "psql_port", "psql_database"];
                command: |args| Ok(Connection::from_map(args).execute($sql));
                process: |lines, _| $process(lines);
                default: || json!({});
                requires: |_| Some("psql".into());
            }
        )*
    };
}

psql_facts! {
    PostgresRoles = "postgres.PostgresRoles",
        "Roles by name: `{super, inherit, createrole, createdb, canlogin, replication, connlimit, ...}`.",
        ROLES_SQL, process_roles;
    PostgresDatabases = "postgres.PostgresDatabases",
        "Databases by name: `{owner, encoding, collate, ctype, istemplate, connlimit, ...}`.",
        DATABASES_SQL, process_databases;
    PostgresqlRoles = "postgresql.PostgresqlRoles",
        "Deprecated name of `postgres.PostgresRoles`.",
        ROLES_SQL, process_roles;
    PostgresqlDatabases = "postgresql.PostgresqlDatabases",
        "Deprecated name of `postgres.PostgresDatabases`.",
        DATABASES_SQL, process_databases;
}
