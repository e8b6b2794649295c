//! pyinfra's `mysql` module end to end against a real MariaDB server (Debian 12's
//! `mariadb-server`, see `servers.rs` for where and how it runs): the `rinfra` binary
//! runs each operation twice (a change, then `No changes`; `mysql.sql`, `dump` and `load` are not
//! idempotent in pyinfra and run again), and the server's state is checked with the plain
//! `mysql` client over ssh. The facts (`MysqlDatabases`, `MysqlUsers`, `MysqlUserGrants`) are
//! compared with what `mysql` shows.
//!
//! Operations run both ways pyinfra's docs show: as root over the unix socket (no connection
//! arguments: Debian's root logs in by `unix_socket`), and with `mysql_user`/`mysql_password`
//! plus `mysql_host`/`mysql_port` (TCP to the server's address) as an admin with a password.
//! Every name starts with `rinfra_e2e_my_` and is dropped before the test.

use crate::fact;
use crate::servers::mariadb;
use crate::util::target::Target;
use crate::util::TestDir;

/// The admin the connection-argument tests log in as (made by [`admin`]).
const ADMIN: &str = "rinfra_e2e_my_admin";
const ADMIN_PASSWORD: &str = "e2e-Admin-pw-5831";

/// Run SQL as root with the plain client: tab-separated rows, no headers.
fn sql(t: &Target, query: &str) -> String {
    assert!(!query.contains("RINFRA_EOF"));
    t.check(&format!("mysql -NB <<'RINFRA_EOF'\n{query}\nRINFRA_EOF"))
}

/// The admin account (all privileges, with grant option) that connects over TCP.
fn admin(t: &Target) {
    sql(
        t,
        &format!(
            "CREATE USER IF NOT EXISTS '{ADMIN}'@'%' IDENTIFIED BY '{ADMIN_PASSWORD}';\n\
             GRANT ALL PRIVILEGES ON *.* TO '{ADMIN}'@'%' WITH GRANT OPTION;"
        ),
    );
}

/// `mysql_*` connection arguments for the admin, over TCP to the server's address.
fn as_admin(t: &Target) -> Vec<String> {
    vec![
        format!("mysql_user={ADMIN}"),
        format!("mysql_password={ADMIN_PASSWORD}"),
        format!("mysql_host={}", t.addr),
        "mysql_port=3306".into(),
    ]
}

fn with<'a>(args: &'a [&'a str], more: &'a [String]) -> Vec<&'a str> {
    let mut all = args.to_vec();
    all.extend(more.iter().map(String::as_str));
    all
}

fn drop_user(t: &Target, user: &str) {
    sql(t, &format!("DROP USER IF EXISTS '{user}'@'localhost';"));
}

#[test]
fn mysql_database_created_and_dropped() {
    let t = mariadb();
    let db = "rinfra_e2e_my_db";
    sql(&t, &format!("DROP DATABASE IF EXISTS {db};"));
    t.twice(&[
        "mysql.database",
        &format!("database={db}"),
        "charset=latin1",
        "collate=latin1_swedish_ci",
    ]);
    assert_eq!(
        sql(
            &t,
            &format!(
                "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME \
                 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{db}';"
            )
        ),
        "latin1\tlatin1_swedish_ci"
    );
    let databases = fact(&t, "mysql.MysqlDatabases", &[]);
    assert_eq!(
        databases[db],
        serde_json::json!({"character_set": "latin1", "collation_name": "latin1_swedish_ci"})
    );

    t.twice(&["mysql.database", &format!("database={db}"), "present=false"]);
    assert_eq!(
        sql(&t, &format!("SHOW DATABASES LIKE '{db}';")),
        "",
        "dropped"
    );
    assert!(fact(&t, "mysql.MysqlDatabases", &[]).get(db).is_none());
}

#[test]
fn mysql_database_with_user_privileges() {
    let t = mariadb();
    let (db, user) = ("rinfra_e2e_my_appdb", "rinfra_e2e_my_app");
    sql(&t, &format!("DROP DATABASE IF EXISTS {db};"));
    drop_user(&t, user);
    sql(&t, &format!("CREATE USER '{user}'@'localhost';"));
    t.twice(&[
        "mysql.database",
        &format!("database={db}"),
        &format!("user={user}"),
        "user_privileges=[\"SELECT\", \"INSERT\"]",
    ]);
    assert_eq!(
        sql(&t, &format!("SHOW GRANTS FOR '{user}'@'localhost';")),
        format!(
            "GRANT USAGE ON *.* TO `{user}`@`localhost`\n\
             GRANT SELECT, INSERT ON `{db}`.* TO `{user}`@`localhost`"
        )
    );
    sql(&t, &format!("DROP DATABASE {db};"));
    drop_user(&t, user);
}

#[test]
fn mysql_user_with_password_limits_and_privileges() {
    let t = mariadb();
    let user = "rinfra_e2e_my_user";
    let password = "e2e-User-pw-4410";
    drop_user(&t, user);
    t.twice(&[
        "mysql.user",
        &format!("user={user}"),
        &format!("password={password}"),
        "max_connections=7",
        "max_queries_per_hour=100",
        "privileges=[\"SELECT\", \"PROCESS\"]",
    ]);
    // the password works (over the socket, as that user)
    assert_eq!(
        t.check(&format!(
            "mysql -NB -u{user} -p'{password}' -e 'SELECT CURRENT_USER()'"
        )),
        format!("{user}@localhost")
    );
    assert_eq!(
        sql(
            &t,
            &format!(
                "SELECT max_user_connections, max_questions FROM mysql.user \
                 WHERE User = '{user}' AND Host = 'localhost';"
            )
        ),
        "7\t100"
    );
    assert_eq!(
        sql(&t, &format!("SHOW GRANTS FOR '{user}'@'localhost';"))
            .lines()
            .next()
            .unwrap_or_default()
            .split(" IDENTIFIED")
            .next(),
        Some(format!("GRANT SELECT, PROCESS ON *.* TO `{user}`@`localhost`").as_str())
    );

    // facts
    let users = fact(&t, "mysql.MysqlUsers", &[]);
    let me = &users[format!("{user}@localhost")];
    assert_eq!(me["max_user_connections"], 7, "{me}");
    assert_eq!(me["max_questions"], 100, "{me}");
    assert_eq!(
        me["privileges"],
        serde_json::json!(["Process", "Select"]),
        "{me}"
    );
    let grants = fact(
        &t,
        "mysql.MysqlUserGrants",
        &[&format!("user={user}"), "hostname=localhost"],
    );
    assert_eq!(
        grants,
        serde_json::json!({"*.*": ["PROCESS", "SELECT"]}),
        "{grants}"
    );

    // a changed limit is altered, the password is kept
    t.twice(&["mysql.user", &format!("user={user}"), "max_connections=9"]);
    assert_eq!(
        sql(
            &t,
            &format!("SELECT max_user_connections FROM mysql.user WHERE User = '{user}';")
        ),
        "9"
    );
    t.check(&format!("mysql -u{user} -p'{password}' -e 'SELECT 1'"));

    t.twice(&["mysql.user", &format!("user={user}"), "present=false"]);
    assert_eq!(
        sql(
            &t,
            &format!("SELECT COUNT(*) FROM mysql.user WHERE User = '{user}';")
        ),
        "0"
    );
}

#[test]
fn mysql_privileges_granted_and_revoked() {
    let t = mariadb();
    let (db, user) = ("rinfra_e2e_my_privdb", "rinfra_e2e_my_priv");
    sql(&t, &format!("DROP DATABASE IF EXISTS {db};"));
    drop_user(&t, user);
    sql(
        &t,
        &format!(
            "CREATE DATABASE {db}; CREATE TABLE {db}.items (id INT);\n\
             CREATE USER '{user}'@'localhost';"
        ),
    );
    let grants = || sql(&t, &format!("SHOW GRANTS FOR '{user}'@'localhost';"));

    t.twice(&[
        "mysql.privileges",
        &format!("user={user}"),
        "privileges=[\"SELECT\", \"UPDATE\"]",
        &format!("database={db}"),
        "table=items",
    ]);
    assert!(
        grants().contains(&format!(
            "GRANT SELECT, UPDATE ON `{db}`.`items` TO `{user}`@`localhost`"
        )),
        "{}",
        grants()
    );

    // on the whole database, with the grant option
    t.twice(&[
        "mysql.privileges",
        &format!("user={user}"),
        "privileges=[\"ALL\"]",
        &format!("database={db}"),
        "with_grant_option=true",
    ]);
    assert!(
        grants().contains(&format!(
            "GRANT ALL PRIVILEGES ON `{db}`.* TO `{user}`@`localhost` WITH GRANT OPTION"
        )),
        "{}",
        grants()
    );
    let fact_grants = fact(
        &t,
        "mysql.MysqlUserGrants",
        &[&format!("user={user}"), "hostname=localhost"],
    );
    assert_eq!(
        fact_grants[format!("`{db}`.*")],
        serde_json::json!(["ALL PRIVILEGES", "GRANT OPTION"]),
        "{fact_grants}"
    );

    // an empty list revokes everything there
    t.twice(&[
        "mysql.privileges",
        &format!("user={user}"),
        "privileges=[]",
        &format!("database={db}"),
    ]);
    assert!(!grants().contains(&format!("`{db}`.*")), "{}", grants());

    sql(&t, &format!("DROP DATABASE {db};"));
    drop_user(&t, user);
}

#[test]
fn mysql_sql_dump_and_load() {
    let t = mariadb();
    let db = "rinfra_e2e_my_dump";
    let base = t.fresh_dir("mysql-dump");
    t.check(&format!("mkdir -p {base}"));
    sql(
        &t,
        &format!("DROP DATABASE IF EXISTS {db}; CREATE DATABASE {db};"),
    );
    let dir = TestDir::new();
    t.changes(
        &dir,
        &[
            "mysql.sql",
            "sql=CREATE TABLE notes (id INT PRIMARY KEY, body TEXT); \
             INSERT INTO notes VALUES (1, 'first'), (2, 'second')",
            &format!("database={db}"),
        ],
    );
    assert_eq!(
        sql(&t, &format!("SELECT id, body FROM {db}.notes ORDER BY id;")),
        "1\tfirst\n2\tsecond"
    );
    // not idempotent: `mysql.sql` runs its statement on every run
    let again = t.rinfra(
        &dir,
        &[
            "mysql.sql",
            "sql=INSERT INTO notes VALUES (3, 'third')",
            &format!("database={db}"),
        ],
    );
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(sql(&t, &format!("SELECT COUNT(*) FROM {db}.notes;")), "3");

    let dump = format!("{base}/{db}.sql");
    for _ in 0..2 {
        t.changes(
            &dir,
            &[
                "mysql.dump",
                &format!("dest={dump}"),
                &format!("database={db}"),
            ],
        );
        let text = t.check(&format!("cat {dump}"));
        assert!(
            text.contains("INSERT INTO `notes` VALUES")
                && text.contains("(1,'first')")
                && text.contains("(3,'third')"),
            "{text}"
        );
    }

    sql(&t, &format!("DROP TABLE {db}.notes;"));
    t.changes(
        &dir,
        &[
            "mysql.load",
            &format!("src={dump}"),
            &format!("database={db}"),
        ],
    );
    assert_eq!(sql(&t, &format!("SELECT COUNT(*) FROM {db}.notes;")), "3");
    // loading again re-creates the table from the dump (it starts with DROP TABLE IF EXISTS)
    t.changes(
        &dir,
        &[
            "mysql.load",
            &format!("src={dump}"),
            &format!("database={db}"),
        ],
    );
    assert_eq!(sql(&t, &format!("SELECT COUNT(*) FROM {db}.notes;")), "3");
    sql(&t, &format!("DROP DATABASE {db};"));
}

#[test]
fn mysql_operations_with_connection_arguments() {
    let t = mariadb();
    admin(&t);
    let conn = as_admin(&t);
    let (db, user) = ("rinfra_e2e_my_conndb", "rinfra_e2e_my_conn");
    sql(&t, &format!("DROP DATABASE IF EXISTS {db};"));
    drop_user(&t, user);

    t.twice(&with(&["mysql.database", &format!("database={db}")], &conn));
    assert_eq!(sql(&t, &format!("SHOW DATABASES LIKE '{db}';")), db);
    t.twice(&with(
        &[
            "mysql.user",
            &format!("user={user}"),
            "password=e2e-Conn-pw-1177",
        ],
        &conn,
    ));
    t.twice(&with(
        &[
            "mysql.privileges",
            &format!("user={user}"),
            "privileges=[\"SELECT\"]",
            &format!("database={db}"),
        ],
        &conn,
    ));
    assert!(sql(&t, &format!("SHOW GRANTS FOR '{user}'@'localhost';"))
        .contains(&format!("GRANT SELECT ON `{db}`.* TO `{user}`@`localhost`")));
    t.check(&format!(
        "mysql -u{user} -p'e2e-Conn-pw-1177' {db} -e 'SELECT 1'"
    ));

    let dir = TestDir::new();
    t.changes(
        &dir,
        &with(
            &[
                "mysql.sql",
                "sql=CREATE TABLE t (v INT); INSERT INTO t VALUES (42)",
                &format!("database={db}"),
            ],
            &conn,
        ),
    );
    let base = t.fresh_dir("mysql-conn");
    t.check(&format!("mkdir -p {base}"));
    t.changes(
        &dir,
        &with(
            &[
                "mysql.dump",
                &format!("dest={base}/d.sql"),
                &format!("database={db}"),
            ],
            &conn,
        ),
    );
    sql(&t, &format!("DROP TABLE {db}.t;"));
    t.changes(
        &dir,
        &with(
            &[
                "mysql.load",
                &format!("src={base}/d.sql"),
                &format!("database={db}"),
            ],
            &conn,
        ),
    );
    assert_eq!(sql(&t, &format!("SELECT v FROM {db}.t;")), "42");

    // the facts with the same arguments
    let conn_refs: Vec<&str> = conn.iter().map(String::as_str).collect();
    assert!(fact(&t, "mysql.MysqlDatabases", &conn_refs)
        .get(db)
        .is_some());
    assert!(fact(&t, "mysql.MysqlUsers", &conn_refs)
        .get(format!("{user}@localhost"))
        .is_some());
    let mut grant_args = vec![format!("user={user}"), "hostname=localhost".into()];
    grant_args.extend(conn.iter().cloned());
    let grant_refs: Vec<&str> = grant_args.iter().map(String::as_str).collect();
    assert_eq!(
        fact(&t, "mysql.MysqlUserGrants", &grant_refs)[format!("`{db}`.*")],
        serde_json::json!(["SELECT"])
    );

    // a wrong password fails the host, and says why
    let bad: Vec<String> = conn
        .iter()
        .map(|a| {
            if a.starts_with("mysql_password=") {
                "mysql_password=not-the-password".into()
            } else {
                a.clone()
            }
        })
        .collect();
    let r = t.rinfra(
        &dir,
        &with(&["mysql.database", "database=rinfra_e2e_my_x"], &bad),
    );
    crate::util::target::assert_host_error(&r, &t.addr, &["Access denied"]);

    t.twice(&with(
        &["mysql.user", &format!("user={user}"), "present=false"],
        &conn,
    ));
    t.twice(&with(
        &["mysql.database", &format!("database={db}"), "present=false"],
        &conn,
    ));
    assert_eq!(sql(&t, &format!("SHOW DATABASES LIKE '{db}';")), "");
}
