//! What deploy evaluation records (the `OpCall`s: order keys, arguments, global arguments,
//! deploy names, conditions, `_if`/`_retry_until` functions) and what inventory files give,
//! through the crate API. Ported from the Starlark front end's tests (`crates/rinfra-lang/tests/
//! deploy.rs`, `execute_time_callables.rs` and `inventory.rs`, deleted in 257f665) to the Python
//! front end; expectations are pyinfra's. The behaviours visible through the `rinfra` binary are
//! in `crates/rinfra-cli/tests/python_ported.rs`.
//!
//! One interpreter per process and `Deploy::setup` is global state (as is the working
//! directory, which locations are relative to): every test holds [`LOCK`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use rinfra_connectors::{CommandOutput, ConnectError, ConnectorError, StringCommand};
use rinfra_core::{
    ArgOverrides, Condition, ConditionCallback, ConditionKind, EarlierOps, ExecHost, FactRegistry,
    HostOpStatus, OpCall, OperationRegistry,
};
use rinfra_python::{
    merge_host_data, Data, DataLayers, Deploy, FactSource, InventoryHost, PythonError,
};
use serde_json::{json, Map, Value};

static LOCK: Mutex<()> = Mutex::new(());

/// Hold the lock (a failed test must not fail the others) with the interpreter started.
fn lock() -> MutexGuard<'static, ()> {
    let guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let (mut facts, mut ops) = (FactRegistry::new(), OperationRegistry::new());
    rinfra_ops::register_all(&mut facts, &mut ops);
    rinfra_python::start(Arc::new(ops), Arc::new(facts)).unwrap();
    guard
}

/// Facts answered from a table (`fact name + args JSON` → value); records what was asked.
#[derive(Default)]
struct TableFacts {
    table: BTreeMap<String, Value>,
    asked: Mutex<Vec<String>>,
}

impl TableFacts {
    fn with(mut self, fact: &str, args: Value, value: Value) -> Self {
        self.table.insert(format!("{fact} {args}"), value);
        self
    }
}

impl FactSource for TableFacts {
    fn get_fact(
        &self,
        fact: &str,
        args: &Map<String, Value>,
        _globals: &Map<String, Value>,
    ) -> Result<Value, String> {
        let key = format!("{fact} {}", Value::Object(args.clone()));
        self.asked.lock().unwrap().push(key.clone());
        self.table
            .get(&key)
            .cloned()
            .ok_or_else(|| format!("no test value for {key}"))
    }
}

fn host(name: &str, data: Value) -> InventoryHost {
    InventoryHost {
        name: name.into(),
        groups: vec!["web".into()],
        data: j(data),
    }
}

fn j(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// A deploy directory, the working directory while it lives (locations are relative to it).
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::env::set_current_dir(dir.path()).unwrap();
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Set up `hosts` (and `groups`), write `deploy.py` and load it.
    fn load(
        &self,
        src: &str,
        hosts: &[InventoryHost],
        groups: &[(String, Vec<String>)],
    ) -> Result<Deploy, PythonError> {
        Deploy::setup(hosts, groups, self.path(), &Map::new())?;
        Deploy::load(&[self.file("deploy.py", src)])
    }

    /// Evaluate `deploy.py` for the one host `h`.
    fn run_with(
        &self,
        src: &str,
        h: InventoryHost,
        facts: Arc<dyn FactSource>,
    ) -> Result<Vec<OpCall>, PythonError> {
        self.load(src, &[h], &[])?.evaluate(0, &Map::new(), facts)
    }

    fn run(&self, src: &str, h: InventoryHost) -> Result<Vec<OpCall>, PythonError> {
        self.run_with(src, h, Arc::new(TableFacts::default()))
    }
}

/// `op args order location [globals=...]` lines, for compact assertions.
fn summary(calls: &[OpCall]) -> Vec<String> {
    calls
        .iter()
        .map(|c| {
            let mut s = format!(
                "{} {} {:?} {}",
                c.op,
                Value::Object(c.args.clone()),
                c.order,
                c.location
            );
            if !c.global_args.is_empty() {
                s.push_str(&format!(
                    " globals={}",
                    Value::Object(c.global_args.clone())
                ));
            }
            s
        })
        .collect()
}

fn commands(calls: &[OpCall]) -> Vec<String> {
    calls
        .iter()
        .map(|c| c.args["commands"].to_string())
        .collect()
}

fn op(call_index: usize, kind: ConditionKind) -> Condition {
    Condition::Op { call_index, kind }
}

/// Old: deploy.rs `basic_calls_and_order`. The order key is the file's index, then the line of
/// each frame calling the operation; a second call from the same lines gets a counter.
#[test]
fn basic_calls_and_order() {
    let _g = lock();
    let p = Project::new();
    let calls = p
        .run(
            r#"from pyinfra import host
from pyinfra.operations import files, server

files.put(src="a.conf", dest="/etc/a.conf", _sudo=True)
server.shell("echo hi")

def helper(n):
    server.shell(commands=["echo %d" % n])

for i in range(2):
    helper(i)
"#,
            host("web1", json!({})),
        )
        .unwrap();
    assert_eq!(
        summary(&calls),
        vec![
            r#"files.put {"src":"a.conf","dest":"/etc/a.conf"} [0, 4] deploy.py:4 globals={"_sudo":true}"#,
            r#"server.shell {"commands":"echo hi"} [0, 5] deploy.py:5"#,
            r#"server.shell {"commands":["echo 0"]} [0, 11, 8] deploy.py:8"#,
            r#"server.shell {"commands":["echo 1"]} [0, 11, 8, 1] deploy.py:8"#,
        ]
    );
}

const MULTI_HOST: &str = r#"from pyinfra import host, inventory
from pyinfra.operations import apt, files, server
from pyinfra.facts.server import LinuxName

if host.data.get("install_nginx", False):
    apt.packages(packages=["nginx"], update=True, _sudo=True)

for user in host.data.users:
    server.user(user=user, home=f"/home/{user}")

port = host.data.app_port + 1
files.put(
    src="templates/app.conf",
    dest=f"/etc/app/{host.name}.conf",
    mode="644",
    name=f"App config on port {port}",
)
if host.get_fact(LinuxName) == "Ubuntu":
    server.shell("ubuntu-only", _if=host.data.app_port is not None)
"#;

/// Old: deploy.rs `different_hosts_different_calls`.
#[test]
fn different_hosts_different_calls() {
    let _g = lock();
    let p = Project::new();
    let hosts = [
        host(
            "web1",
            json!({"install_nginx": true, "users": ["alice", "bob"], "app_port": 8000}),
        ),
        host("web2", json!({"users": [], "app_port": 9000})),
        host("db1", json!({"users": ["carol"], "app_port": 1})),
    ];
    let deploy = p.load(MULTI_HOST, &hosts, &[]).unwrap();
    let linux = |name: &str| {
        Arc::new(TableFacts::default().with("server.LinuxName", json!({}), json!(name)))
    };
    let web1 = deploy.evaluate(0, &Map::new(), linux("Ubuntu")).unwrap();
    assert_eq!(
        summary(&web1),
        vec![
            r#"apt.packages {"packages":["nginx"],"update":true} [0, 6] deploy.py:6 globals={"_sudo":true}"#,
            r#"server.user {"user":"alice","home":"/home/alice"} [0, 9] deploy.py:9"#,
            r#"server.user {"user":"bob","home":"/home/bob"} [0, 9, 1] deploy.py:9"#,
            r#"files.put {"src":"templates/app.conf","dest":"/etc/app/web1.conf","mode":"644"} [0, 12] deploy.py:12 globals={"name":"App config on port 8001"}"#,
            r#"server.shell {"commands":"ubuntu-only"} [0, 19] deploy.py:19"#,
        ]
    );
    assert_eq!(web1[4].conditions, vec![Condition::Constant(true)]);

    let web2 = deploy.evaluate(1, &Map::new(), linux("Debian")).unwrap();
    assert_eq!(
        summary(&web2),
        vec![
            r#"files.put {"src":"templates/app.conf","dest":"/etc/app/web2.conf","mode":"644"} [0, 12] deploy.py:12 globals={"name":"App config on port 9001"}"#,
        ]
    );

    let db1 = deploy.evaluate(2, &Map::new(), linux("Ubuntu")).unwrap();
    assert_eq!(db1.len(), 3);
    assert_eq!(db1[0].order, vec![0, 9]);
    assert_eq!(db1[2].order, vec![0, 19]);
}

/// Old: deploy.rs `deploy_decorator_prefixes_names_and_passes_args`.
#[test]
fn deploy_decorator_prefixes_names_and_passes_args() {
    let _g = lock();
    let p = Project::new();
    let calls = p
        .run(
            r#"from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import files, server

@deploy("Install app", data_defaults={"version": "1.0", "port": 80})
def install_app(extra=None):
    server.shell(f"install {host.data.version} port {host.data.port}")
    if extra:
        files.directory(path=extra)
    inner()

@deploy("Inner")
def inner():
    server.shell("inner")

install_app()
install_app(extra="/srv", _sudo=True, _sudo_user="app")
server.shell(f"outside {host.data.get('version')}")
"#,
            host("web1", json!({"port": 8080})),
        )
        .unwrap();
    assert_eq!(
        summary(&calls),
        vec![
            r#"server.shell {"commands":"install 1.0 port 8080"} [0, 16, 7] deploy.py:7"#,
            r#"server.shell {"commands":"inner"} [0, 16, 10, 14] deploy.py:14"#,
            r#"server.shell {"commands":"install 1.0 port 8080"} [0, 17, 7] deploy.py:7"#,
            r#"files.directory {"path":"/srv"} [0, 17, 9] deploy.py:9"#,
            r#"server.shell {"commands":"inner"} [0, 17, 10, 14] deploy.py:14"#,
            r#"server.shell {"commands":"outside None"} [0, 18] deploy.py:18"#,
        ]
    );
    assert_eq!(calls[0].deploy_names, vec!["Install app"]);
    assert!(calls[0].deploy_args.is_empty());
    assert_eq!(calls[1].deploy_names, vec!["Install app", "Inner"]);
    let sudo = j(json!({"_sudo": true, "_sudo_user": "app"}));
    assert_eq!(calls[3].deploy_args, sudo);
    assert_eq!(calls[4].deploy_args, sudo, "inner deploys inherit them");
    assert!(calls[5].deploy_names.is_empty() && calls[5].deploy_args.is_empty());
}

/// Old: deploy.rs `if_conditions` and `deploy_if_applies_to_inner_ops`.
#[test]
fn if_conditions() {
    let _g = lock();
    let p = Project::new();
    let calls = p
        .run(
            r#"from pyinfra.api import deploy
from pyinfra.operations import files, server
from pyinfra.operations.util import any_changed, all_changed

a = files.put(src="a", dest="/a")
b = files.put(src="b", dest="/b")
server.shell("restart", _if=a.did_change)
server.shell("y", _if=[a.did_not_change, b.did_succeed])
server.shell("z", _if=any_changed(a, b))
server.shell("w", _if=all_changed(a, b))
server.shell("v", _if=lambda: b.did_error())
server.shell("never", _if=False)

@deploy("D")
def d():
    server.shell("in d", _if=b.did_error)

d(_if=a.did_change)
"#,
            host("web1", json!({})),
        )
        .unwrap();
    let c: Vec<_> = calls.iter().map(|c| c.conditions.clone()).collect();
    assert_eq!(c[0], vec![]);
    assert_eq!(c[2], vec![op(0, ConditionKind::DidChange)]);
    assert_eq!(
        c[3],
        vec![
            op(0, ConditionKind::DidNotChange),
            op(1, ConditionKind::DidSucceed)
        ]
    );
    let both = vec![
        op(0, ConditionKind::DidChange),
        op(1, ConditionKind::DidChange),
    ];
    assert_eq!(c[4], vec![Condition::Any(both.clone())]);
    assert_eq!(c[5], vec![Condition::All(both)]);
    // A function is called at execute time (see below).
    assert!(matches!(c[6][..], [Condition::Callable(_)]), "{:?}", c[6]);
    assert_eq!(c[7], vec![Condition::Constant(false)]);
    // A `@deploy` function's `_if` applies to the operations inside, with their own.
    assert_eq!(
        c[8],
        vec![
            op(1, ConditionKind::DidError),
            op(0, ConditionKind::DidChange)
        ]
    );
    assert_eq!(calls[8].deploy_names, ["D"]);

    // pyinfra: an operation's result is not known while the deploy is evaluated.
    let e = p
        .run(
            "from pyinfra.operations import files, server\na = files.put(src='a', dest='/a')\nserver.shell('x', _if=a.did_change())\n",
            host("web1", json!({})),
        )
        .unwrap_err();
    let PythonError::Raised {
        location,
        kind,
        message,
        ..
    } = &e
    else {
        panic!("{e}")
    };
    assert_eq!(
        (location.as_deref(), kind.as_str()),
        (Some("deploy.py:3"), "RuntimeError")
    );
    assert!(
        message.starts_with("Cannot evaluate operation result before execution"),
        "{e}"
    );
}

/// Old: deploy.rs `local_include`. The included file's operations carry its path as a deploy
/// name; `data` adds to `host.data` (below the host's own data); a config change inside it does
/// not outlive it (pyinfra's `local.include`).
#[test]
fn local_include() {
    let _g = lock();
    let p = Project::new();
    p.file(
        "tasks/app.py",
        "from pyinfra import host, config\nfrom pyinfra.operations import server\nserver.shell(f\"app {host.data.version} {host.data.region}\")\nconfig.SUDO = True\n",
    );
    let calls = p
        .run(
            r#"from pyinfra import local, config
from pyinfra.operations import server
server.shell("before")
local.include("tasks/app.py", data={"version": "2", "region": "eu"})
local.include("./tasks/app.py", data={"version": "3"})
server.shell(f"after {config.SUDO}")
"#,
            host("web1", json!({"region": "us"})),
        )
        .unwrap();
    assert_eq!(
        summary(&calls),
        vec![
            r#"server.shell {"commands":"before"} [0, 3] deploy.py:3"#,
            r#"server.shell {"commands":"app 2 us"} [0, 4, 3] tasks/app.py:3"#,
            r#"server.shell {"commands":"app 3 us"} [0, 5, 3] tasks/app.py:3"#,
            r#"server.shell {"commands":"after False"} [0, 6] deploy.py:6"#,
        ]
    );
    assert_eq!(calls[1].deploy_names, vec!["tasks/app.py"]);
    assert_eq!(calls[2].deploy_names, vec!["tasks/app.py"]);
    assert!(calls[0].deploy_names.is_empty() && calls[3].deploy_names.is_empty());
    assert!(calls[3].config_args.get("_sudo").is_none(), "{calls:?}");
}

/// Old: deploy.rs `config_in_deploy_code`: the run's config is readable, defaults included,
/// and a change is the default of the later operations' global arguments.
#[test]
fn config_in_deploy_code() {
    let _g = lock();
    let p = Project::new();
    let config = j(json!({"PARALLEL": 5}));
    let h = host("web1", json!({}));
    Deploy::setup(&[h], &[], p.path(), &config).unwrap();
    let deploy = Deploy::load(&[p.file(
        "deploy.py",
        "from pyinfra import config\nfrom pyinfra.operations import server\nserver.shell(f'{config.PARALLEL} {config.SHELL} {config.SUDO}')\nconfig.SUDO = True\nserver.shell('after')\n",
    )])
    .unwrap();
    let calls = deploy
        .evaluate(0, &config, Arc::new(TableFacts::default()))
        .unwrap();
    assert_eq!(calls[0].args, j(json!({"commands": "5 sh False"})));
    assert_eq!(calls[0].config_args, j(json!({"_parallel": 5})));
    assert_eq!(
        calls[1].config_args,
        j(json!({"_parallel": 5, "_sudo": true}))
    );
    // Each host's deploy starts from the run's config.
    let again = deploy
        .evaluate(0, &config, Arc::new(TableFacts::default()))
        .unwrap();
    assert_eq!(again[0].config_args, j(json!({"_parallel": 5})));
}

/// Old: deploy.rs `host_and_inventory_objects` (pyinfra's `inventory.get_group` gives `Host`s).
#[test]
fn host_and_inventory_objects() {
    let _g = lock();
    let p = Project::new();
    let hosts = [
        host("web1", json!({"a": {"b": [1, 2]}})),
        host("web2", json!({})),
        InventoryHost {
            name: "db1".into(),
            groups: vec!["db".into()],
            data: Map::new(),
        },
    ];
    let groups = [
        (
            "web".to_string(),
            vec!["web1".to_string(), "web2".to_string()],
        ),
        ("db".to_string(), vec!["db1".to_string()]),
    ];
    let deploy = p
        .load(
            r#"from pyinfra import host, inventory
from pyinfra.operations import server
server.shell(host.name + " " + ",".join(host.groups) + " " + str(host.data.a["b"][1]))
server.shell(",".join(h.name for h in inventory.get_group("web")) + " " + str(len(inventory)))
host.data.extra = "set"
server.shell(host.data.extra + " " + str("a" in host.data) + " " + str(host.data.dict()["extra"]))
for h in host.loop(["x", "y"]):
    server.shell(h)
"#,
            &hosts,
            &groups,
        )
        .unwrap();
    let calls = deploy
        .evaluate(0, &Map::new(), Arc::new(TableFacts::default()))
        .unwrap();
    assert_eq!(
        commands(&calls),
        vec![
            r#""web1 web 2""#,
            r#""web1,web2 3""#,
            r#""set True set""#,
            r#""x""#,
            r#""y""#
        ]
    );
    // `host.loop`: each pass has its own place in the order.
    assert_eq!(calls[3].order, vec![0, 8, 0]);
    assert_eq!(calls[4].order, vec![0, 8, 1]);
    // Data set by one host's deploy is that host's only.
    let e = deploy
        .evaluate(2, &Map::new(), Arc::new(TableFacts::default()))
        .unwrap_err();
    assert!(e.to_string().contains("has no data `a`"), "{e}");
}

/// Old: deploy.rs `facts_with_arguments`: facts by keyword and positional arguments, and a fact
/// written in Python (its command runs as `server.Command`).
#[test]
fn facts_with_arguments() {
    let _g = lock();
    let p = Project::new();
    let facts = Arc::new(
        TableFacts::default()
            .with(
                "files.File",
                json!({"path": "/etc/hosts"}),
                json!({"size": 10, "mode": 644}),
            )
            .with("files.Directory", json!({"path": "/srv"}), json!(null))
            .with(
                "server.Command",
                json!({"command": "cat /VERSION"}),
                json!("1.2\nextra"),
            ),
    );
    let calls = p
        .run_with(
            r#"from pyinfra import host
from pyinfra.api import FactBase
from pyinfra.facts.files import File, Directory
from pyinfra.operations import server

f = host.get_fact(File, path="/etc/hosts")
d = host.get_fact(Directory, "/srv")
server.shell(f"{f['size']} {d is None}")

class Version(FactBase):
    command = "cat /VERSION"

    def process(self, output):
        return output[0]

class Raw(FactBase):
    def command(self, path):
        return "cat " + path

server.shell(host.get_fact(Version))
server.shell(host.get_fact(Raw, "/VERSION"))
server.shell(str(host.get_fact(File, path="/etc/hosts")["mode"]))
"#,
            host("web1", json!({})),
            facts.clone(),
        )
        .unwrap();
    assert_eq!(
        commands(&calls),
        vec![r#""10 True""#, r#""1.2""#, r#""1.2\nextra""#, r#""644""#]
    );
    assert_eq!(
        facts.asked.lock().unwrap()[..2],
        [
            r#"files.File {"path":"/etc/hosts"}"#,
            r#"files.Directory {"path":"/srv"}"#
        ]
    );
}

/// Old: deploy.rs `user_operation`: an `@operation` call is recorded under its own name with
/// its arguments by name; its generator runs later, in the engine (see the CLI tests).
#[test]
fn user_operation() {
    let _g = lock();
    let p = Project::new();
    let calls = p
        .run(
            r#"from pyinfra.api import operation
from pyinfra.operations import server

@operation()
def touch(path, mode=None):
    yield f"touch {path}"
    if mode:
        yield f"chmod {mode} {path}"

touch("/tmp/a")
t = touch(path="/tmp/b", mode="600", _sudo=True)
server.shell("after", _if=t.did_change)
"#,
            host("web1", json!({})),
        )
        .unwrap();
    assert_eq!(
        summary(&calls),
        vec![
            r#"touch {"path":"/tmp/a"} [0, 10] deploy.py:10"#,
            r#"touch {"path":"/tmp/b","mode":"600"} [0, 11] deploy.py:11 globals={"_sudo":true}"#,
            r#"server.shell {"commands":"after"} [0, 12] deploy.py:12"#,
        ]
    );
    assert!(calls[0].operation.is_some() && calls[2].operation.is_none());
    assert_eq!(calls[2].conditions, vec![op(1, ConditionKind::DidChange)]);
}

/// Old: deploy.rs `host_contexts_and_helpers`: a helper module's operations (ordered by the
/// lines of both files), `host.arguments` and `host.when` blocks.
#[test]
fn host_contexts_and_helpers() {
    let _g = lock();
    let p = Project::new();
    p.file(
        "evaluate_helpers.py",
        "from pyinfra import host\nfrom pyinfra.operations import server\n\ndef restart(name):\n    server.shell(f\"restart {name} on {host.name}\")\n\nPORT = 80\n",
    );
    let calls = p
        .run(
            r#"from pyinfra import host
from pyinfra.operations import files, server
from evaluate_helpers import restart, PORT as port
a = files.put(src="a", dest="/a")
with host.arguments(_sudo=True, _if=a.did_change):
    server.shell("in block")
    with host.when(lambda: host.name == "web1"):
        restart("app")
server.shell(f"after {port}")
def typed(x: str, n: int = 1) -> str:
    return x * n
server.shell(typed("ab", n=2))
"#,
            host("web1", json!({})),
        )
        .unwrap();
    assert_eq!(
        summary(&calls),
        vec![
            r#"files.put {"src":"a","dest":"/a"} [0, 4] deploy.py:4"#,
            r#"server.shell {"commands":"in block"} [0, 6] deploy.py:6"#,
            r#"server.shell {"commands":"restart app on web1"} [0, 8, 5] evaluate_helpers.py:5"#,
            r#"server.shell {"commands":"after 80"} [0, 9] deploy.py:9"#,
            r#"server.shell {"commands":"abab"} [0, 12] deploy.py:12"#,
        ]
    );
    let changed = op(0, ConditionKind::DidChange);
    assert_eq!(calls[1].deploy_args, j(json!({"_sudo": true})));
    assert_eq!(calls[1].conditions, vec![changed.clone()]);
    assert_eq!(calls[2].deploy_args, j(json!({"_sudo": true})));
    // `host.when(f)`: `f` is called at execute time (pyinfra's `_if=[f]`).
    assert!(
        matches!(&calls[2].conditions[..], [c, Condition::Callable(_)] if *c == changed),
        "{:?}",
        calls[2].conditions
    );
    assert!(calls[3].deploy_args.is_empty() && calls[3].conditions.is_empty());
    assert!(calls[1].deploy_names.is_empty(), "blocks are not deploys");
}

/// Old: deploy.rs `evaluates_on_many_threads`: hosts evaluate at once, each with its own host.
#[test]
fn evaluates_on_many_threads() {
    let _g = lock();
    let p = Project::new();
    let hosts: Vec<InventoryHost> = (0..8)
        .map(|n| host(&format!("h{n}"), json!({"n": n})))
        .collect();
    let deploy = p
        .load(
            "from pyinfra import host\nfrom pyinfra.facts.server import Hostname\nfrom pyinfra.operations import server\nfor i in range(3):\n    server.shell(f'{host.name} {host.data.n} {host.get_fact(Hostname)} {i}')\n",
            &hosts,
            &[],
        )
        .unwrap();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|n| {
                let deploy = &deploy;
                s.spawn(move || {
                    let facts = TableFacts::default().with(
                        "server.Hostname",
                        json!({}),
                        json!(format!("host-{n}")),
                    );
                    deploy.evaluate(n, &Map::new(), Arc::new(facts)).unwrap()
                })
            })
            .collect();
        for (n, h) in handles.into_iter().enumerate() {
            let calls = h.join().unwrap();
            assert_eq!(calls.len(), 3);
            assert_eq!(
                calls[2].args["commands"],
                json!(format!("h{n} {n} host-{n} 2"))
            );
            assert_eq!(calls[2].order, vec![0, 5, 2]);
        }
    });
}

/// What `_if` functions see at execute time: a host answering `server.Hostname` freshly.
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
        let out = if c.contains("uname -n") {
            CommandOutput::from_stdout(&["web1-fresh"], 0)
        } else {
            CommandOutput::from_stdout(&[], 1)
        };
        Ok((out.exit_code == Some(0), out))
    }
    async fn reconnect(&self) -> Result<(), ConnectError> {
        Ok(())
    }
}

const CALLABLES: &str = r#"from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.server import Hostname
from pyinfra.operations import server
from pyinfra.operations.util import any_changed

name = host.get_fact(Hostname)
d = server.shell("mkdir /srv/app")
s = server.shell("start")
server.shell("b", _if=lambda: d.did_change() and not s.did_error())
server.shell("c", _if=[lambda: host.get_fact(Hostname) == "web1-fresh", d.did_succeed])
server.shell("d", _retries=3, _retry_until=lambda out: "3" not in out["stdout_lines"] and out["host"] == "web1")
server.shell("e", _if=lambda: 1 // 0 if name == "old" else True)

@deploy("Sub")
def sub():
    server.shell("f")

sub(_if=lambda: any_changed(d, s)(), _retry_until=lambda out: out["executed_commands"] == 0)
"#;

fn callable(c: &Condition) -> Arc<dyn ConditionCallback> {
    match c {
        Condition::Callable(c) => c.clone(),
        other => panic!("not a callable: {other:?}"),
    }
}

/// Old: execute_time_callables.rs `if_and_retry_until_functions_run_at_execute_time`: the
/// functions are not called while evaluating; at execute time `op.did_change()` answers from
/// the earlier operations' statuses and facts load fresh through the host.
#[test]
fn if_and_retry_until_functions_run_at_execute_time() {
    let _g = lock();
    let p = Project::new();
    let facts = TableFacts::default().with("server.Hostname", json!({}), json!("old"));
    // Evaluating does not call them (the `_if` of "e" raises).
    let calls = p
        .run_with(CALLABLES, host("web1", json!({})), Arc::new(facts))
        .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
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
    let check = |c: &Arc<dyn ConditionCallback>, e: EarlierOps| rt.block_on(c.check(&fake, e));

    // `_if=lambda: d.did_change() and not s.did_error()`
    assert_eq!(calls[2].conditions.len(), 1);
    let b = callable(&calls[2].conditions[0]);
    assert_eq!(b.describe(), "deploy.py:10");
    let statuses =
        |d: &HostOpStatus, s: &HostOpStatus| EarlierOps::new([(0, d.clone()), (1, s.clone())]);
    assert_eq!(check(&b, statuses(&changed, &changed)), Ok(true));
    assert_eq!(
        check(&b, statuses(&HostOpStatus::NoChange, &changed)),
        Ok(false)
    );
    assert_eq!(check(&b, statuses(&changed, &error)), Ok(false));

    // A list mixing a function (a fresh fact through the host) and a condition.
    let c = &calls[3].conditions;
    assert_eq!(c.len(), 2);
    assert_eq!(c[1], op(0, ConditionKind::DidSucceed));
    assert_eq!(check(&callable(&c[0]), EarlierOps::default()), Ok(true));
    let ran = fake.ran.lock().unwrap().clone();
    assert_eq!(ran.len(), 1, "{ran:?}");
    assert!(ran[0].contains("uname -n"), "{ran:?}");

    // `_retry_until` gets the attempt's output dict.
    let until = calls[4].retry_until.clone().expect("a retry_until");
    assert_eq!(until.describe(), "deploy.py:12");
    assert_eq!(calls[4].global_args["_retries"], json!(3));
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

    // An error inside the function is located in the deploy.
    let e = check(&callable(&calls[5].conditions[0]), EarlierOps::default()).unwrap_err();
    assert!(
        e.starts_with("error in the `_if` function: deploy.py:13: ZeroDivisionError"),
        "{e}"
    );

    // Given to a `@deploy` function: every operation inside gets them.
    let f = &calls[6];
    assert_eq!(f.deploy_names, ["Sub"]);
    let c = callable(&f.conditions[0]);
    assert_eq!(
        check(&c, statuses(&HostOpStatus::NoChange, &changed)),
        Ok(true)
    );
    assert_eq!(
        check(&c, statuses(&HostOpStatus::NoChange, &error)),
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

fn names(g: &rinfra_python::GroupSpec) -> Vec<&str> {
    g.hosts.iter().map(|(n, _)| n.as_str()).collect()
}

/// Old: inventory.rs `inventory_forms` and `pyinfra_test_inventories`: which top-level names
/// are groups (pyinfra's `_is_inventory_group`), the file-name group, and the warning for a list
/// that is not one of hosts.
#[test]
fn inventory_forms() {
    let _g = lock();
    let p = Project::new();
    let path = p.file(
        "production.py",
        r#"from pyinfra import inventory
_private = ["hidden"]
app_servers = ["app-1.net", ("app-2.net", {"install_postgres": True})]
db_servers = (["db-1.net"], {"db": "pg"})
targets = ["@docker/ubuntu", "@local"]
port = 22
not_hosts = [1, 2]
generator_hosts = (host for host in ("hosta", "hostb"))
"#,
    );
    let inv = rinfra_python::load_inventory_file(&path).unwrap();
    let groups: Vec<&str> = inv.groups.keys().map(String::as_str).collect();
    assert_eq!(
        groups,
        vec!["app_servers", "db_servers", "targets", "production"]
    );
    assert_eq!(
        names(&inv.groups["app_servers"]),
        vec!["app-1.net", "app-2.net"]
    );
    assert_eq!(
        inv.groups["app_servers"].hosts[1].1,
        j(json!({"install_postgres": true}))
    );
    assert_eq!(inv.groups["db_servers"].data, j(json!({"db": "pg"})));
    assert_eq!(
        names(&inv.all),
        vec![
            "app-1.net",
            "app-2.net",
            "db-1.net",
            "@docker/ubuntu",
            "@local"
        ]
    );
    assert_eq!(names(&inv.groups["production"]), names(&inv.all));
    assert_eq!(inv.warnings.len(), 1, "{:?}", inv.warnings);
    assert!(inv.warnings[0].contains("not_hosts"), "{:?}", inv.warnings);

    // pyinfra's tests/test_cli/inventories/invalid.py: nothing valid in it.
    let path = p.file(
        "invalid.py",
        "# Variables names with a leading underscore are ignored\n_hosts = [\"host-1\", \"host-2\", \"host-3\"]\n\n# Dictionaries are not supported\ndict_hosts = {\n    \"host-1\": \"hostname\",\n}\n\n# Generators are not supported\ngenerator_hosts = (host for host in [\"host-1\", \"host-2\"])\n\n# https://github.com/pyinfra-dev/pyinfra/issues/662\nissue_662 = [\"a\", \"b\", ({\"foo\": \"bar\"})]\n",
    );
    let inv = rinfra_python::load_inventory_file(&path).unwrap();
    assert!(inv.all.hosts.is_empty(), "{:?}", inv.all);
    assert_eq!(inv.warnings.len(), 1, "{:?}", inv.warnings);
    assert!(inv.warnings[0].contains("issue_662"));
}

/// Old: inventory.rs `explicit_all_group_carries_global_data`.
#[test]
fn explicit_all_group_carries_global_data() {
    let _g = lock();
    let p = Project::new();
    let path = p.file(
        "inventory.py",
        "web = ['w1', 'w2']\nall = (['w1', 'w2', 'x'], {'env': 'prod'})\n",
    );
    let inv = rinfra_python::load_inventory_file(&path).unwrap();
    assert_eq!(names(&inv.all), vec!["w1", "w2", "x"]);
    assert_eq!(inv.all.data, j(json!({"env": "prod"})));
    assert!(!inv.groups.contains_key("all"));
    assert_eq!(names(&inv.groups["inventory"]), vec!["w1", "w2", "x"]);
}

/// Old: inventory.rs `a_hundred_thousand_hosts_in_groups`: `all` is every group's hosts once,
/// in order.
#[test]
fn a_hundred_thousand_hosts_in_groups() {
    let _g = lock();
    let p = Project::new();
    let quoted: Vec<String> = (0..100_000).map(|i| format!("\"h{i}\"")).collect();
    let path = p.file(
        "inventory.py",
        &format!("web = [{}]\ndb = [\"h5\", \"db1\"]\n", quoted.join(", ")),
    );
    let inv = rinfra_python::load_inventory_file(&path).unwrap();
    let all = names(&inv.all);
    assert_eq!(all.len(), 100_001);
    assert_eq!((all[0], all[99_999], all[100_000]), ("h0", "h99999", "db1"));
}

/// Old: inventory.rs `data_precedence` (connector data is not reachable from `@local`).
#[test]
fn data_precedence() {
    let over = j(json!({"a": "override"}));
    let host = j(json!({"a": "host", "b": "host", "ssh_port": 2222}));
    let conn = j(json!({"a": "conn", "b": "conn", "c": "conn", "ssh_port": 22}));
    let web = j(json!({"a": "web", "b": "web", "c": "web", "d": "web", "e": "web"}));
    let lb = j(json!({"d": "lb"}));
    let all = j(json!({"a": "all", "e": "all", "f": "all"}));
    let merged = merge_host_data(&DataLayers {
        override_data: Some(&over),
        host_data: Some(&host),
        connector_data: Some(&conn),
        group_data: vec![&web, &lb],
        all_data: Some(&all),
    });
    assert_eq!(
        merged,
        j(json!({
            "a": "override", "e": "web", "f": "all", "b": "host", "c": "conn", "d": "lb",
            "ssh_port": 2222
        }))
    );
    assert_eq!(merge_host_data(&DataLayers::default()), Data::new());
}
