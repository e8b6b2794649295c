//! `_if=lambda: ...` and `_retry_until=lambda output: ...`: the functions are not called while
//! evaluating; the engine calls them at execute time (through a replay of the deploy, as
//! `python.call`), where `op.did_change()` answers from the earlier operations' statuses.
mod common;

use std::sync::Mutex;

use async_trait::async_trait;
use common::*;
use rinfra_connectors::{CommandOutput, ConnectError, ConnectorError, StringCommand};
use rinfra_core::{ArgOverrides, Condition, ConditionKind, EarlierOps, ExecHost, HostOpStatus};
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
            "fact server.Hostname {}" => CommandOutput::from_stdout(&["web1-fresh"], 0),
            _ => CommandOutput::from_stdout(&[], 1),
        };
        Ok((out.exit_code == Some(0), out))
    }
    async fn reconnect(&self) -> Result<(), ConnectError> {
        Ok(())
    }
}

const DEPLOY: &str = r#"from pyinfra.api import deploy
from pyinfra.facts.server import Hostname
from pyinfra.operations import server

name = host.get_fact(Hostname)
d = server.shell("mkdir /srv/app")
s = server.shell("start")
server.shell("b", _if=lambda: d.did_change() and not s.did_error())
server.shell("c", _if=[lambda: host.get_fact(Hostname) == "web1-fresh", d.did_succeed])
server.shell("d", _retries=3, _retry_until=lambda out: "3" not in out["stdout_lines"] and out["host"] == "web1")
server.shell("e", _if=lambda: fail("nope " + name))

@deploy("Sub")
def sub():
    server.shell("f")

sub(_if=lambda: any_changed(d, s), _retry_until=lambda out: out["executed_commands"] == 0)
"#;

fn callable(c: &Condition) -> std::sync::Arc<dyn rinfra_core::ConditionCallback> {
    match c {
        Condition::Callable(c) => c.clone(),
        other => panic!("not a callable: {other:?}"),
    }
}

#[test]
fn if_and_retry_until_functions_run_at_execute_time() {
    let p = Project::new();
    let facts = TableFacts::default().with("server.Hostname", json!({}), json!("old"));
    // Evaluating does not call them (`fail` in the `_if` of "e" would stop it).
    let out = p
        .run_with(DEPLOY, &host("web1", json!({})), &facts)
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let fake = FakeHost::default();
    let changed = HostOpStatus::Success {
        commands: 1,
        retry: 0,
    };
    let error = HostOpStatus::Error {
        commands: 1,
        ignored: true,
        message: "x".into(),
    };

    // `_if=lambda: d.did_change() and not s.did_error()`
    assert_eq!(out.calls[2].conditions.len(), 1);
    let b = callable(&out.calls[2].conditions[0]);
    assert_eq!(b.describe(), "_if at deploy.py:8");
    let check = |c: &std::sync::Arc<dyn rinfra_core::ConditionCallback>, e: EarlierOps| {
        rt.block_on(c.check(&fake, e))
    };
    assert_eq!(
        check(
            &b,
            EarlierOps::new([(0, changed.clone()), (1, changed.clone())])
        ),
        Ok(true)
    );
    assert_eq!(
        check(
            &b,
            EarlierOps::new([(0, HostOpStatus::NoChange), (1, changed.clone())])
        ),
        Ok(false)
    );
    assert_eq!(
        check(
            &b,
            EarlierOps::new([(0, changed.clone()), (1, error.clone())])
        ),
        Ok(false)
    );

    // A list mixing a function (fresh facts through the host) and a condition.
    let c = &out.calls[3].conditions;
    assert_eq!(c.len(), 2);
    assert_eq!(
        c[1],
        Condition::Op {
            call_index: 0,
            kind: ConditionKind::DidSucceed
        }
    );
    assert_eq!(check(&callable(&c[0]), EarlierOps::default()), Ok(true));
    assert_eq!(*fake.ran.lock().unwrap(), ["fact server.Hostname {}"]);

    // `_retry_until` gets the attempt's output dict.
    let until = out.calls[4].retry_until.clone().expect("a retry_until");
    assert_eq!(until.describe(), "_retry_until at deploy.py:10");
    assert_eq!(out.calls[4].global_args["_retries"], json!(3));
    let output = |lines: &[&str]| {
        json!({
            "stdout_lines": lines,
            "stderr_lines": [],
            "commands": ["d"],
            "executed_commands": 1,
            "host": "web1",
            "operation": "server.shell",
        })
    };
    let retry = |o| rt.block_on(until.retry(&fake, EarlierOps::default(), o));
    assert_eq!(retry(output(&["1"])), Ok(true));
    assert_eq!(retry(output(&["3"])), Ok(false));

    // An error inside the function is the deploy's file:line.
    let e = check(
        &callable(&out.calls[5].conditions[0]),
        EarlierOps::default(),
    )
    .unwrap_err();
    assert!(
        e.starts_with("error in the `_if` function: deploy.py:11:"),
        "{e}"
    );
    assert!(e.contains("nope old"), "{e}");

    // Given to a `@deploy` function: every operation inside gets them.
    let f = &out.calls[6];
    assert_eq!(f.deploy_names, ["Sub"]);
    let c = callable(&f.conditions[0]);
    assert_eq!(
        check(
            &c,
            EarlierOps::new([(0, HostOpStatus::NoChange), (1, changed)])
        ),
        Ok(true)
    );
    assert_eq!(
        check(
            &c,
            EarlierOps::new([(0, HostOpStatus::NoChange), (1, error)])
        ),
        Ok(false)
    );
    let until = f.retry_until.clone().expect("a retry_until");
    let mut o = output(&[]);
    o["executed_commands"] = json!(0);
    assert_eq!(
        rt.block_on(until.retry(&fake, EarlierOps::default(), o)),
        Ok(true)
    );
}

#[test]
fn retry_until_must_be_a_function() {
    let p = Project::new();
    let e = p
        .run(
            "server.shell('x', _retry_until=True)\n",
            &host("web1", json!({})),
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "deploy.py:1:1: `_retry_until` must be a function, got `bool`"
    );
}
