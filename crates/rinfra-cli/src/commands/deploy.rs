//! `rinfra INVENTORY deploy.py [more.py...]`: evaluate the deploy files once per host (facts
//! asked by deploy code load over that host's connection), then run the calls.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rinfra_connectors::ConnectorArguments;
use rinfra_core::{GlobalArguments, OpCall, State};
use rinfra_lang::{DeployEnv, FactProvider, HostContext, InventoryView, LoadedFile};
use serde_json::{Map, Value};

use crate::error::{lang_error, CliError};

/// `host.get_fact(...)` in deploy code: blocks the evaluating thread on the host's connection.
struct HostFacts {
    state: Arc<State>,
    index: usize,
    args: ConnectorArguments,
    runtime: tokio::runtime::Handle,
}

impl FactProvider for HostFacts {
    fn get_fact(&self, fact: &str, args: Map<String, Value>) -> Result<Value, String> {
        self.runtime
            .block_on(self.state.get_fact(self.index, fact, &args, &self.args))
            .map_err(|e| e.to_string())
    }
}

/// Parse every deploy file (before connecting: a syntax error must not touch any host).
pub(crate) fn load_files(env: &DeployEnv, files: &[String]) -> Result<Vec<LoadedFile>, CliError> {
    files
        .iter()
        .map(|f| {
            let path = Path::new(f);
            if !path.is_file() {
                return Err(CliError::usage(format!("deploy file `{f}` not found")));
            }
            env.load_file(path).map_err(lang_error)
        })
        .collect()
}

/// A deploy environment over the state's operations and facts.
pub(crate) fn env(state: &State, cwd: PathBuf) -> DeployEnv {
    DeployEnv::new(
        Arc::new(state.ops.clone()),
        Arc::new(state.facts.clone()),
        cwd,
    )
}

/// Deploy evaluations running at once. Each holds a blocking thread and a starlark evaluator
/// (with its own ~1 MB stack buffer) for as long as it runs, including while a
/// `host.get_fact(...)` waits on the network; with one per host, 1,000 hosts meant ~500
/// threads and ~0.5 MB of memory per host. 32 keep the fact round trips overlapping (pyinfra
/// evaluates one host at a time).
const MAX_PARALLEL_EVALUATIONS: usize = 32;

/// Evaluate `files` for every active host, in parallel; `calls[i]` belongs to host `i`.
pub(crate) async fn evaluate(
    state: &Arc<State>,
    env: &DeployEnv,
    files: &[LoadedFile],
    config: &Map<String, Value>,
    view: &InventoryView,
) -> Result<Vec<Vec<OpCall>>, CliError> {
    let view = Arc::new(view.clone());
    let files = Arc::new(files.to_vec());
    let limit = Arc::new(tokio::sync::Semaphore::new(
        state.parallel().min(MAX_PARALLEL_EVALUATIONS),
    ));
    let mut tasks = tokio::task::JoinSet::new();
    for i in state.active_hosts() {
        let (state, env, files, view, limit) = (
            Arc::clone(state),
            env.clone(),
            Arc::clone(&files),
            Arc::clone(&view),
            Arc::clone(&limit),
        );
        let config = config.clone();
        let runtime = tokio::runtime::Handle::current();
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.expect("never closed");
            let host = &state.hosts[i];
            let data_globals: Map<String, Value> = host
                .data
                .iter()
                .filter(|(k, _)| rinfra_core::is_global_argument(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let config_globals = rinfra_lang::config_to_global_args(&config);
            let args = GlobalArguments::resolve(&[
                &data_globals,
                &state.config.global_defaults,
                &config_globals,
            ])
            .map(|g| g.connector)
            .unwrap_or_default();
            let ctx = HostContext {
                name: host.name.clone(),
                groups: host.groups.clone(),
                data: host.data.clone(),
                config: config.clone(),
                inventory: view,
            };
            let provider = HostFacts {
                state: Arc::clone(&state),
                index: i,
                args,
                runtime,
            };
            let result = tokio::task::spawn_blocking(move || {
                let mut calls = Vec::new();
                for (n, file) in files.iter().enumerate() {
                    let out = env.evaluate(file, n as u64, &ctx, &provider)?;
                    for m in &out.messages {
                        crate::output::line(&format!("[{}] {m}", ctx.name));
                    }
                    calls.extend(out.calls);
                }
                Ok::<_, rinfra_lang::LangError>(calls)
            })
            .await;
            (i, result)
        });
    }
    let mut calls = vec![Vec::new(); state.hosts.len()];
    while let Some(done) = tasks.join_next().await {
        let (i, result) =
            done.map_err(|e| CliError::usage(format!("deploy evaluation crashed: {e}")))?;
        let host_calls = result.map_err(|e| CliError::usage(format!("evaluation failed: {e}")))?;
        calls[i] = host_calls.map_err(|e| {
            let mut err = lang_error(e);
            err.message = format!("[{}] {}", state.hosts[i].name, err.message);
            err
        })?;
    }
    Ok(calls)
}
