//! Real database servers for the data-store suites (`mysql`, `postgresql`, `runit` and
//! `secrets`): Debian's `mariadb-server` and `postgresql` (15), installed into one
//! testbed SSH host and started by hand, once per test binary (`OnceLock`) and only when they
//! are not already there (the host keeps them until the testbed goes down).
//!
//! The host is the fourth from the end of `RINFRA_TB_SSH_HOSTS` (`127.0.20.5` by default): the
//! other `ops_e2e*` suites use the last two, rinfra-ssh's tests the first four.
//!
//! SSH hosts have no init (sshd is PID 1), so Debian's maintainer scripts cannot start the
//! servers: a `policy-rc.d` tells them not to try, and the tests start `mariadbd` with its SysV
//! script and PostgreSQL with `pg_ctlcluster` (both run without systemd). The hosts share the
//! machine's network namespace, so each server listens on the host's own address only
//! (`127.0.20.5:3306`, `127.0.20.5:5432`), never on `127.0.0.1` or a wildcard address.

use std::sync::OnceLock;

use crate::util::target::{apt_lock, ssh_host_from_end, Target};

/// The host running both servers.
pub(crate) fn data_host() -> Target {
    ssh_host_from_end(3)
}

/// Install Debian packages on `t` over plain ssh (daemons not started), under the apt lock.
///
/// dpkg's own lock is waited for too: another test binary (or a developer) may hold it.
pub(crate) fn apt_install(t: &Target, packages: &str) {
    let _apt = apt_lock();
    t.check(&format!(
        "printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \
         && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            -o DPkg::Lock::Timeout=600 {packages} > /tmp/rinfra-e2e-apt.log 2>&1; \
         rc=$?; rm -f /usr/sbin/policy-rc.d; [ $rc = 0 ] || tail -20 /tmp/rinfra-e2e-apt.log; exit $rc"
    ));
}

/// MariaDB running on [`data_host`], listening on its address; root logs in by unix socket.
pub(crate) fn mariadb() -> Target {
    static READY: OnceLock<()> = OnceLock::new();
    let t = data_host();
    READY.get_or_init(|| {
        let (installed, _) = t.ssh("command -v mariadbd && command -v mysqldump");
        if installed != 0 {
            apt_install(&t, "mariadb-server mariadb-client");
        }
        t.check(&format!(
            "printf '[mysqld]\\nbind-address = {}\\nport = 3306\\n' \
             > /etc/mysql/mariadb.conf.d/99-rinfra-e2e.cnf",
            t.addr
        ));
        let (running, _) = t.ssh("mysqladmin ping");
        if running != 0 {
            t.check("/etc/init.d/mariadb start </dev/null >/tmp/rinfra-e2e-mariadb.log 2>&1");
        }
        t.check("mysqladmin ping");
    });
    t
}

/// PostgreSQL 15 (cluster `15/main`) running on [`data_host`], listening on its address and
/// the unix socket; `postgres` logs in by peer authentication, other roles with a password.
pub(crate) fn postgresql() -> Target {
    static READY: OnceLock<()> = OnceLock::new();
    let t = data_host();
    READY.get_or_init(|| {
        let (installed, _) = t.ssh("command -v psql && test -d /etc/postgresql/15/main");
        if installed != 0 {
            apt_install(&t, "postgresql");
        }
        t.check(&format!(
            "echo \"listen_addresses = '{}'\" > /etc/postgresql/15/main/conf.d/rinfra-e2e.conf",
            t.addr
        ));
        // password logins over the unix socket (the default is peer) and from loopback
        let hba = "/etc/postgresql/15/main/pg_hba.conf";
        t.check(&format!(
            "grep -q rinfra-e2e {hba} || sed -i '1i local all postgres peer # rinfra-e2e\\n\
             local all all scram-sha-256 # rinfra-e2e\\n\
             host all all 127.0.0.0/8 scram-sha-256 # rinfra-e2e' {hba}"
        ));
        let (running, _) = t.ssh("pg_lsclusters -h 15 main | grep -q online");
        if running != 0 {
            t.check("pg_ctlcluster 15 main start </dev/null");
        } else {
            t.check("pg_ctlcluster 15 main reload </dev/null");
        }
        t.check("su postgres -c 'psql -Atc \"SELECT 1\"'");
    });
    t
}
