//! Connectors written in Python (`pyinfra.connectors` entry points of the active virtualenv),
//! through the `rinfra` binary: an executing connector made here, and a real one from PyPI.

mod util;

use std::path::{Path, PathBuf};

use util::{TestDir, TestbedHost};

fn site_packages(venv: &Path) -> PathBuf {
    let lib = venv.join("lib");
    let py = std::fs::read_dir(&lib)
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().starts_with("python"))
        .expect("lib/pythonX.Y");
    py.path().join("site-packages")
}

/// Install a package by writing its files and its `.dist-info` (with the entry point).
fn install_connector(venv: &Path, module: &str, source: &str, entry: &str) {
    let sp = site_packages(venv);
    std::fs::write(sp.join(format!("{module}.py")), source).unwrap();
    let info = sp.join(format!("{module}-0.1.dist-info"));
    std::fs::create_dir_all(&info).unwrap();
    std::fs::write(
        info.join("METADATA"),
        format!("Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n"),
    )
    .unwrap();
    std::fs::write(
        info.join("entry_points.txt"),
        format!("[pyinfra.connectors]\n{entry}\n"),
    )
    .unwrap();
}

/// A connector that runs commands through the local shell and copies files, in pyinfra's
/// shape; `fail` hosts raise in `run_shell_command`.
const LOCALPY: &str = r#"
import os, shutil, tempfile
from pyinfra.connectors.base import BaseConnector
from pyinfra.connectors.util import make_unix_command_for_host, run_local_process, extract_control_arguments

class LocalPy(BaseConnector):
    handles_execution = True

    @staticmethod
    def make_names_data(name=None):
        yield f"@localpy/{name}", {"via": "localpy"}, ["@localpy"]

    def connect(self):
        self.log = os.environ.get("LOCALPY_LOG")

    def run_shell_command(self, command, print_output=False, print_input=False, **arguments):
        if self.host.name.endswith("fail"):
            raise RuntimeError("localpy cannot reach " + self.host.name)
        extract_control_arguments(arguments)
        unix = make_unix_command_for_host(self.state, self.host, command, **arguments)
        if self.log:
            with open(self.log, "a") as f:
                f.write(unix.get_raw_value() + "\n")
        code, output = run_local_process(unix.get_raw_value())
        return code == 0, output

    def put_file(self, filename_or_io, remote_filename, remote_temp_filename=None, print_output=False, print_input=False, **arguments):
        fd, temp = tempfile.mkstemp(dir=os.path.dirname(remote_filename) or ".")
        with os.fdopen(fd, "wb") as out:
            if hasattr(filename_or_io, "read"):
                data = filename_or_io.read()
                out.write(data.encode() if isinstance(data, str) else data)
            else:
                with open(filename_or_io, "rb") as src:
                    shutil.copyfileobj(src, out)
        os.replace(temp, remote_filename)
        return True

    def get_file(self, remote_filename, filename_or_io, remote_temp_filename=None, print_output=False, print_input=False, **arguments):
        shutil.copyfile(remote_filename, filename_or_io)
        return True
"#;

#[test]
fn an_executing_python_connector_runs_a_deploy_twice() {
    let dir = TestDir::new();
    let venv = dir.venv(&[]);
    install_connector(&venv, "localpy", LOCALPY, "localpy = localpy:LocalPy");
    let out = dir.join("out");
    let log = dir.join("commands.log");
    dir.write("files/motd", "hello from a python connector\n");
    dir.write(
        "deploy.py",
        &format!(
            r#"
from pyinfra import host
from pyinfra.facts.files import File
from pyinfra.operations import files, server
OUT = {out:?}
assert host.data.via == "localpy"
files.directory(path=OUT)
files.put(src="files/motd", dest=OUT + "/motd")
server.shell(commands=[f"echo {{host.name}} > {{OUT}}/name"], _env={{"GREETING": "hi"}})
"#,
            out = out.display().to_string()
        ),
    );
    let run = |args: &[&str]| {
        let o = dir
            .cmd(args)
            .env("VIRTUAL_ENV", &venv)
            .env("LOCALPY_LOG", &log)
            .output()
            .unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, list) = run(&["--list-connectors"]);
    assert_eq!(code, 0, "{list}");
    assert!(
        list.lines()
            .any(|l| l.contains("@localpy") && l.contains("python") && l.contains("executes")),
        "{list}"
    );

    let (code, first) = run(&["@localpy/one", "deploy.py", "-y"]);
    assert_eq!(code, 0, "{first}");
    assert_eq!(
        std::fs::read_to_string(out.join("motd")).unwrap(),
        "hello from a python connector\n"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("name")).unwrap(),
        "@localpy/one\n"
    );
    // The connector wrapped the command itself, with rinfra's wrapping of `_env`.
    let commands = std::fs::read_to_string(&log).unwrap();
    assert!(
        commands.contains("export GREETING=hi && echo @localpy/one"),
        "{commands}"
    );

    let (code, second) = run(&["@localpy/one", "deploy.py", "-y"]);
    assert_eq!(code, 0, "{second}");
    assert_eq!(
        second.matches("[@localpy/one] No changes").count(),
        2,
        "directory and put change nothing the second time: {second}"
    );

    // Named by an inventory file rather than on the command line: found all the same.
    dir.write("inventory.py", "hosts = [\"@localpy/one\"]\n");
    let (code, third) = run(&["inventory.py", "deploy.py", "-y"]);
    assert_eq!(code, 0, "{third}");
    assert_eq!(
        third.matches("[@localpy/one] No changes").count(),
        2,
        "{third}"
    );
}

#[test]
fn a_raising_python_connector_fails_its_host_only() {
    let dir = TestDir::new();
    let venv = dir.venv(&[]);
    install_connector(&venv, "localpy", LOCALPY, "localpy = localpy:LocalPy");
    let marker = dir.join("local-ran");
    dir.write(
        "deploy.py",
        &format!(
            "from pyinfra.operations import server\nserver.shell(commands=['touch {}'])\n",
            marker.display()
        ),
    );
    let o = dir
        .cmd(&["@localpy/fail,@local", "deploy.py", "-y"])
        .env("VIRTUAL_ENV", &venv)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("localpy cannot reach @localpy/fail"),
        "the connector's message: {stderr}"
    );
    assert!(marker.exists(), "the other host went on: {stderr}");
}

/// `pyinfra-ansible-inventory-connector` from PyPI, unchanged, with ansible-core: `@ansible/
/// hosts.ini` lists the testbed's SSH hosts with their Ansible variables.
#[test]
fn the_ansible_inventory_connector_from_pypi() {
    let (first, second) = (TestbedHost::nth(0), TestbedHost::nth(1));
    let key = first.key.clone();
    let dir = TestDir::new();
    let venv = dir.venv(&["pyinfra-ansible-inventory-connector==0.1.1"]);
    let last = &second.addr;
    dir.write(
        "hosts.ini",
        &format!(
            "[web]\n{} ansible_user=root\n[db]\n{last} ansible_user=root app_name=ansible-app\n",
            first.addr
        ),
    );
    // Not under /tmp: other suites check that no `rinfra-*` file is left there.
    let out = "/srv/ansible-connector-e2e";
    dir.write(
        "deploy.py",
        &format!(
            "from pyinfra import host\nfrom pyinfra.operations import server\nserver.shell(commands=[f\"echo {{host.data.get('app_name')}} {{','.join(host.groups)}} > {out}\"])\n"
        ),
    );
    let key_arg = format!("ssh_key={key}");
    let o = dir
        .cmd(&[
            "@ansible/hosts.ini",
            "deploy.py",
            "--data",
            &key_arg,
            "--data",
            "ssh_strict_host_key_checking=no",
            "-y",
        ])
        .env("VIRTUAL_ENV", &venv)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert_eq!(
        second.ssh(&format!("cat {out}")).trim(),
        "ansible-app db",
        "{stderr}"
    );
}
