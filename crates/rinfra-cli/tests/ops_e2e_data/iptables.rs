//! pyinfra's `iptables` module end to end in a network namespace of its own: the `rinfra`
//! binary runs `iptables.chain` and `iptables.rule` (IPv4 and, with `version=6`, IPv6) twice
//! (a change, then `No changes`), and the rules are checked with plain `iptables -S` /
//! `ip6tables -S`; the facts (`IptablesChains`, `IptablesRules`, `Ip6tablesChains`,
//! `Ip6tablesRules`) are compared with them.
//!
//! Where: the testbed's SSH hosts share the machine's network namespace, so iptables must never
//! run there. Each test starts its own container on the testbed's private dockerd instead,
//! `--network none` (a network namespace of its own with only `lo`) and `--cap-add NET_ADMIN`
//! (so iptables may change that namespace's tables, and nothing else), and drives it through
//! `@docker/<container>`. The image is `rinfra-deb` plus Debian's `iptables` package (1.8.9,
//! the nf_tables backend), made once per test binary when missing: `apt-get install` in a
//! `--network host` container from `rinfra-deb` (Debian's registry only), then `docker commit`.
//! Nothing is ever pulled.

use std::sync::OnceLock;

use crate::util::target::env;
use crate::util::{fact_entry, Run, TestDir};
use crate::{docker, docker_ok};
use serde_json::Value;

/// The image with iptables, made from the testbed's `rinfra-deb`.
const IMAGE: &str = "rinfra-e2e-iptables";

/// Make [`IMAGE`] unless it exists.
fn image() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        if docker(&["image", "inspect", IMAGE]).0 {
            return;
        }
        let base = env("RINFRA_TB_DOCKER_IMAGE");
        let builder = format!("{IMAGE}-build-{}", std::process::id());
        docker_ok(&[
            "run",
            "--pull",
            "never",
            "--network",
            "host",
            "--name",
            &builder,
            &base,
            "sh",
            "-c",
            "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends iptables",
        ]);
        docker_ok(&["commit", &builder, IMAGE]);
        docker_ok(&["rm", "-f", &builder]);
    });
}

/// A running container of [`IMAGE`] in its own network namespace, removed when dropped.
struct Netns {
    name: String,
}

impl Netns {
    fn new(test: &str) -> Self {
        image();
        let name = format!("rinfra-e2e-iptables-{test}-{}", std::process::id());
        let _ = docker(&["rm", "-f", &name]);
        docker_ok(&[
            "run",
            "-d",
            "--init",
            "--pull",
            "never",
            "--network",
            "none",
            "--cap-add",
            "NET_ADMIN",
            "--name",
            &name,
            IMAGE,
            "sleep",
            "infinity",
        ]);
        Self { name }
    }

    fn target(&self) -> String {
        format!("@docker/{}", self.name)
    }

    /// `cmd` in the container, checked; its output trimmed.
    fn check(&self, cmd: &str) -> String {
        docker_ok(&["exec", &self.name, "sh", "-c", cmd])
            .trim()
            .to_string()
    }

    fn rinfra(&self, dir: &TestDir, args: &[&str]) -> Run {
        let target = self.target();
        let mut all = vec![target.as_str()];
        all.extend_from_slice(args);
        all.push("-y");
        let out = dir
            .cmd(&all)
            .env("DOCKER_HOST", env("RINFRA_TB_DOCKER_HOST"))
            .output()
            .unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Run an operation twice: the first run changes the container, the second changes nothing.
    fn twice(&self, args: &[&str]) {
        let dir = TestDir::new();
        let first = self.rinfra(&dir, args);
        let target = self.target();
        assert_eq!(first.code, 0, "run of {args:?}: {first:?}");
        assert!(
            first.stderr.contains(&format!("[{target}] Success")),
            "run of {args:?}: {first:?}"
        );
        let second = self.rinfra(&dir, args);
        assert_eq!(second.code, 0, "second run of {args:?}: {second:?}");
        assert!(
            second.stderr.contains(&format!("[{target}] No changes")),
            "second run of {args:?} should change nothing: {second:?}"
        );
    }

    fn fact(&self, name: &str, args: &[&str]) -> Value {
        let dir = TestDir::new();
        let mut all = vec!["fact", name];
        all.extend_from_slice(args);
        all.push("--json");
        let r = self.rinfra(&dir, &all);
        assert_eq!(r.code, 0, "fact {name}: {r:?}");
        let v: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {r:?}"));
        fact_entry(&v, name)[self.target()].clone()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", &self.name]);
    }
}

/// The `-S` listing lines of one table that are not the built-in policies.
fn lines(listing: &str) -> Vec<&str> {
    listing.lines().filter(|l| !l.starts_with("-P ")).collect()
}

#[test]
fn iptables_chain_and_policy() {
    let ns = Netns::new("chain");
    ns.twice(&["iptables.chain", "chain=RINFRA_E2E_IN"]);
    ns.twice(&["iptables.chain", "chain=RINFRA_E2E_NAT", "table=nat"]);
    assert_eq!(lines(&ns.check("iptables -S")), ["-N RINFRA_E2E_IN"]);
    assert_eq!(
        lines(&ns.check("iptables -t nat -S")),
        ["-N RINFRA_E2E_NAT"]
    );

    // a built-in chain's policy (only this container's namespace: it has no network anyway)
    ns.twice(&["iptables.chain", "chain=FORWARD", "policy=DROP"]);
    assert!(ns.check("iptables -S").contains("-P FORWARD DROP"));
    let chains = ns.fact("iptables.IptablesChains", &[]);
    assert_eq!(chains["FORWARD"], "DROP", "{chains}");
    assert_eq!(chains["RINFRA_E2E_IN"], "-", "{chains}");
    let nat = ns.fact("iptables.IptablesChains", &["table=nat"]);
    assert_eq!(nat["RINFRA_E2E_NAT"], "-", "{nat}");

    ns.twice(&["iptables.chain", "chain=RINFRA_E2E_IN", "present=false"]);
    ns.twice(&[
        "iptables.chain",
        "chain=RINFRA_E2E_NAT",
        "table=nat",
        "present=false",
    ]);
    assert!(lines(&ns.check("iptables -S")).is_empty());
    assert!(lines(&ns.check("iptables -t nat -S")).is_empty());
    assert!(ns
        .fact("iptables.IptablesChains", &[])
        .get("RINFRA_E2E_IN")
        .is_none());
}

#[test]
fn iptables_rules() {
    let ns = Netns::new("rule");
    ns.twice(&[
        "iptables.rule",
        "chain=INPUT",
        "jump=ACCEPT",
        "protocol=tcp",
        "destination_port=8080",
    ]);
    ns.twice(&[
        "iptables.rule",
        "chain=INPUT",
        "jump=DROP",
        "source=10.9.0.0/16",
        "in_interface=lo",
    ]);
    ns.twice(&[
        "iptables.rule",
        "chain=INPUT",
        "jump=LOG",
        "not_source=192.0.2.1/32",
        "log_prefix=rinfra-e2e",
    ]);
    // inserted (`-I`) rather than appended: it comes first
    ns.twice(&[
        "iptables.rule",
        "chain=INPUT",
        "jump=ACCEPT",
        "protocol=udp",
        "append=false",
    ]);
    ns.twice(&[
        "iptables.rule",
        "chain=PREROUTING",
        "jump=DNAT",
        "table=nat",
        "protocol=tcp",
        "destination_port=80",
        "to_destination=10.9.0.5:8080",
    ]);
    assert_eq!(
        lines(&ns.check("iptables -S INPUT")),
        [
            "-A INPUT -p udp -j ACCEPT",
            "-A INPUT -p tcp -m tcp --dport 8080 -j ACCEPT",
            "-A INPUT -s 10.9.0.0/16 -i lo -j DROP",
            "-A INPUT ! -s 192.0.2.1/32 -j LOG --log-prefix rinfra-e2e",
        ]
    );
    assert_eq!(
        lines(&ns.check("iptables -t nat -S PREROUTING")),
        ["-A PREROUTING -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.9.0.5:8080"]
    );

    let rules = ns.fact("iptables.IptablesRules", &[]);
    let rules = rules.as_array().expect("a list");
    assert_eq!(rules.len(), 4, "{rules:?}");
    assert_eq!(
        rules[2],
        serde_json::json!({"chain": "INPUT", "source": "10.9.0.0/16", "in_interface": "lo", "jump": "DROP"})
    );
    assert_eq!(rules[3]["not_source"], "192.0.2.1/32", "{rules:?}");
    assert_eq!(rules[3]["log_prefix"], "rinfra-e2e", "{rules:?}");
    let nat = ns.fact("iptables.IptablesRules", &["table=nat"]);
    assert_eq!(nat[0]["to_destination"], "10.9.0.5:8080", "{nat}");

    // removed again
    ns.twice(&[
        "iptables.rule",
        "chain=INPUT",
        "jump=ACCEPT",
        "protocol=tcp",
        "destination_port=8080",
        "present=false",
    ]);
    ns.twice(&[
        "iptables.rule",
        "chain=PREROUTING",
        "jump=DNAT",
        "table=nat",
        "protocol=tcp",
        "destination_port=80",
        "to_destination=10.9.0.5:8080",
        "present=false",
    ]);
    assert!(!ns.check("iptables -S INPUT").contains("--dport 8080"));
    assert!(lines(&ns.check("iptables -t nat -S PREROUTING")).is_empty());
}

#[test]
fn ip6tables_chain_and_rule() {
    let ns = Netns::new("ip6");
    ns.twice(&["iptables.chain", "chain=RINFRA_E2E_V6", "version=6"]);
    ns.twice(&[
        "iptables.rule",
        "chain=RINFRA_E2E_V6",
        "jump=ACCEPT",
        "protocol=tcp",
        "source=2001:db8::/32",
        "destination_port=443",
        "version=6",
    ]);
    assert_eq!(
        lines(&ns.check("ip6tables -S")),
        [
            "-N RINFRA_E2E_V6",
            "-A RINFRA_E2E_V6 -s 2001:db8::/32 -p tcp -m tcp --dport 443 -j ACCEPT",
        ]
    );
    assert!(
        lines(&ns.check("iptables -S")).is_empty(),
        "IPv4 is untouched"
    );
    let chains = ns.fact("iptables.Ip6tablesChains", &[]);
    assert_eq!(chains["RINFRA_E2E_V6"], "-", "{chains}");
    let rules = ns.fact("iptables.Ip6tablesRules", &[]);
    assert_eq!(rules[0]["source"], "2001:db8::/32", "{rules}");
    assert_eq!(rules[0]["chain"], "RINFRA_E2E_V6", "{rules}");

    ns.twice(&[
        "iptables.rule",
        "chain=RINFRA_E2E_V6",
        "jump=ACCEPT",
        "protocol=tcp",
        "source=2001:db8::/32",
        "destination_port=443",
        "version=6",
        "present=false",
    ]);
    ns.twice(&[
        "iptables.chain",
        "chain=RINFRA_E2E_V6",
        "version=6",
        "present=false",
    ]);
    assert!(lines(&ns.check("ip6tables -S")).is_empty());
}
