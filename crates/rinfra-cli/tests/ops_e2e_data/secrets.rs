//! Database passwords given to the `mysql` and `postgres` operations and facts (`mysql_password`,
//! `psql_password`, the `password` of `mysql.user` and `postgres.role`) never show: not in
//! any output at any verbosity (`-v`, `-vv`, `-vvv`, `--debug`, `--json`, `--dry`), not in
//! errors, and not in the argv of any process rinfra starts on the controller.
//!
//! Output: each operation and fact runs through the `rinfra` binary against the real servers of
//! `servers.rs` (so commands really run and print), at each verbosity, from the
//! command line and from a deploy file, and a failing run (a wrong password) too; the password
//! must not appear in stdout or stderr, and the operation must really have used it.
//!
//! Process list: argv is public (`/proc/PID/cmdline`, `ps`), so commands, which carry the
//! passwords to the target, must not travel in it on the controller. With `@local` the target
//! is the controller itself: a stand-in `mysql`/`psql` (first on `PATH`) waits while the test
//! reads the command line of every process under `rinfra`. The stand-in `mysql` itself gets
//! the password in its argv (pyinfra's `-p<password>`, the target-side command: the real client
//! overwrites it at start), which shows that the sampling sees passwords where they are; every
//! other process under `rinfra` (the shell running the command) must not have it.

use std::process::Stdio;

use crate::servers::{mariadb, postgresql};
use crate::util::target::Target;
use crate::util::{Run, TestDir};

const MY_ADMIN: &str = "rinfra_e2e_sec_myadmin";
const MY_ADMIN_PASSWORD: &str = "SecretMy-4kq9Zt";
const MY_USER_PASSWORD: &str = "SecretMyUser-8mw2Lr";
const PG_ADMIN: &str = "rinfra_e2e_sec_pgadmin";
const PG_ADMIN_PASSWORD: &str = "SecretPg-7hv3Qx";
const PG_ROLE_PASSWORD: &str = "SecretPgRole-2nc6Wd";

const VERBOSITIES: [&[&str]; 7] = [
    &[],
    &["-v"],
    &["-vv"],
    &["-vvv"],
    &["--debug"],
    &["--json"],
    &["--dry"],
];

/// No secret of this file in the run's output.
fn assert_hidden(r: &Run, what: &str) {
    for secret in [
        MY_ADMIN_PASSWORD,
        MY_USER_PASSWORD,
        PG_ADMIN_PASSWORD,
        PG_ROLE_PASSWORD,
    ] {
        assert!(
            !r.stdout.contains(secret) && !r.stderr.contains(secret),
            "{what}: a password shows in the output: {r:?}"
        );
    }
}

fn with_flags<'a>(args: &[&'a str], flags: &[&'a str]) -> Vec<&'a str> {
    let mut all = args.to_vec();
    all.extend_from_slice(flags);
    all
}

fn mysql_admin(t: &Target) {
    t.check(&format!(
        "mysql -e \"CREATE USER IF NOT EXISTS '{MY_ADMIN}'@'%' IDENTIFIED BY '{MY_ADMIN_PASSWORD}'; \
         GRANT ALL PRIVILEGES ON *.* TO '{MY_ADMIN}'@'%' WITH GRANT OPTION;\""
    ));
}

fn pg_admin(t: &Target) {
    t.check(&format!(
        "cd /tmp && runuser -u postgres -- psql -qX -v ON_ERROR_STOP=1 -c \
         \"DO \\$\\$ BEGIN CREATE ROLE {PG_ADMIN} LOGIN SUPERUSER; \
         EXCEPTION WHEN duplicate_object THEN NULL; END \\$\\$;\" \
         -c \"ALTER ROLE {PG_ADMIN} PASSWORD '{PG_ADMIN_PASSWORD}'\""
    ));
}

#[test]
fn mysql_passwords_hidden_at_every_verbosity() {
    let t = mariadb();
    mysql_admin(&t);
    let user = "rinfra_e2e_sec_myuser";
    let conn = [
        format!("mysql_user={MY_ADMIN}"),
        format!("mysql_password={MY_ADMIN_PASSWORD}"),
        format!("mysql_host={}", t.addr),
    ];
    let conn: Vec<&str> = conn.iter().map(String::as_str).collect();
    let user_arg = format!("user={user}");
    let password_arg = format!("password={MY_USER_PASSWORD}");
    for flags in VERBOSITIES {
        t.check(&format!(
            "mysql -e \"DROP USER IF EXISTS '{user}'@'localhost'\""
        ));
        let dir = TestDir::new();
        let mut args = vec!["mysql.user", user_arg.as_str(), password_arg.as_str()];
        args.extend_from_slice(&conn);
        let r = t.rinfra(&dir, &with_flags(&args, flags));
        assert_eq!(r.code, 0, "{flags:?}: {r:?}");
        assert_hidden(&r, &format!("mysql.user {flags:?}"));
        if !flags.contains(&"--dry") {
            // the password was used: the user logs in with it
            t.check(&format!(
                "mysql -u{user} -p'{MY_USER_PASSWORD}' -e 'SELECT 1'"
            ));
        }
        let r = t.rinfra(
            &dir,
            &with_flags(&with_flags(&["mysql.sql", "sql=SELECT 1"], &conn), flags),
        );
        assert_eq!(r.code, 0, "{flags:?}: {r:?}");
        assert_hidden(&r, &format!("mysql.sql {flags:?}"));
        for name in ["mysql.MysqlUsers", "mysql.MysqlDatabases"] {
            let r = t.rinfra(
                &dir,
                &with_flags(&with_flags(&["fact", name], &conn), flags),
            );
            assert_eq!(r.code, 0, "{flags:?}: {r:?}");
            assert_hidden(&r, &format!("fact {name} {flags:?}"));
        }
    }
    // an error (the admin's password is wrong: the real one must not show either)
    let dir = TestDir::new();
    let wrong = format!("mysql_password={MY_ADMIN_PASSWORD}-wrong");
    let r = t.rinfra(
        &dir,
        &[
            "mysql.database",
            "database=rinfra_e2e_sec_x",
            &format!("mysql_user={MY_ADMIN}"),
            &wrong,
            &format!("mysql_host={}", t.addr),
            "-vvv",
        ],
    );
    crate::util::target::assert_host_error(&r, &t.addr, &["Access denied"]);
    assert_hidden(&r, "a failing mysql operation");
    t.check(&format!(
        "mysql -e \"DROP USER IF EXISTS '{user}'@'localhost'\""
    ));
}

#[test]
fn postgres_passwords_hidden_at_every_verbosity() {
    let t = postgresql();
    pg_admin(&t);
    let role = "rinfra_e2e_sec_pgrole";
    let conn = [
        format!("psql_user={PG_ADMIN}"),
        format!("psql_password={PG_ADMIN_PASSWORD}"),
        format!("psql_host={}", t.addr),
        "psql_database=postgres".to_string(),
    ];
    let conn: Vec<&str> = conn.iter().map(String::as_str).collect();
    let role_arg = format!("role={role}");
    let password_arg = format!("password={PG_ROLE_PASSWORD}");
    for flags in VERBOSITIES {
        t.check(&format!(
            "cd /tmp && runuser -u postgres -- psql -qX -c 'DROP ROLE IF EXISTS {role}'"
        ));
        let dir = TestDir::new();
        let mut args = vec!["postgres.role", role_arg.as_str(), password_arg.as_str()];
        args.extend_from_slice(&conn);
        let r = t.rinfra(&dir, &with_flags(&args, flags));
        assert_eq!(r.code, 0, "{flags:?}: {r:?}");
        assert_hidden(&r, &format!("postgres.role {flags:?}"));
        if !flags.contains(&"--dry") {
            t.check(&format!(
                "cd /tmp && PGPASSWORD='{PG_ROLE_PASSWORD}' psql -X -h {} -U {role} -d postgres -c 'SELECT 1'",
                t.addr
            ));
        }
        for name in ["postgres.PostgresRoles", "postgresql.PostgresqlDatabases"] {
            let r = t.rinfra(
                &dir,
                &with_flags(&with_flags(&["fact", name], &conn), flags),
            );
            assert_eq!(r.code, 0, "{flags:?}: {r:?}");
            assert_hidden(&r, &format!("fact {name} {flags:?}"));
        }
    }
    let dir = TestDir::new();
    let wrong = format!("psql_password={PG_ADMIN_PASSWORD}-wrong");
    let r = t.rinfra(
        &dir,
        &[
            "postgres.sql",
            "sql=SELECT 1",
            &format!("psql_user={PG_ADMIN}"),
            &wrong,
            &format!("psql_host={}", t.addr),
            "psql_database=postgres",
            "--debug",
        ],
    );
    crate::util::target::assert_host_error(&r, &t.addr, &["password authentication failed"]);
    assert_hidden(&r, "a failing postgres operation");
    t.check(&format!(
        "cd /tmp && runuser -u postgres -- psql -qX -c 'DROP ROLE IF EXISTS {role}'"
    ));
}

#[test]
fn passwords_hidden_when_given_by_a_deploy_file() {
    let t = mariadb();
    postgresql();
    mysql_admin(&t);
    pg_admin(&t);
    let dir = TestDir::new();
    dir.write(
        "deploy.py",
        &format!(
            "from pyinfra.operations import mysql, postgres\n\
             from pyinfra.facts.mysql import MysqlUsers\n\
             from pyinfra import host\n\
             conn = dict(mysql_user={MY_ADMIN:?}, mysql_password={MY_ADMIN_PASSWORD:?}, mysql_host={addr:?})\n\
             mysql.user(user='rinfra_e2e_sec_deploy', password={MY_USER_PASSWORD:?}, **conn)\n\
             host.get_fact(MysqlUsers, **conn)\n\
             postgres.role(role='rinfra_e2e_sec_deploy', password={PG_ROLE_PASSWORD:?},\n\
                 psql_user={PG_ADMIN:?}, psql_password={PG_ADMIN_PASSWORD:?}, psql_host={addr:?},\n\
                 psql_database='postgres')\n",
            addr = t.addr
        ),
    );
    for flags in VERBOSITIES {
        let r = t.rinfra(&dir, &with_flags(&["deploy.py"], flags));
        assert_eq!(r.code, 0, "{flags:?}: {r:?}");
        assert_hidden(&r, &format!("deploy.py {flags:?}"));
    }
    t.check(&format!(
        "mysql -urinfra_e2e_sec_deploy -p'{MY_USER_PASSWORD}' -e 'SELECT 1' && \
         mysql -e \"DROP USER 'rinfra_e2e_sec_deploy'@'localhost'\" && \
         cd /tmp && runuser -u postgres -- psql -qX -c 'DROP ROLE rinfra_e2e_sec_deploy'"
    ));
}

// ---------------------------------------------------------------------------------------------
// process list

/// `(pid, parent pid)` of every process, from `/proc/*/stat`.
fn processes() -> Vec<(u32, u32)> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`: comm may hold spaces and parentheses
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|p| p.parse().ok()) {
            all.push((pid, ppid));
        }
    }
    all
}

/// Every process under `root` (not `root` itself).
fn descendants(root: u32) -> Vec<u32> {
    let all = processes();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(all.iter().filter(|(_, pp)| *pp == parent).map(|(p, _)| *p));
        i += 1;
    }
    found.remove(0);
    found
}

fn read_proc(pid: u32, file: &str) -> String {
    std::fs::read(format!("/proc/{pid}/{file}"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

/// A stand-in for `program` in `dir/bin`: records that it started, then waits for `release`.
fn stand_in(dir: &TestDir, program: &str) {
    let bin = dir.join("bin");
    let script = format!(
        "#!/bin/sh\ntouch '{0}/started-{program}'\nwhile [ ! -e '{0}/release' ]; do sleep 0.05; done\n",
        dir.path().display()
    );
    let path = dir.write(&format!("bin/{program}"), &script);
    let ok = std::process::Command::new("chmod")
        .arg("755")
        .arg(&path)
        .status()
        .unwrap()
        .success();
    assert!(ok && bin.is_dir());
}

/// Run `rinfra @local ARGS -y` with the stand-ins first on `PATH`; while the stand-in
/// `program` runs, check the command line of every process under rinfra for `secret`.
/// Returns what the stand-in's own argv and environment held.
fn sample_local_run(dir: &TestDir, program: &str, args: &[&str], secret: &str) -> (String, String) {
    stand_in(dir, program);
    let path = format!(
        "{}:{}",
        dir.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let started = dir.join(&format!("started-{program}"));
    let stand_in_path = dir.join(&format!("bin/{program}"));
    let stand_in_path = stand_in_path.to_string_lossy().into_owned();
    let release = dir.join("release");
    sample_run(
        dir,
        "@local",
        &[("PATH", path.as_str())],
        args,
        secret,
        &stand_in_path,
        &|| started.exists(),
        &|| std::fs::write(&release, "").unwrap(),
    )
}

/// Run `rinfra INVENTORY ARGS -y` (with `env`); once `started()` says the stand-in runs, check
/// the command line of every process under rinfra for `secret`, then `release()` it. Returns
/// the argv and environment of the process whose argv holds `stand_in` (if one is under
/// rinfra).
#[allow(clippy::too_many_arguments)]
fn sample_run(
    dir: &TestDir,
    inventory: &str,
    env: &[(&str, &str)],
    args: &[&str],
    secret: &str,
    stand_in: &str,
    started: &dyn Fn() -> bool,
    release: &dyn Fn(),
) -> (String, String) {
    let mut all = vec![inventory];
    all.extend_from_slice(args);
    all.push("-y");
    let mut child = dir
        .cmd(&all)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let root = child.id();
    // Wait for the stand-in (rinfra exiting first fails below: it never started).
    let mut running = false;
    while !running {
        running = started();
        if !running && child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut stand_in_seen = (String::new(), String::new());
    let mut others = 0;
    for pid in descendants(root) {
        let cmdline = read_proc(pid, "cmdline");
        if cmdline.contains(stand_in) {
            stand_in_seen = (cmdline, read_proc(pid, "environ"));
            continue;
        }
        if cmdline.is_empty() {
            continue; // exited meanwhile
        }
        others += 1;
        assert!(
            !cmdline.contains(secret),
            "the password shows in the argv of process {pid} under rinfra: {cmdline}"
        );
    }
    release();
    let out = child.wait_with_output().unwrap();
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(running, "the stand-in {stand_in} never ran: {run:?}");
    assert!(
        others > 0,
        "no process between rinfra and {stand_in} was seen"
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        !run.stdout.contains(secret) && !run.stderr.contains(secret),
        "{run:?}"
    );
    stand_in_seen
}

/// With `@docker`, the command travels to `docker exec` in its environment, not its argv: the
/// stand-in `mysql` runs in a container of the testbed's image, and the `docker` process
/// under rinfra must not show the password.
#[test]
fn mysql_password_not_in_the_controllers_process_list_with_docker() {
    let docker_host = crate::util::target::env("RINFRA_TB_DOCKER_HOST");
    let image = crate::util::target::env("RINFRA_TB_DOCKER_IMAGE");
    let docker = crate::docker;
    let name = format!("rinfra-e2e-secrets-{}", std::process::id());
    let _ = docker(&["rm", "-f", &name]);
    crate::docker_ok(&[
        "run",
        "-d",
        "--init",
        "--pull",
        "never",
        "--network",
        "none",
        "--name",
        &name,
        &image,
        "sleep",
        "infinity",
    ]);
    let stand_in = "while [ ! -e /tmp/release ]; do sleep 0.05; done";
    let script = format!(
        "printf '#!/bin/sh\\ntouch /tmp/started\\n{stand_in}\\n' > /usr/local/bin/mysql && chmod 755 /usr/local/bin/mysql"
    );
    crate::docker_ok(&["exec", &name, "sh", "-c", &script]);
    let dir = TestDir::new();
    let secret = "ProcSecretDocker-6pw3Vd";
    let inventory = format!("@docker/{name}");
    sample_run(
        &dir,
        &inventory,
        &[("DOCKER_HOST", docker_host.as_str())],
        &[
            "mysql.sql",
            "sql=SELECT 1",
            "mysql_user=app",
            &format!("mysql_password={secret}"),
        ],
        secret,
        "/usr/local/bin/mysql",
        &|| docker(&["exec", &name, "test", "-e", "/tmp/started"]).0,
        &|| assert!(docker(&["exec", &name, "touch", "/tmp/release"]).0),
    );
    let _ = docker(&["rm", "-f", &name]);
}

#[test]
fn mysql_password_not_in_the_controllers_process_list() {
    let dir = TestDir::new();
    let secret = "ProcSecretMy-5tb8Hn";
    let (argv, _) = sample_local_run(
        &dir,
        "mysql",
        &[
            "mysql.sql",
            "sql=SELECT 1",
            "mysql_user=app",
            &format!("mysql_password={secret}"),
        ],
        secret,
    );
    // the sampling sees passwords where they are: in the client's own argv (`-p<password>`)
    assert!(argv.contains(&format!("-p{secret}")), "{argv}");
}

#[test]
fn psql_password_not_in_the_controllers_process_list() {
    let dir = TestDir::new();
    let secret = "ProcSecretPg-3yd7Kc";
    let (argv, environ) = sample_local_run(
        &dir,
        "psql",
        &[
            "postgres.sql",
            "sql=SELECT 1",
            "psql_user=app",
            &format!("psql_password={secret}"),
        ],
        secret,
    );
    // psql gets it in its environment (`PGPASSWORD`), never in argv
    assert!(!argv.contains(secret), "{argv}");
    assert!(
        environ.contains(&format!("PGPASSWORD={secret}")),
        "{environ}"
    );
}
