//! `@terraform` and `@vagrant` through the registry, running their tools from PATH.
//!
//! Neither terraform nor vagrant can be installed on the test machines, so this test puts small
//! **stand-in executables** named `terraform` and `vagrant` in a temp dir prepended to PATH.
//! They print what the real tools print, in the formats their documentation gives:
//! `terraform output -json` (an object of output name → `{sensitive, type, value}`),
//! `vagrant status --machine-readable` (`timestamp,target,type,data` lines) and
//! `vagrant ssh-config VM` (an OpenSSH config block per machine), and record how they were
//! called so the exact command lines are checked too.

mod suite;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rinfra_connectors::*;
use suite::write_executable;

/// The stand-ins' directory, prepended to PATH once for the whole test binary.
fn bin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let script = |name: &str, body: &str| {
            let path = dir.join(name);
            write_executable(&path, &format!("#!/bin/sh\nhere=$(dirname \"$0\")\n{body}"));
        };
        script(
            "terraform",
            r#"echo "terraform $*" >> "$here/calls"
if [ "$1 $2" = "output -json" ]; then exec cat "$here/terraform-output.json"; fi
echo "Usage: terraform [global options] <subcommand> [args]" >&2; exit 1
"#,
        );
        script(
            "vagrant",
            r#"echo "vagrant $*" >> "$here/calls"
case "$1 $2" in
  "status --machine-readable") exec cat "$here/vagrant-status" ;;
  "ssh-config "*)
    if [ -f "$here/vagrant-ssh-config-$2" ]; then exec cat "$here/vagrant-ssh-config-$2"; fi
    echo "The machine with the name '$2' was not found configured for this Vagrant environment." >&2
    exit 1 ;;
esac
exit 1
"#,
        );
        let path = std::env::var("PATH").unwrap_or_default();
        std::env::set_var("PATH", format!("{}:{path}", dir.display()));
        dir
    })
}

fn calls(tool: &str) -> Vec<String> {
    std::fs::read_to_string(bin_dir().join("calls"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with(tool))
        .map(str::to_string)
        .collect()
}

fn names(hosts: &[NameData]) -> Vec<&str> {
    hosts.iter().map(|h| h.name.as_str()).collect()
}

#[test]
fn terraform_outputs() {
    let dir = bin_dir();
    // `terraform output -json` for outputs `pyinfra_inventory` (a list of addresses),
    // `server_group` (an object holding a list of host objects) and `by_role` (groups).
    std::fs::write(
        dir.join("terraform-output.json"),
        r#"{
  "pyinfra_inventory": {
    "sensitive": false,
    "type": ["tuple", ["string", "string"]],
    "value": ["10.0.0.1", "10.0.0.2"]
  },
  "server_group": {
    "sensitive": false,
    "type": ["object", {"server_group_node_ips": ["tuple", [["object", {}]]]}],
    "value": {
      "server_group_node_ips": [
        {"ssh_hostname": "1.2.3.4", "ssh_user": "ssh-user"},
        {"name": "named", "ssh_hostname": "1.2.3.5", "ssh_port": 2222}
      ]
    }
  },
  "by_role": {
    "sensitive": false,
    "type": ["object", {}],
    "value": {"web": ["10.1.0.1"], "db": [{"name": "db1", "ssh_hostname": "10.2.0.1"}]}
  },
  "count": {"sensitive": false, "type": "number", "value": 3}
}"#,
    )
    .unwrap();
    let registry = ConnectorRegistry::with_builtins();

    let (connector, hosts) = registry.make_names_data("@terraform").unwrap();
    assert_eq!(connector, "terraform");
    assert_eq!(
        names(&hosts),
        ["@terraform/10.0.0.1", "@terraform/10.0.0.2"]
    );
    assert_eq!(hosts[0].data["ssh_hostname"], "10.0.0.1");
    assert_eq!(hosts[0].groups, ["@terraform", "all"]);
    assert_eq!(calls("terraform").last().unwrap(), "terraform output -json");

    let (_, hosts) = registry
        .make_names_data("@terraform/server_group.value.server_group_node_ips")
        .unwrap();
    assert_eq!(names(&hosts), ["@terraform/1.2.3.4", "@terraform/named"]);
    assert_eq!(hosts[0].data["ssh_user"], "ssh-user");
    assert_eq!(hosts[1].data["ssh_port"], 2222);
    assert_eq!(hosts[1].data["ssh_hostname"], "1.2.3.5");
    assert!(!hosts[1].data.contains_key("name"));

    let (_, hosts) = registry
        .make_names_data("@terraform/by_role.value")
        .unwrap();
    assert_eq!(names(&hosts), ["@terraform/10.1.0.1", "@terraform/db1"]);
    assert_eq!(hosts[0].groups, ["@terraform", "web"]);
    assert_eq!(hosts[1].groups, ["@terraform", "db"]);

    let err = registry
        .make_names_data("@terraform/missing.value")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no Terraform output with key `missing.value`"),
        "{err}"
    );
    assert!(
        err.contains("   - server_group.value.server_group_node_ips"),
        "{err}"
    );
    let err = registry
        .make_names_data("@terraform/count.value")
        .unwrap_err()
        .to_string();
    assert!(err.contains("should be `list`, got `number`"), "{err}");

    // Inventory only: its hosts go to the SSH connector.
    assert!(!registry.get("terraform").unwrap().handles_execution());
    let host = HostContext::new(
        &hosts[0].name,
        hosts[0].data.clone(),
        Arc::new(SilentReporter),
    );
    let err = registry.new_connector("terraform", host).err().unwrap();
    assert!(err.to_string().contains("ssh"), "{err}");

    // Broken output and a missing tool are explained.
    std::fs::write(dir.join("terraform-output.json"), "not json").unwrap();
    let err = registry
        .make_names_data("@terraform")
        .unwrap_err()
        .to_string();
    assert!(err.contains("invalid JSON"), "{err}");
    let err = TerraformInventory::with_program("/nonexistent/terraform")
        .make_names_data(None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot run `/nonexistent/terraform output -json`"),
        "{err}"
    );
}

#[test]
fn vagrant_machines() {
    let dir = bin_dir();
    // `vagrant status --machine-readable` with two running machines and a stopped one.
    std::fs::write(
        dir.join("vagrant-status"),
        "1700000000,web,metadata,provider,virtualbox\n\
         1700000000,web,provider-name,virtualbox\n\
         1700000000,web,state,running\n\
         1700000000,web,state-human-short,running\n\
         1700000000,web,state-human-long,The VM is running. To stop this VM%!(VAGRANT_COMMA) you can run `vagrant halt`\n\
         1700000000,db,metadata,provider,virtualbox\n\
         1700000000,db,state,poweroff\n\
         1700000000,cache,metadata,provider,virtualbox\n\
         1700000000,cache,state,running\n\
         1700000000,,ui,info,Current machine states:\n",
    )
    .unwrap();
    for (vm, port) in [("web", 2222), ("cache", 2200)] {
        std::fs::write(
            dir.join(format!("vagrant-ssh-config-{vm}")),
            format!(
                "Host {vm}\n  HostName 127.0.0.1\n  User vagrant\n  Port {port}\n  \
                 UserKnownHostsFile /dev/null\n  StrictHostKeyChecking no\n  \
                 PasswordAuthentication no\n  \
                 IdentityFile /home/me/project/.vagrant/machines/{vm}/virtualbox/private_key\n  \
                 IdentitiesOnly yes\n  LogLevel FATAL\n  PubkeyAcceptedKeyTypes +ssh-rsa\n  \
                 HostKeyAlgorithms +ssh-rsa\n\n"
            ),
        )
        .unwrap();
    }
    let options = dir.join("vagrant.json");
    std::fs::write(
        &options,
        r#"{"data": {"web": {"ssh_user": "root", "app_port": 8080}}, "groups": {"web": ["webservers"]}}"#,
    )
    .unwrap();
    let mut registry = ConnectorRegistry::with_builtins();
    registry.register(Arc::new(VagrantInventory::with_options_file(&options)));

    let (connector, hosts) = registry.make_names_data("@vagrant").unwrap();
    assert_eq!(connector, "vagrant");
    assert_eq!(names(&hosts), ["@vagrant/web", "@vagrant/cache"]);
    let web = &hosts[0];
    assert_eq!(web.data["ssh_hostname"], "127.0.0.1");
    assert_eq!(web.data["ssh_port"], 2222);
    assert_eq!(web.data["ssh_user"], "root", "@vagrant.json data wins");
    assert_eq!(web.data["app_port"], 8080);
    assert_eq!(
        web.data["ssh_key"],
        "/home/me/project/.vagrant/machines/web/virtualbox/private_key"
    );
    assert_eq!(web.groups, ["webservers", "@vagrant"]);
    assert_eq!(hosts[1].data["ssh_user"], "vagrant");
    assert_eq!(hosts[1].groups, ["@vagrant"]);
    let vagrant_calls = calls("vagrant");
    assert!(vagrant_calls.contains(&"vagrant status --machine-readable".to_string()));
    assert!(vagrant_calls.contains(&"vagrant ssh-config web".to_string()));
    assert!(vagrant_calls.contains(&"vagrant ssh-config cache".to_string()));
    assert!(
        !vagrant_calls.iter().any(|c| c.ends_with("ssh-config db")),
        "stopped machines are skipped: {vagrant_calls:?}"
    );

    let (_, hosts) = registry.make_names_data("@vagrant/cache").unwrap();
    assert_eq!(names(&hosts), ["@vagrant/cache"]);
    let err = registry
        .make_names_data("@vagrant/db")
        .unwrap_err()
        .to_string();
    assert_eq!(err, "no running Vagrant instances matching `db` found");
    assert!(!registry.get("vagrant").unwrap().handles_execution());

    // vagrant's own errors come through.
    std::fs::write(
        dir.join("vagrant-status"),
        "1700000000,ghost,state,running\n",
    )
    .unwrap();
    let err = registry
        .make_names_data("@vagrant")
        .unwrap_err()
        .to_string();
    assert!(err.contains("`vagrant ssh-config ghost` failed"), "{err}");
    assert!(err.contains("was not found configured"), "{err}");
}
