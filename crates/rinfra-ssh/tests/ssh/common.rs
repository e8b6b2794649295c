//! Shared set-up for the tests against real sshd hosts started by `scripts/testbed up`.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rinfra_connectors::{
    CommandOutput, Connector, ConnectorArguments, HostContext, InventoryConnector, OutputLine,
    Reporter, Secret, StringCommand,
};
use rinfra_ssh::{
    KnownHostsVerifier, SshConfigResolver, SshConnector, SshInventory, TargetResolver,
};
use serde_json::{json, Value};

/// The hosts and key the testbed harness exported.
pub struct Testbed {
    pub hosts: Vec<String>,
    pub key: PathBuf,
}

fn need(var: &str) -> String {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => v,
        _ => panic!(
            "{var} is not set: these tests need real sshd hosts. Run `scripts/testbed up` \
             (as root), then `. $TB/env` (TB defaults to /tmp/rinfra-testbed) and run the \
             tests again"
        ),
    }
}

pub fn testbed() -> Testbed {
    let hosts: Vec<String> = need("RINFRA_TB_SSH_HOSTS")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let key = PathBuf::from(need("RINFRA_TB_SSH_KEY"));
    assert!(
        key.exists(),
        "RINFRA_TB_SSH_KEY points to `{}`, which does not exist: run `scripts/testbed up`",
        key.display()
    );
    Testbed { hosts, key }
}

impl Testbed {
    /// The `n`th host (0-based), failing loudly when the testbed has fewer.
    pub fn host(&self, n: usize) -> &str {
        self.hosts.get(n).unwrap_or_else(|| {
            panic!(
                "this test needs at least {} ssh hosts, RINFRA_TB_SSH_HOSTS has {}: run \
                 `TESTBED_SSH_HOSTS=3 scripts/testbed up`",
                n + 1,
                self.hosts.len()
            )
        })
    }

    /// Host data for `user@host` with the testbed key and a private known_hosts file.
    pub fn data(&self, host: &str, user: &str, known_hosts: &std::path::Path) -> Value {
        json!({
            "ssh_hostname": host,
            "ssh_user": user,
            "ssh_key": self.key.to_str().unwrap(),
            "ssh_known_hosts_file": known_hosts.to_str().unwrap(),
        })
    }
}

/// Records everything the connector reports.
#[derive(Default)]
pub struct Recorder {
    pub lines: Mutex<Vec<OutputLine>>,
    pub inputs: Mutex<Vec<String>>,
}

impl Reporter for Recorder {
    fn command_input(&self, _: &str, masked: &str) {
        self.inputs.lock().unwrap().push(masked.to_string());
    }
    fn command_output(&self, _: &str, line: &OutputLine) {
        self.lines.lock().unwrap().push(line.clone());
    }
    fn notice(&self, _: &str, _: &str) {}
    fn prompt_secret(&self, _: &str, _: &str) -> Option<Secret> {
        None
    }
}

/// The `@ssh` inventory connector, ignoring this machine's own `~/.ssh/config`.
pub fn inventory() -> SshInventory {
    SshInventory::new(
        Arc::new(SshConfigResolver::new().without_default_config()),
        Arc::new(KnownHostsVerifier::new()),
    )
}

/// A connector for `name` with `data`, through the public inventory API.
pub fn connector(name: &str, data: Value) -> Arc<dyn Connector> {
    connector_with(name, data, Arc::new(Recorder::default()))
}

pub fn connector_with(name: &str, data: Value, reporter: Arc<dyn Reporter>) -> Arc<dyn Connector> {
    let inv = inventory();
    let mut host_data = inv.make_names_data(Some(name)).unwrap()[0].data.clone();
    for (k, v) in data.as_object().unwrap() {
        host_data.insert(k.clone(), v.clone());
    }
    inv.new_connector(HostContext::new(name, host_data, reporter))
        .unwrap()
}

/// A connector whose target is tweaked after resolution (agent socket, proxy command).
pub fn connector_tweaked(
    name: &str,
    data: Value,
    tweak: impl Fn(&mut rinfra_ssh::ResolvedTarget) + Send + Sync + 'static,
) -> Arc<dyn Connector> {
    struct Tweaked<F>(SshConfigResolver, F);
    impl<F: Fn(&mut rinfra_ssh::ResolvedTarget) + Send + Sync> TargetResolver for Tweaked<F> {
        fn resolve(
            &self,
            name: &str,
            data: &rinfra_ssh::SshData,
        ) -> Result<rinfra_ssh::ResolvedTarget, rinfra_connectors::ConnectError> {
            let mut t = self.0.resolve(name, data)?;
            (self.1)(&mut t);
            Ok(t)
        }
    }
    let host = HostContext::new(
        name,
        data.as_object().unwrap().clone(),
        Arc::new(Recorder::default()),
    );
    Arc::new(
        SshConnector::new(
            host,
            Arc::new(Tweaked(
                SshConfigResolver::new().without_default_config(),
                tweak,
            )),
            Arc::new(KnownHostsVerifier::new()),
        )
        .unwrap(),
    )
}

/// Run a shell command with default arguments.
pub async fn sh(conn: &Arc<dyn Connector>, cmd: &str) -> (bool, CommandOutput) {
    sh_args(conn, cmd, &ConnectorArguments::default()).await
}

pub async fn sh_args(
    conn: &Arc<dyn Connector>,
    cmd: &str,
    args: &ConnectorArguments,
) -> (bool, CommandOutput) {
    conn.run_shell_command(&StringCommand::from(cmd), false, false, args)
        .await
        .unwrap_or_else(|e| panic!("`{cmd}` could not run: {e}"))
}

/// Run and expect success; returns stdout.
pub async fn ok(conn: &Arc<dyn Connector>, cmd: &str) -> String {
    let (ok, out) = sh(conn, cmd).await;
    assert!(ok, "`{cmd}` failed: {out:?}");
    out.stdout()
}

/// A fresh local temp dir.
pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}
