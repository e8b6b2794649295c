//! Deploy code is real Python: run through the `rinfra` binary, on `@local` in temp
//! directories and on a real sshd host of the testbed.

mod util;

use util::{TestDir, TestbedHost};

/// A deploy using the Python that the Starlark front end could not run, plus pyinfra's API:
/// a local package, a custom fact, an `@operation`, `python.call`, `_if` functions.
/// `out` is the directory on the target; `seen` a file on the controller that the
/// `python.call` function writes.
fn feature_deploy(dir: &TestDir, out: &str, seen: &str) {
    dir.write("tasks/__init__.py", "");
    dir.write(
        "tasks/common.py",
        r#"
from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import files

@deploy("Common", data_defaults={"suffix": "from-defaults"})
def common(base):
    files.directory(path=f"{base}/{host.data.suffix}")
"#,
    );
    dir.write(
        "deploy.py",
        &format!(
            r#"
import io, json, pathlib, sys
from dataclasses import dataclass
from typing import Optional
from pyinfra import host, logger, inventory
from pyinfra.api import FactBase, operation, StringCommand, QuoteString
from pyinfra.facts.files import File
from pyinfra.facts.server import Os
from pyinfra.operations import files, server, python
from tasks.common import common

OUT = {out:?}
SEEN = {seen:?}

class KernelName(FactBase):
    def command(self):
        return "uname -s"

    def process(self, output):
        return output[0].strip().lower()

class Absent(FactBase):
    command = "definitely-not-a-command-x --version"
    requires_command = "definitely-not-a-command-x"

    @staticmethod
    def default():
        return "absent"

@dataclass
class Item:
    name: str
    size: int = 0

@operation()
def ensure_line(path, line):
    if host.get_fact(File, path=path) is None:
        yield StringCommand("touch", QuoteString(path))
    yield f"grep -qxF {{line!r}} {{path}} || echo {{line!r}} >> {{path}}"

def gen(n):
    for i in range(n):
        yield i * 2

assert host.get_fact(KernelName) == host.get_fact(Os).lower()
assert host.get_fact(Absent) == "absent"
values = {{3, 1, 2}}
labels = [f"{{n:03d}}" for n in sorted(values)]
ratio = f"{{2 / 3:.2f}}"
legacy = "%05d|%s" % (42, "x")
if (count := len(labels)) == 3:
    first, *rest = labels
try:
    raise KeyError("boom")
except KeyError as e:
    caught = str(e)
finally:
    done = True
with io.StringIO() as buf:
    buf.write("x")
items = [Item("a", 1), Item("b")]
summary = {{
    "labels": labels, "ratio": ratio, "legacy": legacy, "first": first, "rest": rest,
    "caught": caught, "gen": list(gen(3)), "sum": sum(values), "round": round(2.567, 2),
    "items": [i.name for i in items], "str_list": str(["a", 1]), "pyver": sys.version_info[0],
}}
logger.info("summary " + json.dumps(summary, sort_keys=True))

common(OUT)
made = files.directory(path=f"{{OUT}}/made")
files.put(src=io.StringIO(json.dumps(summary, sort_keys=True) + "\n"), dest=f"{{OUT}}/summary.json")
ensure_line(f"{{OUT}}/lines", "a line")
server.shell(commands=[f"date >> {{OUT}}/if-made"], _if=made.did_change)
server.shell(commands=[f"touch {{OUT}}/never"], _if=lambda: False)
server.shell(commands=[f"touch {{OUT}}/never2"], _if=[lambda: True, lambda: 1 > 2])

def record_summary(path):
    ok, output = host.run_shell_command(f"cat {{path}}")
    assert ok, output.stderr
    pathlib.Path(SEEN).write_text(host.name + ":" + output.stdout)

python.call(function=record_summary, path=f"{{OUT}}/summary.json", name="Read it back")
"#
        ),
    );
}

#[test]
fn python_features_deploy_twice_on_local() {
    let dir = TestDir::new();
    let out = dir.join("out");
    let out_s = out.display().to_string();
    let seen = dir.join("seen");
    feature_deploy(&dir, &out_s, &seen.display().to_string());

    let first = dir.run(&["@local", "deploy.py", "-y"]);
    assert_eq!(first.code, 0, "{first:?}");
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(v["labels"], serde_json::json!(["001", "002", "003"]));
    assert_eq!(v["ratio"], "0.67");
    assert_eq!(v["legacy"], "00042|x");
    assert_eq!(v["rest"], serde_json::json!(["002", "003"]));
    assert_eq!(v["caught"], "'boom'");
    assert_eq!(v["gen"], serde_json::json!([0, 2, 4]));
    assert_eq!(v["round"], 2.57);
    assert_eq!(v["str_list"], "['a', 1]");
    assert!(out.join("from-defaults").is_dir(), "@deploy data_defaults");
    assert_eq!(
        std::fs::read_to_string(out.join("lines")).unwrap(),
        "a line\n"
    );
    assert!(!out.join("never").exists() && !out.join("never2").exists());
    assert_eq!(
        std::fs::read_to_string(&seen).unwrap(),
        format!("@local:{}", summary.trim_end())
    );
    assert!(
        first.stderr.contains("Common | files.directory"),
        "{first:?}"
    );
    assert!(
        first.stderr.contains("summary {"),
        "logger output: {first:?}"
    );

    // Second run: the idempotent operations change nothing; `_if=made.did_change` is false.
    let second = dir.run(&["@local", "deploy.py", "-y"]);
    assert_eq!(second.code, 0, "{second:?}");
    assert_eq!(
        std::fs::read_to_string(out.join("if-made"))
            .unwrap()
            .lines()
            .count(),
        1,
        "the _if=did_change operation ran again: {second:?}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("lines")).unwrap(),
        "a line\n"
    );
    let no_changes = second.stderr.matches("[@local] No changes").count();
    assert!(no_changes >= 3, "{second:?}");
}

#[test]
fn deploy_code_errors_are_located_and_nothing_runs() {
    let dir = TestDir::new();
    let marker = dir.join("ran");
    let first_op = format!(
        "from pyinfra.operations import server\nserver.shell(commands=['touch {}'])\n",
        marker.display()
    );
    for (body, expect) in [
        ("x = (1,\n", "deploy.py:3:5: SyntaxError"),
        ("undefined_name + 1\n", "deploy.py:3: NameError"),
        (
            "import no_such_module_here\n",
            "deploy.py:3: ModuleNotFoundError",
        ),
        (
            "raise RuntimeError('stop here')\n",
            "deploy.py:3: RuntimeError: stop here",
        ),
        ("server.shell(commnds=['x'])\n", "did you mean `commands`?"),
        (
            "server.shell(commands=['x'], _sudoo=True)\n",
            "did you mean `_sudo`?",
        ),
    ] {
        dir.write("deploy.py", &format!("{first_op}{body}"));
        let run = dir.run(&["@local", "deploy.py", "-y"]);
        assert_eq!(run.code, 2, "{body}: {run:?}");
        assert!(
            run.stderr.contains(expect),
            "{body}: expected {expect}: {run:?}"
        );
        assert!(
            !marker.exists(),
            "{body}: an operation ran despite the error"
        );
    }
    // -v shows the traceback.
    dir.write("deploy.py", "def f():\n    raise ValueError('deep')\nf()\n");
    let run = dir.run(&["@local", "deploy.py", "-y", "-v"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("deploy.py:2: ValueError: deep"),
        "{run:?}"
    );
    assert!(run.stderr.contains("Traceback"), "{run:?}");
}

#[test]
fn an_installed_pyinfra_does_not_shadow_rinfras() {
    let dir = TestDir::new();
    dir.write(
        "site/pyinfra/__init__.py",
        "raise ImportError('the real pyinfra was imported')\n",
    );
    dir.write(
        "deploy.py",
        "from pyinfra import host\nfrom pyinfra.operations import server\nserver.shell(commands=['true'])\n",
    );
    let run = dir
        .cmd(&["@local", "deploy.py", "-y"])
        .env("PYTHONPATH", dir.join("site"))
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

#[test]
fn python_inventory_group_data_and_config() {
    let dir = TestDir::new();
    dir.write(
        "inventory.py",
        "import os\n\ndef _names(n):\n    return [f'@local' for _ in range(n)]\n\nlocals = _names(1)\nweb = (['@local'], {'role': 'web', 'port': int('80')})\n",
    );
    dir.write(
        "group_data/all.py",
        "import json\nsettings = json.loads('{\"a\": [1, 2]}')\n",
    );
    dir.write(
        "config.py",
        "import os\nSUDO = False\nFAIL_PERCENT = int('0')\n",
    );
    let out = dir.join("data.json");
    dir.write(
        "deploy.py",
        &format!(
            "import json, pathlib\nfrom pyinfra import host, inventory\npathlib.Path({:?}).write_text(json.dumps({{'role': host.data.role, 'port': host.data.port, 'settings': host.data.settings, 'groups': sorted(host.groups), 'web': [h.name for h in inventory.get_group('web')]}}))\n",
            out.display().to_string()
        ),
    );
    let run = dir.run(&["inventory.py", "deploy.py", "-y"]);
    assert_eq!(run.code, 0, "{run:?}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["role"], "web");
    assert_eq!(v["port"], 80);
    assert_eq!(v["settings"], serde_json::json!({"a": [1, 2]}));
    assert_eq!(v["web"], serde_json::json!(["@local"]));
    assert!(
        v["groups"].as_array().unwrap().iter().any(|g| g == "web"),
        "{v}"
    );

    dir.write("config.py", "SUDOO = True\n");
    let run = dir.run(&["inventory.py", "deploy.py", "-y"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("did you mean `SUDO`?"), "{run:?}");
}

#[test]
fn failing_python_call_fails_the_host_with_its_message() {
    let dir = TestDir::new();
    dir.write(
        "deploy.py",
        "from pyinfra.operations import python\n\ndef boom():\n    raise RuntimeError('callback says no')\n\npython.call(function=boom)\n",
    );
    let run = dir.run(&["@local", "deploy.py", "-y"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("callback says no"), "{run:?}");
    assert!(run.stderr.contains("deploy.py:4"), "{run:?}");
}

/// A package from the active virtualenv (not the build's Python) is importable: PyYAML,
/// installed from PyPI into a venv the test makes.
#[test]
fn third_party_package_from_the_active_virtualenv() {
    let dir = TestDir::new();
    let venv = dir.venv(&["PyYAML==6.0.2"]);
    let out = dir.join("out.txt");
    dir.write(
        "deploy.py",
        &format!(
            "import sys, yaml\nopen({:?}, 'w').write(yaml.safe_dump({{'ok': True}}) + sys.prefix)\n",
            out.display().to_string()
        ),
    );
    let run = dir
        .cmd(&["@local", "deploy.py", "-y"])
        .env("VIRTUAL_ENV", &venv)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("ok: true\n"), "{text}");
    assert!(
        text.ends_with(&venv.display().to_string()),
        "sys.prefix: {text}"
    );
}

/// The feature deploy against a real OpenSSH sshd of the testbed: facts over SSH, the
/// `python.call` function's command over SSH, twice.
#[test]
fn python_features_deploy_on_an_ssh_host() {
    let host = TestbedHost::nth(0);
    let (addr, key) = (host.addr.clone(), host.key.clone());
    let dir = TestDir::new();
    let out = "/srv/rinfra-python-e2e";
    let seen = dir.join("seen");
    feature_deploy(&dir, out, &seen.display().to_string());
    let key_arg = format!("ssh_key={key}");
    let args = [
        addr.as_str(),
        "deploy.py",
        "--data",
        &key_arg,
        "--data",
        "ssh_user=root",
        "--data",
        "ssh_strict_host_key_checking=no",
        "-y",
    ];
    let ssh = |cmd: &str| host.ssh(cmd);
    ssh(&format!("rm -rf {out}"));
    let first = dir.run(&args);
    assert_eq!(first.code, 0, "{first:?}");
    assert_eq!(ssh(&format!("cat {out}/lines")), "a line\n");
    assert!(ssh(&format!("cat {out}/summary.json")).contains("\"ratio\": \"0.67\""));
    // python.call ran on the controller and read the file over SSH.
    let seen = std::fs::read_to_string(&seen).unwrap();
    assert!(seen.starts_with(&format!("{addr}:{{")), "{seen}");
    let second = dir.run(&args);
    assert_eq!(second.code, 0, "{second:?}");
    assert_eq!(
        ssh(&format!("wc -l < {out}/if-made")).trim(),
        "1",
        "{second:?}"
    );
}

/// `rinfra INVENTORY tasks.install ARG key=value` runs a deploy function per host, and
/// `module:function` / `module.function` inventories are pyinfra's import forms.
#[test]
fn deploy_functions_and_inventory_functions() {
    let dir = TestDir::new();
    dir.write(
        "tasks.py",
        "from pyinfra import host\nfrom pyinfra.api import deploy\nfrom pyinfra.operations import files\n\n@deploy(\"Install app\")\ndef install(path, mode=\"755\"):\n    files.directory(path=path, mode=mode)\n    files.file(path=f\"{path}/role-{host.data.role}\")\n",
    );
    dir.write(
        "inventories.py",
        "def web():\n    return {\"web\": ([\"@local\"], {\"role\": \"web\"})}\n\nlocal_hosts = [\"@local\"]\n",
    );
    let out = dir.join("out");
    let out_s = out.display().to_string();
    let mode = "mode=700";
    let run = dir.run(&["inventories:web", "tasks.install", &out_s, mode, "-y"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("Install app | files.directory"),
        "{run:?}"
    );
    assert!(out.join("role-web").is_file(), "{run:?}");
    use std::os::unix::fs::PermissionsExt;
    let m = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(m, 0o700);
    let again = dir.run(&["inventories.web", "tasks.install", &out_s, mode, "-y"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(
        again.stderr.matches("[@local] No changes").count(),
        2,
        "{again:?}"
    );

    let list = dir.run(&["inventories.local_hosts", "debug-inventory"]);
    assert_eq!(list.code, 0, "{list:?}");
    assert!(list.stderr.contains("\n[@local]\n--> Groups: "), "{list:?}");

    let missing = dir.run(&["@local", "tasks.nope", "-y"]);
    assert_eq!(missing.code, 2, "{missing:?}");
    assert!(missing.stderr.contains("tasks.nope"), "{missing:?}");
}

/// `host.get_fact(...)` blocks only the host that asked: while `@local`'s fact command waits
/// for a file that the other host's deploy code writes, that code runs. Were one host's wait
/// to hold up every host's evaluation, the command would give up (after 30 s) and say so.
#[test]
fn a_fact_wait_blocks_only_its_host() {
    let dir = TestDir::new();
    let marker = dir.join("marker");
    dir.write(
        "deploy.py",
        &format!(
            r#"
import pathlib
from pyinfra import host
from pyinfra.facts.server import Command
M = {m:?}
if host.name == "@local":
    seen = host.get_fact(Command, command=f"for i in $(seq 600); do test -e {{M}} && echo seen && exit 0; sleep 0.05; done; echo gave-up")
    assert seen == "seen", seen
else:
    pathlib.Path(M).write_text(host.name)
"#,
            m = marker.display().to_string()
        ),
    );
    for inventory in ["@local,@fake/other", "@fake/other,@local"] {
        std::fs::remove_file(&marker).ok();
        let run = dir.run(&[inventory, "deploy.py", "-y"]);
        assert_eq!(run.code, 0, "{inventory}: {run:?}");
        assert_eq!(std::fs::read_to_string(&marker).unwrap(), "@fake/other");
    }
}

/// `pyinfra.operations.<module>` and `pyinfra.facts.<module>` are generated from the Rust
/// registries: every operation and fact imports (pyinfra's sub-modules too, as
/// `pyinfra.operations.freebsd.pkg`), with a docstring.
#[test]
fn every_rust_operation_and_fact_imports_with_its_docs() {
    let dir = TestDir::new();
    let out = dir.join("out.json");
    dir.write(
        "deploy.py",
        &format!(
            r#"
import importlib, json, _rinfra
from pyinfra.operations.freebsd import pkg
from pyinfra.facts.server import Hostname
missing = []
for kind, rows in (("operations", _rinfra.operations()), ("facts", _rinfra.facts())):
    for row in rows:
        module, attr = row[0].rsplit(".", 1)
        value = getattr(importlib.import_module(f"pyinfra.{{kind}}.{{module}}"), attr, None)
        if value is None or not (value.__doc__ or "").strip():
            missing.append(row[0])
json.dump({{"missing": missing, "ops": len(_rinfra.operations()), "facts": len(_rinfra.facts()),
           "pkg": pkg.install.__module__, "fact": Hostname.name}}, open({out:?}, "w"))
"#,
            out = out.display().to_string()
        ),
    );
    let run = dir.run(&["@local", "deploy.py", "--dry"]);
    assert_eq!(run.code, 0, "{run:?}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["missing"], serde_json::json!([]), "{v}");
    assert!(v["ops"].as_u64().unwrap() >= 180, "{v}");
    assert!(v["facts"].as_u64().unwrap() >= 190, "{v}");
    assert_eq!(v["pkg"], "pyinfra.operations.freebsd.pkg");
    assert_eq!(v["fact"], "server.Hostname");
}

/// A virtualenv made by another installation of the same Python version (Debian's
/// `/usr/bin/python3`, where rinfra may link pyenv's, or the other way round): its packages
/// import, with the standard library of the installation rinfra links. And `print` output is
/// not lost when stdout is a pipe and Python is not told to be unbuffered.
#[test]
fn a_virtualenv_of_another_installation_and_prints_through_a_pipe() {
    let dir = TestDir::new();
    let venv = dir.join("debian-venv");
    let ok = std::process::Command::new("/usr/bin/python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .unwrap()
        .success();
    assert!(
        ok,
        "/usr/bin/python3 -m venv failed (apt install python3-venv)"
    );
    let ok = std::process::Command::new(venv.join("bin/pip"))
        .args(["install", "-q", "PyYAML==6.0.2"])
        .status()
        .unwrap()
        .success();
    assert!(ok, "pip install PyYAML failed");
    dir.write(
        "deploy.py",
        "import math, yaml\nprint('yaml from', yaml.__file__, math.sqrt(4))\n",
    );
    let out = dir
        .cmd(&["@local", "deploy.py", "--dry"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("NO_COLOR", "1")
        .env("VIRTUAL_ENV", &venv)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("yaml from {}", venv.display())) && stdout.contains("2.0"),
        "{stdout}"
    );
}

/// An `@operation()` written as third-party packages write them, with pyinfra's command
/// helpers (`pyinfra.operations.util.files`) and `yield from` a Rust operation's `_inner`.
#[test]
fn operation_packages_use_pyinfras_helpers() {
    let dir = TestDir::new();
    let out = dir.join("out");
    dir.write(
        "deploy.py",
        &format!(
            r#"
from pyinfra import host
from pyinfra.api import operation
from pyinfra.facts.files import File
from pyinfra.operations import files
from pyinfra.operations.util.files import chmod, ensure_mode_int, unix_path_join

@operation()
def config_file(base, name, mode="0640"):
    path = unix_path_join(base, name)
    yield from files.directory._inner(path=base)
    info = host.get_fact(File, path=path)
    if info is None:
        yield f"echo managed > {{path}}"
    if info is None or info["mode"] != ensure_mode_int(mode):
        yield chmod(path, ensure_mode_int(mode))

config_file({out:?} + "/", "app.conf")
"#,
            out = out.display().to_string()
        ),
    );
    let first = dir.run(&["@local", "deploy.py", "-y"]);
    assert_eq!(first.code, 0, "{first:?}");
    let path = out.join("app.conf");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "managed\n");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o640
    );
    let second = dir.run(&["@local", "deploy.py", "-y"]);
    assert_eq!(second.code, 0, "{second:?}");
    assert!(
        second.stderr.contains("[@local] No changes"),
        "nothing to do the second time: {second:?}"
    );
}

/// Global arguments given to `host.get_fact(...)` apply to that fact's command (`_env`,
/// `_chdir`), and a wrong type is a located error.
#[test]
fn fact_global_arguments_apply_to_the_fact() {
    let dir = TestDir::new();
    let out = dir.join("out.txt");
    dir.write(
        "deploy.py",
        &format!(
            "from pyinfra import host\nfrom pyinfra.facts.server import Command\nv = host.get_fact(Command, command='echo $X; pwd', _env={{'X': 'from-env'}}, _chdir='/tmp')\nopen({:?}, 'w').write(v)\n",
            out.display().to_string()
        ),
    );
    let run = dir.run(&["@local", "deploy.py", "--dry"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "from-env\n/tmp");
    dir.write(
        "deploy.py",
        "from pyinfra import host\nfrom pyinfra.facts.server import Command\nhost.get_fact(Command, command='true', _sudo='yes')\n",
    );
    let run = dir.run(&["@local", "deploy.py", "--dry"]);
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("deploy.py:3"), "{run:?}");
    assert!(run.stderr.contains("`_sudo` must be a bool"), "{run:?}");
}
