//! `rinfra INVENTORY deploy.py [more.py...]`: run the deploy files (Python) once per host;
//! facts asked by deploy code load over that host's connection while the other hosts go on.
//! Then the recorded calls run.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rinfra_connectors::ConnectorArguments;
use rinfra_core::{GlobalArguments, OpCall, State};
use rinfra_python::InventoryView;
use rinfra_python::{Deploy, FactSource, InventoryHost};
use serde_json::{Map, Value};

use crate::error::CliError;
use crate::python::python_cause;

/// `host.get_fact(...)` in deploy code: blocks the evaluating thread on the host's connection.
struct HostFacts {
    state: Arc<State>,
    index: usize,
    args: ConnectorArguments,
    runtime: tokio::runtime::Handle,
}

impl FactSource for HostFacts {
    fn get_fact(
        &self,
        fact: &str,
        args: &Map<String, Value>,
        globals: &Map<String, Value>,
    ) -> Result<Value, String> {
        let connector =
            rinfra_core::apply_overrides(&self.args, globals).map_err(|e| e.to_string())?;
        self.runtime
            .block_on(self.state.get_fact(self.index, fact, args, &connector))
            .map_err(|e| e.to_string())
    }

    fn get_fact_ahead(
        &self,
        fact: &str,
        args: &Map<String, Value>,
        globals: &Map<String, Value>,
        calls: &[OpCall],
    ) -> Result<Value, String> {
        let connector =
            rinfra_core::apply_overrides(&self.args, globals).map_err(|e| e.to_string())?;
        self.runtime
            .block_on(
                self.state
                    .get_fact_ahead(self.index, fact, args, &connector, calls),
            )
            .map_err(|e| e.to_string())
    }
}

/// Compile every deploy file (before connecting: a syntax error must not touch any host).
pub(crate) fn load_files(files: &[String]) -> Result<Deploy, CliError> {
    let paths: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
    if let Some(missing) = paths.iter().find(|p| !p.is_file()) {
        return Err(CliError::usage(format!(
            "deploy file `{}` not found",
            missing.display()
        )));
    }
    let names: Vec<String> = files.iter().map(|f| format!("`{f}`")).collect();
    Deploy::load(&paths).map_err(python_cause(format!(
        "cannot load the deploy {} {}",
        if names.len() == 1 { "file" } else { "files" },
        names.join(", ")
    )))
}

/// `rinfra INVENTORY tasks.install ARG... key=value...`: a deploy function and its arguments
/// (values parsed as pyinfra parses them), or `None` when no module has it.
pub(crate) fn function(path: &str, cwd: &Path, raw: &[String]) -> Result<Option<Deploy>, CliError> {
    let mut args = Vec::new();
    let mut kwargs = Map::new();
    for item in raw {
        match crate::settings::as_keyword_argument(item) {
            Some((k, v)) => {
                kwargs.insert(k, v);
            }
            None => args.push(crate::settings::parse_cli_value(item)),
        }
    }
    Deploy::function(path, cwd, &args, &kwargs).map_err(python_cause(format!(
        "cannot load the deploy function `{path}`"
    )))
}

/// Deploy evaluations running at once. Each holds a blocking thread while it runs, including
/// while a `host.get_fact(...)` waits on the network (with the GIL released); 32 keep the fact
/// round trips overlapping (pyinfra evaluates one host at a time).
const MAX_PARALLEL_EVALUATIONS: usize = 32;

/// Run the deploy for every active host, in parallel; `calls[i]` belongs to host `i`.
pub(crate) async fn evaluate(
    state: &Arc<State>,
    deploy: Arc<Deploy>,
    config: &Map<String, Value>,
    view: &InventoryView,
    cwd: &Path,
) -> Result<Vec<Vec<OpCall>>, CliError> {
    let hosts: Vec<InventoryHost> = state
        .hosts
        .iter()
        .map(|h| InventoryHost {
            name: h.name.clone(),
            groups: h.groups.clone(),
            data: h.data.clone(),
        })
        .collect();
    let groups: Vec<(String, Vec<String>)> = view
        .groups
        .iter()
        .map(|(g, members)| (g.clone(), members.clone()))
        .collect();
    Deploy::setup(&hosts, &groups, cwd, config).map_err(python_cause(
        "cannot set up the deploy's inventory and config",
    ))?;

    let limit = Arc::new(tokio::sync::Semaphore::new(
        state.parallel().min(MAX_PARALLEL_EVALUATIONS),
    ));
    let config_globals = rinfra_python::config_to_global_args(config);
    let mut tasks = tokio::task::JoinSet::new();
    for i in state.active_hosts() {
        let (state, deploy, limit) = (Arc::clone(state), Arc::clone(&deploy), Arc::clone(&limit));
        let config = config.clone();
        let config_globals = config_globals.clone();
        let runtime = tokio::runtime::Handle::current();
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.expect("never closed");
            let args = GlobalArguments::for_host(
                &[],
                &state.hosts[i].data,
                &state.config.global_defaults,
                &config_globals,
            )
            .map(|g| g.connector)
            .unwrap_or_default();
            let facts = Arc::new(HostFacts {
                state: Arc::clone(&state),
                index: i,
                args,
                runtime,
            });
            let result =
                tokio::task::spawn_blocking(move || deploy.evaluate(i, &config, facts)).await;
            (i, result)
        });
    }
    let mut results = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (i, result) = done.map_err(|e| {
            CliError::run_failed("a deploy evaluation stopped unexpectedly").caused_by(e)
        })?;
        let host_calls = result.map_err(|e| {
            CliError::run_failed("a deploy evaluation stopped unexpectedly").caused_by(e)
        })?;
        results.push((i, host_calls));
    }
    // In inventory order, so which host's error ends the run does not depend on which
    // evaluation finished first.
    results.sort_by_key(|(i, _)| *i);
    let mut calls = vec![Vec::new(); state.hosts.len()];
    for (i, host_calls) in results {
        calls[i] = match host_calls {
            Ok(c) => c,
            // A fact that cannot be loaded fails its host; the others go on (pyinfra's way).
            Err(e) if e.is_fact_error() => {
                let name = &state.hosts[i].name;
                crate::output::line(&format!(
                    "    [{name}] {} {e}",
                    crate::output::red("Error:")
                ));
                state.fail_host(i, e.to_string());
                Vec::new()
            }
            Err(e) => {
                let host = &state.hosts[i].name;
                return Err(python_cause(format!("the deploy failed on `{host}`"))(e));
            }
        };
    }
    Ok(calls)
}
