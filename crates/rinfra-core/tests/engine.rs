//! The two-phase run end to end on real `@local` hosts (and `@fake` ones), with small test
//! operations: change detection without side effects, idempotence, `_if`, failures, retries,
//! `_run_once`, `--serial`/`--no-wait`, `--fail-percent`.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rinfra_connectors::{
    quoted, Bit, ConnectorRegistry, HostContext, SilentReporter, StringCommand,
};
use rinfra_core::*;
use serde_json::{json, Map, Value};

/// `test.Content(path)`: the file's content, or None when it does not exist.
struct ContentFact;

impl Fact for ContentFact {
    fn name(&self) -> &'static str {
        "test.Content"
    }
    fn params(&self) -> &'static [&'static str] {
        &["path"]
    }
    fn command(&self, args: &FactArgs) -> Result<StringCommand, FactError> {
        let path = args["path"].as_str().unwrap_or_default().to_string();
        Ok(StringCommand::new([
            Bit::from("if test -f"),
            quoted(path.clone()),
            Bit::from("; then echo yes; cat"),
            quoted(path),
            Bit::from("; fi"),
        ]))
    }
    fn process(&self, stdout: &[String], _: &FactArgs) -> Result<Value, FactError> {
        Ok(json!(stdout[1..].join("\n")))
    }
}

/// `test.file(path, content)`: write the file when its content differs.
struct FileOp;

#[async_trait]
impl Operation for FileOp {
    fn name(&self) -> &'static str {
        "test.file"
    }
    fn params(&self) -> &'static [Param] {
        const P: &[Param] = &[Param::required("path"), Param::required("content")];
        P
    }
    async fn generate(
        &self,
        args: &OpArgs,
        host: &dyn OpHost,
    ) -> Result<OpOutcome, OperationError> {
        let path = args["path"].as_str().unwrap().to_string();
        let content = args["content"].as_str().unwrap().to_string();
        let mut fa = FactArgs::new();
        fa.insert("path".into(), json!(path));
        let current = host.get_fact("test.Content", fa).await?;
        if current.as_str() == Some(content.as_str()) {
            return Ok(OpOutcome::noop(format!("file {path} is up to date")));
        }
        Ok(OpOutcome::commands(vec![OpCommand::shell(
            StringCommand::new([
                Bit::from("printf %s"),
                quoted(content),
                Bit::from(">"),
                quoted(path),
            ]),
        )]))
    }
}

/// `test.shell(commands)`: always runs.
struct ShellOp;

#[async_trait]
impl Operation for ShellOp {
    fn name(&self) -> &'static str {
        "test.shell"
    }
    fn params(&self) -> &'static [Param] {
        const P: &[Param] = &[Param::required("commands")];
        P
    }
    fn is_idempotent(&self) -> bool {
        false
    }
    async fn generate(&self, args: &OpArgs, _: &dyn OpHost) -> Result<OpOutcome, OperationError> {
        let cmds = args["commands"].as_array().unwrap();
        Ok(OpOutcome::commands(
            cmds.iter()
                .map(|c| OpCommand::shell(c.as_str().unwrap()))
                .collect(),
        ))
    }
}

/// `test.panic()`: panics on hosts named `.../bad`, as a bug in an operation would; the
/// detect phase does not call it (it is not idempotent), the execute phase does.
struct PanicOp;

#[async_trait]
impl Operation for PanicOp {
    fn name(&self) -> &'static str {
        "test.panic"
    }
    fn params(&self) -> &'static [Param] {
        &[]
    }
    fn is_idempotent(&self) -> bool {
        false
    }
    async fn generate(&self, _: &OpArgs, host: &dyn OpHost) -> Result<OpOutcome, OperationError> {
        assert!(!host.name().ends_with("/bad"), "a bug in test.panic");
        Ok(OpOutcome::commands(vec![OpCommand::shell("true")]))
    }
}

/// Events as lines, and the answer to "continue after failures?" (`None`: not asked).
#[derive(Default)]
struct Log(Mutex<Vec<String>>, Mutex<Option<bool>>);

impl Events for Log {
    fn continue_after_failures(&self, failed: &[String]) -> Option<bool> {
        let answer = *self.1.lock().unwrap();
        if answer.is_some() {
            self.0.lock().unwrap().push(format!("asked {failed:?}"));
        }
        answer
    }

    fn host_op_done(
        &self,
        host: &str,
        op: &str,
        status: &HostOpStatus,
        _: Option<&rinfra_connectors::CommandOutput>,
    ) {
        self.0
            .lock()
            .unwrap()
            .push(format!("{host} {op} {status:?}"));
    }
}

fn registries() -> (FactRegistry, OperationRegistry) {
    let mut f = FactRegistry::new();
    f.register(Arc::new(ContentFact));
    let mut o = OperationRegistry::new();
    o.register(Arc::new(FileOp));
    o.register(Arc::new(ShellOp));
    o.register(Arc::new(PanicOp));
    (f, o)
}

/// Hosts from names (`@local`, `@fake/x`), with per-host data.
fn state(names: &[(&str, Value)], config: RunConfig) -> (Arc<State>, Arc<Log>) {
    let registry = ConnectorRegistry::with_builtins();
    let hosts = names
        .iter()
        .map(|(n, data)| {
            let (conn_name, nd) = registry.make_names_data(n).unwrap();
            let data: Map<String, Value> = data.as_object().cloned().unwrap_or_default();
            let ctx = HostContext::new(nd[0].name.clone(), data.clone(), Arc::new(SilentReporter));
            let conn = registry.new_connector(&conn_name, ctx).unwrap();
            Arc::new(Host::new(
                nd[0].name.clone(),
                nd[0].groups.clone(),
                data,
                conn,
            ))
        })
        .collect();
    let (f, o) = registries();
    let log = Arc::new(Log::default());
    (Arc::new(State::new(hosts, f, o, config, log.clone())), log)
}

fn call(op: &str, args: Value, line: u64) -> OpCall {
    OpCall::new(
        op,
        args.as_object().unwrap().clone(),
        vec![0, line],
        format!("deploy.py:{line}"),
    )
}

async fn run(state: &Arc<State>, calls: Vec<Vec<OpCall>>) -> (Plan, Results) {
    state.connect_all().await;
    let mut plan = build_plan(state, calls).unwrap();
    detect_changes(state, &mut plan).await;
    let results = execute(state, Arc::new(plan.clone())).await;
    state.disconnect_all().await;
    (plan, results)
}

fn statuses(r: &Results) -> Vec<Vec<String>> {
    r.ops
        .iter()
        .map(|(_, hs)| hs.iter().map(|(_, s)| format!("{s:?}")).collect())
        .collect()
}

#[tokio::test]
async fn detects_without_changing_then_executes_then_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("motd");
    let calls = || {
        vec![vec![call(
            "test.file",
            json!({"path": path.to_str().unwrap(), "content": "hello"}),
            3,
        )]]
    };

    let (st, _) = state(&[("@local", json!({}))], RunConfig::default());
    st.connect_all().await;
    let mut plan = build_plan(&st, calls()).unwrap();
    detect_changes(&st, &mut plan).await;
    assert_eq!(st.failed_hosts(), vec![]);
    assert_eq!(plan.ops[0].change_counts(), (1, 0));
    assert!(!path.exists(), "the prepare phase must not change the host");
    let results = execute(&st, Arc::new(plan)).await;
    assert_eq!(statuses(&results), [["Success { commands: 1, retry: 0 }"]]);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "hello");

    let (st, _) = state(&[("@local", json!({}))], RunConfig::default());
    let (plan, results) = run(&st, calls()).await;
    assert_eq!(plan.ops[0].change_counts(), (0, 0));
    assert_eq!(statuses(&results), [["NoChange"]]);
}

#[tokio::test]
async fn if_conditions_follow_earlier_results() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let marker = dir.path().join("changed");
    let mut c2 = call(
        "test.shell",
        json!({"commands": [format!("touch {}", marker.display())]}),
        5,
    );
    c2.conditions = vec![Condition::Op {
        call_index: 0,
        kind: ConditionKind::DidChange,
    }];
    let calls = vec![vec![
        call(
            "test.file",
            json!({"path": a.to_str().unwrap(), "content": "x"}),
            3,
        ),
        c2.clone(),
    ]];
    let (st, _) = state(&[("@local", json!({}))], RunConfig::default());
    let (plan, results) = run(&st, calls).await;
    assert_eq!(
        plan.ops[1].change_counts(),
        (0, 1),
        "an `_if` op is a conditional change"
    );
    assert!(statuses(&results)[1][0].starts_with("Success"));
    assert!(marker.exists());

    std::fs::remove_file(&marker).unwrap();
    let calls = vec![vec![
        call(
            "test.file",
            json!({"path": a.to_str().unwrap(), "content": "x"}),
            3,
        ),
        c2,
    ]];
    let (st, _) = state(&[("@local", json!({}))], RunConfig::default());
    let (_, results) = run(&st, calls).await;
    assert_eq!(statuses(&results)[1], ["Skipped"]);
    assert!(!marker.exists());
}

#[tokio::test]
async fn a_failed_host_leaves_the_run_and_others_finish() {
    let fail = json!({"fake_responses": {"boom": {"success": false, "stderr": "it broke"}}});
    let hosts = [("@fake/good", json!({})), ("@fake/bad", fail)];
    let calls: Vec<Vec<OpCall>> = (0..2)
        .map(|_| {
            vec![
                call("test.shell", json!({"commands": ["boom"]}), 1),
                call("test.shell", json!({"commands": ["next"]}), 2),
            ]
        })
        .collect();
    let (st, log) = state(&hosts, RunConfig::default());
    let (_, results) = run(&st, calls).await;
    assert_eq!(results.stopped, None);
    assert_eq!(st.failed_hosts().len(), 1);
    assert_eq!(st.failed_hosts()[0].0, "@fake/bad");
    assert!(
        st.failed_hosts()[0].1.contains("exit code 1"),
        "{:?}",
        st.failed_hosts()
    );
    // the second operation ran on the good host only
    assert_eq!(results.ops[1].1.len(), 1);
    assert!(log
        .0
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.starts_with("@fake/bad test.shell") && l.contains(" Error")));
}

/// A panic in one host's operation (a bug) fails that host with the panic's message and an
/// error status; the other hosts finish, in waves and with `--no-wait` alike.
#[tokio::test]
async fn a_panicking_operation_fails_its_host_only() {
    let hosts = [("@fake/good", json!({})), ("@fake/bad", json!({}))];
    for no_wait in [false, true] {
        let calls: Vec<Vec<OpCall>> = (0..2)
            .map(|_| {
                vec![
                    call("test.panic", json!({}), 1),
                    call("test.shell", json!({"commands": ["next"]}), 2),
                ]
            })
            .collect();
        let cfg = RunConfig {
            no_wait,
            ..Default::default()
        };
        let (st, _) = state(&hosts, cfg);
        let (_, results) = run(&st, calls).await;
        assert_eq!(results.stopped, None, "no_wait={no_wait}");
        let failed = st.failed_hosts();
        assert_eq!(failed.len(), 1, "no_wait={no_wait}: {failed:?}");
        assert_eq!(failed[0].0, "@fake/bad");
        assert!(
            failed[0].1.contains("internal error") && failed[0].1.contains("a bug in test.panic"),
            "{failed:?}"
        );
        // The good host ran both operations.
        let good: Vec<_> = results
            .ops
            .iter()
            .flat_map(|(_, hs)| hs.iter())
            .filter(|(i, s)| *i == 0 && matches!(s, HostOpStatus::Success { .. }))
            .collect();
        assert_eq!(good.len(), 2, "no_wait={no_wait}: {:?}", results.ops);
        if !no_wait {
            let bad = &results.ops[0].1.iter().find(|(i, _)| *i == 1).unwrap().1;
            assert!(matches!(bad, HostOpStatus::Error { .. }), "{bad:?}");
        }
    }
}

#[tokio::test]
async fn ignore_errors_keeps_the_host_and_no_hosts_remaining_stops() {
    let fail = json!({"fake_responses": {"boom": {"success": false}}});
    let mut c = call("test.shell", json!({"commands": ["boom"]}), 1);
    c.global_args.insert("_ignore_errors".into(), json!(true));
    let (st, _) = state(&[("@fake/a", fail.clone())], RunConfig::default());
    let (_, results) = run(
        &st,
        vec![vec![c, call("test.shell", json!({"commands": ["ok"]}), 2)]],
    )
    .await;
    assert!(st.failed_hosts().is_empty());
    assert!(statuses(&results)[0][0].contains("ignored: true"));
    assert!(statuses(&results)[1][0].starts_with("Success"));

    let (st, _) = state(&[("@fake/a", fail)], RunConfig::default());
    let (_, results) = run(
        &st,
        vec![vec![call("test.shell", json!({"commands": ["boom"]}), 1)]],
    )
    .await;
    assert_eq!(results.stopped, Some(RunStop::NoHostsRemaining));
}

#[tokio::test]
async fn retries_rerun_the_operation() {
    let dir = tempfile::tempdir().unwrap();
    let counter = dir.path().join("n");
    // fails the first time, succeeds the second
    let cmd = format!(
        "if [ -f {0} ]; then true; else touch {0}; false; fi",
        counter.display()
    );
    let mut c = call("test.shell", json!({"commands": [cmd]}), 1);
    c.global_args.insert("_retries".into(), json!(2));
    c.global_args.insert("_retry_delay".into(), json!(0));
    let (st, _) = state(&[("@local", json!({}))], RunConfig::default());
    let (_, results) = run(&st, vec![vec![c]]).await;
    assert_eq!(statuses(&results), [["Success { commands: 1, retry: 1 }"]]);
}

/// A `_retry_until` that records what it is given and asks for a retry while stdout lacks `3`.
#[derive(Default)]
struct UntilThree(Mutex<Vec<Value>>);

#[async_trait]
impl RetryUntil for UntilThree {
    fn describe(&self) -> String {
        "deploy.py:1".into()
    }
    async fn retry(
        &self,
        host: &dyn ExecHost,
        _: EarlierOps,
        output: Value,
    ) -> Result<bool, String> {
        assert_eq!(host.name(), "@local");
        self.0.lock().unwrap().push(output.clone());
        let lines = output["stdout_lines"].as_array().unwrap();
        Ok(!lines.contains(&json!("3")))
    }
}

#[tokio::test]
async fn retry_until_reruns_successful_attempts_while_it_returns_true() {
    let dir = tempfile::tempdir().unwrap();
    let counter = dir.path().join("n");
    let cmd = format!(
        "n=$(cat {0} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {0}; echo $n",
        counter.display()
    );
    let until = Arc::new(UntilThree::default());
    let mut c = call("test.shell", json!({"commands": [cmd.clone()]}), 1);
    c.global_args.insert("_retries".into(), json!(5));
    c.global_args.insert("_retry_delay".into(), json!(0));
    c.retry_until = Some(until.clone());
    let (st, _) = state(&[("@local", json!({}))], RunConfig::default());
    let (_, results) = run(&st, vec![vec![c]]).await;
    assert_eq!(statuses(&results), [["Success { commands: 1, retry: 2 }"]]);
    let seen = until.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    assert_eq!(
        seen[0],
        json!({
            "stdout_lines": ["1"],
            "stderr_lines": [],
            "commands": [cmd],
            "executed_commands": 1,
            "host": "@local",
            // The operation's label, as output shows it (pyinfra's op names).
            "operation": format!("test.shell (commands=['{cmd}'])"),
        })
    );
    assert_eq!(seen[2]["stdout_lines"], json!(["3"]));

    // `_retries` bounds it: the last attempt is not checked and stands.
    std::fs::remove_file(&counter).unwrap();
    let until = Arc::new(UntilThree::default());
    let mut c = call("test.shell", json!({"commands": [cmd]}), 1);
    c.global_args.insert("_retries".into(), json!(1));
    c.global_args.insert("_retry_delay".into(), json!(0));
    c.retry_until = Some(until.clone());
    let (st, _) = state(&[("@local", json!({}))], RunConfig::default());
    let (_, results) = run(&st, vec![vec![c]]).await;
    assert_eq!(statuses(&results), [["Success { commands: 1, retry: 1 }"]]);
    assert_eq!(until.0.lock().unwrap().len(), 1);
    assert_eq!(std::fs::read_to_string(&counter).unwrap(), "2\n");
}

struct FailingUntil;

#[async_trait]
impl RetryUntil for FailingUntil {
    fn describe(&self) -> String {
        "deploy.py:1".into()
    }
    async fn retry(&self, _: &dyn ExecHost, _: EarlierOps, _: Value) -> Result<bool, String> {
        Err("deploy.py:1: boom".into())
    }
}

#[tokio::test]
async fn a_retry_until_error_fails_the_host() {
    let mut c = call("test.shell", json!({"commands": ["true"]}), 1);
    c.global_args.insert("_retries".into(), json!(2));
    c.retry_until = Some(Arc::new(FailingUntil));
    let (st, _) = state(&[("@local", json!({}))], RunConfig::default());
    let (_, results) = run(&st, vec![vec![c]]).await;
    assert_eq!(
        statuses(&results),
        [[r#"Error { commands: 1, ignored: false, message: "deploy.py:1: boom" }"#]]
    );
    assert_eq!(st.failed_hosts().len(), 1);
}

/// An `_if` callable answering from the earlier operations' real statuses.
struct IfChanged {
    call_index: usize,
    seen: Mutex<Vec<Option<HostOpStatus>>>,
}

#[async_trait]
impl ConditionCallback for IfChanged {
    fn describe(&self) -> String {
        "deploy.py:5".into()
    }
    async fn check(&self, _: &dyn ExecHost, earlier: EarlierOps) -> Result<bool, String> {
        if self.call_index == usize::MAX {
            return Err("deploy.py:5: bad".into());
        }
        self.seen
            .lock()
            .unwrap()
            .push(earlier.status(self.call_index).cloned());
        Ok(earlier.holds(self.call_index, ConditionKind::DidChange))
    }
}

#[tokio::test]
async fn if_callables_are_called_at_execute_time_with_earlier_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let marker = dir.path().join("changed");
    let cond = Arc::new(IfChanged {
        call_index: 0,
        seen: Mutex::default(),
    });
    let calls = || {
        let mut c2 = call(
            "test.shell",
            json!({"commands": [format!("touch {}", marker.display())]}),
            5,
        );
        c2.conditions = vec![Condition::Callable(cond.clone())];
        vec![vec![
            call(
                "test.file",
                json!({"path": a.to_str().unwrap(), "content": "x"}),
                3,
            ),
            c2,
        ]]
    };
    let (st, _) = state(&[("@local", json!({}))], RunConfig::default());
    let (plan, results) = run(&st, calls()).await;
    assert_eq!(plan.ops[1].change_counts(), (0, 1));
    assert!(statuses(&results)[1][0].starts_with("Success"));
    assert!(marker.exists());
    assert_eq!(
        cond.seen.lock().unwrap().clone(),
        [Some(HostOpStatus::Success {
            commands: 1,
            retry: 0
        })]
    );

    std::fs::remove_file(&marker).unwrap();
    let (st, _) = state(&[("@local", json!({}))], RunConfig::default());
    let (_, results) = run(&st, calls()).await;
    assert_eq!(statuses(&results)[1], ["Skipped"]);
    assert!(!marker.exists());
    assert_eq!(cond.seen.lock().unwrap()[1], Some(HostOpStatus::NoChange));

    // An error in the callable fails the host, at the deploy's location.
    let mut c = call("test.shell", json!({"commands": ["true"]}), 1);
    c.conditions = vec![Condition::Callable(Arc::new(IfChanged {
        call_index: usize::MAX,
        seen: Mutex::default(),
    }))];
    let (st, _) = state(&[("@local", json!({}))], RunConfig::default());
    let (_, results) = run(&st, vec![vec![c]]).await;
    assert_eq!(
        statuses(&results),
        [[r#"Error { commands: 0, ignored: false, message: "deploy.py:5: bad" }"#]]
    );
}

#[tokio::test]
async fn run_once_serial_and_no_wait() {
    let mut once = call("test.shell", json!({"commands": ["x"]}), 1);
    once.global_args.insert("_run_once".into(), json!(true));
    let hosts = [
        ("@fake/a", json!({})),
        ("@fake/b", json!({})),
        ("@fake/c", json!({})),
    ];
    let (st, _) = state(&hosts, RunConfig::default());
    let (_, results) = run(&st, (0..3).map(|_| vec![once.clone()]).collect()).await;
    assert_eq!(results.ops[0].1.len(), 1);

    for (serial, no_wait) in [(true, false), (false, true)] {
        let cfg = RunConfig {
            serial,
            no_wait,
            ..Default::default()
        };
        let (st, _) = state(&hosts, cfg);
        let calls = (0..3)
            .map(|_| {
                vec![
                    call("test.shell", json!({"commands": ["a"]}), 1),
                    call("test.shell", json!({"commands": ["b"]}), 2),
                ]
            })
            .collect();
        let (_, results) = run(&st, calls).await;
        assert_eq!(results.ops.len(), 2);
        assert!(results.ops.iter().all(|(_, hs)| hs.len() == 3));
    }
}

#[tokio::test]
async fn the_operator_decides_whether_to_continue_after_failures() {
    let fail = json!({"fake_responses": {"boom": {"success": false}}});
    let hosts = [("@fake/a", fail), ("@fake/b", json!({}))];
    let calls = || {
        (0..2)
            .map(|_| {
                vec![
                    call("test.shell", json!({"commands": ["boom"]}), 1),
                    call("test.shell", json!({"commands": ["b"]}), 2),
                    call("test.shell", json!({"commands": ["boom"]}), 3),
                ]
            })
            .collect()
    };
    let (st, log) = state(&hosts, RunConfig::default());
    *log.1.lock().unwrap() = Some(false);
    let (_, results) = run(&st, calls()).await;
    assert_eq!(results.stopped, Some(RunStop::NotContinued));
    assert_eq!(results.ops.len(), 1, "the second operation never started");

    // Going on overrides --fail-percent (pyinfra sets FAIL_PERCENT to 0 when it asks); a
    // host is asked about once.
    let cfg = RunConfig {
        fail_percent: Some(10.0),
        ..Default::default()
    };
    let (st, log) = state(&hosts, cfg);
    *log.1.lock().unwrap() = Some(true);
    let (_, results) = run(&st, calls()).await;
    assert_eq!(results.stopped, None);
    assert_eq!(results.ops.len(), 3);
    let asked: Vec<String> = log
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.starts_with("asked"))
        .cloned()
        .collect();
    assert_eq!(asked, ["asked [\"@fake/a\"]"]);
}

#[tokio::test]
async fn fail_percent_stops_the_run() {
    let fail = json!({"fake_responses": {"boom": {"success": false}}});
    let hosts = [
        ("@fake/a", fail),
        ("@fake/b", json!({})),
        ("@fake/c", json!({})),
    ];
    let cfg = RunConfig {
        fail_percent: Some(10.0),
        ..Default::default()
    };
    let (st, _) = state(&hosts, cfg);
    let calls = (0..3)
        .map(|_| {
            vec![
                call("test.shell", json!({"commands": ["boom"]}), 1),
                call("test.shell", json!({"commands": ["b"]}), 2),
            ]
        })
        .collect();
    let (_, results) = run(&st, calls).await;
    assert_eq!(results.stopped, Some(RunStop::FailPercent(10.0)));
    assert_eq!(results.ops.len(), 1, "the second operation never started");
}

#[tokio::test]
async fn ops_only_some_hosts_run_are_ordered_by_position() {
    let hosts = [("@fake/a", json!({})), ("@fake/b", json!({}))];
    let (st, _) = state(&hosts, RunConfig::default());
    let a = vec![
        call("test.shell", json!({"commands": ["1"]}), 1),
        call("test.shell", json!({"commands": ["9"]}), 9),
    ];
    let b = vec![
        call("test.shell", json!({"commands": ["1"]}), 1),
        call("test.shell", json!({"commands": ["5"]}), 5),
        call("test.shell", json!({"commands": ["9"]}), 9),
    ];
    let (plan, _) = run(&st, vec![a, b]).await;
    let names: Vec<&str> = plan.ops.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "test.shell (commands=['1'])",
            "test.shell (commands=['5'])",
            "test.shell (commands=['9'])"
        ]
    );
}

#[tokio::test]
async fn bad_calls_are_located_errors_before_anything_runs() {
    let (st, _) = state(&[("@fake/a", json!({}))], RunConfig::default());
    let e = build_plan(&st, vec![vec![call("test.nope", json!({}), 4)]]).unwrap_err();
    assert_eq!(e.to_string(), "deploy.py:4: unknown operation `test.nope`");
    let e = build_plan(
        &st,
        vec![vec![call("test.shell", json!({"comands": []}), 7)]],
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("deploy.py:7: invalid argument `comands` for test.shell: unknown argument (valid: commands)"), "{e}");
    let mut c = call("test.shell", json!({"commands": []}), 8);
    c.global_args.insert("_sudo".into(), json!("yes"));
    let e = build_plan(&st, vec![vec![c]]).unwrap_err();
    assert!(
        e.to_string()
            .contains("global argument `_sudo` must be a bool"),
        "{e}"
    );
}

#[derive(Default)]
struct CountInputs(std::sync::atomic::AtomicUsize);

impl rinfra_connectors::Reporter for CountInputs {
    fn command_input(&self, _: &str, _: &str) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
    fn command_output(&self, _: &str, _: &rinfra_connectors::OutputLine) {}
    fn notice(&self, _: &str, _: &str) {}
    fn prompt_secret(&self, _: &str, _: &str) -> Option<rinfra_connectors::Secret> {
        None
    }
}

/// The facts of several operations load in one command, not one command each (pyinfra's way).
#[tokio::test]
async fn facts_of_many_operations_load_in_one_command() {
    let dir = tempfile::tempdir().unwrap();
    let calls: Vec<OpCall> = (0..4)
        .map(|n| {
            let p = dir.path().join(format!("f{n}"));
            std::fs::write(&p, "same").unwrap();
            call(
                "test.file",
                json!({"path": p.to_str().unwrap(), "content": "same"}),
                n + 1,
            )
        })
        .collect();
    let counter = Arc::new(CountInputs::default());
    let registry = ConnectorRegistry::with_builtins();
    let ctx = HostContext::new("@local", Map::new(), counter.clone());
    let conn = registry.new_connector("local", ctx).unwrap();
    let host = Arc::new(Host::new("@local".into(), vec![], Map::new(), conn));
    let (f, o) = registries();
    let cfg = RunConfig {
        print_input: true,
        skip_change_detection: true,
        ..Default::default()
    };
    let st = Arc::new(State::new(vec![host], f, o, cfg, Arc::new(NoEvents)));
    let (_, results) = run(&st, vec![calls]).await;
    assert!(
        statuses(&results).iter().all(|s| s[0] == "NoChange"),
        "{:?}",
        statuses(&results)
    );
    assert_eq!(
        counter.0.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one batched command for 4 facts"
    );
}

/// An operation's shell commands go in one round trip, still isolated from each other, and a
/// failure stops at the failing command and says how many ran.
#[tokio::test]
async fn an_operations_commands_run_in_one_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let l = log.display();
    let counter = Arc::new(CountInputs::default());
    let registry = ConnectorRegistry::with_builtins();
    let ctx = HostContext::new("@local", Map::new(), counter.clone());
    let conn = registry.new_connector("local", ctx).unwrap();
    let host = Arc::new(Host::new("@local".into(), vec![], Map::new(), conn));
    let (f, o) = registries();
    let cfg = RunConfig {
        print_input: true,
        skip_change_detection: true,
        ..Default::default()
    };
    let st = Arc::new(State::new(vec![host], f, o, cfg, Arc::new(NoEvents)));
    let cmds = json!([
        format!("cd / && X=leaked && echo one >> {l}"),
        format!("echo \"two $X $(pwd)\" >> {l}"),
        "exit 7".to_string(),
        format!("echo never >> {l}"),
    ]);
    let (_, results) = run(
        &st,
        vec![vec![call("test.shell", json!({ "commands": cmds }), 1)]],
    )
    .await;
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        format!("one\ntwo  {}\n", cwd.display())
    );
    assert_eq!(counter.0.load(std::sync::atomic::Ordering::SeqCst), 1);
    let s = &statuses(&results)[0][0];
    assert!(
        s.contains("commands: 3") && s.contains("exit code 7"),
        "{s}"
    );
}
