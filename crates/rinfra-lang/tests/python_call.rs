//! `python.call`: the function runs at execute time, through the host's `ExecHost`.
mod common;

use std::sync::Mutex;

use async_trait::async_trait;
use common::*;
use rinfra_connectors::{CommandOutput, ConnectError, ConnectorError, StringCommand};
use rinfra_core::{ArgOverrides, ExecHost};
use serde_json::json;

#[derive(Default)]
struct FakeHost {
    ran: Mutex<Vec<String>>,
}

#[async_trait]
impl ExecHost for FakeHost {
    fn name(&self) -> &str {
        "web1"
    }
    async fn run_shell_command(
        &self,
        command: &StringCommand,
        _overrides: &ArgOverrides,
    ) -> Result<(bool, CommandOutput), ConnectorError> {
        let c = command.get_masked_value();
        self.ran.lock().unwrap().push(c.clone());
        let out = match c.as_str() {
            "cat /etc/hostname" => CommandOutput::from_stdout(&["web1-new"], 0),
            "fact server.Hostname {}" => CommandOutput::from_stdout(&["web1-fresh"], 0),
            _ => CommandOutput::from_stdout(&[], 1),
        };
        Ok((out.exit_code == Some(0), out))
    }
    async fn reconnect(&self) -> Result<(), ConnectError> {
        Ok(())
    }
}

const DEPLOY: &str = r#"from pyinfra.facts.server import Hostname
from pyinfra.operations import python, server

name = host.get_fact(Hostname)
server.shell("before " + name)

def check(prefix, suffix="!"):
    ok, out = host.run_shell_command("cat /etc/hostname")
    fresh = host.get_fact(Hostname)
    if not ok or out.stdout != "web1-new" or out.stdout_lines != ["web1-new"]:
        fail("unexpected output " + out.stdout)
    if fresh != "web1-fresh" or prefix != "pre:" or suffix != "?":
        fail("unexpected values " + fresh + prefix + suffix)
    host.run_shell_command(prefix + fresh + suffix)

python.call(check, "pre:", suffix="?", _sudo=True)
if name == "old":
    python.call(function=lambda: fail("second callback"))
server.shell("after")
"#;

#[test]
fn python_call_runs_at_execute_time() {
    let p = Project::new();
    let facts = TableFacts::default().with("server.Hostname", json!({}), json!("old"));
    let out = p
        .run_with(DEPLOY, &host("web1", json!({})), &facts)
        .unwrap();
    assert_eq!(
        summary(&out.calls),
        vec![
            r#"server.shell {"commands":"before old"} [0, 5] deploy.py:5"#,
            r#"python.call {"function":"check","args":["pre:"]} [0, 16] deploy.py:16 globals={"_sudo":true}"#,
            r#"python.call {"function":"lambda","args":[]} [0, 18] deploy.py:18"#,
            r#"server.shell {"commands":"after"} [0, 19] deploy.py:19"#,
        ]
        .into_iter()
        .map(|s| s.replace(r#","args":[]"#, ""))
        .collect::<Vec<_>>()
    );
    let cb = out.calls[1].callback.clone().expect("a callback");
    assert_eq!(cb.describe(), "python.call check");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let fake = FakeHost::default();
    rt.block_on(cb.call(&fake)).unwrap();
    assert_eq!(
        *fake.ran.lock().unwrap(),
        vec![
            "cat /etc/hostname",
            "fact server.Hostname {}",
            "pre:web1-fresh?"
        ]
    );

    let cb2 = out.calls[2].callback.clone().expect("a callback");
    let err = rt.block_on(cb2.call(&FakeHost::default())).unwrap_err();
    assert!(err.contains("second callback"), "{err}");
    assert!(err.starts_with("deploy.py:18:"), "{err}");
}

#[test]
fn run_shell_command_outside_python_call() {
    let p = Project::new();
    let e = p
        .run("host.run_shell_command('ls')\n", &host("web1", json!({})))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "deploy.py:1:1: `host.run_shell_command` only works inside a `python.call` function"
    );
}
