//! Deploy evaluation and inventory loading: the controller-side work before any command runs.
//!
//! A deploy file is evaluated once per host (Starlark, with the host's data and facts), so
//! its cost is multiplied by the inventory size: at 1,000 hosts, 1 ms per host is a second of
//! CPU before the first operation. The inventory file is evaluated once, but holds every host.
//!
//! * `evaluate_host`: `bench/rinfra/deploy.py` (the workload of the end-to-end benchmark in
//!   `bench/`: host data, two `host.get_fact` calls, nine operation calls) for one host,
//!   with every built-in operation and fact predeclared (`rinfra_ops::register_all`) and facts
//!   answered from memory as from a warm fact cache;
//! * `load_file`: reading that file (the compatibility pass and a parse), once per run;
//! * `deploy_env`: predeclaring every operation and fact, once per run;
//! * `inventory`: an `inventory.py` of 100 and 1,000 `(name, data)` hosts in one group with
//!   group data (`bench/rinfra/make-inventory.sh`'s shape): evaluating it, then each host's
//!   groups and merged data.
//!
//! Run with `cargo bench -p rinfra-lang --bench deploy`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use divan::{black_box, Bencher};
use rinfra_core::{FactRegistry, OperationRegistry};
use rinfra_lang::{
    merge_host_data, DataLayers, DeployEnv, FactProvider, HostContext, InventorySpec, LoadedFile,
};
use serde_json::{json, Map, Value};

fn main() {
    divan::main();
}

/// The end-to-end benchmark's deploy file, so both measure the same workload.
const DEPLOY: &str = include_str!("../../../bench/rinfra/deploy.py");

/// An inventory of `hosts` hosts, as `bench/rinfra/make-inventory.sh` writes it.
fn inventory_source(hosts: usize) -> String {
    let mut src = String::from("bench_hosts = ([\n");
    for k in 1..=hosts {
        src.push_str(&format!(
            "    (\"h{k}\", {{\"ssh_hostname\": \"127.0.{}.{}\", \"ssh_port\": 22, \"bench_port\": {}}}),\n",
            20 + k / 250,
            1 + k % 250,
            8000 + k
        ));
    }
    src.push_str(
        "], {\n    \"ssh_user\": \"root\", \"ssh_key\": \"/opt/bench/state/client/id_ed25519\", \
         \"ssh_known_hosts_file\": \"/opt/bench/state/known_hosts\",\n    \
         \"ssh_strict_host_key_checking\": \"yes\", \"bench_files\": \"/opt/bench/files\", \
         \"bench_root\": \"/tmp/rinfra-bench-target\",\n})\n",
    );
    src
}

/// Evaluate the inventory, then each host's groups and merged data (no `--data`, no
/// connector data), as the CLI does before connecting: what deploy code sees of each host.
fn load_inventory(src: &str) -> Vec<HostContext> {
    let spec = InventorySpec::from_source("inventory.py", src, Some("inventory"))
        .expect("inventory evaluates");
    let view = Arc::new(spec.view());
    spec.host_entries()
        .into_iter()
        .map(|entry| {
            let groups: Vec<&Map<String, Value>> = entry
                .groups
                .iter()
                .filter_map(|g| spec.groups.get(g).map(|s| &s.data))
                .collect();
            let data = merge_host_data(&DataLayers {
                host_data: Some(&entry.data),
                group_data: groups,
                all_data: Some(&spec.all.data),
                ..Default::default()
            });
            HostContext {
                name: entry.name,
                groups: entry.groups,
                data,
                inventory: view.clone(),
                ..Default::default()
            }
        })
        .collect()
}

/// Facts from memory, keyed by name and arguments like the engine's per-host fact cache.
struct MemoryFacts {
    table: HashMap<String, Value>,
}

impl MemoryFacts {
    fn for_host(data: &Map<String, Value>, name: &str) -> Self {
        let root = data["bench_root"].as_str().unwrap_or_default();
        let mut table = HashMap::new();
        table.insert(Self::key("server.Os", &Map::new()), json!("Linux"));
        // The file the shell command creates is missing: the command runs.
        let shell_out = json!({"path": format!("{root}/{name}/app/shell.out")});
        table.insert(
            Self::key("files.File", shell_out.as_object().expect("object")),
            Value::Null,
        );
        Self { table }
    }

    fn key(fact: &str, args: &Map<String, Value>) -> String {
        let mut key = String::from(fact);
        for (k, v) in args {
            key.push_str(&format!(" {k}={v}"));
        }
        key
    }
}

impl FactProvider for MemoryFacts {
    fn get_fact(&self, fact: &str, args: Map<String, Value>) -> Result<Value, String> {
        let key = Self::key(fact, &args);
        self.table
            .get(&key)
            .cloned()
            .ok_or_else(|| format!("no fact {key}"))
    }
}

fn registries() -> (Arc<OperationRegistry>, Arc<FactRegistry>) {
    let mut facts = FactRegistry::new();
    let mut ops = OperationRegistry::new();
    rinfra_ops::register_all(&mut facts, &mut ops);
    (Arc::new(ops), Arc::new(facts))
}

fn cwd() -> PathBuf {
    std::env::temp_dir().join("rinfra-bench")
}

#[divan::bench]
fn evaluate_host(bencher: Bencher) {
    let (ops, facts) = registries();
    let env = DeployEnv::new(ops, facts, cwd());
    let file = LoadedFile::from_source(&cwd().join("deploy.py"), "deploy.py", DEPLOY)
        .expect("deploy.py loads");
    let host = load_inventory(&inventory_source(1_000)).swap_remove(41);
    let provider = MemoryFacts::for_host(&host.data, &host.name);
    let out = env
        .evaluate(&file, 0, &host, &provider)
        .expect("deploy evaluates");
    // The shell command's output file is missing, so every operation is called.
    assert!(
        out.calls.iter().any(|c| c.op == "server.shell"),
        "{:?}",
        out.calls
    );
    bencher.bench(|| {
        env.evaluate(black_box(&file), 0, black_box(&host), &provider)
            .map(|out| out.calls.len())
    });
}

#[divan::bench]
fn load_file() -> Result<LoadedFile, rinfra_lang::LangError> {
    LoadedFile::from_source(&cwd().join("deploy.py"), "deploy.py", black_box(DEPLOY))
}

#[divan::bench]
fn deploy_env(bencher: Bencher) {
    let (ops, facts) = registries();
    bencher.bench(|| DeployEnv::new(ops.clone(), facts.clone(), cwd()));
}

#[divan::bench(args = [100, 1_000])]
fn inventory(bencher: Bencher, hosts: usize) {
    let src = inventory_source(hosts);
    assert_eq!(load_inventory(&src).len(), hosts);
    bencher
        .counter(divan::counter::ItemsCount::new(hosts))
        .bench(|| load_inventory(black_box(&src)));
}
