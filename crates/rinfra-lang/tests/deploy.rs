mod common;

use common::*;
use serde_json::json;

#[test]
fn basic_calls_and_order() {
    let p = Project::new();
    let out = p
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
            &host("web1", json!({})),
        )
        .unwrap();
    let s = summary(&out.calls);
    assert_eq!(
        s,
        vec![
            r#"files.put {"src":"a.conf","dest":"/etc/a.conf"} [0, 4] deploy.py:4 globals={"_sudo":true}"#,
            r#"server.shell {"commands":"echo hi"} [0, 5] deploy.py:5"#,
            r#"server.shell {"commands":["echo 0"]} [0, 11, 8] deploy.py:8"#,
            r#"server.shell {"commands":["echo 1"]} [0, 11, 8, 1] deploy.py:8"#,
        ]
    );
}

/// A Windows editor's byte-order mark and tab indentation: Python runs such a file, so we do.
#[test]
fn tab_indented_file_with_a_byte_order_mark() {
    let src = "\u{feff}from pyinfra.operations import server\n\nfor n in [1, 2]:\n\tif n == 2:\n\t\tserver.shell(commands=[\"echo\\t%d\" % n])\n";
    let out = Project::new().run(src, &host("web1", json!({}))).unwrap();
    assert_eq!(
        summary(&out.calls),
        vec![r#"server.shell {"commands":["echo\t2"]} [0, 5] deploy.py:5"#]
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

#[test]
fn different_hosts_different_calls() {
    let p = Project::new();
    let facts = TableFacts::default().with("server.LinuxName", json!({}), json!("Ubuntu"));
    let web1 = p
        .run_with(
            MULTI_HOST,
            &host(
                "web1",
                json!({"install_nginx": true, "users": ["alice", "bob"], "app_port": 8000}),
            ),
            &facts,
        )
        .unwrap();
    assert_eq!(
        summary(&web1.calls),
        vec![
            r#"apt.packages {"packages":["nginx"],"update":true} [0, 6] deploy.py:6 globals={"_sudo":true}"#,
            r#"server.user {"user":"alice","home":"/home/alice"} [0, 9] deploy.py:9"#,
            r#"server.user {"user":"bob","home":"/home/bob"} [0, 9, 1] deploy.py:9"#,
            r#"files.put {"src":"templates/app.conf","dest":"/etc/app/web1.conf","mode":"644"} [0, 12] deploy.py:12 globals={"name":"App config on port 8001"}"#,
            r#"server.shell {"commands":"ubuntu-only"} [0, 19] deploy.py:19"#,
        ]
    );
    assert_eq!(
        web1.calls[4].conditions,
        vec![rinfra_core::Condition::Constant(true)]
    );

    let facts = TableFacts::default().with("server.LinuxName", json!({}), json!("Debian"));
    let web2 = p
        .run_with(
            MULTI_HOST,
            &host("web2", json!({"users": [], "app_port": 9000})),
            &facts,
        )
        .unwrap();
    assert_eq!(
        summary(&web2.calls),
        vec![
            r#"files.put {"src":"templates/app.conf","dest":"/etc/app/web2.conf","mode":"644"} [0, 12] deploy.py:12 globals={"name":"App config on port 9001"}"#,
        ]
    );

    let facts = TableFacts::default().with("server.LinuxName", json!({}), json!("Ubuntu"));
    let db1 = p
        .run_with(
            MULTI_HOST,
            &host("db1", json!({"users": ["carol"], "app_port": 1})),
            &facts,
        )
        .unwrap();
    assert_eq!(db1.calls.len(), 3);
    assert_eq!(db1.calls[0].order, vec![0, 9]);
    assert_eq!(db1.calls[2].order, vec![0, 19]);
}

#[test]
fn deploy_decorator_prefixes_names_and_passes_args() {
    let p = Project::new();
    let out = p
        .run(
            r#"from pyinfra.api import deploy
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
            &host("web1", json!({"port": 8080})),
        )
        .unwrap();
    let s = summary(&out.calls);
    assert_eq!(
        s,
        vec![
            r#"server.shell {"commands":"install 1.0 port 8080"} [0, 15, 6] deploy.py:6"#,
            r#"server.shell {"commands":"inner"} [0, 15, 9, 13] deploy.py:13"#,
            r#"server.shell {"commands":"install 1.0 port 8080"} [0, 16, 6] deploy.py:6"#,
            r#"files.directory {"path":"/srv"} [0, 16, 8] deploy.py:8"#,
            r#"server.shell {"commands":"inner"} [0, 16, 9, 13] deploy.py:13"#,
            r#"server.shell {"commands":"outside None"} [0, 17] deploy.py:17"#,
        ]
    );
    assert_eq!(out.calls[0].deploy_names, vec!["Install app"]);
    assert!(out.calls[0].deploy_args.is_empty());
    assert_eq!(out.calls[1].deploy_names, vec!["Install app", "Inner"]);
    assert_eq!(
        out.calls[3].deploy_args,
        j(json!({"_sudo": true, "_sudo_user": "app"}))
    );
    assert_eq!(
        out.calls[4].deploy_args,
        j(json!({"_sudo": true, "_sudo_user": "app"}))
    );
    assert!(out.calls[5].deploy_names.is_empty());
}

#[test]
fn if_conditions() {
    use rinfra_core::{Condition, ConditionKind};
    let p = Project::new();
    let out = p
        .run(
            r#"from pyinfra.operations import files, server
from pyinfra.operations.util import any_changed, all_changed

a = files.put(src="a", dest="/a")
b = files.put(src="b", dest="/b")
server.shell("restart", _if=a.did_change)
server.shell("x", _if=a.did_change())
server.shell("y", _if=[a.did_not_change, b.did_succeed])
server.shell("z", _if=any_changed(a, b))
server.shell("w", _if=all_changed(a, b))
server.shell("v", _if=lambda: b.did_error())
server.shell("never", _if=False)
"#,
            &host("web1", json!({})),
        )
        .unwrap();
    let op = |call_index, kind| Condition::Op { call_index, kind };
    let c: Vec<_> = out.calls.iter().map(|c| c.conditions.clone()).collect();
    assert_eq!(c[0], vec![]);
    assert_eq!(c[2], vec![op(0, ConditionKind::DidChange)]);
    assert_eq!(c[3], vec![op(0, ConditionKind::DidChange)]);
    assert_eq!(
        c[4],
        vec![
            op(0, ConditionKind::DidNotChange),
            op(1, ConditionKind::DidSucceed)
        ]
    );
    assert_eq!(
        c[5],
        vec![Condition::Any(vec![
            op(0, ConditionKind::DidChange),
            op(1, ConditionKind::DidChange)
        ])]
    );
    assert_eq!(
        c[6],
        vec![Condition::All(vec![
            op(0, ConditionKind::DidChange),
            op(1, ConditionKind::DidChange)
        ])]
    );
    // A function is called at execute time (tests/execute_time_callables.rs).
    assert!(matches!(c[7][..], [Condition::Callable(_)]), "{:?}", c[7]);
    assert_eq!(c[8], vec![Condition::Constant(false)]);
}

#[test]
fn deploy_if_applies_to_inner_ops() {
    use rinfra_core::{Condition, ConditionKind};
    let p = Project::new();
    let out = p
        .run(
            r#"@deploy("D")
def d():
    server.shell("in d")

a = files.put(src="a", dest="/a")
d(_if=a.did_change)
"#,
            &host("web1", json!({})),
        )
        .unwrap();
    assert_eq!(
        out.calls[1].conditions,
        vec![Condition::Op {
            call_index: 0,
            kind: ConditionKind::DidChange
        }]
    );
}

#[test]
fn local_include() {
    let p = Project::new();
    p.file(
        "tasks/app.py",
        "from pyinfra.operations import server\n\nserver.shell(f\"app {host.data.version} {host.data.region}\")\nconfig.SUDO = True\n",
    );
    let out = p
        .run(
            r#"from pyinfra import local, config
server.shell("before")
local.include("tasks/app.py", data={"version": "2", "region": "eu"})
local.include("./tasks/app.py", data={"version": "3"})
server.shell(f"after {config.SUDO}")
"#,
            &host("web1", json!({"region": "us"})),
        )
        .unwrap();
    assert_eq!(
        summary(&out.calls),
        vec![
            r#"server.shell {"commands":"before"} [0, 2] deploy.py:2"#,
            r#"server.shell {"commands":"app 2 us"} [0, 3, 3] tasks/app.py:3"#,
            r#"server.shell {"commands":"app 3 us"} [0, 4, 3] tasks/app.py:3"#,
            r#"server.shell {"commands":"after False"} [0, 5] deploy.py:5"#,
        ]
    );
    assert_eq!(out.calls[1].deploy_names, vec!["tasks/app.py"]);
    assert!(out.calls[0].deploy_names.is_empty());
}

#[test]
fn config_in_deploy_code() {
    let p = Project::new();
    let mut h = host("web1", json!({}));
    h.config = j(json!({"PARALLEL": 5}));
    let out = p
        .run(
            "from pyinfra import config\nconfig.SUDO = True\nserver.shell(f'{config.PARALLEL} {config.SHELL}')\n",
            &h,
        )
        .unwrap();
    assert_eq!(out.config, j(json!({"PARALLEL": 5, "SUDO": true})));
    assert_eq!(out.calls[0].args, j(json!({"commands": "5 sh"})));
}

#[test]
fn host_and_inventory_objects() {
    use std::sync::Arc;
    let p = Project::new();
    let mut h = host("web1", json!({"a": {"b": [1, 2]}}));
    h.inventory = Arc::new(rinfra_lang::InventoryView {
        hosts: vec!["web1".into(), "web2".into(), "db1".into()],
        groups: [(
            "web".to_string(),
            vec!["web1".to_string(), "web2".to_string()],
        )]
        .into_iter()
        .collect(),
    });
    let out = p
        .run(
            r#"
server.shell(host.name + " " + ",".join(host.groups) + " " + str(host.data.a["b"][1]))
server.shell(",".join(inventory.get_group("web")) + " " + str(len(inventory)))
host.data.extra = "set"
server.shell(host.data.extra + " " + str("a" in host.data) + " " + str(host.data.dict()["extra"]))
for h in host.loop(["x", "y"]):
    server.shell(h)
"#,
            &h,
        )
        .unwrap();
    let cmds: Vec<String> = out
        .calls
        .iter()
        .map(|c| c.args["commands"].to_string())
        .collect();
    assert_eq!(
        cmds,
        vec![
            r#""web1 web 2""#,
            r#""web1,web2 3""#,
            r#""set True set""#,
            r#""x""#,
            r#""y""#
        ]
    );
}

#[test]
fn facts_with_arguments() {
    let p = Project::new();
    let facts = TableFacts::default()
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
        );
    let out = p
        .run_with(
            r#"from pyinfra.facts.files import File, Directory
f = host.get_fact(File, path="/etc/hosts")
d = host.get_fact(Directory, "/srv")
server.shell(f"{f['size']} {d == None}")
version = fact(name="version", command="cat /VERSION", process=lambda lines: lines[0])
server.shell(host.get_fact(version))
raw = fact(command=lambda path: "cat " + path)
server.shell(host.get_fact(raw, "/VERSION"))
server.shell(str(host.get_fact(files.File, path="/etc/hosts")["mode"]))
"#,
            &host("web1", json!({})),
            &facts,
        )
        .unwrap();
    let cmds: Vec<String> = out
        .calls
        .iter()
        .map(|c| c.args["commands"].to_string())
        .collect();
    assert_eq!(
        cmds,
        vec![r#""10 True""#, r#""1.2""#, r#""1.2\nextra""#, r#""644""#]
    );
}

#[test]
fn user_operation() {
    let p = Project::new();
    let out = p
        .run(
            r#"from pyinfra.api import operation

@operation()
def touch(path, mode=None):
    yield f"touch {path}"
    if mode:
        yield f"chmod {mode} {path}"

touch("/tmp/a")
t = touch(path="/tmp/b", mode="600", _sudo=True)
server.shell("after", _if=t.did_change)

@operation()
def listed(n):
    return ["echo %d" % i for i in range(n)]

listed(2)
"#,
            &host("web1", json!({})),
        )
        .unwrap();
    assert_eq!(
        summary(&out.calls),
        vec![
            r#"server.shell {"commands":["touch /tmp/a"]} [0, 9] deploy.py:9 globals={"name":"touch"}"#,
            r#"server.shell {"commands":["touch /tmp/b","chmod 600 /tmp/b"]} [0, 10] deploy.py:10 globals={"_sudo":true,"name":"touch"}"#,
            r#"server.shell {"commands":"after"} [0, 11] deploy.py:11"#,
            r#"server.shell {"commands":["echo 0","echo 1"]} [0, 17] deploy.py:17 globals={"name":"listed"}"#,
        ]
    );
}

#[test]
fn os_shims_and_file_reading() {
    let p = Project::new();
    p.file("files/motd.txt", "hello\n");
    let out = p
        .run(
            r#"import os
import os.path
here = os.path.dirname(__file__)
motd = local.read_file("files/motd.txt")
server.shell(os.path.join("a", "b", "c.txt") + " " + os.path.basename("/x/y.conf") + " " + motd.strip())
server.shell(str(os.path.exists("files/motd.txt")) + str(os.path.isdir("files")) + str(os.path.isfile("nope")))
server.shell(os.environ.get("RINFRA_LANG_TEST_UNSET", "dflt") + " " + str(here != ""))
"#,
            &host("web1", json!({})),
        )
        .unwrap();
    let cmds: Vec<String> = out
        .calls
        .iter()
        .map(|c| c.args["commands"].to_string())
        .collect();
    assert_eq!(
        cmds,
        vec![
            r#""a/b/c.txt y.conf hello""#,
            r#""TrueTrueFalse""#,
            r#""dflt True""#
        ]
    );
}

#[test]
fn prints_are_collected() {
    let p = Project::new();
    let out = p
        .run("print('hello', host.name)\n", &host("web1", json!({})))
        .unwrap();
    assert_eq!(out.messages, vec!["hello web1"]);
}

#[test]
fn host_contexts_and_helpers() {
    use rinfra_core::{Condition, ConditionKind};
    let p = Project::new();
    p.file(
        "helpers.py",
        "from pyinfra.operations import server\n\ndef restart(name):\n    server.shell(f\"restart {name} on {host.name}\")\n\nPORT = 80\n",
    );
    let out = p
        .run(
            r#"from helpers import restart, PORT as port
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
            &host("web1", json!({})),
        )
        .unwrap();
    assert_eq!(
        summary(&out.calls),
        vec![
            r#"files.put {"src":"a","dest":"/a"} [0, 2] deploy.py:2"#,
            r#"server.shell {"commands":"in block"} [0, 4] deploy.py:4"#,
            r#"server.shell {"commands":"restart app on web1"} [0, 6, 4] helpers.py:4"#,
            r#"server.shell {"commands":"after 80"} [0, 7] deploy.py:7"#,
            r#"server.shell {"commands":"abab"} [0, 10] deploy.py:10"#,
        ]
    );
    let changed = Condition::Op {
        call_index: 0,
        kind: ConditionKind::DidChange,
    };
    assert_eq!(out.calls[1].deploy_args, j(json!({"_sudo": true})));
    assert_eq!(out.calls[1].conditions, vec![changed.clone()]);
    // `host.when(f)`: `f` is called at execute time (pyinfra's `_if=[f]`).
    assert!(
        matches!(&out.calls[2].conditions[..], [c, Condition::Callable(_)] if *c == changed),
        "{:?}",
        out.calls[2].conditions
    );
    assert!(out.calls[3].deploy_args.is_empty() && out.calls[3].conditions.is_empty());
}

#[test]
fn missing_helper_module() {
    let p = Project::new();
    let e = p
        .run(
            "x = 1\nfrom requests import get\n",
            &host("web1", json!({})),
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "deploy.py:2:1: cannot import `requests`: no file `requests.py` in the deploy directory"
    );
    assert!(e
        .hint()
        .unwrap()
        .contains("Python packages are not available"));
}

#[test]
fn evaluates_on_many_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<rinfra_lang::DeployEnv>();
    assert_send_sync::<rinfra_lang::LoadedFile>();
    let p = Project::new();
    let path = p.file(
        "deploy.py",
        "for i in range(3):\n    server.shell(f'{host.name} {i}')\n",
    );
    let env = p.env();
    let file = env.load_file(&path).unwrap();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|n| {
                let (env, file) = (&env, &file);
                s.spawn(move || {
                    let h = host(&format!("h{n}"), json!({}));
                    env.evaluate(file, 0, &h, &rinfra_lang::NoFacts).unwrap()
                })
            })
            .collect();
        for (n, h) in handles.into_iter().enumerate() {
            let out = h.join().unwrap();
            assert_eq!(out.calls.len(), 3);
            assert_eq!(out.calls[2].args["commands"], json!(format!("h{n} 2")));
            assert_eq!(out.calls[2].order, vec![0, 2, 2]);
        }
    });
}
