//! The `rinfra` binary: argument parsing, the error edge and dispatch to the CLI forms.
//! Everything printed goes through `output`.

mod args;
mod commands;
mod diff;
mod error;
mod inventory;
mod output;
mod panic_report;
mod prompt;
mod python;
mod registries;
mod settings;
mod unknown_name;

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use rinfra_core::State;

use crate::args::Args;
use crate::error::CliError;
use crate::output::{section, Printer};

fn main() -> ExitCode {
    let args = Args::parse();
    rinfra_core::raise_open_file_limit();
    rinfra_core::limit_malloc_arenas();
    panic_report::install();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            output::print_error(
                &CliError::run_failed("cannot start the async runtime").caused_by(e),
            );
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            output::print_error(&e);
            ExitCode::from(e.code())
        }
    }
}

async fn run(mut args: Args) -> Result<u8, CliError> {
    if args.support {
        print_support();
        return Ok(0);
    }
    if !args.yes {
        args.yes = env_flag("RINFRA_YES")? || env_flag("PYINFRA_YES")?;
    }
    // pyinfra's --chdir: the local working directory, first (inventory, deploy and config
    // paths are then relative to it).
    if let Some(dir) = &args.chdir {
        std::env::set_current_dir(dir).map_err(|e| {
            CliError::usage(format!(
                "cannot change to the directory `{dir}` (`--chdir`)"
            ))
            .caused_by(e)
        })?;
    }
    if args.ssh_password_prompt {
        let pw = prompt::read_secret("SSH password: ")
            .ok_or_else(|| CliError::usage("--ssh-password-prompt needs a terminal to ask on"))?;
        args.password = Some(pw);
    }
    args.debug |= args.debug_all;
    if args.debug {
        // --debug shows everything -vvv shows, plus the run's settings below.
        args.verbose = args.verbose.max(3);
    }
    let first_deploy = args
        .operations
        .first()
        .filter(|o| o.ends_with(".py"))
        .map(String::as_str);
    let templates = registries::templates_file(args.config.as_deref(), first_deploy);
    let mut connectors = registries::connectors(templates.as_deref())?;
    let (facts, ops) = registries::facts_and_ops();
    if args.list_connectors {
        python::start(&ops, &facts, args.verbose, args.json)?;
        python::add_connectors(&mut connectors)?;
        commands_list_connectors(&connectors);
        return Ok(0);
    }
    let is_exec = args.operations.first().is_some_and(|o| o == "exec");
    let printer = Printer {
        verbose: args.verbose,
        streams_output: args.verbose >= 3 || is_exec,
        ask_on_failure: !args.yes && !args.json,
        print_fact_info: args.operations.first().is_some_and(|o| o == "fact"),
    };
    let inventory_arg = args.inventory.clone().unwrap_or_default();
    let Some(first) = args.operations.first().cloned() else {
        return Err(CliError::usage("no operations given").with_hint(
            "add what to run after the inventory: deploy files, an operation, `exec -- COMMAND`, \
             `fact NAME` or `debug-inventory` (e.g. `rinfra @local exec -- uname -a`)",
        ));
    };

    // Python starts only when a Python file or a Python connector is involved: `rinfra @local
    // exec -- id` needs none.
    let inventory_is_python = std::path::Path::new(&inventory_arg).is_file();
    if first.ends_with(".py")
        || inventory_is_python
        || std::path::Path::new("config.py").is_file()
        || args.config.as_deref().is_some_and(python::is_python_file)
        || !args.group_data.is_empty()
        || std::path::Path::new("group_data").is_dir()
        || python::names_unknown_connector(&connectors, &inventory_arg)
        || python::may_be_inventory_function(&inventory_arg)
    {
        python::start(&ops, &facts, args.verbose, args.json)?;
        // Finding Python connectors reads every installed package's entry points: only when
        // a host names a connector rinfra does not have (here, or in the inventory file).
        if python::names_unknown_connector(&connectors, &inventory_arg) {
            python::add_connectors(&mut connectors)?;
        }
    }

    section("Loading config...");
    let cwd = std::env::current_dir()
        .map_err(|e| CliError::usage("the working directory is not readable").caused_by(e))?;
    let deploy_files: Vec<String> = if first.ends_with(".py") {
        args.operations
            .iter()
            .map(|f| deploy_file_under_chdir(f, args.chdir.as_deref()))
            .collect()
    } else {
        Vec::new()
    };
    if let Some(bad) = deploy_files.iter().find(|f| !f.ends_with(".py")) {
        return Err(
            CliError::usage(format!("`{bad}`: deploy files must all end in .py"))
                .with_hint("run deploy files, or one operation, or `exec`/`fact`, not a mix"),
        );
    }
    let (config_map, config_file) =
        load_config(&args, &cwd, deploy_files.first().map(String::as_str))?;
    let connect_timeout = connect_timeout(&args, &config_map, config_file.as_deref())?;
    let mut defaults = serde_json::Map::new();
    if args.use_sudo_password || args.same_sudo_password {
        let flag = if args.same_sudo_password {
            "--same-sudo-password"
        } else {
            "--use-sudo-password"
        };
        let pw = prompt::read_secret("sudo password: ")
            .ok_or_else(|| CliError::usage(format!("{flag} needs a terminal to ask on")))?;
        defaults.insert("_sudo_password".into(), serde_json::Value::String(pw));
    }
    let mut config = settings::run_config(&args, defaults);
    settings::apply_config_file(&mut config, &config_map);
    config.deploy_dir = cwd.clone();

    section("Loading inventory...");
    let overrides = settings::data_overrides(&args)?;
    let extra_group_data: Vec<std::path::PathBuf> =
        args.group_data.iter().map(Into::into).collect();
    let loaded = inventory::load(
        &mut connectors,
        &inventory_arg,
        &cwd,
        &extra_group_data,
        &overrides,
    )?;
    let mut hosts = inventory::apply_limits(loaded.hosts, &args.limit, &args.exclude);
    if first == "debug-inventory" {
        commands::debug_inventory::run(&hosts, args.json);
        return Ok(0);
    }
    if let Some(t) = connect_timeout {
        for h in &mut hosts {
            h.data
                .entry("ssh_connect_timeout")
                .or_insert_with(|| serde_json::Value::from(t));
        }
    }
    if hosts.is_empty() {
        return Err(CliError::usage("no hosts selected").with_hint(
            "check that `--limit`/`--exclude` match host or group names of the inventory",
        ));
    }

    if is_exec {
        // `exec` always shows the command's output, as pyinfra does.
        config.print_output = true;
    }
    let reporter: Arc<Printer> = Arc::new(printer);
    let hosts = inventory::make_hosts(&connectors, hosts, reporter.clone())?;
    let state = Arc::new(State::new(hosts, facts, ops, config, reporter.clone()));
    if args.debug {
        output::line(&format!(
            "    debug: {} host(s), parallel {}, {} operations and {} facts known, cwd {}",
            state.hosts.len(),
            state.parallel(),
            state.ops.names().count(),
            state.facts.names().count(),
            cwd.display()
        ));
        for h in &state.hosts {
            output::line(&format!("    debug: [{}] groups {:?}", h.name, h.groups));
        }
    }

    // Validate what can be validated before connecting to anything.
    let mut rest = &args.operations[1..];
    if is_exec && rest.first().is_some_and(|a| a == "--") {
        rest = &rest[1..];
    }
    let config_args = rinfra_python::config_to_global_args(&config_map);
    let with_config = |mut calls: Vec<Vec<rinfra_core::OpCall>>| {
        calls
            .iter_mut()
            .flatten()
            .for_each(|c| c.config_args = config_args.clone());
        calls
    };
    let mut deploy_loaded = None;
    let mut fact_requests = Vec::new();
    let mut preparing = commands::prepare::Preparing::func(&first);
    let calls = if is_exec {
        if rest.is_empty() {
            return Err(CliError::usage("exec needs a command")
                .with_hint("give the command after `--`, e.g. `rinfra @local exec -- uname -a`"));
        }
        preparing = commands::prepare::Preparing::Exec;
        Some(with_config(commands::exec::calls(&state, &rest.join(" "))))
    } else if first == "fact" {
        fact_requests = commands::fact::requests(&state, rest)?;
        None
    } else if !deploy_files.is_empty() {
        // Compiled before connecting: a syntax error must not touch any host.
        deploy_loaded = Some(commands::deploy::load_files(&deploy_files)?);
        preparing = commands::prepare::Preparing::Files(deploy_files.clone());
        Some(Vec::new())
    } else if state.ops.get(&first).is_none() && (first.contains('.') || first.contains(':')) {
        // Not one of rinfra's operations: a deploy function (`tasks.install`), as pyinfra
        // looks it up: a local module first, then `pyinfra.operations.<module>`.
        python::start(&state.ops, &state.facts, args.verbose, args.json)?;
        match commands::deploy::function(&first, &cwd, rest)? {
            Some(deploy) => {
                deploy_loaded = Some(deploy);
                Some(Vec::new())
            }
            None => Some(with_config(commands::op::calls(
                &state, &state.ops, &first, rest,
            )?)),
        }
    } else {
        Some(with_config(commands::op::calls(
            &state, &state.ops, &first, rest,
        )?))
    };

    section("Connecting to hosts...");
    state.connect_all().await;
    // As pyinfra: a blank line ends the hosts' connection lines.
    output::line("");
    if state.active_hosts().is_empty() {
        section("Disconnecting from hosts...");
        state.disconnect_all().await;
        return Err(CliError::run_failed("No hosts remaining!").with_hint(
            "check the hosts' addresses and credentials: each `Could not connect` above says why",
        ));
    }
    // As pyinfra without -y (and not --json): hosts that failed to connect stop the run
    // unless the operator goes on. Without a terminal the others go on, as before.
    if !args.yes && !args.json && !state.failed_hosts().is_empty() && prompt::has_terminal() {
        output::line("    One or more hosts failed to connect, continue?");
        if let prompt::Answer::Other(v) = prompt::press_enter("    Press enter to continue...") {
            output::line(&format!("    Unexpected user input: {v}"));
            section("Disconnecting from hosts...");
            state.disconnect_all().await;
            return Ok(1);
        }
    }
    let work = async {
        match calls {
            None => commands::fact::run(&state, fact_requests, args.json).await,
            Some(mut calls) => {
                preparing.start();
                if let Some(deploy) = deploy_loaded.take() {
                    calls = commands::deploy::evaluate(
                        &state,
                        Arc::new(deploy),
                        &config_map,
                        &loaded.view,
                        &cwd,
                    )
                    .await?;
                    if state.active_hosts().is_empty() {
                        return Err(CliError::run_failed("No hosts remaining!"));
                    }
                }
                preparing.finish(&state);
                let mode = commands::run::RunMode {
                    exec: is_exec,
                    dry: args.dry,
                    yes: args.yes || is_exec,
                    json: args.json,
                    debug_operations: args.debug_operations,
                    stop_before_execute: args.debug_facts || args.debug_operations,
                    host_stats: args.verbose >= 1,
                };
                commands::run::run_calls(&state, calls, mode).await
            }
        }
    };
    // Ctrl-C: stop where we are (dropping the run aborts its tasks and kills local processes),
    // then still disconnect every host cleanly and exit 130, as a shell would.
    let result = tokio::select! {
        r = work => r,
        _ = tokio::signal::ctrl_c() => {
            output::finish_progress();
            output::error("interrupted: stopping, operations that did not finish are reported above");
            Ok(130)
        }
    };
    section("Disconnecting from hosts...");
    state.disconnect_all().await;
    result
}

/// A boolean environment variable as click reads one (`PYINFRA_YES`, and `RINFRA_YES` the same
/// way): unset or empty is false.
fn env_flag(name: &str) -> Result<bool, CliError> {
    let Ok(v) = std::env::var(name) else {
        return Ok(false);
    };
    match v.trim().to_ascii_lowercase().as_str() {
        "" | "0" | "false" | "f" | "no" | "n" | "off" => Ok(false),
        "1" | "true" | "t" | "yes" | "y" | "on" => Ok(true),
        _ => Err(CliError::usage(format!(
            "{name}={v:?}: expected a boolean (1/0, true/false, yes/no, on/off)"
        ))),
    }
}

/// pyinfra's fix for a deploy file named with the --chdir directory in front
/// (`--chdir deploy deploy/web.py` → `web.py`), with its warning.
fn deploy_file_under_chdir(file: &str, chdir: Option<&str>) -> String {
    if let Some(dir) = chdir {
        if !std::path::Path::new(file).exists() {
            if let Ok(rel) = std::path::Path::new(file).strip_prefix(dir) {
                let rel = rel.display().to_string();
                output::line(&format!(
                    "    warning: fixing deploy filename under `--chdir` argument: {file} -> {rel}"
                ));
                return rel;
            }
        }
    }
    file.to_string()
}

/// `--support`: what a bug report needs, on stdout in pyinfra's layout (with rinfra's version,
/// the version of pyinfra's API it implements and the embedded Python).
fn print_support() {
    let uname = |flag: &str| {
        std::process::Command::new("uname")
            .arg(flag)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    let (facts, ops) = registries::facts_and_ops();
    let python = python::start(&ops, &facts, 0, false)
        .and_then(|()| rinfra_python::support_info().map_err(python::python_error));
    let unavailable = |e: &CliError| format!("unavailable ({})", e.one_line().replace('\n', " "));
    let mut text = String::from(
        "\n    If you are having issues with rinfra or wish to make feature requests, please\n    \
         include the following in the report:\n\n",
    );
    text.push_str(&format!("    System: {}\n", uname("-s")));
    if let Ok(info) = &python {
        text.push_str(&format!("      Platform: {}\n", info.platform));
    }
    text.push_str(&format!("      Release: {}\n", uname("-r")));
    text.push_str(&format!("      Machine: {}\n", uname("-m")));
    text.push_str(&format!("    rinfra: v{}\n", env!("CARGO_PKG_VERSION")));
    match &python {
        Ok(info) => text.push_str(&format!("      pyinfra API: v{}\n", info.pyinfra_api)),
        Err(e) => text.push_str(&format!("      pyinfra API: {}\n", unavailable(e))),
    }
    let exe = std::env::args().next().unwrap_or_default();
    text.push_str(&format!("    Executable: {exe}\n"));
    match &python {
        Ok(info) => text.push_str(&format!("    Python (embedded): {}", info.python)),
        Err(e) => text.push_str(&format!("    Python (embedded): {}", unavailable(e))),
    }
    output::stdout(&text);
}

/// `--config FILE`, else `config.py` next to the first deploy file, else in the working
/// directory (pyinfra's default).
fn load_config(
    args: &Args,
    cwd: &std::path::Path,
    deploy: Option<&str>,
) -> Result<(rinfra_python::ConfigMap, Option<std::path::PathBuf>), CliError> {
    let explicit = args
        .config
        .as_ref()
        .filter(|c| !c.ends_with(".toml"))
        .map(std::path::PathBuf::from);
    if let Some(p) = &explicit {
        if !p.is_file() {
            return Err(CliError::usage(format!(
                "config file `{}` not found",
                p.display()
            )));
        }
    }
    let beside_deploy = deploy
        .and_then(|d| std::path::Path::new(d).parent())
        .map(|d| d.join("config.py"));
    let candidates = explicit
        .into_iter()
        .chain(beside_deploy)
        .chain(std::iter::once(cwd.join("config.py")));
    for c in candidates {
        if c.is_file() {
            let shown = c.strip_prefix(cwd).unwrap_or(&c).display().to_string();
            let map = rinfra_python::load_config_file(&c).map_err(python::python_cause(
                format!("cannot load the config file `{shown}`"),
            ))?;
            return Ok((map, Some(c)));
        }
    }
    Ok((rinfra_python::ConfigMap::new(), None))
}

/// pyinfra's `CONNECT_TIMEOUT` (seconds for every SSH connection; `--connect-timeout` wins):
/// the default of each host's `ssh_connect_timeout`. `None`/`0` leave the connector's default,
/// as pyinfra passes no timeout then.
fn connect_timeout(
    args: &Args,
    config: &rinfra_python::ConfigMap,
    file: Option<&std::path::Path>,
) -> Result<Option<f64>, CliError> {
    let Some(v) = config.get("CONNECT_TIMEOUT") else {
        return Ok(None);
    };
    let seconds = match v {
        serde_json::Value::Null => return Ok(None),
        serde_json::Value::Number(n) => n.as_f64().filter(|s| *s >= 0.0),
        _ => None,
    };
    let Some(seconds) = seconds else {
        let cwd = std::env::current_dir().unwrap_or_default();
        let file = file.map_or("config".into(), |f| {
            f.strip_prefix(&cwd).unwrap_or(f).display().to_string()
        });
        return Err(CliError::usage(format!(
            "{file}: CONNECT_TIMEOUT must be a number of seconds, not {v}"
        ))
        .with_hint("e.g. `CONNECT_TIMEOUT = 10`, or `None` for the connector's default"));
    };
    Ok((args.connect_timeout.is_none() && seconds > 0.0).then_some(seconds))
}

fn commands_list_connectors(connectors: &rinfra_connectors::ConnectorRegistry) {
    use rinfra_connectors::InventoryConnector;
    section("Connectors:");
    let row = |c: &dyn InventoryConnector, origin: &str| {
        let kind = if c.handles_execution() {
            "executes"
        } else {
            "inventory only"
        };
        output::line(&format!(
            "    @{:<12} {kind:<15} {origin:<9} {}",
            c.name(),
            c.description()
        ));
    };
    for c in connectors.iter() {
        let origin = if c.description().starts_with("Python connector") {
            "python"
        } else {
            "built-in"
        };
        row(c.as_ref(), origin);
    }
    for c in rinfra_connectors::find_external_connectors() {
        if connectors.get(c.name()).is_none() {
            row(&c, "external");
        }
    }
}
