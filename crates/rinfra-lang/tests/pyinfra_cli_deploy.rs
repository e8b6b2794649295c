//! pyinfra's own CLI deploy test (`tests/test_cli/test_cli_deploy.py::test_deploy`) run
//! through rinfra: same files, same expected operation names, order and hosts.
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use async_trait::async_trait;
use common::*;
use rinfra_connectors::{CommandOutput, ConnectError, ConnectorError, StringCommand};
use rinfra_core::{ArgOverrides, Condition, EarlierOps, ExecHost};
use rinfra_lang::{DeployEnv, HostContext, NoFacts};

/// A host for `_if` functions (`host.when(lambda: ...)`), which run at execute time.
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
fn executes(conditions: &[Condition]) -> bool {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    conditions.iter().all(|c| match c {
        Condition::Callable(f) => rt
            .block_on(f.check(&NoCommands, EarlierOps::default()))
            .unwrap(),
        c => EarlierOps::default().check(c),
    })
}

#[test]
fn pyinfra_test_cli_deploy() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pyinfra_cli_deploy");
    let (ops, facts) = registries();
    let env = DeployEnv::new(ops, facts, dir.clone());
    let file = env.load_file(&dir.join("deploy.py")).unwrap();

    // order -> (name, hosts that execute it); edges between each host's consecutive calls.
    let mut merged: BTreeMap<Vec<u64>, (String, Vec<&str>)> = BTreeMap::new();
    let mut edges: BTreeSet<(Vec<u64>, Vec<u64>)> = BTreeSet::new();
    for name in ["somehost", "anotherhost", "someotherhost"] {
        let host = HostContext {
            name: name.into(),
            ..Default::default()
        };
        let out = env.evaluate(&file, 0, &host, &NoFacts).unwrap();
        for pair in out.calls.windows(2) {
            edges.insert((pair[0].order.clone(), pair[1].order.clone()));
        }
        for call in out.calls {
            let mut label = call.global_args["name"].as_str().unwrap().to_string();
            for d in call.deploy_names.iter().rev() {
                label = format!("{d} | {label}");
            }
            let entry = merged
                .entry(call.order.clone())
                .or_insert((label.clone(), Vec::new()));
            assert_eq!(entry.0, label, "same order, different operation");
            if executes(&call.conditions) {
                entry.1.push(name);
            }
        }
    }
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
    // pyinfra's `State.get_op_order`: a topological sort of the per-host sequences, ready
    // nodes taken by smallest order key.
    let mut indegree: BTreeMap<&Vec<u64>, usize> = merged.keys().map(|k| (k, 0)).collect();
    for (_, to) in &edges {
        *indegree.get_mut(to).unwrap() += 1;
    }
    let mut ready: BTreeSet<&Vec<u64>> = indegree
        .iter()
        .filter(|(_, d)| **d == 0)
        .map(|(k, _)| *k)
        .collect();
    let mut got: Vec<(String, Vec<&str>)> = Vec::new();
    while let Some(next) = ready.pop_first() {
        got.push(merged[next].clone());
        for (from, to) in &edges {
            if from == next {
                let d = indegree.get_mut(to).unwrap();
                *d -= 1;
                if *d == 0 {
                    ready.insert(to);
                }
            }
        }
    }
    assert_eq!(got.len(), merged.len(), "cycle in the operation order");
    assert_eq!(got, expected);
}
