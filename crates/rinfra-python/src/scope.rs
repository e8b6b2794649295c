//! What the Python code running on this thread is doing, for the native functions it calls:
//! evaluating a deploy for a host (operation calls are recorded, facts load through the run's
//! [`FactSource`]), or running at prepare/execute time inside the engine (an `@operation`
//! generator, an `_if` function, a `python.call` function), where requests go to the async
//! side that holds the host (a [`Bridge`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use rinfra_connectors::{CommandOutput, StringCommand};
use rinfra_core::{
    ArgOverrides, EarlierOps, ExecHost, FactArgs, OpArgs, OpCall, OpCommand, OpHost,
};
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot};

/// How deploy code loads facts while it is evaluated (blocking the evaluating thread; the
/// GIL is released meanwhile, so other hosts' evaluations go on).
pub trait FactSource: Send + Sync {
    /// Load `fact` with `args` for the host; `globals` are the call's global arguments
    /// (`host.get_fact(File, path=p, _sudo=True)`).
    fn get_fact(
        &self,
        fact: &str,
        args: &FactArgs,
        globals: &Map<String, Value>,
    ) -> Result<Value, String>;

    /// The same, told the operation `calls` the deploy made since it last waited for a fact:
    /// a source may load their facts in the same round trip (see `State::get_fact_ahead`).
    fn get_fact_ahead(
        &self,
        fact: &str,
        args: &FactArgs,
        globals: &Map<String, Value>,
        calls: &[OpCall],
    ) -> Result<Value, String> {
        let _ = calls;
        self.get_fact(fact, args, globals)
    }
}

/// One host's deploy evaluation.
pub(crate) struct Evaluation {
    pub(crate) host_index: usize,
    pub(crate) file_index: u64,
    pub(crate) calls: Vec<OpCall>,
    /// How many of `calls` went with a fact the deploy waited for (their facts are loaded).
    pub(crate) ahead: usize,
    /// How many calls produced each ordering key so far (pyinfra's duplicate op hashes).
    pub(crate) seen: HashMap<Vec<u64>, u64>,
    pub(crate) facts: Arc<dyn FactSource>,
}

/// A request from Python running inside the engine to the async side.
pub(crate) enum Request {
    Fact {
        name: String,
        args: FactArgs,
        reply: oneshot::Sender<Result<Value, String>>,
    },
    Shell {
        command: StringCommand,
        overrides: ArgOverrides,
        reply: oneshot::Sender<Result<(bool, CommandOutput), String>>,
    },
    Generate {
        op: String,
        args: OpArgs,
        reply: oneshot::Sender<Result<Vec<OpCommand>, String>>,
    },
}

/// Python running inside the engine for one host.
pub(crate) struct Bridge {
    pub(crate) tx: mpsc::UnboundedSender<Request>,
    /// Statuses of the host's operations that already ran (execute time only).
    pub(crate) earlier: Option<EarlierOps>,
    /// `host.noop(...)` inside an `@operation` generator.
    pub(crate) noop: Option<String>,
}

pub(crate) enum Scope {
    Evaluating(Evaluation),
    Bridged(Bridge),
}

thread_local! {
    static SCOPE: RefCell<Option<Scope>> = const { RefCell::new(None) };
}

/// Run `f` with `scope` set on this thread; returns what `f` returned and the scope.
pub(crate) fn with_scope<R>(scope: Scope, f: impl FnOnce() -> R) -> (R, Scope) {
    let previous = SCOPE.with(|s| s.borrow_mut().replace(scope));
    let r = f();
    let scope = SCOPE.with(|s| {
        let mut s = s.borrow_mut();
        let mine = s.take().expect("scope set above");
        *s = previous;
        mine
    });
    (r, scope)
}

/// Use the current scope (a short borrow: never call Python inside `f`).
pub(crate) fn with_current<R>(f: impl FnOnce(&mut Scope) -> PyResult<R>) -> PyResult<R> {
    SCOPE.with(|s| match s.borrow_mut().as_mut() {
        Some(scope) => f(scope),
        None => Err(PyRuntimeError::new_err(
            "this is only available while rinfra runs deploy code for a host",
        )),
    })
}

/// Send a request from Python and wait for its answer with the GIL released.
pub(crate) fn ask<T: Send>(
    py: Python<'_>,
    make: impl FnOnce(oneshot::Sender<T>) -> Request,
) -> PyResult<T> {
    let tx = with_current(|s| match s {
        Scope::Bridged(b) => Ok(b.tx.clone()),
        Scope::Evaluating(_) => Err(PyRuntimeError::new_err(
            "this is only available at execute time (in a python.call function, an _if \
             function or an @operation generator)",
        )),
    })?;
    let (reply, rx) = oneshot::channel();
    tx.send(make(reply))
        .map_err(|_| PyRuntimeError::new_err("rinfra's engine stopped waiting for this host"))?;
    py.detach(|| rx.blocking_recv())
        .map_err(|_| PyRuntimeError::new_err("rinfra's engine dropped the request"))
}

/// Where a bridged request is answered: at prepare time by the operation's [`OpHost`], at
/// execute time by the callback's [`ExecHost`].
pub(crate) enum Serving<'a> {
    Op(&'a dyn OpHost),
    Exec(&'a dyn ExecHost),
}

/// Run `work` (Python, on a blocking thread with a [`Bridge`] scope) while answering its
/// requests through `host`. Returns what `work` returned and the bridge.
pub(crate) async fn run_bridged<R: Send + 'static>(
    earlier: Option<EarlierOps>,
    host: Serving<'_>,
    work: impl FnOnce() -> R + Send + 'static,
) -> Result<(R, Bridge), String> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let bridge = Bridge {
        tx,
        earlier,
        noop: None,
    };
    let task = tokio::task::spawn_blocking(move || {
        let (r, scope) = with_scope(Scope::Bridged(bridge), work);
        match scope {
            Scope::Bridged(b) => (r, b),
            Scope::Evaluating(_) => unreachable!("set as bridged above"),
        }
    });
    tokio::pin!(task);
    loop {
        tokio::select! {
            done = &mut task => {
                return done.map_err(|e| format!("Python code panicked: {e}"));
            }
            Some(request) = rx.recv() => serve(&host, request).await,
        }
    }
}

async fn serve(host: &Serving<'_>, request: Request) {
    match request {
        Request::Fact { name, args, reply } => {
            let r = match host {
                Serving::Op(h) => h.get_fact(&name, args).await.map_err(|e| e.to_string()),
                Serving::Exec(h) => exec_fact(*h, &name, &args).await,
            };
            let _ = reply.send(r);
        }
        Request::Shell {
            command,
            overrides,
            reply,
        } => {
            let r = match host {
                Serving::Exec(h) => h
                    .run_shell_command(&command, &overrides)
                    .await
                    .map_err(|e| e.to_string()),
                Serving::Op(_) => Err("host.run_shell_command is for execute time (a python.call \
                                       function); an @operation yields its commands instead"
                    .into()),
            };
            let _ = reply.send(r);
        }
        Request::Generate { op, args, reply } => {
            let r = match host {
                Serving::Op(h) => generate(*h, &op, &args).await,
                Serving::Exec(_) => Err(format!(
                    "`{op}._inner(...)` is for an @operation generator; at execute time call \
                     host.run_shell_command"
                )),
            };
            let _ = reply.send(r);
        }
    }
}

async fn generate(host: &dyn OpHost, op: &str, args: &OpArgs) -> Result<Vec<OpCommand>, String> {
    {
        let operation = crate::interpreter::shared()
            .ops
            .get(op)
            .cloned()
            .ok_or_else(|| format!("unknown operation `{op}`"))?;
        rinfra_core::validate_op_args(operation.as_ref(), args).map_err(|e| e.to_string())?;
        let outcome = operation
            .generate(args, host)
            .await
            .map_err(|e| e.to_string())?;
        Ok(outcome.commands)
    }
}

/// A fact loaded fresh at execute time through the callback's host (its command run with the
/// operation's arguments).
async fn exec_fact(host: &dyn ExecHost, name: &str, args: &FactArgs) -> Result<Value, String> {
    let fact = crate::interpreter::shared()
        .facts
        .get(name)
        .map_err(|e| e.to_string())?;
    let command = rinfra_core::fact_command_with_requirement(
        fact.command(args).map_err(|e| e.to_string())?,
        fact.requires_command(args).as_deref(),
    );
    let (ok, output) = host
        .run_shell_command(&command, &ArgOverrides::new())
        .await
        .map_err(|e| e.to_string())?;
    let stdout: Vec<String> = output
        .stdout_lines()
        .into_iter()
        .map(str::to_string)
        .collect();
    if !ok {
        return Err(format!("could not load fact `{name}`: {}", output.output()));
    }
    if stdout.is_empty() || stdout.iter().any(|l| l == rinfra_core::NO_COMMAND_MARKER) {
        return Ok(fact.default());
    }
    fact.process(&stdout, args).map_err(|e| e.to_string())
}
