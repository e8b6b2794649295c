//! `State`: the hosts of a run, the registries, the settings and which hosts have failed.

use std::sync::{Arc, Mutex};

use rinfra_connectors::ConnectorArguments;
use serde_json::{Map, Value};

use crate::call::OpCall;
use crate::config::RunConfig;
use crate::events::Events;
use crate::fact::{Fact, FactArgs, FactError, FactRegistry};
use crate::host::Host;
use crate::operation::OperationRegistry;

/// Everything a run needs, shared by the prepare and execute phases.
pub struct State {
    /// The hosts, in inventory order (indexes are used throughout).
    pub hosts: Vec<Arc<Host>>,
    /// Known facts.
    pub facts: FactRegistry,
    /// Known operations.
    pub ops: OperationRegistry,
    /// Settings.
    pub config: RunConfig,
    /// Where progress goes.
    pub events: Arc<dyn Events>,
    /// `inventory` as templates see it: `{"hosts": [...], "groups": {...}}`.
    pub inventory_context: Arc<Value>,
    failed: Mutex<Vec<Option<String>>>,
}

impl State {
    /// A state over `hosts`.
    pub fn new(
        hosts: Vec<Arc<Host>>,
        facts: FactRegistry,
        ops: OperationRegistry,
        config: RunConfig,
        events: Arc<dyn Events>,
    ) -> Self {
        let mut groups: Map<String, Value> = Map::new();
        for h in &hosts {
            for g in &h.groups {
                let list = groups
                    .entry(g.clone())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(a) = list {
                    a.push(Value::String(h.name.clone()));
                }
            }
        }
        let inventory_context = Arc::new(serde_json::json!({
            "hosts": hosts.iter().map(|h| h.name.clone()).collect::<Vec<_>>(),
            "groups": groups,
        }));
        let failed = Mutex::new(vec![None; hosts.len()]);
        Self {
            hosts,
            facts,
            ops,
            config,
            events,
            inventory_context,
            failed,
        }
    }

    /// Whether host `i` is still in the run.
    pub fn is_active(&self, i: usize) -> bool {
        self.failed.lock().expect("not poisoned")[i].is_none()
    }

    /// Indexes of the hosts still in the run.
    pub fn active_hosts(&self) -> Vec<usize> {
        let failed = self.failed.lock().expect("not poisoned");
        (0..self.hosts.len())
            .filter(|i| failed[*i].is_none())
            .collect()
    }

    /// Take host `i` out of the run, with the reason shown to the operator.
    pub fn fail_host(&self, i: usize, reason: impl Into<String>) {
        let mut failed = self.failed.lock().expect("not poisoned");
        if failed[i].is_none() {
            failed[i] = Some(reason.into());
        }
    }

    /// Failed hosts with their reasons, in inventory order.
    pub fn failed_hosts(&self) -> Vec<(String, String)> {
        let failed = self.failed.lock().expect("not poisoned");
        failed
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.as_ref().map(|r| (self.hosts[i].name.clone(), r.clone())))
            .collect()
    }

    /// The hosts to run with: `--parallel`, or a bound derived from the open-file limit.
    pub fn parallel(&self) -> usize {
        match self.config.parallel {
            0 => crate::config::default_parallel(self.hosts.len()),
            n => n,
        }
    }

    /// Connect every active host, in parallel; hosts that fail are out of the run.
    pub async fn connect_all(self: &Arc<Self>) {
        let limit = Arc::new(tokio::sync::Semaphore::new(self.parallel()));
        let mut tasks = tokio::task::JoinSet::new();
        for i in self.active_hosts() {
            let state = Arc::clone(self);
            let limit = Arc::clone(&limit);
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await.expect("never closed");
                let host = &state.hosts[i];
                let start = std::time::Instant::now();
                let connected = host.connector.connect().await;
                host.timings.since(crate::timings::Phase::Connect, start);
                match connected {
                    Ok(()) => state.events.host_connected(&host.name),
                    Err(e) => {
                        state.events.host_connect_error(&host.name, &e.to_string());
                        state.fail_host(i, format!("could not connect: {e}"));
                    }
                }
            });
        }
        while tasks.join_next().await.is_some() {}
    }

    /// Per host: round trips of its connection and seconds per phase (`-v`, `--json`).
    pub fn host_stats(&self) -> Vec<crate::timings::HostStatsJson> {
        use crate::timings::Phase;
        self.hosts
            .iter()
            .map(|h| crate::timings::HostStatsJson {
                name: h.name.clone(),
                round_trips: h.connector.round_trips(),
                connect_s: h.timings.seconds(Phase::Connect),
                facts_s: h.timings.seconds(Phase::Facts),
                execute_s: h.timings.seconds(Phase::Execute),
            })
            .collect()
    }

    /// Disconnect every host (including failed ones, which may hold a half-open connection),
    /// removing askpass scripts first.
    pub async fn disconnect_all(self: &Arc<Self>) {
        let mut tasks = tokio::task::JoinSet::new();
        for host in &self.hosts {
            let host = Arc::clone(host);
            tasks.spawn(async move {
                host.connector.remove_askpass_files().await;
                host.connector.disconnect().await;
            });
        }
        while tasks.join_next().await.is_some() {}
    }

    /// Load a fact on host `i` by name, with the escalation in `args` (used by deploy code's
    /// `host.get_fact` and the `fact` CLI command).
    pub async fn get_fact(
        &self,
        i: usize,
        name: &str,
        fact_args: &FactArgs,
        args: &ConnectorArguments,
    ) -> Result<Value, FactError> {
        let fact = self.facts.get(name)?;
        let host = &self.hosts[i];
        let events = &self.events;
        let loaded = |a: &str| events.fact_loaded(&host.name, name, a);
        host.get_fact(
            fact.as_ref(),
            fact_args,
            args,
            self.config.print_input,
            &loaded,
        )
        .await
    }

    /// [`get_fact`](Self::get_fact) for deploy code that has made the operation `calls` since
    /// it last waited for a fact: when the fact must be loaded, the facts those operations
    /// will ask for (with the same escalation) load in the same command, so the deploy's
    /// waits carry the plan's facts instead of costing round trips of their own later.
    pub async fn get_fact_ahead(
        &self,
        i: usize,
        name: &str,
        fact_args: &FactArgs,
        args: &ConnectorArguments,
        calls: &[OpCall],
    ) -> Result<Value, FactError> {
        let fact = self.facts.get(name)?;
        let host = &self.hosts[i];
        if !calls.is_empty() && host.cached_fact(fact.as_ref(), fact_args, args).is_none() {
            let ahead = crate::prefetch::record_calls(self, i, calls).await;
            let mut list: Vec<(&dyn Fact, FactArgs)> = vec![(fact.as_ref(), fact_args.clone())];
            list.extend(crate::prefetch::for_escalation(&ahead, args));
            let loaded = |f: &str, a: &str| self.events.fact_loaded(&host.name, f, a);
            host.prefetch_facts(&list, args, self.config.print_input, &loaded)
                .await;
        }
        // Cached now, or (when it failed in the batch) loaded alone with its error reported.
        self.get_fact(i, name, fact_args, args).await
    }
}
