//! pyinfra's `postgres` module (and its deprecated `postgresql` names) end to end against a real
//! PostgreSQL 15 server (Debian 12's `postgresql`, see `servers.rs` for where and how
//! it runs): the `rinfra` binary runs each operation twice (a change, then `No changes`;
//! `sql`, `dump` and `load` are not idempotent in pyinfra, and `role` with a `password` always
//! sets it again, as pyinfra documents), and the server's state is checked with plain `psql`
//! over ssh. The facts (`PostgresRoles`, `PostgresDatabases` and the deprecated
//! `PostgresqlRoles`, `PostgresqlDatabases`) are compared with what `psql` shows.
//!
//! Operations run both ways pyinfra's docs show: as the `postgres` system user (`_sudo=True`,
//! `_sudo_user="postgres"`: peer authentication over the unix socket, no password), and with
//! `psql_user`/`psql_password` (plus `psql_host`/`psql_port`: TCP to the server's address) as an
//! admin role with a password. Every name starts with `rinfra_e2e_pg_` and is dropped before
//! the test.

use crate::fact;
use crate::servers::postgresql;
use crate::util::target::Target;
use crate::util::TestDir;

/// The admin role the connection-argument tests log in as (made by [`admin`]).
const ADMIN: &str = "rinfra_e2e_pg_admin";
const ADMIN_PASSWORD: &str = "e2e-PgAdmin-pw-2290";

/// As the `postgres` system user, as pyinfra's docs show.
const AS_POSTGRES: [&str; 2] = ["_sudo=true", "_sudo_user=postgres"];

/// Run SQL as `postgres` with plain `psql`: unaligned rows, `|`-separated, no headers.
fn pg(t: &Target, query: &str) -> String {
    assert!(!query.contains("RINFRA_EOF"));
    t.check(&format!(
        "cd /tmp && runuser -u postgres -- psql -qAtX -v ON_ERROR_STOP=1 <<'RINFRA_EOF'\n{query}\nRINFRA_EOF"
    ))
}

/// The admin role (a superuser with a password).
fn admin(t: &Target) {
    pg(
        t,
        &format!(
            "DO $$ BEGIN CREATE ROLE {ADMIN} LOGIN SUPERUSER; \
             EXCEPTION WHEN duplicate_object THEN NULL; END $$;\n\
             ALTER ROLE {ADMIN} PASSWORD '{ADMIN_PASSWORD}';"
        ),
    );
}

/// `psql_*` connection arguments for the admin, over TCP to the server's address.
fn as_admin(t: &Target) -> Vec<String> {
    vec![
        format!("psql_user={ADMIN}"),
        format!("psql_password={ADMIN_PASSWORD}"),
        format!("psql_host={}", t.addr),
        "psql_port=5432".into(),
        "psql_database=postgres".into(),
    ]
}

fn with<'a>(args: &'a [&'a str], more: &'a [&'a str]) -> Vec<&'a str> {
    let mut all = args.to_vec();
    all.extend_from_slice(more);
    all
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn drop_database_and_role(t: &Target, database: &str, role: &str) {
    pg(
        t,
        &format!("DROP DATABASE IF EXISTS {database};\nDROP ROLE IF EXISTS {role};"),
    );
}

/// A directory on the target that `postgres` may write to (dumps made as `postgres`).
fn dump_dir(t: &Target, name: &str) -> String {
    let base = t.fresh_dir(name);
    t.check(&format!("mkdir -p {base} && chown postgres {base}"));
    base
}

#[test]
fn postgres_role_and_database_as_the_postgres_user() {
    let t = postgresql();
    let (db, role) = ("rinfra_e2e_pg_app", "rinfra_e2e_pg_owner");
    drop_database_and_role(&t, db, role);

    t.twice(&with(
        &[
            "postgres.role",
            &format!("role={role}"),
            "createdb=true",
            "connection_limit=5",
        ],
        &AS_POSTGRES,
    ));
    assert_eq!(
        pg(
            &t,
            &format!(
                "SELECT rolcanlogin, rolcreatedb, rolsuper, rolconnlimit \
                 FROM pg_roles WHERE rolname = '{role}';"
            )
        ),
        "t|t|f|5"
    );

    t.twice(&with(
        &[
            "postgres.database",
            &format!("database={db}"),
            &format!("owner={role}"),
            "encoding=UTF8",
            "template=template0",
            "connection_limit=3",
        ],
        &AS_POSTGRES,
    ));
    assert_eq!(
        pg(
            &t,
            &format!(
                "SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding), datconnlimit \
                 FROM pg_database WHERE datname = '{db}';"
            )
        ),
        format!("{role}|UTF8|3")
    );

    // the facts, as `postgres`, under both names
    for name in ["postgres.PostgresRoles", "postgresql.PostgresqlRoles"] {
        let roles = fact(&t, name, &["--sudo", "--sudo-user", "postgres"]);
        assert_eq!(roles[role]["createdb"], true, "{name}: {roles}");
        assert_eq!(roles[role]["canlogin"], true, "{name}: {roles}");
        assert_eq!(roles[role]["connlimit"], 5, "{name}: {roles}");
    }
    for name in [
        "postgres.PostgresDatabases",
        "postgresql.PostgresqlDatabases",
    ] {
        let databases = fact(&t, name, &["--sudo", "--sudo-user", "postgres"]);
        assert_eq!(databases[db]["owner"], role, "{name}: {databases}");
        assert_eq!(databases[db]["encoding"], "UTF8", "{name}: {databases}");
        assert_eq!(databases[db]["connlimit"], 3, "{name}: {databases}");
    }

    // a changed owner is altered
    pg(
        &t,
        "DROP ROLE IF EXISTS rinfra_e2e_pg_owner2; CREATE ROLE rinfra_e2e_pg_owner2;",
    );
    t.twice(&with(
        &[
            "postgres.database",
            &format!("database={db}"),
            "owner=rinfra_e2e_pg_owner2",
        ],
        &AS_POSTGRES,
    ));
    assert_eq!(
        pg(
            &t,
            &format!("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{db}';")
        ),
        "rinfra_e2e_pg_owner2"
    );

    t.twice(&with(
        &[
            "postgres.database",
            &format!("database={db}"),
            "present=false",
        ],
        &AS_POSTGRES,
    ));
    t.twice(&with(
        &["postgres.role", &format!("role={role}"), "present=false"],
        &AS_POSTGRES,
    ));
    assert_eq!(
        pg(
            &t,
            &format!(
                "SELECT (SELECT COUNT(*) FROM pg_database WHERE datname = '{db}') \
                 + (SELECT COUNT(*) FROM pg_roles WHERE rolname = '{role}');"
            )
        ),
        "0"
    );
    pg(&t, "DROP ROLE rinfra_e2e_pg_owner2;");
}

#[test]
fn postgres_role_the_way_pyinfras_docs_show() {
    // pyinfra's docs: `postgres.role(role=..., superuser=True, login=True,
    // _sudo_user="postgres")` in a run with sudo on (`--sudo`): `_sudo_user` only picks the user
    // sudo switches to (alone, as root, psql runs as root and is refused, as in pyinfra)
    let t = postgresql();
    let role = "rinfra_e2e_pg_docs";
    drop_database_and_role(&t, "rinfra_e2e_pg_none", role);
    t.twice(&[
        "--sudo",
        "postgres.role",
        &format!("role={role}"),
        "superuser=true",
        "login=true",
        "_sudo_user=postgres",
    ]);
    assert_eq!(
        pg(
            &t,
            &format!("SELECT rolsuper, rolcanlogin FROM pg_roles WHERE rolname = '{role}';")
        ),
        "t|t"
    );
    let dir = TestDir::new();
    let alone = t.rinfra(
        &dir,
        &[
            "postgres.role",
            "role=rinfra_e2e_pg_never",
            "_sudo_user=postgres",
        ],
    );
    crate::util::target::assert_host_error(&alone, &t.addr, &["postgres.PostgresRoles"]);
    pg(&t, &format!("DROP ROLE {role};"));
}

#[test]
fn postgres_role_with_a_password_logs_in() {
    let t = postgresql();
    let role = "rinfra_e2e_pg_login";
    let password = "e2e-Login-pw-7712";
    drop_database_and_role(&t, "rinfra_e2e_pg_none", role);
    let (role_arg, password_arg) = (format!("role={role}"), format!("password={password}"));
    let args = [
        "postgres.role",
        &role_arg,
        &password_arg,
        AS_POSTGRES[0],
        AS_POSTGRES[1],
    ];
    // pyinfra cannot read a role's password back, so with `password` the role is altered on
    // every run ("This operation will always execute commands when a password is provided")
    let dir = TestDir::new();
    t.changes(&dir, &args);
    t.changes(&dir, &args);
    let login = format!(
        "cd /tmp && PGPASSWORD='{password}' psql -AtX -h {} -U {role} -d postgres -c 'SELECT current_user'",
        t.addr
    );
    assert_eq!(t.check(&login), role);
    let (code, _) = t.ssh(&login.replace(password, "wrong-password"));
    assert_ne!(code, 0, "a wrong password is refused");
    pg(&t, &format!("DROP ROLE {role};"));
}

#[test]
fn postgres_operations_with_connection_arguments() {
    let t = postgresql();
    admin(&t);
    let conn = as_admin(&t);
    let conn = refs(&conn);
    let (db, role) = ("rinfra_e2e_pg_conn", "rinfra_e2e_pg_connrole");
    drop_database_and_role(&t, db, role);

    t.twice(&with(
        &["postgres.role", &format!("role={role}"), "login=false"],
        &conn,
    ));
    assert_eq!(
        pg(
            &t,
            &format!("SELECT rolcanlogin FROM pg_roles WHERE rolname = '{role}';")
        ),
        "f"
    );
    t.twice(&with(
        &[
            "postgres.database",
            &format!("database={db}"),
            &format!("owner={role}"),
        ],
        &conn,
    ));
    assert_eq!(
        pg(
            &t,
            &format!("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{db}';")
        ),
        role
    );

    // sql, dump and load in that database (psql_database overrides the admin's `postgres`)
    let in_db: Vec<&str> = conn
        .iter()
        .copied()
        .filter(|a| !a.starts_with("psql_database="))
        .collect();
    let psql_database = format!("psql_database={db}");
    let in_db = [in_db.as_slice(), &[psql_database.as_str()]].concat();
    let dir = TestDir::new();
    t.changes(
        &dir,
        &with(
            &[
                "postgres.sql",
                "sql=CREATE TABLE notes (id int PRIMARY KEY, body text); \
                 INSERT INTO notes VALUES (1, 'first'), (2, 'second')",
            ],
            &in_db,
        ),
    );
    assert_eq!(
        pg(
            &t,
            &format!("\\c {db}\nSELECT id, body FROM notes ORDER BY id;")
        ),
        "1|first\n2|second"
    );
    let base = dump_dir(&t, "pg-conn");
    let dump = format!("{base}/{db}.sql");
    for _ in 0..2 {
        t.changes(
            &dir,
            &with(&["postgres.dump", &format!("dest={dump}")], &in_db),
        );
        let text = t.check(&format!("cat {dump}"));
        assert!(
            text.contains("CREATE TABLE public.notes") && text.contains("2\tsecond"),
            "{text}"
        );
    }
    pg(&t, &format!("\\c {db}\nDROP TABLE notes;"));
    t.changes(
        &dir,
        &with(&["postgres.load", &format!("src={dump}")], &in_db),
    );
    assert_eq!(
        pg(&t, &format!("\\c {db}\nSELECT COUNT(*) FROM notes;")),
        "2"
    );

    // the facts with the same arguments
    let roles = fact(&t, "postgres.PostgresRoles", &conn);
    assert_eq!(roles[role]["canlogin"], false, "{roles}");
    let databases = fact(&t, "postgres.PostgresDatabases", &conn);
    assert_eq!(databases[db]["owner"], role, "{databases}");

    // a wrong password fails the host, and says why
    let bad: Vec<&str> = conn
        .iter()
        .map(|a| {
            if a.starts_with("psql_password=") {
                "psql_password=not-the-password"
            } else {
                a
            }
        })
        .collect();
    let r = t.rinfra(
        &dir,
        &with(&["postgres.role", "role=rinfra_e2e_pg_x"], &bad),
    );
    crate::util::target::assert_host_error(&r, &t.addr, &["password authentication failed"]);

    t.twice(&with(
        &[
            "postgres.database",
            &format!("database={db}"),
            "present=false",
        ],
        &conn,
    ));
    t.twice(&with(
        &["postgres.role", &format!("role={role}"), "present=false"],
        &conn,
    ));
    assert_eq!(
        pg(
            &t,
            &format!("SELECT COUNT(*) FROM pg_roles WHERE rolname = '{role}';")
        ),
        "0"
    );
}

#[test]
fn postgresql_deprecated_names() {
    // pyinfra 3.10 keeps `postgresql.*` as deprecated aliases of `postgres.*`
    let t = postgresql();
    let (db, role) = ("rinfra_e2e_pg_old", "rinfra_e2e_pg_oldrole");
    drop_database_and_role(&t, db, role);
    t.twice(&with(
        &["postgresql.role", &format!("role={role}"), "superuser=true"],
        &AS_POSTGRES,
    ));
    assert_eq!(
        pg(
            &t,
            &format!("SELECT rolsuper FROM pg_roles WHERE rolname = '{role}';")
        ),
        "t"
    );
    t.twice(&with(
        &[
            "postgresql.database",
            &format!("database={db}"),
            &format!("owner={role}"),
        ],
        &AS_POSTGRES,
    ));
    let psql_database = format!("psql_database={db}");
    let in_db = [AS_POSTGRES[0], AS_POSTGRES[1], psql_database.as_str()];
    let dir = TestDir::new();
    t.changes(
        &dir,
        &with(
            &[
                "postgresql.sql",
                "sql=CREATE TABLE t (v int); INSERT INTO t VALUES (7)",
            ],
            &in_db,
        ),
    );
    let base = dump_dir(&t, "pg-old");
    let dump = format!("{base}/{db}.sql");
    t.changes(
        &dir,
        &with(&["postgresql.dump", &format!("dest={dump}")], &in_db),
    );
    pg(&t, &format!("\\c {db}\nDROP TABLE t;"));
    t.changes(
        &dir,
        &with(&["postgresql.load", &format!("src={dump}")], &in_db),
    );
    assert_eq!(pg(&t, &format!("\\c {db}\nSELECT v FROM t;")), "7");
    t.twice(&with(
        &[
            "postgresql.database",
            &format!("database={db}"),
            "present=false",
        ],
        &AS_POSTGRES,
    ));
    t.twice(&with(
        &["postgresql.role", &format!("role={role}"), "present=false"],
        &AS_POSTGRES,
    ));
    assert_eq!(
        pg(
            &t,
            &format!(
                "SELECT (SELECT COUNT(*) FROM pg_database WHERE datname = '{db}') \
                 + (SELECT COUNT(*) FROM pg_roles WHERE rolname = '{role}');"
            )
        ),
        "0"
    );
}
