//! `rinfra INVENTORY fact NAME [key=value...] [NAME ...]`: print facts per host as JSON.

use std::sync::Arc;

use rinfra_core::{bind_fact_args, FactArgs, GlobalArguments, State};
use serde_json::{Map, Value};

use crate::error::CliError;
use crate::output;
use crate::settings::parse_key_value;

/// The facts asked for on the command line, with their bound arguments, checked before
/// connecting to any host: `key=value` binds to the fact before it.
pub(crate) fn requests(state: &State, raw: &[String]) -> Result<Vec<(String, FactArgs)>, CliError> {
    // `key=value` binds to the fact before it.
    let mut requests: Vec<(String, FactArgs)> = Vec::new();
    for item in raw {
        if item.contains('=') {
            let Some(last) = requests.last_mut() else {
                return Err(CliError::usage(format!("`{item}` must follow a fact name")));
            };
            let (k, v) = parse_key_value(item, "fact argument")?;
            last.1.insert(k, v);
        } else {
            requests.push((item.clone(), FactArgs::new()));
        }
    }
    if requests.is_empty() {
        return Err(CliError::usage("no fact given")
            .with_hint("name one or more facts, e.g. `rinfra @local fact server.Hostname`"));
    }
    let mut bound = Vec::new();
    for (name, args) in requests {
        let fact = state.facts.get(&name).map_err(|e| {
            CliError::usage(e.to_string()).with_hint(crate::unknown_name::hint(
                "fact",
                "server.Hostname or files.File",
                &name,
                &state.facts.names().collect::<Vec<_>>(),
            ))
        })?;
        let args = bind_fact_args(fact.as_ref(), &[], &args)
            .map_err(|e| CliError::usage(e.to_string()))?;
        bound.push((name, args));
    }
    Ok(bound)
}

/// Gather each requested fact on every active host; returns the exit code.
pub(crate) async fn run(
    state: &Arc<State>,
    bound: Vec<(String, FactArgs)>,
    json: bool,
) -> Result<u8, CliError> {
    let globals = GlobalArguments::resolve(&[&state.config.global_defaults])
        .map_err(|e| CliError::usage("invalid global arguments for the facts").caused_by(e))?;

    output::section("Gathering facts...");
    // As pyinfra: every fact loads (`[host] Loaded fact ...`), then each is printed, keyed by
    // its name and arguments (`files.File (path=/etc/hosts)`: the same fact with other
    // arguments is another entry).
    let mut all = Map::new();
    let mut failed = false;
    for (name, args) in &bound {
        let mut tasks = tokio::task::JoinSet::new();
        for i in state.active_hosts() {
            let (state, name, args, conn) = (
                Arc::clone(state),
                name.clone(),
                args.clone(),
                globals.connector.clone(),
            );
            tasks.spawn(async move { (i, state.get_fact(i, &name, &args, &conn).await) });
        }
        let mut per_host: Vec<(usize, Value)> = Vec::new();
        while let Some(Ok((i, r))) = tasks.join_next().await {
            match r {
                Ok(v) => per_host.push((i, v)),
                Err(e) => {
                    failed = true;
                    output::line(&format!(
                        "    [{}] {} {e}",
                        state.hosts[i].name,
                        output::red("Error:")
                    ));
                }
            }
        }
        per_host.sort_by_key(|(i, _)| *i);
        let obj: Map<String, Value> = per_host
            .into_iter()
            .map(|(i, v)| (state.hosts[i].name.clone(), v))
            .collect();
        let key = if args.is_empty() {
            name.clone()
        } else {
            format!("{name} ({})", output::kwargs_str(args))
        };
        all.insert(key, Value::Object(obj));
    }
    if json {
        output::json_stdout(&Value::Object(all));
    } else {
        for (key, obj) in &all {
            output::line("");
            output::section(&format!("Fact data for: {}", output::bold(key)));
            output::line(&output::json_indented(obj));
        }
        output::line("");
    }
    Ok(if failed || !state.failed_hosts().is_empty() {
        1
    } else {
        0
    })
}
