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
            output::error(&format!("cannot start the async runtime: {e}"));
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            output::error(&e.message);
            if let Some(d) = &e.details {
                for l in d.lines() {
                    output::line(&format!("    {l}"));
                }
            }
            if let Some(h) = &e.hint {
                output::line(&format!("    hint: {h}"));
            }
            ExitCode::from(e.code)
        }
    }
}

async fn run(mut args: Args) -> Result<u8, CliError> {
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
    };
    let inventory_arg = args.inventory.clone().unwrap_or_default();
    let Some(first) = args.operations.first().cloned() else {
        return Err(CliError::usage("no operations given").with_hint(
            "e.g. `rinfra @local exec -- uname -a` or `rinfra inventory.py deploy.py`",
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
        python::add_connectors(&mut connectors)?;
    }

    section("Loading config...");
    let cwd = std::env::current_dir()
        .map_err(|e| CliError::usage(format!("no working directory: {e}")))?;
    let deploy_files: Vec<String> = if first.ends_with(".py") {
        args.operations.clone()
    } else {
        Vec::new()
    };
    if let Some(bad) = deploy_files.iter().find(|f| !f.ends_with(".py")) {
        return Err(
            CliError::usage(format!("`{bad}`: deploy files must all end in .py"))
                .with_hint("run deploy files, or one operation, or exec/fact, not a mix"),
        );
    }
    let config_map = load_config(&args, &cwd, deploy_files.first().map(String::as_str))?;
    let mut defaults = serde_json::Map::new();
    if args.use_sudo_password {
        let pw = prompt::read_secret("sudo password: ")
            .ok_or_else(|| CliError::usage("--use-sudo-password needs a terminal to ask on"))?;
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
        &connectors,
        &inventory_arg,
        &cwd,
        &extra_group_data,
        &overrides,
    )?;
    let hosts = inventory::apply_limits(loaded.hosts, &args.limit, &args.exclude);
    if first == "debug-inventory" {
        commands::debug_inventory::run(&hosts, args.json);
        return Ok(0);
    }
    if hosts.is_empty() {
        return Err(CliError::usage("no hosts selected")
            .with_hint("check the inventory and --limit/--exclude"));
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
    let calls = if is_exec {
        if rest.is_empty() {
            return Err(
                CliError::usage("exec needs a command").with_hint("rinfra @local exec -- uname -a")
            );
        }
        Some(with_config(commands::exec::calls(&state, &rest.join(" "))))
    } else if first == "fact" {
        None
    } else if !deploy_files.is_empty() {
        section("Preparing operations...");
        deploy_loaded = Some(commands::deploy::load_files(&deploy_files)?);
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
    if state.active_hosts().is_empty() {
        output::error("No hosts remaining!");
        section("Disconnecting from hosts...");
        state.disconnect_all().await;
        return Ok(1);
    }
    let work = async {
        match calls {
            None => commands::fact::run(&state, rest, args.json).await,
            Some(mut calls) => {
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
                        output::error("No hosts remaining!");
                        return Ok(1);
                    }
                }
                let mode = commands::run::RunMode {
                    exec: is_exec,
                    dry: args.dry,
                    yes: args.yes || is_exec,
                    json: args.json,
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

/// `--config FILE`, else `config.py` next to the first deploy file, else in the working
/// directory (pyinfra's default).
fn load_config(
    args: &Args,
    cwd: &std::path::Path,
    deploy: Option<&str>,
) -> Result<rinfra_python::ConfigMap, CliError> {
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
            return rinfra_python::load_config_file(&c).map_err(python::python_error);
        }
    }
    Ok(rinfra_python::ConfigMap::new())
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
