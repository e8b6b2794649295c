//! `postgres.*` operations (and pyinfra's deprecated `postgresql.*` names): SQL, roles,
//! databases, dumps and loads through `psql`/`pg_dump`. Every operation takes the connection
//! arguments `psql_user`, `psql_password` (masked in output), `psql_host`, `psql_port` and
//! `psql_database`.

use rinfra_connectors::{quoted, Bit, Secret, StringCommand};
use rinfra_core::{OpHost, OperationError};
use serde_json::{json, Value};

use super::{define_op, fact, Args, Out};
use crate::facts::postgres::Connection;
use crate::python::{python_str, truthy};

fn connection(a: &Args<'_>) -> Connection {
    Connection::from_map(a.raw())
}

/// The connection arguments as the facts take them (None when not given).
fn fact_args(a: &Args<'_>) -> Vec<(&'static str, Value)> {
    [
        "psql_user",
        "psql_password",
        "psql_host",
        "psql_port",
        "psql_database",
    ]
    .into_iter()
    .map(|k| (k, a.get(k).cloned().unwrap_or(Value::Null)))
    .collect()
}

/// An SQL identifier pyinfra writes in double quotes: no `"` inside.
fn identifier(a: &Args<'_>, arg: &str) -> Result<Option<String>, OperationError> {
    match a.nonempty(arg) {
        Some(v) if v.contains('"') || v.contains('\0') => Err(a.invalid(
            arg,
            format!("{v:?} cannot be used as an SQL name (it contains `\"`)"),
        )),
        other => Ok(other),
    }
}

/// `PASSWORD '<secret>'`, the password masked when printed and its quotes doubled for SQL.
fn password_clause(password: &str) -> StringCommand {
    let escaped = password.replace('\'', "''");
    StringCommand::new([
        Bit::from("PASSWORD"),
        StringCommand::with_separator(
            [
                Bit::from("'"),
                Bit::from(Secret::new(escaped)),
                Bit::from("'"),
            ],
            "",
        )
        .into(),
    ])
}

macro_rules! both_names {
    ($(($ty:ident, $alias:ident) = ($name:literal, $old:literal), $gen:path, $doc:literal, $example:literal, [$($params:tt)*] $(, idempotent: $idem:expr)?;)*) => {
        $(
            define_op! {
                #[doc = $doc]
                #[doc = ""]
                #[doc = $example]
                $ty = $name;
                params: [$($params)*];
                $(idempotent: $idem;)?
                generate: $gen;
            }

            define_op! {
                #[doc = "Deprecated name: see the `postgres` module."]
                #[doc = ""]
                #[doc = $doc]
                $alias = $old;
                params: [$($params)*];
                $(idempotent: $idem;)?
                generate: $gen;
            }
        )*
    };
}

both_names! {
    (Sql, OldSql) = ("postgres.sql", "postgresql.sql"), sql,
        "Run SQL with `psql` (not idempotent).",
        "Deploy example: `postgres.sql(\"SELECT 1\", psql_user=\"postgres\")`",
        [required "sql" = "the SQL",
         optional "psql_user" = "connect as this role",
         optional "psql_password" = "its password (masked in output)",
         optional "psql_host" = "the server's host",
         optional "psql_port" = "the server's port",
         optional "psql_database" = "the database to connect to"],
        idempotent: false;
    (Role, OldRole) = ("postgres.role", "postgresql.role"), role,
        "Create, change or drop a role (a password given is always set again).",
        "Deploy example: `postgres.role(role=\"app\", password=\"...\", createdb=True)`",
        [required "role" = "the role's name",
         optional "present" = "whether it should exist (default True)",
         optional "password" = "its password (masked in output)",
         optional "login" = "it may log in (default True)",
         optional "superuser" = "it is a superuser",
         optional "inherit" = "it inherits its roles' privileges",
         optional "createdb" = "it may create databases",
         optional "createrole" = "it may create roles",
         optional "replication" = "it may replicate",
         optional "connection_limit" = "its connection limit",
         optional "psql_user" = "connect as this role",
         optional "psql_password" = "its password (masked in output)",
         optional "psql_host" = "the server's host",
         optional "psql_port" = "the server's port",
         optional "psql_database" = "the database to connect to"];
    (Database, OldDatabase) = ("postgres.database", "postgresql.database"), database,
        "Create, change (owner, tablespace, connection limit) or drop a database.",
        "Deploy example: `postgres.database(database=\"app\", owner=\"app\", encoding=\"UTF8\")`",
        [required "database" = "the database's name",
         optional "present" = "whether it should exist (default True)",
         optional "owner" = "its owner",
         optional "template" = "the template to create it from",
         optional "encoding" = "its encoding (at creation only)",
         optional "lc_collate" = "its collation (at creation only)",
         optional "lc_ctype" = "its character classification (at creation only)",
         optional "tablespace" = "its tablespace",
         optional "connection_limit" = "its connection limit",
         optional "psql_user" = "connect as this role",
         optional "psql_password" = "its password (masked in output)",
         optional "psql_host" = "the server's host",
         optional "psql_port" = "the server's port",
         optional "psql_database" = "the database to connect to"];
    (Dump, OldDump) = ("postgres.dump", "postgresql.dump"), dump,
        "Dump a database to a file on the host with `pg_dump` (not idempotent).",
        "Deploy example: `postgres.dump(dest=\"/backup/app.sql\", psql_database=\"app\")`",
        [required "dest" = "the file to write",
         optional "psql_user" = "connect as this role",
         optional "psql_password" = "its password (masked in output)",
         optional "psql_host" = "the server's host",
         optional "psql_port" = "the server's port",
         optional "psql_database" = "the database to dump"],
        idempotent: false;
    (Load, OldLoad) = ("postgres.load", "postgresql.load"), load,
        "Run an SQL file on the host through `psql` (not idempotent).",
        "Deploy example: `postgres.load(src=\"/backup/app.sql\", psql_database=\"app\")`",
        [required "src" = "the SQL file",
         optional "psql_user" = "connect as this role",
         optional "psql_password" = "its password (masked in output)",
         optional "psql_host" = "the server's host",
         optional "psql_port" = "the server's port",
         optional "psql_database" = "the database to load into"],
        idempotent: false;
}

async fn sql(a: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    out.shell(connection(a).execute(a.str("sql")?));
    Ok(())
}

async fn role(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let name =
        identifier(a, "role")?.ok_or_else(|| a.invalid("role", "missing required argument"))?;
    let conn = connection(a);
    let roles = fact(host, &crate::facts::postgres::PostgresRoles, &fact_args(a)).await?;
    let current = roles.get(&name);
    if !a.bool_or("present", true) {
        match current {
            Some(_) => out.shell(conn.execute(format!("DROP ROLE \"{name}\""))),
            None => out.noop(format!("postgresql role {name} does not exist")),
        }
        return Ok(());
    }
    let limit = a
        .get("connection_limit")
        .filter(|v| truthy(v))
        .map(python_str);
    if let Some(l) = &limit {
        if l.parse::<i64>().is_err() {
            return Err(a.invalid("connection_limit", format!("must be a number, got {l:?}")));
        }
    }
    let password = a.nonempty("password");
    let flags = [
        ("LOGIN", "login", a.bool_or("login", true)),
        ("SUPERUSER", "superuser", a.bool_or("superuser", false)),
        ("INHERIT", "inherit", a.bool_or("inherit", false)),
        ("CREATEDB", "createdb", a.bool_or("createdb", false)),
        ("CREATEROLE", "createrole", a.bool_or("createrole", false)),
        (
            "REPLICATION",
            "replication",
            a.bool_or("replication", false),
        ),
    ];
    let mut bits: Vec<Bit> = Vec::new();
    match current {
        None => {
            bits.push(Bit::from(format!("CREATE ROLE \"{name}\"")));
            bits.extend(flags.iter().filter(|f| f.2).map(|f| Bit::from(f.0)));
            if let Some(l) = &limit {
                bits.push(Bit::from(format!("CONNECTION LIMIT {l}")));
            }
        }
        Some(have) => {
            bits.push(Bit::from(format!("ALTER ROLE \"{name}\"")));
            // as pyinfra: only flags asked for and known to differ (replication is not
            // compared); the PostgresRoles fact names two of them `canlogin` and `super`
            let field = |key: &str, fact_key: &str| have.get(key).or_else(|| have.get(fact_key));
            for (keyword, key, wanted) in flags.iter().take(5) {
                let fact_key = match *key {
                    "login" => "canlogin",
                    "superuser" => "super",
                    other => other,
                };
                if *wanted && field(key, fact_key).is_some_and(|v| *v != json!(wanted)) {
                    bits.push(Bit::from(*keyword));
                }
            }
            if let Some(l) = &limit {
                if field("connection_limit", "connlimit").is_some_and(|v| python_str(v) != *l) {
                    bits.push(Bit::from(format!("CONNECTION LIMIT {l}")));
                }
            }
            if bits.len() == 1 && password.is_none() {
                out.noop(format!(
                    "postgresql role {name} exists and does not need updates"
                ));
                return Ok(());
            }
        }
    }
    if let Some(p) = &password {
        bits.push(password_clause(p).into());
    }
    out.shell(conn.execute(StringCommand::new(bits)));
    Ok(())
}

async fn database(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let name = identifier(a, "database")?
        .ok_or_else(|| a.invalid("database", "missing required argument"))?;
    let owner = identifier(a, "owner")?;
    let tablespace = identifier(a, "tablespace")?;
    let conn = connection(a);
    let databases = fact(
        host,
        &crate::facts::postgres::PostgresDatabases,
        &fact_args(a),
    )
    .await?;
    let current = databases.get(&name);
    if !a.bool_or("present", true) {
        match current {
            Some(_) => out.shell(conn.execute(format!("DROP DATABASE \"{name}\""))),
            None => out.noop(format!("postgresql database {name} does not exist")),
        }
        return Ok(());
    }
    let plain = |arg: &str| -> Result<Option<String>, OperationError> {
        match a.nonempty(arg) {
            Some(v)
                if !v
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.@".contains(c)) =>
            {
                Err(a.invalid(arg, format!("{v:?} is not a plain name")))
            }
            other => Ok(other),
        }
    };
    let (template, encoding) = (plain("template")?, plain("encoding")?);
    let (lc_collate, lc_ctype) = (plain("lc_collate")?, plain("lc_ctype")?);
    let limit = a
        .get("connection_limit")
        .filter(|v| truthy(v))
        .map(python_str);
    if let Some(l) = &limit {
        if l.parse::<i64>().is_err() {
            return Err(a.invalid("connection_limit", format!("must be a number, got {l:?}")));
        }
    }
    let Some(have) = current else {
        let mut bits = vec![Bit::from(format!("CREATE DATABASE \"{name}\""))];
        let settings = [
            ("OWNER", owner.map(|o| format!("\"{o}\""))),
            ("TEMPLATE", template),
            ("ENCODING", encoding),
            ("LC_COLLATE", lc_collate.map(|c| format!("'{c}'"))),
            ("LC_CTYPE", lc_ctype.map(|c| format!("'{c}'"))),
            ("TABLESPACE", tablespace),
            ("CONNECTION LIMIT", limit),
        ];
        bits.extend(
            settings
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| Bit::from(format!("{k} {v}")))),
        );
        out.shell(conn.execute(StringCommand::new(bits)));
        return Ok(());
    };
    // what can only be chosen at creation
    let fixed = [
        ("TEMPLATE", template, have.get("istemplate")),
        ("ENCODING", encoding, have.get("encoding")),
        ("LC_COLLATE", lc_collate, None),
        ("LC_CTYPE", lc_ctype, None),
    ];
    for (key, wanted, have_value) in fixed {
        if let Some(w) = wanted {
            if have_value.is_none_or(|h| python_str(h) != w) {
                out.noop(format!(
                    "postgresql database {name} already exists, skipping {key}"
                ));
            }
        }
    }
    let mut changes: Vec<Bit> = Vec::new();
    let differs = |key: &str, want: &str| have.get(key).is_some_and(|v| python_str(v) != want);
    if let Some(o) = owner.filter(|o| differs("owner", o)) {
        changes.push(Bit::from(format!(
            "ALTER DATABASE \"{name}\" OWNER TO \"{o}\";"
        )));
    }
    if let Some(t) = tablespace.filter(|t| differs("tablespace", t)) {
        changes.push(Bit::from(format!(
            "ALTER DATABASE \"{name}\" SET TABLESPACE \"{t}\";"
        )));
    }
    if let Some(l) = limit.filter(|l| differs("connlimit", l)) {
        changes.push(Bit::from(format!(
            "ALTER DATABASE \"{name}\" CONNECTION LIMIT {l};"
        )));
    }
    if changes.is_empty() {
        out.noop(format!(
            "postgresql database {name} already exists with the same parameters"
        ));
    } else {
        out.shell(conn.execute(StringCommand::new(changes)));
    }
    Ok(())
}

async fn dump(a: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    out.shell(StringCommand::new([
        connection(a).command("pg_dump").into(),
        Bit::from(">"),
        quoted(a.str("dest")?.as_str()),
    ]));
    Ok(())
}

async fn load(a: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    out.shell(StringCommand::new([
        connection(a).command("psql").into(),
        Bit::from("<"),
        quoted(a.str("src")?.as_str()),
    ]));
    Ok(())
}
