mod common;

use std::sync::Arc;

use common::*;
use indexmap::IndexMap;
use rinfra_lang::{
    group_data_dirs, group_data_from_source, load_group_data, merge_host_data, Data, DataLayers,
    GroupSpec, HostEntry, InventorySpec,
};
use serde_json::json;

fn names(g: &GroupSpec) -> Vec<&str> {
    g.hosts.iter().map(|(n, _)| n.as_str()).collect()
}

#[test]
fn inventory_forms() {
    let inv = InventorySpec::from_source(
        "production.py",
        r#"from pyinfra import inventory
_private = ["hidden"]
app_servers = ["app-1.net", ("app-2.net", {"install_postgres": True})]
db_servers = (["db-1.net"], {"db": "pg"})
targets = ["@docker/ubuntu", "@local"]
port = 22
not_hosts = [1, 2]
"#,
        Some("production"),
    )
    .unwrap();
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
        names(&inv.groups["targets"]),
        vec!["@docker/ubuntu", "@local"]
    );
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
    assert!(inv.warnings[0].contains("not_hosts"));
}

#[test]
fn explicit_all_group_carries_global_data() {
    let inv = InventorySpec::from_source(
        "inventory.py",
        "web = ['w1', 'w2']\nall = (['w1', 'w2', 'x'], {'env': 'prod'})\n",
        Some("inventory"),
    )
    .unwrap();
    assert_eq!(names(&inv.all), vec!["w1", "w2", "x"]);
    assert_eq!(inv.all.data, j(json!({"env": "prod"})));
    assert!(!inv.groups.contains_key("all"));
    assert_eq!(names(&inv.groups["inventory"]), vec!["w1", "w2", "x"]);
}

#[test]
fn host_list_from_command_line() {
    let inv = InventorySpec::from_names("web1, web2,@local");
    assert_eq!(names(&inv.all), vec!["web1", "web2", "@local"]);
    assert!(inv.groups.is_empty());
}

#[test]
fn host_entries_collect_data_and_groups() {
    let inv = InventorySpec::from_source(
        "inv.py",
        "web = [('h1', {'a': 1}), 'h2']\nlb = [('h1', {'a': 2, 'b': 3})]\n",
        None,
    )
    .unwrap();
    assert_eq!(
        inv.host_entries(),
        vec![
            HostEntry {
                name: "h1".into(),
                data: j(json!({"a": 2, "b": 3})),
                groups: vec!["web".into(), "lb".into()]
            },
            HostEntry {
                name: "h2".into(),
                data: Data::new(),
                groups: vec!["web".into()]
            },
        ]
    );
}

#[test]
fn group_data_files() {
    let p = Project::new();
    p.file("inventory.py", "web = ['w1', 'w2']\ndb = ['d1']\n");
    p.file(
        "group_data/all.py",
        "from pyinfra import inventory\nimport os\nssh_user = 'deploy'\nport = 22\n_private = 1\ndef helper():\n    pass\n",
    );
    p.file(
        "group_data/web.py",
        "port = 8080\nweb_hosts = inventory.get_group('web')\nall_hosts = len(inventory)\n",
    );
    p.file("group_data/monitoring.py", "alerts = True\n");
    p.file("group_data/notes.txt", "ignored");
    let mut inv = InventorySpec::load(&p.path().join("inventory.py")).unwrap();
    let dirs = group_data_dirs(p.path(), Some(&p.path().join("inventory.py")), &[]);
    assert_eq!(dirs, vec![p.path().join("group_data")]);
    let gd = load_group_data(&dirs, &inv.view()).unwrap();
    assert_eq!(
        gd["all"],
        j(json!({"ssh_user": "deploy", "port": 22, "_private": 1}))
    );
    assert_eq!(
        gd["web"],
        j(json!({"port": 8080, "web_hosts": ["w1", "w2"], "all_hosts": 3}))
    );
    inv.apply_group_data(gd);
    assert_eq!(
        inv.all.data,
        j(json!({"ssh_user": "deploy", "port": 22, "_private": 1}))
    );
    assert_eq!(inv.groups["web"].data["port"], json!(8080));
    // Group data for a group the inventory does not define creates it, empty.
    assert!(inv.groups["monitoring"].hosts.is_empty());
    assert_eq!(inv.groups["monitoring"].data, j(json!({"alerts": true})));
}

#[test]
fn group_data_imports_do_not_leak() {
    // pyinfra's tests/test_cli/deploy/group_data/imports_leak.py (issue #1297).
    let data = group_data_from_source(
        "group_data/imports_leak.py",
        "import os\nfrom os.path import join as path_join\n\nfrom pyinfra import inventory\n\nexported_value = \"this_should_be_included\"\n\n_underscore = os.name\n",
        Arc::default(),
    )
    .unwrap();
    // pyinfra keeps single-underscore names in group data (`_sudo = True` is common);
    // only `__x` names and imported names are left out.
    assert_eq!(
        data,
        j(json!({"exported_value": "this_should_be_included", "_underscore": "posix"}))
    );
}

#[test]
fn later_group_data_dirs_override() {
    let p = Project::new();
    p.file("a/web.py", "x = 1\ny = 1\n");
    p.file("b/web.py", "y = 2\n");
    let gd = load_group_data(
        &[
            p.path().join("a"),
            p.path().join("missing"),
            p.path().join("b"),
        ],
        &Default::default(),
    )
    .unwrap();
    assert_eq!(gd["web"], j(json!({"x": 1, "y": 2})));
}

#[test]
fn group_data_errors() {
    let e =
        group_data_from_source("group_data/web.py", "x = 1\ny = (\n", Arc::default()).unwrap_err();
    assert_eq!(e.location().unwrap().file, "group_data/web.py");
    let e =
        group_data_from_source("group_data/web.py", "x = host.name\n", Arc::default()).unwrap_err();
    assert!(e.to_string().contains("Variable `host` not found"), "{e}");
}

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

#[test]
fn full_flow_inventory_to_deploy() {
    let p = Project::new();
    p.file("inventory.py", "web = [('w1', {'port': 1}), 'w2']\n");
    p.file("group_data/web.py", "port = 80\nname = 'web'\n");
    p.file("group_data/all.py", "name = 'all'\nregion = 'eu'\n");
    let mut inv = InventorySpec::load(&p.path().join("inventory.py")).unwrap();
    let gd = load_group_data(&group_data_dirs(p.path(), None, &[]), &inv.view()).unwrap();
    inv.apply_group_data(gd);
    let env = p.env();
    let file = env
        .load_file(&p.file(
            "deploy.py",
            "server.shell(f'{host.name} {host.data.port} {host.data.name} {host.data.region}')\n",
        ))
        .unwrap();
    let view = Arc::new(inv.view());
    let mut out = Vec::new();
    for entry in inv.host_entries() {
        let groups: Vec<&Data> = entry.groups.iter().map(|g| &inv.groups[g].data).collect();
        let data = merge_host_data(&DataLayers {
            host_data: Some(&entry.data),
            group_data: groups,
            all_data: Some(&inv.all.data),
            ..Default::default()
        });
        let ctx = rinfra_lang::HostContext {
            name: entry.name.clone(),
            groups: entry.groups.clone(),
            data,
            inventory: view.clone(),
            ..Default::default()
        };
        let res = env.evaluate(&file, 0, &ctx, &rinfra_lang::NoFacts).unwrap();
        out.push(res.calls[0].args["commands"].clone());
    }
    assert_eq!(out, vec![json!("w1 1 web eu"), json!("w2 80 web eu")]);
    let _unused: IndexMap<String, Data> = IndexMap::new();
}

#[test]
fn pyinfra_test_inventories() {
    // pyinfra's tests/test_cli/deploy/inventories/inventory.py
    let inv = InventorySpec::from_source(
        "inventory.py",
        "hosts = (\n    [\n        \"somehost\",\n        (\"anotherhost\", {\"ssh_port\": 1022}),\n    ],\n    {},\n)\n\ngenerator_hosts = (host for host in (\"hosta\", \"hostb\"))\n",
        Some("inventory"),
    )
    .unwrap();
    let groups: Vec<&str> = inv.groups.keys().map(String::as_str).collect();
    assert_eq!(groups, vec!["hosts", "inventory"]);
    assert_eq!(inv.groups["hosts"].hosts[1].1, j(json!({"ssh_port": 1022})));

    // pyinfra's tests/test_cli/inventories/invalid.py: nothing valid in it.
    let inv = InventorySpec::from_source(
        "invalid.py",
        "# Variables names with a leading underscore are ignored\n_hosts = [\"host-1\", \"host-2\", \"host-3\"]\n\n# Dictionaries are not supported\ndict_hosts = {\n    \"host-1\": \"hostname\",\n}\n\n# Generators are not supported\ngenerator_hosts = (host for host in [\"host-1\", \"host-2\"])\n\n# https://github.com/pyinfra-dev/pyinfra/issues/662\nissue_662 = [\"a\", \"b\", ({\"foo\": \"bar\"})]\n",
        None,
    )
    .unwrap();
    assert!(inv.groups.is_empty(), "{:?}", inv.groups);
    assert!(inv.all.hosts.is_empty());
    assert_eq!(inv.warnings.len(), 1);
    assert!(inv.warnings[0].contains("issue_662"));
}

/// `all` is every group's hosts once, in order; built with a set, since a search of the list
/// per host took minutes at 100,000 hosts.
#[test]
fn a_hundred_thousand_hosts_in_groups() {
    let quoted: Vec<String> = (0..100_000).map(|i| format!("\"h{i}\"")).collect();
    let src = format!("web = [{}]\ndb = [\"h5\", \"db1\"]\n", quoted.join(", "));
    let inv = InventorySpec::from_source("inventory.py", &src, None).unwrap();
    let all = names(&inv.all);
    assert_eq!(all.len(), 100_001);
    assert_eq!((all[0], all[99_999], all[100_000]), ("h0", "h99999", "db1"));
}
