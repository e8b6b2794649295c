//! Loading a host's facts in batches before its operations need them.
//!
//! pyinfra runs one command per fact, each a round trip and a shell start on the target. Here,
//! before a host's operations run, their generators are tried against what is cached: every
//! fact they ask for that is not cached yet is recorded (and the try stops there), then all the
//! recorded facts load in one command ([`Host::prefetch_facts`]). A few such waves load the
//! facts that depend on earlier ones. The real run then finds them in the cache. A wrong guess
//! costs nothing but a fact loaded for nothing: operations are still run for real afterwards,
//! and a fact that failed in a batch is loaded again on its own, with its error reported.
//!
//! How a batch loads is [`crate::fact_batch`]'s business; operations that ran in one command
//! load the facts recorded for the operations after them in that same command (`batch.rs`).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rinfra_connectors::{ConnectorArguments, HostData};
use serde_json::{Map, Value};

use crate::arguments::GlobalArguments;
use crate::call::OpCall;
use crate::context::OpContext;
use crate::fact::{Fact, FactArgs, FactError};
use crate::host::Host;
use crate::operation::{validate_op_args, OpHost, Operation};
use crate::plan::Plan;
use crate::state::State;

/// How many rounds of dependent facts to load ahead.
const WAVES: usize = 3;

/// Facts to load in one batch, all with the same escalation.
type Batch<'a> = (ConnectorArguments, Vec<(&'a dyn Fact, FactArgs)>);

/// A fact an operation asked for that was not cached.
pub(crate) type Request = (Arc<dyn Fact>, FactArgs, ConnectorArguments);

/// How many guessed values of an uncached fact operations are tried with (see
/// [`Fact::guesses`]): its absence and its presence, for the facts of paths.
const GUESSES: usize = 2;

/// An [`OpHost`] that answers from the cache and records what it does not have.
pub(crate) struct Recorder<'a> {
    inner: OpContext<'a>,
    asked: &'a Mutex<Vec<Request>>,
    /// Which of an uncached fact's [`Fact::guesses`] to answer with.
    guess: usize,
}

impl<'a> Recorder<'a> {
    /// A view of the host that answers from the cache only, recording in `asked` the facts it
    /// does not have (and answering those with an error).
    pub(crate) fn cache_only(inner: OpContext<'a>, asked: &'a Mutex<Vec<Request>>) -> Self {
        Self {
            inner,
            asked,
            guess: usize::MAX,
        }
    }
}

#[async_trait]
impl OpHost for Recorder<'_> {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn data(&self) -> &HostData {
        self.inner.data()
    }
    fn groups(&self) -> &[String] {
        self.inner.groups()
    }
    async fn get_fact(&self, fact: &str, args: FactArgs) -> Result<Value, FactError> {
        let state = self.inner.state;
        let f = state.facts.get(fact)?;
        let host = &state.hosts[self.inner.index];
        if let Some(v) = host.cached_fact(f.as_ref(), &args, self.inner.args) {
            return Ok(v);
        }
        let guess = f.guesses(&args).into_iter().nth(self.guess);
        self.asked.lock().expect("not poisoned").push((
            Arc::clone(f),
            args,
            self.inner.args.clone(),
        ));
        if let Some(value) = guess {
            return Ok(value);
        }
        // Stop this try: what the operation does next depends on the value.
        Err(FactError::CommandFailed {
            fact: fact.into(),
            reason: "not loaded yet".into(),
        })
    }
    fn local_path(&self, path: &str) -> std::path::PathBuf {
        self.inner.local_path(path)
    }
    fn temp_dir(&self) -> String {
        self.inner.temp_dir()
    }
    fn template_context(&self) -> Map<String, Value> {
        self.inner.template_context()
    }
    fn inventory_context(&self) -> Option<Arc<Value>> {
        self.inner.inventory_context()
    }
    fn diff_enabled(&self) -> bool {
        // Diffs load file contents; not worth guessing.
        false
    }
}

/// Load ahead, in batches, the facts host `i`'s operations in `plan` (from operation `from` on)
/// will ask for.
pub(crate) async fn prefetch_host(state: &State, plan: &Plan, i: usize, from: usize) {
    let host: &Host = &state.hosts[i];
    for _ in 0..WAVES {
        let asked = record(state, plan, i, from).await;
        if asked.len() < 2 {
            return;
        }
        // One batch per escalation (facts inside `_sudo` operations run with sudo).
        let mut groups: Vec<Batch<'_>> = Vec::new();
        for (fact, args, conn) in &asked {
            match groups.iter_mut().find(|(c, _)| same_escalation(c, conn)) {
                Some((_, list)) => list.push((fact.as_ref(), args.clone())),
                None => groups.push((conn.clone(), vec![(fact.as_ref(), args.clone())])),
            }
        }
        let loaded = |fact: &str, args: &str| state.events.fact_loaded(&host.name, fact, args);
        for (conn, list) in &groups {
            host.prefetch_facts(list, conn, state.config.print_input, &loaded)
                .await;
        }
    }
}

/// The facts not cached that host `i`'s operations in `plan` (from operation `from` on) ask
/// for, tried with each guess (one wave: not those that depend on the answers), each once.
pub(crate) async fn record(state: &State, plan: &Plan, i: usize, from: usize) -> Vec<Request> {
    let asked = Mutex::new(Vec::new());
    for guess in 0..GUESSES {
        for op in plan.ops.iter().skip(from) {
            // Calls with an operation of their own run deploy code (Python): recording
            // their facts would run the user's generator once more for a guess.
            for hp in op
                .host_plans(i)
                .iter()
                .filter(|h| h.call.callback.is_none() && h.call.operation.is_none())
            {
                let (call, connector) = (&hp.call, &hp.globals.connector);
                try_with_guess(state, i, hp.operation(op), call, connector, &asked, guess).await;
            }
        }
    }
    distinct(asked)
}

/// The same for calls deploy code made so far, before there is a plan: what to load with a
/// fact the deploy waits for, so these operations find their facts cached. Calls that would
/// not make it into a plan (unknown operation, bad arguments) are left out.
pub(crate) async fn record_calls(state: &State, i: usize, calls: &[OpCall]) -> Vec<Request> {
    let host = &state.hosts[i];
    let mut resolved = Vec::new();
    for call in calls {
        if call.callback.is_some() || call.operation.is_some() {
            continue;
        }
        let Some(op) = state.ops.get(&call.op) else {
            continue;
        };
        let globals = GlobalArguments::for_host(
            &[&call.global_args, &call.deploy_args],
            &host.data,
            &state.config.global_defaults,
            &call.config_args,
        );
        if let Ok(globals) = globals {
            if validate_op_args(op.as_ref(), &call.args).is_ok() {
                resolved.push((op, call, globals.connector));
            }
        }
    }
    let asked = Mutex::new(Vec::new());
    for guess in 0..GUESSES {
        for (op, call, connector) in &resolved {
            try_with_guess(state, i, op, call, connector, &asked, guess).await;
        }
    }
    distinct(asked)
}

/// Generate `call` of `op` from the cache, recording in `asked` what it asks for that is not
/// cached, answered with its `guess`.
async fn try_with_guess(
    state: &State,
    i: usize,
    op: &Arc<dyn Operation>,
    call: &OpCall,
    connector: &ConnectorArguments,
    asked: &Mutex<Vec<Request>>,
    guess: usize,
) {
    let recorder = Recorder {
        inner: OpContext {
            state,
            index: i,
            args: connector,
            location: &call.location,
        },
        asked,
        guess,
    };
    let _ = op.generate(&call.args, &recorder).await;
}

/// Each request once (every guess asks for the same facts again).
fn distinct(asked: Mutex<Vec<Request>>) -> Vec<Request> {
    let mut out: Vec<Request> = Vec::new();
    for r in asked.into_inner().expect("not poisoned") {
        let same =
            |a: &Request| a.0.name() == r.0.name() && a.1 == r.1 && same_escalation(&a.2, &r.2);
        if !out.iter().any(same) {
            out.push(r);
        }
    }
    out
}

/// The requests that run with the escalation of `conn`, as a batch's list.
pub(crate) fn for_escalation<'a>(
    requests: &'a [Request],
    conn: &ConnectorArguments,
) -> Vec<(&'a dyn Fact, FactArgs)> {
    requests
        .iter()
        .filter(|(_, _, c)| same_escalation(c, conn))
        .map(|(fact, args, _)| (fact.as_ref(), args.clone()))
        .collect()
}

/// Whether facts asked for with `a` and with `b` run alike, so they can share a command.
pub(crate) fn same_escalation(a: &ConnectorArguments, b: &ConnectorArguments) -> bool {
    a.sudo == b.sudo
        && a.sudo_user == b.sudo_user
        && a.su_user == b.su_user
        && a.doas == b.doas
        && a.doas_user == b.doas_user
        && a.shell_executable == b.shell_executable
        && a.sudo_password == b.sudo_password
        && a.env == b.env
        && a.chdir == b.chdir
}
