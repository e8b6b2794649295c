//! Facts loaded together by one shared command (one `stat`, one `sha1sum` for many paths) have
//! exactly the values each fact's own command gives, on a real shell (`@local`), for every kind
//! of path: files, directories, links, dangling links, missing paths, names with spaces, and
//! names that cannot share (quotes, newlines) mixed in.

use std::os::unix::fs::{symlink, PermissionsExt};
use std::sync::Arc;

use rinfra_connectors::{ConnectorArguments, ConnectorRegistry, HostContext, SilentReporter};
use rinfra_core::{Fact, FactArgs, FactRegistry, Host};

fn local_host() -> Host {
    let ctx = HostContext::new("@local", Default::default(), Arc::new(SilentReporter));
    Host::new(
        "@local".into(),
        vec![],
        Default::default(),
        ConnectorRegistry::with_builtins()
            .new_connector("local", ctx)
            .unwrap(),
    )
}

fn path_args(path: &str) -> FactArgs {
    serde_json::json!({ "path": path })
        .as_object()
        .unwrap()
        .clone()
}

/// Write a file whose access time reading it will not change: the `File` fact shows `atime`
/// (seconds), and with `relatime` the batch's `sha1sum` would move it past the file's mtime
/// before the single runs stat it, whenever a second boundary falls in between.
fn write(path: &std::path::Path, content: &str) {
    std::fs::write(path, content).unwrap();
    let now = std::time::SystemTime::now();
    let times = std::fs::FileTimes::new()
        .set_modified(now)
        .set_accessed(now + std::time::Duration::from_secs(3600));
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_times(times)
        .unwrap();
}

#[tokio::test]
async fn shared_loads_match_single_runs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("f"), "content\n");
    std::fs::set_permissions(root.join("f"), std::fs::Permissions::from_mode(0o640)).unwrap();
    std::fs::create_dir(root.join("d")).unwrap();
    write(&root.join("a b"), "spaced\n");
    write(&root.join("q'uote"), "quoted\n");
    write(&root.join("new\nline"), "odd\n");
    symlink(root.join("f"), root.join("l")).unwrap();
    symlink(root.join("gone"), root.join("dangling")).unwrap();
    let names = [
        "f",
        "d",
        "a b",
        "q'uote",
        "new\nline",
        "l",
        "dangling",
        "missing",
    ];
    let paths: Vec<String> = names
        .iter()
        .map(|n| root.join(n).to_str().unwrap().to_string())
        .collect();

    let mut registry = FactRegistry::new();
    rinfra_ops::register_facts(&mut registry);
    let facts: Vec<&Arc<dyn Fact>> = [
        "files.File",
        "files.Directory",
        "files.Link",
        "files.Sha1File",
        "files.Sha256File",
        "files.Md5File",
    ]
    .iter()
    .map(|n| registry.get(n).unwrap())
    .collect();
    let conn = ConnectorArguments::default();

    let batched = local_host();
    let requests: Vec<(&dyn Fact, FactArgs)> = facts
        .iter()
        .flat_map(|f| paths.iter().map(|p| (f.as_ref(), path_args(p))))
        .collect();
    let shared_lines = std::sync::Mutex::new(0);
    batched
        .prefetch_facts(&requests, &conn, false, &|_, _| {
            *shared_lines.lock().unwrap() += 1;
        })
        .await;
    assert_eq!(
        *shared_lines.lock().unwrap(),
        requests.len(),
        "every fact loaded in the batch"
    );

    let single = local_host();
    for (fact, args) in &requests {
        let want = single
            .get_fact(*fact, args, &conn, false, &|_| {})
            .await
            .unwrap();
        let got = batched.cached_fact(*fact, args, &conn);
        assert_eq!(got, Some(want), "{} of {:?}", fact.name(), args["path"]);
    }
}
