//! `mysql.*` operations: SQL, users, databases, privileges, dumps and loads through the
//! `mysql` client. Every operation takes the connection arguments `mysql_user`,
//! `mysql_password` (masked in output), `mysql_host` and `mysql_port`.

use std::collections::BTreeSet;

use rinfra_connectors::{quoted, Bit, Secret, StringCommand};
use rinfra_core::{OpHost, OperationError};
use serde_json::{json, Value};

use super::{define_op, fact, Args, Out};
use crate::facts::mysql::Connection;
use crate::python::{python_str, truthy};

fn connection(a: &Args<'_>) -> Connection {
    Connection::from_map(a.raw())
}

/// The connection arguments as the facts take them (None when not given).
fn fact_args(a: &Args<'_>) -> Vec<(&'static str, Value)> {
    ["mysql_user", "mysql_password", "mysql_host", "mysql_port"]
        .into_iter()
        .map(|k| (k, a.get(k).cloned().unwrap_or(Value::Null)))
        .collect()
}

/// A value pyinfra writes into SQL between `quote` characters: it must not contain one.
fn sql_text(a: &Args<'_>, arg: &str, quote: char) -> Result<Option<String>, OperationError> {
    match a.nonempty(arg) {
        Some(v) if v.contains(quote) || v.contains('\\') => Err(a.invalid(
            arg,
            format!("{v:?} cannot be used here (it contains `{quote}` or a backslash)"),
        )),
        other => Ok(other),
    }
}

fn required_sql_text(a: &Args<'_>, arg: &str, quote: char) -> Result<String, OperationError> {
    sql_text(a, arg, quote)?.ok_or_else(|| a.invalid(arg, "missing required argument"))
}

define_op! {
    /// Run SQL with the `mysql` client (not idempotent).
    ///
    /// Deploy example: `mysql.sql("FLUSH TABLES", mysql_user="root")`
    Sql = "mysql.sql";
    params: [required "sql" = "the SQL",
             optional "database" = "the database to run it in",
             optional "mysql_user" = "connect as this user",
             optional "mysql_password" = "its password (masked in output)",
             optional "mysql_host" = "the server's host",
             optional "mysql_port" = "the server's port"];
    idempotent: false;
    generate: sql;
}

async fn sql(a: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let database = a.nonempty("database");
    out.shell(connection(a).execute(a.str("sql")?, database.as_deref(), false));
    Ok(())
}

define_op! {
    /// Create, change (TLS requirements, resource limits) or drop a user; `privileges` are
    /// granted on `*.*`. A password is only set when the user is created.
    ///
    /// Deploy example: `mysql.user(user="app", password="...", privileges=["SELECT"])`
    User = "mysql.user";
    params: [required "user" = "the user's name",
             optional "present" = "whether it should exist (default True)",
             optional "user_hostname" = "the host part of the account (default `localhost`)",
             optional "password" = "its password, at creation (masked in output)",
             optional "privileges" = "global privileges to grant",
             optional "require" = "`SSL` or `X509`",
             optional "require_cipher" = "with `X509`, the cipher",
             optional "require_issuer" = "with `X509`, the certificate issuer",
             optional "require_subject" = "with `X509`, the certificate subject",
             optional "max_connections" = "MAX_USER_CONNECTIONS",
             optional "max_queries_per_hour" = "MAX_QUERIES_PER_HOUR",
             optional "max_updates_per_hour" = "MAX_UPDATES_PER_HOUR",
             optional "max_connections_per_hour" = "MAX_CONNECTIONS_PER_HOUR",
             optional "mysql_user" = "connect as this user",
             optional "mysql_password" = "its password (masked in output)",
             optional "mysql_host" = "the server's host",
             optional "mysql_port" = "the server's port"];
    generate: user;
}

async fn user(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let name = required_sql_text(a, "user", '"')?;
    let hostname = sql_text(a, "user_hostname", '"')?.unwrap_or_else(|| "localhost".into());
    let require = a.nonempty("require");
    if let Some(r) = require.as_deref().filter(|r| *r != "SSL" && *r != "X509") {
        return Err(a.invalid(
            "require",
            format!("Invalid `require` value, must be: \"SSL\" or \"X509\" (got {r:?})"),
        ));
    }
    let x509 = require.as_deref() == Some("X509");
    let mut x509_parts: Vec<(&str, &str, String)> = Vec::new();
    for (arg, keyword, field) in [
        ("require_cipher", "CIPHER", "ssl_cipher"),
        ("require_issuer", "ISSUER", "x509_issuer"),
        ("require_subject", "SUBJECT", "x509_subject"),
    ] {
        if let Some(v) = sql_text(a, arg, '"')? {
            if !x509 {
                return Err(a.invalid(
                    arg,
                    format!("Cannot set `{arg}` if `require` is not \"X509\""),
                ));
            }
            x509_parts.push((keyword, field, v));
        }
    }
    let limit = |arg: &str| -> Result<Option<i64>, OperationError> {
        match a.get(arg).filter(|v| truthy(v)) {
            None => Ok(None),
            Some(_) => a.int_or(arg, 0).map(Some),
        }
    };
    let limits = [
        (
            "MAX_USER_CONNECTIONS",
            "max_user_connections",
            limit("max_connections")?,
        ),
        (
            "MAX_QUERIES_PER_HOUR",
            "max_questions",
            limit("max_queries_per_hour")?,
        ),
        (
            "MAX_UPDATES_PER_HOUR",
            "max_updates",
            limit("max_updates_per_hour")?,
        ),
        (
            "MAX_CONNECTIONS_PER_HOUR",
            "max_connections",
            limit("max_connections_per_hour")?,
        ),
    ];
    let conn = connection(a);
    let users = fact(host, &crate::facts::mysql::MysqlUsers, &fact_args(a)).await?;
    let current = users.get(format!("{name}@{hostname}"));
    let account = format!("\"{name}\"@\"{hostname}\"");
    if !a.bool_or("present", true) {
        match current {
            Some(_) => out.shell(conn.execute(format!("DROP USER {account}"), None, false)),
            None => out.noop(format!("mysql user {name}@{hostname} does not exist")),
        }
        return Ok(());
    }
    let with = |parts: Vec<String>| -> Vec<Bit> {
        if parts.is_empty() {
            Vec::new()
        } else {
            vec![Bit::from("WITH"), Bit::from(parts.join(" "))]
        }
    };
    match current {
        None => {
            let mut bits = vec![Bit::from(format!("CREATE USER {account}"))];
            if let Some(p) = a.nonempty("password") {
                if p.contains('"') || p.contains('\\') {
                    return Err(a.invalid("password", "must not contain `\"` or a backslash"));
                }
                bits.push(
                    StringCommand::new([
                        Bit::from("IDENTIFIED BY"),
                        StringCommand::with_separator(
                            [Bit::from("\""), Bit::from(Secret::new(p)), Bit::from("\"")],
                            "",
                        )
                        .into(),
                    ])
                    .into(),
                );
            }
            match require.as_deref() {
                Some("SSL") => bits.push(Bit::from("REQUIRE SSL")),
                Some("X509") => {
                    bits.push(Bit::from("REQUIRE"));
                    if x509_parts.is_empty() {
                        bits.push(Bit::from("X509"));
                    }
                    bits.extend(
                        x509_parts
                            .iter()
                            .map(|(k, _, v)| Bit::from(format!("{k} \"{v}\""))),
                    );
                }
                _ => {}
            }
            bits.extend(with(
                limits
                    .iter()
                    .filter_map(|(k, _, v)| v.map(|v| format!("{k} {v}")))
                    .collect(),
            ));
            out.shell(conn.execute(StringCommand::new(bits), None, false));
        }
        Some(have) => {
            let field = |k: &str| have.get(k).filter(|v| !v.is_null()).map(python_str);
            let mut bits: Vec<Bit> = Vec::new();
            match require.as_deref() {
                Some("SSL") if field("ssl_type").as_deref() != Some("ANY") => {
                    bits.push(Bit::from("REQUIRE SSL"));
                }
                Some("X509") => {
                    let mut parts: Vec<Bit> = x509_parts
                        .iter()
                        .filter(|(_, f, v)| field(f).as_deref() != Some(v.as_str()))
                        .map(|(k, _, v)| Bit::from(format!("{k} \"{v}\"")))
                        .collect();
                    if parts.is_empty()
                        && x509_parts.is_empty()
                        && field("ssl_type").as_deref() != Some("X509")
                    {
                        parts.push(Bit::from("X509"));
                    }
                    if !parts.is_empty() {
                        bits.push(Bit::from("REQUIRE"));
                        bits.extend(parts);
                    }
                }
                _ => {}
            }
            bits.extend(with(
                limits
                    .iter()
                    .filter_map(|(k, f, v)| {
                        v.filter(|v| have.get(*f) != Some(&json!(v)))
                            .map(|v| format!("{k} {v}"))
                    })
                    .collect(),
            ));
            if bits.is_empty() {
                out.noop(format!("mysql user {name}@{hostname} exists"));
            } else {
                bits.insert(0, Bit::from(format!("ALTER USER {account}")));
                out.shell(conn.execute(StringCommand::new(bits), None, false));
            }
        }
    }
    if a.get("privileges").is_some_and(truthy) {
        let wanted = a.list("privileges")?;
        ensure_privileges(
            a, host, out, &name, &hostname, wanted, "*", "*", true, false,
        )
        .await?;
    }
    Ok(())
}

define_op! {
    /// Create or drop a database; `user` gets `user_privileges` on it. Collation and charset
    /// apply at creation only.
    ///
    /// Deploy example: `mysql.database(database="app", user="app", user_privileges=["SELECT", "INSERT"])`
    Database = "mysql.database";
    params: [required "database" = "the database's name",
             optional "present" = "whether it should exist (default True)",
             optional "collate" = "its collation (at creation)",
             optional "charset" = "its character set (at creation)",
             optional "user" = "a user to grant privileges on it to",
             optional "user_hostname" = "that user's host part (default `localhost`)",
             optional "user_privileges" = "the privileges to grant (default `ALL`)",
             optional "mysql_user" = "connect as this user",
             optional "mysql_password" = "its password (masked in output)",
             optional "mysql_host" = "the server's host",
             optional "mysql_port" = "the server's port"];
    generate: database;
}

async fn database(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let name = required_sql_text(a, "database", '`')?;
    let conn = connection(a);
    let databases = fact(host, &crate::facts::mysql::MysqlDatabases, &fact_args(a)).await?;
    let exists = databases.get(&name).is_some();
    if !a.bool_or("present", true) {
        if exists {
            out.shell(conn.execute(format!("DROP DATABASE `{name}`"), None, false));
        } else {
            out.noop(format!("mysql database {name} does not exist"));
        }
        return Ok(());
    }
    if exists {
        out.noop(format!("mysql database {name} exists"));
    } else {
        let mut sql = format!("CREATE DATABASE `{name}`");
        for (arg, keyword) in [("collate", "COLLATE"), ("charset", "CHARSET")] {
            if let Some(v) = a.nonempty(arg) {
                if !v
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    return Err(a.invalid(arg, format!("{v:?} is not a plain name")));
                }
                sql.push_str(&format!(" {keyword} {v}"));
            }
        }
        out.shell(conn.execute(sql, None, false));
    }
    let privileges = match a.raw().get("user_privileges") {
        None => vec!["ALL".to_string()],
        Some(_) => a.list("user_privileges")?,
    };
    if let (Some(user), false) = (sql_text(a, "user", '"')?, privileges.is_empty()) {
        let hostname = sql_text(a, "user_hostname", '"')?.unwrap_or_else(|| "localhost".into());
        ensure_privileges(
            a, host, out, &user, &hostname, privileges, &name, "*", true, false,
        )
        .await?;
    }
    Ok(())
}

define_op! {
    /// Grant and revoke a user's privileges on `database.table` so they are exactly
    /// `privileges` (an empty list revokes all), then flush.
    ///
    /// Deploy example: `mysql.privileges(user="app", privileges=["SELECT", "INSERT"], database="app")`
    Privileges = "mysql.privileges";
    params: [required "user" = "the user",
             required "privileges" = "the privileges it should have there",
             optional "user_hostname" = "its host part (default `localhost`)",
             optional "database" = "the database (default `*`: all)",
             optional "table" = "the table (default `*`: all; needs `database`)",
             optional "flush" = "`FLUSH PRIVILEGES` after a change (default True)",
             optional "with_grant_option" = "also let it grant them (`GRANT OPTION`)",
             optional "mysql_user" = "connect as this user",
             optional "mysql_password" = "its password (masked in output)",
             optional "mysql_host" = "the server's host",
             optional "mysql_port" = "the server's port"];
    generate: privileges;
}

async fn privileges(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let user = required_sql_text(a, "user", '"')?;
    let hostname = sql_text(a, "user_hostname", '"')?.unwrap_or_else(|| "localhost".into());
    let database = sql_text(a, "database", '`')?.unwrap_or_else(|| "*".into());
    let table = sql_text(a, "table", '`')?.unwrap_or_else(|| "*".into());
    let wanted = a.list("privileges")?;
    let (flush, grant_option) = (
        a.bool_or("flush", true),
        a.bool_or("with_grant_option", false),
    );
    ensure_privileges(
        a,
        host,
        out,
        &user,
        &hostname,
        wanted,
        &database,
        &table,
        flush,
        grant_option,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn ensure_privileges(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
    user: &str,
    hostname: &str,
    wanted: Vec<String>,
    database: &str,
    table: &str,
    flush: bool,
    grant_option: bool,
) -> Result<(), OperationError> {
    if let Some(bad) = wanted.iter().find(|p| {
        p.is_empty()
            || !p
                .chars()
                .all(|c| c.is_ascii_alphabetic() || c == ' ' || c == '_')
    }) {
        return Err(a.invalid("privileges", format!("not a privilege: {bad:?}")));
    }
    let mut wanted: BTreeSet<String> = wanted.into_iter().collect();
    if grant_option {
        wanted.insert("GRANT OPTION".into());
    }
    let database = if database == "*" {
        "*".to_string()
    } else {
        format!("`{database}`")
    };
    let table = if table == "*" {
        "*".to_string()
    } else {
        if database == "*" {
            return Err(OperationError::Other(format!(
                "Cannot apply MySQL privileges on {database}.`{table}`, no database provided"
            )));
        }
        format!("`{table}`")
    };
    let target = format!("{database}.{table}");
    let mut grant_args = vec![("user", json!(user)), ("hostname", json!(hostname))];
    grant_args.extend(fact_args(a));
    let grants = fact(host, &crate::facts::mysql::MysqlUserGrants, &grant_args).await?;
    let existing: BTreeSet<String> = grants
        .get(&target)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(python_str)
        .map(|p| {
            if p == "ALL PRIVILEGES" {
                "ALL".into()
            } else {
                p
            }
        })
        .collect();
    let mut revoke: BTreeSet<String> = existing.difference(&wanted).cloned().collect();
    let grant: BTreeSet<String> = wanted.difference(&existing).cloned().collect();
    if !grant.is_empty() {
        revoke.remove("USAGE");
    }
    let conn = connection(a);
    let statement = |action: &str, direction: &str, privileges: &[&str], with: Option<&str>| {
        let mut sql = format!(
            "{action} {} ON {target} {direction} \"{user}\"@\"{hostname}\"",
            privileges.join(", ")
        );
        if let Some(w) = with {
            sql.push_str(&format!(" WITH {w}"));
        }
        conn.execute(sql, None, false)
    };
    let all_and_grant = |set: &BTreeSet<String>| {
        set.len() == 2 && set.contains("ALL") && set.contains("GRANT OPTION")
    };
    if !revoke.is_empty() {
        if all_and_grant(&revoke) {
            out.shell(statement("REVOKE", "FROM", &["GRANT OPTION"], None));
            out.shell(statement("REVOKE", "FROM", &["ALL PRIVILEGES"], None));
        } else {
            let list: Vec<&str> = revoke.iter().map(String::as_str).collect();
            out.shell(statement("REVOKE", "FROM", &list, None));
        }
    }
    if !grant.is_empty() {
        if all_and_grant(&grant) {
            out.shell(statement(
                "GRANT",
                "TO",
                &["ALL PRIVILEGES"],
                Some("GRANT OPTION"),
            ));
        } else {
            let list: Vec<&str> = grant.iter().map(String::as_str).collect();
            out.shell(statement("GRANT", "TO", &list, None));
        }
    }
    if grant.is_empty() && revoke.is_empty() {
        out.noop("mysql privileges are already correct");
    } else if flush {
        out.shell(conn.execute("FLUSH PRIVILEGES", None, false));
    }
    Ok(())
}

define_op! {
    /// Dump a database (or all) to a file on the host with `mysqldump` (not idempotent).
    ///
    /// Deploy example: `mysql.dump(dest="/backup/app.sql", database="app")`
    Dump = "mysql.dump";
    params: [required "dest" = "the file to write",
             optional "database" = "the database to dump",
             optional "mysql_user" = "connect as this user",
             optional "mysql_password" = "its password (masked in output)",
             optional "mysql_host" = "the server's host",
             optional "mysql_port" = "the server's port"];
    idempotent: false;
    generate: dump;
}

async fn dump(a: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let database = a.nonempty("database");
    out.shell(StringCommand::new([
        connection(a)
            .command("mysqldump", database.as_deref())
            .into(),
        Bit::from(">"),
        quoted(a.str("dest")?.as_str()),
    ]));
    Ok(())
}

define_op! {
    /// Run an SQL file on the host through `mysql` (not idempotent).
    ///
    /// Deploy example: `mysql.load(src="/backup/app.sql", database="app")`
    Load = "mysql.load";
    params: [required "src" = "the SQL file",
             optional "database" = "the database to load into",
             optional "mysql_user" = "connect as this user",
             optional "mysql_password" = "its password (masked in output)",
             optional "mysql_host" = "the server's host",
             optional "mysql_port" = "the server's port"];
    idempotent: false;
    generate: load;
}

async fn load(a: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let database = a.nonempty("database");
    out.shell(StringCommand::new([
        connection(a).command("mysql", database.as_deref()).into(),
        Bit::from("<"),
        quoted(a.str("src")?.as_str()),
    ]));
    Ok(())
}
