//! The language package managers of issue 17 end to end on a real Debian target: every
//! operation of pyinfra 3.10's `npm`, `pip`, `pipx`, `uv` and `cargo` modules runs through the
//! `rinfra` binary against the third SSH host from the end (`langs_ssh_host`), twice (a change,
//! then `No changes`), and the result is checked on the target with plain `ssh`; their facts
//! (`rinfra ADDR fact ...`) are checked against the target's real state.
//!
//! The target gets Debian 12's packages of the tools (`npm`, `pipx`, `python3-pip`,
//! `python3-venv`, `virtualenv`, `cargo`) once per run. uv is not packaged in Debian 12: it is
//! installed from PyPI the way the pipx documentation installs a tool for every user,
//! `PIPX_HOME=/opt/pipx PIPX_BIN_DIR=/usr/local/bin pipx install uv==<pinned>`. Installs are
//! small and pinned, from the registries only: npm `is-number` (npm registry), PyPI `six` and
//! `pycowsay` (0.0.0.1, then the newest for the upgrades), the crate `hello-rust` (crates.io,
//! through its sparse index: Debian 12's cargo 1.65 would clone the git index from GitHub
//! unless told, so the cargo deploys set `RUSTC_BOOTSTRAP=1` and
//! `CARGO_UNSTABLE_SPARSE_REGISTRY=true`, cargo's own switch for it before 1.68). uv is given
//! `UV_PYTHON_DOWNLOADS=never` (it must not fetch a Python from GitHub) and
//! `SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt` (it trusts its built-in roots otherwise,
//! where pip, npm and cargo use the system's). When the controller trusts extra CAs (in
//! `/usr/local/share/ca-certificates`, e.g. behind a TLS-inspecting proxy), the target is made
//! to trust them too; on a plain machine there are none.
//!
//! What pyinfra 3.10 does is what is checked, also where it is surprising:
//! - `latest=True`, `pipx.upgrade_all`, `uv.tools_upgrade_all` and requirement files run again
//!   on every run (pyinfra cannot know whether an upgrade is due);
//! - `npm.NpmPackages` lists *global* packages (`npm list -g`) even for a `directory`, so
//!   `npm.packages(directory=...)` installs again on every run and never removes;
//! - `uv.venv(path)` creates the environment at `path` but checks for `path/.venv`: a second run
//!   repeats `uv venv path`, which this uv refuses for an existing environment unless
//!   `allow_existing`/`clear_existing`; `present=False` removes `path/.venv`;
//! - `uv.tools_update_shell` compares uv's *tool* directory with `PATH` and runs
//!   `uv tool update-shell` again, which fails once the startup files are up to date;
//! - `pip.venv` runs `python -m venv` unless given `python`, and Debian has no `python`.
//!
//! rinfra differs in one place these runs found: npm prints its tree in ASCII (`` `-- ``)
//! where the locale is not UTF-8 (a plain command over ssh to this Debian host), which
//! pyinfra's `npm.NpmPackages` does not read (no packages: installs on every run); rinfra reads
//! both (see rinfra-ops' DIFFERENCES.md).
//!
//! `uv.pythons` can only be checked where nothing is to be downloaded (Python builds come
//! from GitHub, which tests must not reach): present system Pythons, absent managed ones.
//!
//! gem, go, snap, flatpak, brew and choco are checked by pyinfra's vectors only
//! (`cargo test -p rinfra-ops --test vectors`): their registries (rubygems.org, the Go module
//! proxy, the Snap Store, Flathub, Homebrew, Chocolatey) are not reachable from here.
//!
//! Needs the project testbed (`scripts/testbed up`, then `. /tmp/rinfra-testbed/env`). This
//! suite owns the language tools of its host: root's global npm packages, pipx, uv tools and
//! cargo binaries; one test per tool, so tests of different tools run in parallel. Paths are
//! under `/srv/rinfra-e2e-langs-<tool>`.

mod util;

use std::sync::Once;

use serde_json::{json, Map, Value};
use util::target::{apt_lock, assert_host_error, langs_ssh_host, Target};
use util::{fact_entry, Run, TestDir};

/// uv from PyPI, pinned.
const UV_VERSION: &str = "0.13.9";

/// The environment every uv operation is given (see the module comment).
const UV_ENV: &str =
    r#"{"UV_PYTHON_DOWNLOADS": "never", "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt"}"#;

/// The environment every cargo operation is given: the sparse index of crates.io.
const CARGO_ENV: &str = r#"{"RUSTC_BOOTSTRAP": "1", "CARGO_UNSTABLE_SPARSE_REGISTRY": "true"}"#;

/// The target, with the tools installed (once per test run).
fn host() -> Target {
    static READY: Once = Once::new();
    let t = langs_ssh_host();
    READY.call_once(|| prepare(&t));
    t
}

fn prepare(t: &Target) {
    trust_controller_cas(t);
    {
        let _apt = apt_lock();
        let dir = TestDir::new();
        let r = t.rinfra(
            &dir,
            &[
                "apt.packages",
                r#"packages=["npm", "pipx", "python3-pip", "python3-venv", "virtualenv", "cargo"]"#,
                "no_recommends=true",
            ],
        );
        assert_eq!(r.code, 0, "installing the tools: {r:?}");
    }
    t.check("command -v npm pipx pip3 virtualenv cargo");
    let (_, version) = t.ssh("uv --version");
    if !version.starts_with(&format!("uv {UV_VERSION} ")) {
        t.check(&format!(
            "PIPX_HOME=/opt/pipx PIPX_BIN_DIR=/usr/local/bin pipx install --force uv=={UV_VERSION}"
        ));
    }
    assert!(t
        .check("uv --version")
        .starts_with(&format!("uv {UV_VERSION} ")));
}

/// The registries are reached over HTTPS: a controller behind a TLS-inspecting proxy trusts
/// that proxy's CA through `/usr/local/share/ca-certificates`, and the target must too.
fn trust_controller_cas(t: &Target) {
    let Ok(entries) = std::fs::read_dir("/usr/local/share/ca-certificates") else {
        return;
    };
    let mut any = false;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".crt") {
            continue;
        }
        let pem = std::fs::read_to_string(entry.path()).unwrap_or_default();
        write_remote(
            t,
            &format!("/usr/local/share/ca-certificates/rinfra-e2e-langs-{name}"),
            &pem,
        );
        any = true;
    }
    if any {
        t.check("update-ca-certificates >/dev/null");
    }
}

/// Write `content` to `path` on the target.
fn write_remote(t: &Target, path: &str, content: &str) {
    assert!(!content.contains("RINFRA_EOF"));
    let content = if content.ends_with('\n') {
        content.to_string()
    } else {
        format!("{content}\n")
    };
    t.check(&format!(
        "mkdir -p \"$(dirname {path})\" && cat > {path} <<'RINFRA_EOF'\n{content}RINFRA_EOF"
    ));
}

/// A deploy file (Python) in a fresh directory.
fn deploy(code: &str) -> TestDir {
    let dir = TestDir::new();
    dir.write("deploy.py", code);
    dir
}

/// Run the deploy `code` twice: a change, then `No changes`.
fn deploy_twice(t: &Target, code: &str) {
    t.twice_in(&deploy(code), &["deploy.py"]);
}

/// Run `args` twice where pyinfra changes the host both times (upgrades, requirement files).
fn always_changes(t: &Target, dir: &TestDir, args: &[&str]) -> Run {
    t.changes(dir, args);
    t.changes(dir, args)
}

/// One run that changes nothing.
fn unchanged(t: &Target, dir: &TestDir, args: &[&str]) -> Run {
    let r = t.rinfra(dir, args);
    assert_eq!(r.code, 0, "run of {args:?}: {r:?}");
    let no_changes = format!("[{}] No changes", t.addr);
    assert!(r.stderr.contains(&no_changes), "run of {args:?}: {r:?}");
    r
}

/// `rinfra ADDR fact NAME ARGS... --json`: the fact's value on the target.
fn fact(t: &Target, name: &str, args: &[&str]) -> Value {
    let dir = TestDir::new();
    let mut all = vec!["fact", name];
    all.extend_from_slice(args);
    all.push("--json");
    let r = t.rinfra(&dir, &all);
    assert_eq!(r.code, 0, "fact {name}: {r:?}");
    let v: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {r:?}"));
    fact_entry(&v, name)[&t.addr].clone()
}

/// `{name: [version]}` from `name version` lines.
fn versions(lines: &str) -> Value {
    let map: Map<String, Value> = lines
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(n, v)| (n.to_string(), json!([v])))
        .collect();
    Value::Object(map)
}

/// The distributions a Python environment has, `name version` per line, read by the
/// interpreter itself (not by pip).
fn distributions(python: &str) -> String {
    format!(
        "{python} -c \"import importlib.metadata as m; \
         [print(d.metadata['Name'], d.version) for d in m.distributions()]\""
    )
}

/// `pycowsay`'s version in a virtualenv.
fn pycowsay_version(t: &Target, venv: &str) -> String {
    t.check(&format!(
        "{venv}/bin/python -c \"import importlib.metadata as m; print(m.version('pycowsay'))\""
    ))
}

// ---------------------------------------------------------------------------------------------
// npm

const NPM_ROOT: &str = "/usr/local/lib/node_modules";

fn npm_version(t: &Target, modules: &str) -> String {
    t.check(&format!(
        "node -p \"require('{modules}/is-number/package.json').version\""
    ))
}

#[test]
fn npm_packages_global_and_in_a_directory() {
    let t = host();
    let base = t.fresh_dir("langs-npm");
    t.check(&format!("rm -rf {NPM_ROOT}/is-number"));

    t.twice(&["npm.packages", "packages=is-number@7.0.0"]);
    assert_eq!(npm_version(&t, NPM_ROOT), "7.0.0");
    // the global packages, as the target's node_modules has them
    let installed = t.check(&format!(
        "cd {NPM_ROOT} && for p in */package.json; do \
         node -p \"const p = require('./' + '$p'); p.name + ' ' + p.version\"; done"
    ));
    assert!(installed.contains("is-number 7.0.0"), "{installed}");
    assert_eq!(fact(&t, "npm.NpmPackages", &[]), versions(&installed));

    // another pinned version is installed over it; `latest` then updates it, on every run
    let dir = TestDir::new();
    t.changes(&dir, &["npm.packages", "packages=is-number@6.0.0"]);
    assert_eq!(npm_version(&t, NPM_ROOT), "6.0.0");
    unchanged(&t, &dir, &["npm.packages", "packages=is-number"]);
    let r = always_changes(
        &t,
        &dir,
        &["npm.packages", "packages=is-number", "latest=true"],
    );
    assert!(!r.stderr.contains("No changes"), "{r:?}");
    assert_ne!(npm_version(&t, NPM_ROOT), "6.0.0", "updated to the newest");

    t.twice(&["npm.packages", "packages=is-number", "present=false"]);
    assert_ne!(t.ssh(&format!("test -e {NPM_ROOT}/is-number")).0, 0);
    assert_eq!(fact(&t, "npm.NpmPackages", &[]).get("is-number"), None);

    // in a project directory: pyinfra's fact lists the global packages there too, so the
    // install runs again and the removal finds nothing to remove
    let app = format!("{base}/my app");
    t.check(&format!("mkdir -p '{app}'"));
    let args = [
        "npm.packages",
        "packages=is-number@7.0.0",
        &format!("directory={app}"),
    ];
    always_changes(&t, &dir, &args);
    assert_eq!(npm_version(&t, &format!("{app}/node_modules")), "7.0.0");
    assert_eq!(
        fact(&t, "npm.NpmPackages", &[&format!("directory={app}")]).get("is-number"),
        None
    );
    unchanged(
        &t,
        &dir,
        &[
            "npm.packages",
            "packages=is-number",
            &format!("directory={app}"),
            "present=false",
        ],
    );
    assert_eq!(npm_version(&t, &format!("{app}/node_modules")), "7.0.0");
    t.check(&format!("rm -rf {base}"));
}

// ---------------------------------------------------------------------------------------------
// pip

#[test]
fn pip_virtualenv_and_venv() {
    let t = host();
    let base = t.fresh_dir("langs-pip-venvs");

    // the `virtualenv` tool
    t.twice(&["pip.virtualenv", &format!("path={base}/ve")]);
    assert_eq!(
        t.check(&format!(
            "{base}/ve/bin/python -c 'import sys; print(sys.prefix)'"
        )),
        format!("{base}/ve")
    );
    assert!(t
        .check(&format!("cat {base}/ve/pyvenv.cfg"))
        .contains("virtualenv = "));

    // the `venv` module, with the system's packages and copies instead of links
    t.twice(&[
        "pip.virtualenv",
        &format!("path={base}/copied"),
        "venv=true",
        "python=python3",
        "site_packages=true",
        "always_copy=true",
    ]);
    assert!(t
        .check(&format!("cat {base}/copied/pyvenv.cfg"))
        .contains("include-system-site-packages = true"));
    t.check(&format!(
        "test -f {base}/copied/bin/python3 && ! test -L {base}/copied/bin/python3"
    ));

    t.twice(&["pip.venv", &format!("path={base}/venv"), "python=python3"]);
    t.check(&format!("test -f {base}/venv/bin/activate"));
    assert!(!t
        .check(&format!("cat {base}/venv/pyvenv.cfg"))
        .contains("virtualenv = "));

    // pyinfra's default interpreter is `python`, which Debian 12 does not have
    let dir = TestDir::new();
    let r = t.rinfra(&dir, &["pip.venv", &format!("path={base}/nopython")]);
    assert_host_error(&r, &t.addr, &["python: not found"]);

    t.twice(&[
        "pip.virtualenv",
        &format!("path={base}/copied"),
        "present=false",
    ]);
    assert_ne!(t.ssh(&format!("test -e {base}/copied")).0, 0);
    t.twice(&["pip.venv", &format!("path={base}/venv"), "present=false"]);
    assert_ne!(t.ssh(&format!("test -e {base}/venv")).0, 0);
    t.check(&format!("rm -rf {base}"));
}

#[test]
fn pip_packages_in_a_virtualenv() {
    let t = host();
    let base = t.fresh_dir("langs-pip");
    let venv = format!("{base}/app");
    let six = || {
        t.check(&format!(
            "{venv}/bin/python -c 'import six; print(six.__version__)'"
        ))
    };

    // the virtualenv is made on the way, as `virtualenv_kwargs` say
    deploy_twice(
        &t,
        &format!(
            "from pyinfra.operations import pip\n\
             pip.packages(packages=['six==1.16.0'], virtualenv={venv:?},\n\
             \x20   virtualenv_kwargs={{'venv': True, 'python': 'python3'}})\n"
        ),
    );
    assert_eq!(six(), "1.16.0");
    t.check(&format!("test -f {venv}/bin/activate"));

    // names compare case-insensitively (PEP 426)
    let dir = TestDir::new();
    let in_venv = format!("virtualenv={venv}");
    unchanged(
        &t,
        &dir,
        &["pip.packages", "packages=SIX==1.16.0", &in_venv],
    );

    // the facts, against what the interpreter itself finds
    let pip = format!("pip={venv}/bin/pip");
    let got = fact(&t, "pip.PipPackages", &[&pip]);
    let have = versions(&t.check(&distributions(&format!("{venv}/bin/python"))));
    assert_eq!(got["six"], json!(["1.16.0"]), "{got}");
    assert!(got["pip"].is_array(), "{got}");
    for (name, version) in got.as_object().unwrap() {
        assert_eq!(&have[name], version, "{name} in {have}");
    }
    let got = fact(&t, "pip.Pip3Packages", &[]);
    let have = versions(&t.check(&distributions("python3")));
    let system_pip = t.check("python3 -c 'import pip; print(pip.__version__)'");
    assert_eq!(got["pip"], json!([system_pip]), "{got}");
    for (name, version) in got.as_object().unwrap() {
        assert_eq!(&have[name], version, "{name} in {have}");
    }

    // `latest` upgrades a package named without a version, on every run
    always_changes(
        &t,
        &dir,
        &["pip.packages", "packages=six", &in_venv, "latest=true"],
    );
    assert_ne!(six(), "1.16.0");

    // a requirements file is installed on every run
    write_remote(&t, &format!("{base}/requirements.txt"), "six==1.16.0\n");
    let requirements = format!("requirements={base}/requirements.txt");
    always_changes(&t, &dir, &["pip.packages", &requirements, &in_venv]);
    assert_eq!(six(), "1.16.0");

    // extra install arguments go to `pip install`
    t.twice(&[
        "pip.packages",
        "packages=pycowsay==0.0.0.1",
        &in_venv,
        "extra_install_args=--no-compile",
    ]);
    assert_eq!(pycowsay_version(&t, &venv), "0.0.0.1");
    assert_eq!(
        t.check(&format!(
            "find {venv}/lib -path '*pycowsay*' -name '*.pyc' | wc -l"
        )),
        "0"
    );

    t.twice(&["pip.packages", "packages=six", &in_venv, "present=false"]);
    assert_ne!(
        t.ssh(&format!("{venv}/bin/python -c 'import six'")).0,
        0,
        "six is gone"
    );
    always_changes(&t, &dir, &["pip.packages", &requirements, &in_venv]);
    assert_eq!(six(), "1.16.0");
    // requirements are uninstalled on every run too (pip only warns when they are missing)
    always_changes(
        &t,
        &dir,
        &["pip.packages", &requirements, &in_venv, "present=false"],
    );
    assert_ne!(t.ssh(&format!("{venv}/bin/python -c 'import six'")).0, 0);
    t.check(&format!("rm -rf {base}"));
}

// ---------------------------------------------------------------------------------------------
// pipx

const PIPX_HOME: &str = "/root/.local/pipx";

#[test]
fn pipx_packages_upgrade_all_and_ensure_path() {
    let t = host();
    let base = t.fresh_dir("langs-pipx");
    t.check("pipx uninstall pycowsay >/dev/null 2>&1; true");
    let venv = format!("{PIPX_HOME}/venvs/pycowsay");

    t.twice(&[
        "pipx.packages",
        "packages=pycowsay==0.0.0.1",
        "extra_args=--python python3",
    ]);
    assert_eq!(pycowsay_version(&t, &venv), "0.0.0.1");
    assert!(t.check("/root/.local/bin/pycowsay moo").contains("< moo >"));

    // the facts, against the target's pipx directories
    let apps = t.check(&format!(
        "cd {PIPX_HOME}/venvs && for v in *; do echo $v $({PIPX_HOME}/venvs/$v/bin/python -c \
         \"import importlib.metadata as m; print(m.version('$v'))\"); done"
    ));
    assert_eq!(fact(&t, "pipx.PipxPackages", &[]), versions(&apps));
    let env = fact(&t, "pipx.PipxEnvironment", &[]);
    assert_eq!(env["PIPX_HOME"], json!(PIPX_HOME), "{env}");
    assert_eq!(env["PIPX_BIN_DIR"], json!("/root/.local/bin"), "{env}");
    assert_eq!(
        env["PIPX_LOCAL_VENVS"],
        json!(format!("{PIPX_HOME}/venvs")),
        "{env}"
    );

    // `latest` upgrades an application named without a version, on every run
    let dir = TestDir::new();
    unchanged(&t, &dir, &["pipx.packages", "packages=PyCowSay"]);
    always_changes(
        &t,
        &dir,
        &["pipx.packages", "packages=pycowsay", "latest=true"],
    );
    assert_ne!(
        pycowsay_version(&t, &venv),
        "0.0.0.1",
        "upgraded to the newest"
    );
    always_changes(&t, &dir, &["pipx.upgrade_all"]);
    assert_ne!(pycowsay_version(&t, &venv), "0.0.0.1");

    t.twice(&["pipx.packages", "packages=pycowsay", "present=false"]);
    assert_ne!(t.ssh(&format!("test -e {venv}")).0, 0);
    assert_ne!(t.ssh("test -e /root/.local/bin/pycowsay").0, 0);
    assert_eq!(fact(&t, "pipx.PipxPackages", &[]).get("pycowsay"), None);

    // `ensure_path` in a home of the test's own: `pipx ensurepath` adds the bin directory to
    // the shell's startup files, which a command run over ssh does not read, so it runs again;
    // with the directory on PATH there is nothing to do
    let home = format!("{base}/home");
    t.check(&format!("mkdir -p {home}"));
    let ensure = |path: &str| {
        format!(
            "from pyinfra.operations import pipx\n\
             pipx.ensure_path(_env={{'HOME': {home:?}{path}}})\n"
        )
    };
    let dir = deploy(&ensure(""));
    always_changes(&t, &dir, &["deploy.py"]);
    let bin = format!("{home}/.local/bin");
    assert!(
        t.check(&format!(
            "cat {home}/.bashrc {home}/.profile 2>/dev/null; true"
        ))
        .contains(&bin),
        "pipx ensurepath should add {bin}"
    );
    let on_path = format!(", 'PATH': '{bin}:/usr/local/bin:/usr/bin:/bin'");
    unchanged(&t, &deploy(&ensure(&on_path)), &["deploy.py"]);
    t.check(&format!("rm -rf {base}"));
}

// ---------------------------------------------------------------------------------------------
// uv

const UV_TOOLS: &str = "/root/.local/share/uv/tools";

#[test]
fn uv_tools() {
    let t = host();
    let base = t.fresh_dir("langs-uv-tools");
    // the tools' commands go to a directory of the test's own: pipx's test uses ~/.local/bin
    let bin = format!("{base}/bin");
    let env = format!(r#"dict({UV_ENV}, UV_TOOL_BIN_DIR={bin:?})"#);
    t.check(&format!(
        "UV_TOOL_BIN_DIR={bin} uv tool uninstall pycowsay >/dev/null 2>&1; true"
    ));
    let tools =
        |args: &str| format!("from pyinfra.operations import uv\nuv.tools({args}, _env={env})\n");

    deploy_twice(&t, &tools("['pycowsay==0.0.0.1']"));
    assert_eq!(
        pycowsay_version(&t, &format!("{UV_TOOLS}/pycowsay")),
        "0.0.0.1"
    );
    assert!(t.check(&format!("{bin}/pycowsay moo")).contains("< moo >"));

    // the facts, against uv's directories
    let listed = t.check(&format!(
        "cd {UV_TOOLS} && for v in *; do echo $v v$({UV_TOOLS}/$v/bin/python -c \
         \"import importlib.metadata as m; print(m.version('$v'))\"); done"
    ));
    let want: Map<String, Value> = listed
        .lines()
        .filter_map(|l| l.split_once(" v"))
        .map(|(n, v)| (n.to_string(), json!([v])))
        .collect();
    assert_eq!(fact(&t, "uv.UvTools", &[]), Value::Object(want));
    assert_eq!(fact(&t, "uv.UvToolDir", &[]), json!(UV_TOOLS));
    assert_eq!(
        fact(&t, "uv.UvVersion", &[]),
        json!(t.check("uv --version"))
    );

    // `latest` upgrades a tool named without a version, on every run
    unchanged(&t, &deploy(&tools("'PyCowSay'")), &["deploy.py"]);
    let dir = deploy(&tools("'pycowsay', latest=True"));
    always_changes(&t, &dir, &["deploy.py"]);
    assert_ne!(
        pycowsay_version(&t, &format!("{UV_TOOLS}/pycowsay")),
        "0.0.0.1",
        "upgraded to the newest"
    );
    let dir = deploy(&format!(
        "from pyinfra.operations import uv\n\
         uv.tools_upgrade_all(extra_args=['--no-progress'], _env={env})\n"
    ));
    always_changes(&t, &dir, &["deploy.py"]);

    deploy_twice(&t, &tools("'pycowsay', present=False"));
    assert_ne!(t.ssh(&format!("test -e {UV_TOOLS}/pycowsay")).0, 0);
    assert_ne!(t.ssh(&format!("test -e {bin}/pycowsay")).0, 0);

    // `tools_update_shell` in a home of the test's own: uv adds its bin directory to the
    // shell's startup files, which a command run over ssh does not read, so pyinfra runs it
    // again, and uv then fails; with uv's tool directory on PATH (what pyinfra compares, not
    // the bin directory) there is nothing to do
    let home = format!("{base}/home");
    t.check(&format!("mkdir -p {home}"));
    let update = |path: &str| {
        format!(
            "from pyinfra.operations import uv\n\
             uv.tools_update_shell(_env=dict({UV_ENV}, HOME={home:?}{path}))\n"
        )
    };
    let dir = deploy(&update(""));
    t.changes(&dir, &["deploy.py"]);
    let again = t.rinfra(&dir, &["deploy.py"]);
    assert_host_error(
        &again,
        &t.addr,
        &["is not in PATH, but the Bash configuration files are already up-to-date"],
    );
    assert!(
        t.check(&format!(
            "cat {home}/.bashrc {home}/.profile 2>/dev/null; true"
        ))
        .contains(&format!("{home}/.local/bin")),
        "uv tool update-shell should add {home}/.local/bin"
    );
    let tool_dir = format!("{home}/.local/share/uv/tools");
    let on_path = format!(", PATH='{tool_dir}:/usr/local/bin:/usr/bin:/bin'");
    unchanged(&t, &deploy(&update(&on_path)), &["deploy.py"]);
    t.check(&format!("rm -rf {base}"));
}

#[test]
fn uv_venv_packages_and_pythons() {
    let t = host();
    let base = t.fresh_dir("langs-uv");
    let op = |code: &str| format!("from pyinfra.operations import uv\n{code}\n");

    // the environment goes to `path`, but pyinfra checks for `path/.venv`: every run creates
    // it, and this uv refuses an existing one without `allow_existing` or `clear_existing`
    let dir = deploy(&op(&format!(
        "uv.venv({:?}, allow_existing=True, seed=True, link_mode='copy', _env={UV_ENV})",
        format!("{base}/proj")
    )));
    always_changes(&t, &dir, &["deploy.py"]);
    t.check(&format!(
        "test -f {base}/proj/bin/activate && test -x {base}/proj/bin/pip"
    ));
    let dir = deploy(&op(&format!(
        "uv.venv({:?}, _env={UV_ENV})",
        format!("{base}/proj")
    )));
    let r = t.rinfra(&dir, &["deploy.py"]);
    assert_host_error(&r, &t.addr, &["A virtual environment already exists"]);

    // a project's `.venv`: there, then removed once
    t.check(&format!(
        "UV_PYTHON_DOWNLOADS=never uv venv --quiet {base}/app/.venv"
    ));
    let app = format!("{base}/app");
    unchanged(
        &t,
        &deploy(&op(&format!(
            "uv.venv({app:?}, python='python3', _env={UV_ENV})"
        ))),
        &["deploy.py"],
    );
    deploy_twice(
        &t,
        &op(&format!("uv.venv({app:?}, present=False, _env={UV_ENV})")),
    );
    assert_ne!(t.ssh(&format!("test -e {app}/.venv")).0, 0);

    // packages go to the environment `VIRTUAL_ENV` names
    let venv = format!("{base}/proj");
    let env = format!("dict({UV_ENV}, VIRTUAL_ENV={venv:?})");
    let packages = |args: &str| op(&format!("uv.packages({args}, _env={env})"));
    let six = || {
        t.check(&format!(
            "{venv}/bin/python -c 'import six; print(six.__version__)'"
        ))
    };
    deploy_twice(&t, &packages("['six==1.16.0']"));
    assert_eq!(six(), "1.16.0");
    unchanged(&t, &deploy(&packages("'SIX'")), &["deploy.py"]);

    // the fact, read with the same environment, against what the interpreter finds
    let out = TestDir::new();
    let json_file = out.join("uv-pip.json");
    let dir = deploy(&format!(
        "import json\n\
         from pyinfra import host\n\
         from pyinfra.facts.uv import UvPipPackages\n\
         v = host.get_fact(UvPipPackages, _env={env})\n\
         json.dump({{k: sorted(x) for k, x in v.items()}}, open({:?}, 'w'))\n",
        json_file.display().to_string()
    ));
    let r = t.rinfra(&dir, &["deploy.py"]);
    assert_eq!(r.code, 0, "{r:?}");
    let got: Value = serde_json::from_str(&std::fs::read_to_string(&json_file).unwrap()).unwrap();
    let have = versions(&t.check(&distributions(&format!("{venv}/bin/python"))));
    assert_eq!(got["six"], json!(["1.16.0"]), "{got}");
    for (name, version) in got.as_object().unwrap() {
        assert_eq!(&have[name], version, "{name} in {have}");
    }
    assert_eq!(
        got.as_object().unwrap().len(),
        have.as_object().unwrap().len()
    );

    always_changes(&t, &deploy(&packages("'six', latest=True")), &["deploy.py"]);
    assert_ne!(six(), "1.16.0");
    write_remote(&t, &format!("{base}/requirements.txt"), "six==1.16.0\n");
    let requirements = format!(
        "None, requirements={:?}",
        format!("{base}/requirements.txt")
    );
    always_changes(&t, &deploy(&packages(&requirements)), &["deploy.py"]);
    assert_eq!(six(), "1.16.0");
    deploy_twice(
        &t,
        &packages("['six'], present=False, extra_args='--quiet'"),
    );
    assert_ne!(
        t.ssh(&format!("{venv}/bin/python -c 'import six'")).0,
        0,
        "six is gone"
    );

    // Pythons: the system's 3.11 is installed (not managed by uv), no managed one is; both
    // are known without downloading anything
    let system = t.check("python3 -c 'import platform; print(platform.python_version())'");
    let by_version = fact(&t, "uv.UvInstalledPythonsByVersion", &["is_managed=false"]);
    let keys = by_version[&system].as_array().cloned().unwrap_or_default();
    assert!(!keys.is_empty(), "{system} in {by_version}");
    let by_impl = fact(
        &t,
        "uv.UvInstalledPythonsByImplementation",
        &["is_managed=false"],
    );
    for key in &keys {
        assert_eq!(by_impl[key.as_str().unwrap()], json!([system]), "{by_impl}");
    }
    assert_eq!(fact(&t, "uv.UvInstalledPythonsByVersion", &[]), json!({}));
    let available = fact(&t, "uv.UvAvailablePythonsByVersion", &[]);
    assert!(
        available.as_object().is_some_and(|m| m.len() > 5),
        "uv knows Pythons to download: {available}"
    );
    let available_impl = fact(&t, "uv.UvAvailablePythonsByImplementation", &[]);
    assert!(
        available_impl.as_object().is_some_and(|m| m.len() > 5),
        "{available_impl}"
    );
    assert_eq!(
        fact(&t, "uv.UvPythonDir", &[]),
        json!("/root/.local/share/uv/python")
    );
    let dir = deploy(&op(&format!(
        "uv.pythons({system:?}, managed=False, _env={UV_ENV})\n\
         uv.pythons(['3.12'], present=False, _env={UV_ENV})"
    )));
    unchanged(&t, &dir, &["deploy.py"]);
    t.check(&format!("rm -rf {base}"));
}

// ---------------------------------------------------------------------------------------------
// cargo

#[test]
fn cargo_packages() {
    let t = host();
    t.check("cargo uninstall hello-rust >/dev/null 2>&1; true");
    let op = |args: &str| {
        format!("from pyinfra.operations import cargo\ncargo.packages({args}, _env={CARGO_ENV})\n")
    };

    deploy_twice(&t, &op("['hello-rust@0.1.0']"));
    assert_eq!(t.check("/root/.cargo/bin/hello-rust"), "Hello, world!");
    // the fact, against cargo's own record of what it installed
    let crates = t.check(
        "sed -n 's/^\"\\([a-z0-9-]*\\) \\([0-9.]*\\) (.*/\\1 \\2/p' /root/.cargo/.crates.toml",
    );
    assert!(crates.contains("hello-rust 0.1.0"), "{crates}");
    assert_eq!(fact(&t, "cargo.CargoPackages", &[]), versions(&crates));

    // `latest` runs `cargo install` again on every run (cargo finds it up to date)
    unchanged(&t, &deploy(&op("'hello-rust'")), &["deploy.py"]);
    always_changes(
        &t,
        &deploy(&op("'hello-rust', latest=True")),
        &["deploy.py"],
    );
    assert_eq!(t.check("/root/.cargo/bin/hello-rust"), "Hello, world!");

    deploy_twice(&t, &op("'hello-rust', present=False"));
    assert_ne!(t.ssh("test -e /root/.cargo/bin/hello-rust").0, 0);
    assert_eq!(fact(&t, "cargo.CargoPackages", &[]), json!({}));
}
