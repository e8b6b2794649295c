//! pyinfra's own CLI deploy test (`tests/test_cli/test_cli_deploy.py::test_deploy`), its files
//! unchanged, run by rinfra's Python front end: the same operation names, order and hosts.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use rinfra_connectors::{CommandOutput, ConnectError, ConnectorError, StringCommand};
use rinfra_core::{
    merge_order, ArgOverrides, Condition, EarlierOps, ExecHost, FactRegistry, OperationRegistry,
};
use rinfra_python::{Deploy, FactSource, InventoryHost};
use serde_json::{Map, Value};

/// This deploy loads no facts.
struct NoFacts;

impl FactSource for NoFacts {
    fn get_fact(
        &self,
        fact: &str,
        _: &Map<String, Value>,
        _: &Map<String, Value>,
    ) -> Result<Value, String> {
        Err(format!("no facts here ({fact})"))
    }
}

/// The host `host.when(lambda: ...)` functions see at execute time (they run no commands).
struct NoCommands;

#[async_trait]
impl ExecHost for NoCommands {
    fn name(&self) -> &str {
        "unused"
    }
    async fn run_shell_command(
        &self,
        _: &StringCommand,
        _: &ArgOverrides,
    ) -> Result<(bool, CommandOutput), ConnectorError> {
        Err(ConnectorError::Other("no commands here".into()))
    }
    async fn reconnect(&self) -> Result<(), ConnectError> {
        Ok(())
    }
}

/// Whether a call's conditions let it execute (no earlier operation changed anything).
async fn executes(conditions: &[Condition]) -> bool {
    for c in conditions {
        let ok = match c {
            Condition::Callable(f) => f.check(&NoCommands, EarlierOps::default()).await.unwrap(),
            c => EarlierOps::default().check(c),
        };
        if !ok {
            return false;
        }
    }
    true
}

#[tokio::test(flavor = "multi_thread")]
async fn pyinfra_test_cli_deploy() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pyinfra_cli_deploy");
    let (mut facts, mut ops) = (FactRegistry::new(), OperationRegistry::new());
    rinfra_ops::register_all(&mut facts, &mut ops);
    rinfra_python::start(Arc::new(ops), Arc::new(facts)).unwrap();
    // pyinfra runs deploys from the deploy directory (relative includes and paths).
    std::env::set_current_dir(&dir).unwrap();
    let names = ["somehost", "anotherhost", "someotherhost"];
    let hosts: Vec<InventoryHost> = names
        .iter()
        .map(|n| InventoryHost {
            name: n.to_string(),
            groups: vec![],
            data: Map::new(),
        })
        .collect();
    Deploy::setup(&hosts, &[], &dir, &Map::new()).unwrap();
    let deploy = Arc::new(Deploy::load(&[dir.join("deploy.py")]).unwrap());

    let mut calls = Vec::new();
    for i in 0..names.len() {
        let d = Arc::clone(&deploy);
        let c = tokio::task::spawn_blocking(move || d.evaluate(i, &Map::new(), Arc::new(NoFacts)))
            .await
            .unwrap()
            .unwrap();
        calls.push(c);
    }
    let keys: Vec<Vec<Vec<u64>>> = calls
        .iter()
        .map(|c| c.iter().map(|c| c.order.clone()).collect())
        .collect();
    let order = merge_order(&keys, |id| format!("{id:?}")).unwrap();

    // op id -> (label, hosts that execute it)
    let mut by_id: HashMap<_, (String, Vec<&str>)> = HashMap::new();
    for (h, host_calls) in calls.iter().enumerate() {
        for (call, id) in host_calls.iter().zip(&order.host_ids[h]) {
            let mut label = call.global_args["name"].as_str().unwrap().to_string();
            for d in call.deploy_names.iter().rev() {
                label = format!("{d} | {label}");
            }
            let entry = by_id
                .entry(id.clone())
                .or_insert((label.clone(), Vec::new()));
            assert_eq!(entry.0, label, "same operation id, different operation");
            if executes(&call.conditions).await {
                entry.1.push(names[h]);
            }
        }
    }
    let got: Vec<(String, Vec<&str>)> = order.ops.iter().map(|id| by_id[id].clone()).collect();

    let all = vec!["somehost", "anotherhost", "someotherhost"];
    let a = "tasks/a_task.py";
    let n = "tasks/another_task.py";
    let b = "tasks/b_task.py";
    let expected: Vec<(String, Vec<&str>)> = vec![
        ("First main operation".into(), all.clone()),
        ("Second main operation".into(), vec!["somehost"]),
        (format!("{a} | First task operation"), vec!["anotherhost"]),
        (format!("{a} | Task order loop 1"), vec!["anotherhost"]),
        (format!("{a} | 2nd Task order loop 1"), vec!["anotherhost"]),
        (format!("{a} | Task order loop 2"), vec!["anotherhost"]),
        (format!("{a} | 2nd Task order loop 2"), vec!["anotherhost"]),
        (
            format!("{a} | {n} | Second task operation"),
            vec!["anotherhost"],
        ),
        (format!("{a} | First task operation"), all.clone()),
        (format!("{a} | Task order loop 1"), all.clone()),
        (format!("{a} | 2nd Task order loop 1"), all.clone()),
        (format!("{a} | Task order loop 2"), all.clone()),
        (format!("{a} | 2nd Task order loop 2"), all.clone()),
        (format!("{a} | {n} | Second task operation"), all.clone()),
        (format!("{b} | Important task operation"), all.clone()),
        ("My deploy | First deploy operation".into(), all.clone()),
        (
            "My deploy | My nested deploy | First nested deploy operation".into(),
            all.clone(),
        ),
        ("My deploy | Second deploy operation".into(), all.clone()),
        ("Loop-0 main operation".into(), all.clone()),
        ("Loop-1 main operation".into(), all.clone()),
        ("Third main operation".into(), all.clone()),
        ("Order loop 1".into(), all.clone()),
        ("Nested order loop 1/1".into(), vec!["anotherhost"]),
        ("Nested order loop 1/2".into(), vec!["anotherhost"]),
        ("Order loop 2".into(), all.clone()),
        (
            "Nested order loop 2/1".into(),
            vec!["somehost", "anotherhost"],
        ),
        (
            "Nested order loop 2/2".into(),
            vec!["somehost", "anotherhost"],
        ),
        ("Final limited operation".into(), vec!["somehost"]),
        (
            "Second final limited operation".into(),
            vec!["anotherhost", "someotherhost"],
        ),
    ];
    assert_eq!(got, expected);
}
