//! Deploy files: the compatibility rewrite, loading and evaluation for one host with `NoFacts`.
//!
//! What deploy code can reach outside Starlark: `local.include`, `local.read_file` and
//! `from helper import x` (`load`) read files; `os.path.exists`/`isfile`/`isdir` stat paths;
//! `os.environ`/`getenv` read the environment. Nothing writes, and nothing runs a command at
//! evaluation time (`local.shell` is an error; `python.call` callbacks and `_if` callables only
//! run at execute time, which this target never reaches). The working directory is a private
//! temporary directory with a few files to include, import and read. So that a mutated path
//! cannot name a device or a FIFO (`/dev/zero`, `/proc/kmsg`), inputs mentioning `dev`, `proc`,
//! `sys`, `fd` or `tty` are only rewritten and parsed, not evaluated. libFuzzer's `-timeout`
//! and `-rss_limit_mb` bound the rest (Starlark has no `while`, but `range(10**9)` loops).
#![no_main]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use rinfra_core::{FactRegistry, OperationRegistry};
use rinfra_lang::{compat_rewrite, DeployEnv, HostContext, InventoryView, LoadedFile, NoFacts};

struct Setup {
    dir: PathBuf,
    env: DeployEnv,
    host: HostContext,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir").keep();
        std::fs::create_dir_all(dir.join("tasks")).expect("mkdir");
        let files = [
            ("helper.py", "def greet(name):\n    return 'hello ' + name\nVALUE = 3\n"),
            (
                "tasks/inc.py",
                "from pyinfra.operations import server\nserver.shell(name='inc', commands=['true'])\n",
            ),
            ("tasks/self.py", "local.include('tasks/self.py')\n"),
            ("data.txt", "some text\n"),
        ];
        for (name, text) in files {
            std::fs::write(dir.join(name), text).expect("write");
        }
        let mut facts = FactRegistry::new();
        let mut ops = OperationRegistry::new();
        rinfra_ops::register_all(&mut facts, &mut ops);
        let env = DeployEnv::new(Arc::new(ops), Arc::new(facts), dir.clone());
        let mut data = serde_json::Map::new();
        data.insert("app_user".into(), "app".into());
        data.insert("ports".into(), serde_json::json!([80, 443]));
        let mut inventory = InventoryView::default();
        inventory.hosts = vec!["web1".into(), "db1".into()];
        inventory.groups.insert("web".into(), vec!["web1".into()]);
        let host = HostContext {
            name: "web1".into(),
            groups: vec!["web".into()],
            data,
            inventory: Arc::new(inventory),
            ..Default::default()
        };
        Setup { dir, env, host }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let _ = compat_rewrite("deploy.py", source);
    let s = setup();
    let Ok(file) = LoadedFile::from_source(&s.dir.join("deploy.py"), "deploy.py", source) else {
        return;
    };
    if ["dev", "proc", "sys", "fd", "tty"]
        .iter()
        .any(|w| source.contains(w))
    {
        return;
    }
    if let Ok(out) = s.env.evaluate(&file, 0, &s.host, &NoFacts) {
        let _ = (out.calls.len(), out.config.len(), out.messages.len());
    }
});
