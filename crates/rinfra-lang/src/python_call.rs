//! `python.call(function=f, ...)`: deploy code run at execute time.
//!
//! Starlark values cannot outlive their evaluation nor cross threads, so the callback does not
//! keep `f`. It keeps what is needed to evaluate the deploy file again for the same host: at
//! execute time [`PythonCallback::call`] re-runs the file on a thread of its own, replaying the
//! fact values seen during the first evaluation (so the code takes the same path), and when it
//! reaches the same `python.call` it calls `f` there. Inside `f`, `host.get_fact(...)` loads
//! fresh facts and `host.run_shell_command(cmd)` runs commands, both through the host's
//! [`ExecHost`]; the re-evaluation then stops. Operations called during the replay are
//! ignored.
//!
//! The same machinery runs the callables of `_if=lambda: ...` and `_retry_until=lambda out:
//! ...` at execute time ([`DeployCallable`]): the replay stops at the call that was given the
//! callable and calls it there, where `op.did_change()` answers from the statuses of the
//! operations that already ran on the host.

use std::cell::Cell;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rinfra_connectors::StringCommand;
use rinfra_core::{
    Callback, ConditionCallback, EarlierOps, ExecHost, RetryUntil, NO_COMMAND_MARKER,
};
use serde_json::{Map, Value as Json};
use starlark::environment::GlobalsBuilder;
use starlark::eval::Evaluator;
use starlark::starlark_module;
use starlark::values::dict::DictRef;
use starlark::values::list::AllocList;
use starlark::values::structs::AllocStruct;
use starlark::values::tuple::UnpackTuple;
use starlark::values::{Heap, Value};

use crate::context::{lock, state, EvalState};
use crate::convert::to_json;
use crate::deploy::{eval_file, new_state, EnvInner, HostContext, LoadedFile};
use crate::error::native_error;
use crate::facts::NoFacts;
use crate::operations::{record_call, split_global_args};

/// Marks the end of a replay: the callback ran; the rest of the file is not needed.
const REPLAY_DONE: &str = "__rinfra_python_call_done__";

/// What a callback needs to evaluate the deploy again.
pub(crate) struct Origin {
    pub(crate) env: Arc<EnvInner>,
    pub(crate) file: LoadedFile,
    pub(crate) file_index: u64,
    pub(crate) host: HostContext,
}

/// Fact values in the order deploy code loaded them.
type FactLog = Arc<Mutex<Vec<Result<Json, String>>>>;

enum Mode {
    /// The normal evaluation: facts come from the `FactProvider` and are logged.
    Prepare(Arc<Origin>),
    /// Execute time: facts replayed from the log until `target` is reached.
    Replay {
        target: Target,
        bridge: Bridge,
        /// For `_if`/`_retry_until` callables: the host's operations that already ran.
        earlier: Option<EarlierOps>,
    },
}

/// What a replay runs.
#[derive(Clone)]
enum Target {
    /// `python.call` number n (counted in evaluation order).
    PythonCall(usize),
    /// Callable number n given to `_if`/`_retry_until` (counted in evaluation order), with
    /// its argument (`_retry_until`'s output dict).
    Callable { index: usize, input: Option<Json> },
}

/// `python.call` bookkeeping of one evaluation.
pub(crate) struct PythonCalls {
    mode: Mode,
    count: Cell<usize>,
    /// `_if`/`_retry_until` callables seen so far.
    callables: Cell<usize>,
    fact_log: FactLog,
    fact_pos: Cell<usize>,
    in_callback: Cell<bool>,
    /// Set when the target ran: its result (a callable's truth; `true` for `python.call`).
    outcome: std::cell::RefCell<Option<Result<bool, String>>>,
}

impl PythonCalls {
    pub(crate) fn prepare(origin: Arc<Origin>) -> Self {
        Self {
            mode: Mode::Prepare(origin),
            count: Cell::new(0),
            callables: Cell::new(0),
            fact_log: FactLog::default(),
            fact_pos: Cell::new(0),
            in_callback: Cell::new(false),
            outcome: Default::default(),
        }
    }

    fn replay(
        target: Target,
        fact_log: FactLog,
        bridge: Bridge,
        earlier: Option<EarlierOps>,
    ) -> Self {
        Self {
            mode: Mode::Replay {
                target,
                bridge,
                earlier,
            },
            count: Cell::new(0),
            callables: Cell::new(0),
            fact_log,
            fact_pos: Cell::new(0),
            in_callback: Cell::new(false),
            outcome: Default::default(),
        }
    }

    /// Inside an `_if`/`_retry_until` callable at execute time: the host's operations that
    /// already ran (what `op.did_change()` answers from).
    pub(crate) fn earlier(&self) -> Option<&EarlierOps> {
        match &self.mode {
            Mode::Replay { earlier, .. } if self.in_callback.get() => earlier.as_ref(),
            _ => None,
        }
    }
}

impl EvalState<'_> {
    /// Load a fact: from the provider (logged), from the log (replay), or live from the host
    /// (inside a `python.call` function at execute time).
    pub(crate) fn load_fact(&self, fact: &str, args: Map<String, Json>) -> Result<Json, String> {
        let py = &self.python;
        match &py.mode {
            Mode::Replay { bridge, .. } if py.in_callback.get() => {
                self.live_fact(bridge, fact, args)
            }
            Mode::Replay { .. } => {
                let pos = py.fact_pos.get();
                py.fact_pos.set(pos + 1);
                lock(&py.fact_log).get(pos).cloned().unwrap_or_else(|| {
                    Err(format!(
                        "deploy code loaded more facts at execute time than before (`{fact}`); python.call replays need the same path through the code"
                    ))
                })
            }
            Mode::Prepare(_) => {
                let r = self.fact_provider.get_fact(fact, args);
                lock(&py.fact_log).push(r.clone());
                r
            }
        }
    }

    fn live_fact(
        &self,
        bridge: &Bridge,
        name: &str,
        args: Map<String, Json>,
    ) -> Result<Json, String> {
        let fact = self.facts.get(name).map_err(|e| e.to_string())?;
        let command = fact.command(&args).map_err(|e| e.to_string())?;
        let command = rinfra_core::fact_command_with_requirement(
            command,
            fact.requires_command(&args).as_deref(),
        );
        let out = bridge.run(command)?;
        if !out.ok {
            return Err(out.stderr.join("\n"));
        }
        if out.stdout.iter().any(|l| l.contains(NO_COMMAND_MARKER)) || out.stdout.is_empty() {
            return Ok(fact.default());
        }
        fact.process(&out.stdout, &args).map_err(|e| e.to_string())
    }
}

/// The result of one command run for a callback.
struct ShellResult {
    ok: bool,
    stdout: Vec<String>,
    stderr: Vec<String>,
}

enum Request {
    Shell {
        command: StringCommand,
        reply: std::sync::mpsc::Sender<Result<ShellResult, String>>,
    },
    Done(Result<bool, String>),
}

/// The evaluation thread's way to the host's connection (owned by the async side).
#[derive(Clone)]
struct Bridge {
    tx: tokio::sync::mpsc::UnboundedSender<Request>,
}

impl Bridge {
    fn run(&self, command: StringCommand) -> Result<ShellResult, String> {
        let (reply, rx) = std::sync::mpsc::channel();
        self.tx
            .send(Request::Shell { command, reply })
            .map_err(|_| "the host connection is gone".to_string())?;
        rx.recv()
            .map_err(|_| "the host connection is gone".to_string())?
    }
}

/// The [`Callback`] of a `python.call` operation.
pub(crate) struct PythonCallback {
    origin: Arc<Origin>,
    index: usize,
    fact_log: FactLog,
    description: String,
}

#[async_trait]
impl Callback for PythonCallback {
    fn describe(&self) -> String {
        self.description.clone()
    }

    async fn call(&self, host: &dyn ExecHost) -> Result<(), String> {
        let target = Target::PythonCall(self.index);
        run_replay(&self.origin, target, &self.fact_log, None, host)
            .await
            .map(|_| ())
    }
}

/// Evaluate the deploy again on a thread of its own until `target`, serving its commands
/// with `host`; the target's outcome.
async fn run_replay(
    origin: &Arc<Origin>,
    target: Target,
    fact_log: &FactLog,
    earlier: Option<EarlierOps>,
    host: &dyn ExecHost,
) -> Result<bool, String> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let origin = origin.clone();
    let fact_log = fact_log.clone();
    let thread = std::thread::Builder::new()
        .name("rinfra-python-call".into())
        .spawn(move || {
            let bridge = Bridge { tx: tx.clone() };
            let result = replay(&origin, target, fact_log, bridge, earlier);
            let _ = tx.send(Request::Done(result));
        })
        .map_err(|e| format!("could not start the deploy evaluation thread: {e}"))?;
    let result = loop {
        match rx.recv().await {
            Some(Request::Shell { command, reply }) => {
                let r = host
                    .run_shell_command(&command, &Map::new())
                    .await
                    .map(|(ok, out)| ShellResult {
                        ok,
                        stdout: out.stdout_lines().into_iter().map(str::to_string).collect(),
                        stderr: out.stderr_lines().into_iter().map(str::to_string).collect(),
                    })
                    .map_err(|e| e.to_string());
                let _ = reply.send(r);
            }
            Some(Request::Done(r)) => break r,
            None => break Err("the deploy evaluation ended unexpectedly".into()),
        }
    };
    let _ = thread.join();
    result
}

/// An `_if` or `_retry_until` callable of deploy code, called at execute time by evaluating
/// the deploy again up to where it was given (see the module docs).
pub(crate) struct DeployCallable {
    origin: Arc<Origin>,
    index: usize,
    fact_log: FactLog,
    /// `deploy.py:12` (the call given the callable).
    location: String,
}

impl std::fmt::Debug for DeployCallable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeployCallable({} #{})", self.location, self.index)
    }
}

#[async_trait]
impl ConditionCallback for DeployCallable {
    fn describe(&self) -> String {
        format!("_if at {}", self.location)
    }

    async fn check(&self, host: &dyn ExecHost, earlier: EarlierOps) -> Result<bool, String> {
        let target = Target::Callable {
            index: self.index,
            input: None,
        };
        run_replay(&self.origin, target, &self.fact_log, Some(earlier), host)
            .await
            .map_err(|e| format!("error in the `_if` function: {e}"))
    }
}

#[async_trait]
impl RetryUntil for DeployCallable {
    fn describe(&self) -> String {
        format!("_retry_until at {}", self.location)
    }

    async fn retry(
        &self,
        host: &dyn ExecHost,
        earlier: EarlierOps,
        output: Json,
    ) -> Result<bool, String> {
        let target = Target::Callable {
            index: self.index,
            input: Some(output),
        };
        run_replay(&self.origin, target, &self.fact_log, Some(earlier), host)
            .await
            .map_err(|e| format!("error in the `_retry_until` function: {e}"))
    }
}

/// Take a callable given to `_if`/`_retry_until` at the call being evaluated. At prepare time:
/// the [`DeployCallable`] to give the engine. In a replay that targets it: call it now, keep
/// its truth as the outcome and stop the replay. In other replays: `None`.
pub(crate) fn defer_callable<'v>(
    f: Value<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Option<Arc<DeployCallable>>> {
    let location = crate::operations::call_location(eval);
    let st = state(eval)?;
    let py = &st.python;
    let index = py.callables.get();
    py.callables.set(index + 1);
    let (input, earlier) = match &py.mode {
        Mode::Prepare(origin) => {
            return Ok(Some(Arc::new(DeployCallable {
                origin: origin.clone(),
                index,
                fact_log: py.fact_log.clone(),
                location: location.unwrap_or_else(|| st.current_file().display),
            })))
        }
        Mode::Replay {
            target: Target::Callable { index: t, input },
            earlier,
            ..
        } if *t == index => (input.clone(), earlier.clone()),
        Mode::Replay { .. } => return Ok(None),
    };
    let args: Vec<Value<'v>> = input.into_iter().map(|j| eval.heap().alloc(j)).collect();
    state(eval)?.python.in_callback.set(true);
    let r = eval.eval_function(f, &args, &[]);
    let st = state(eval)?;
    st.python.in_callback.set(false);
    let outcome = match &r {
        Ok(v) => Ok(truth(*v, earlier.as_ref())),
        Err(e) => Err(crate::error::LangError::from_starlark(e, |m| m.to_string()).to_string()),
    };
    *st.python.outcome.borrow_mut() = Some(outcome);
    r?;
    Err(native_error(REPLAY_DONE))
}

/// What a callable's result means: a condition (`op.did_change`, `any_changed(...)`) is checked
/// against the earlier operations; anything else by Python truth.
fn truth(v: Value<'_>, earlier: Option<&EarlierOps>) -> bool {
    use starlark::values::ValueLike;
    match v.downcast_ref::<crate::operations::ConditionValue>() {
        Some(c) => earlier.is_some_and(|e| e.check(&c.condition)),
        None => v.to_bool(),
    }
}

fn replay(
    origin: &Origin,
    target: Target,
    fact_log: FactLog,
    bridge: Bridge,
    earlier: Option<EarlierOps>,
) -> Result<bool, String> {
    let what = match &target {
        Target::PythonCall(n) => format!("python.call #{n}"),
        Target::Callable { index, .. } => format!("`_if`/`_retry_until` function #{index}"),
    };
    let st = new_state(
        &origin.env,
        &origin.file,
        origin.file_index,
        &origin.host,
        &NoFacts,
        PythonCalls::replay(target, fact_log, bridge, earlier),
    );
    let result = eval_file(&st, &origin.file);
    if let Some(outcome) = st.python.outcome.borrow_mut().take() {
        return outcome;
    }
    match result {
        Err(e) => Err(e.to_string()),
        Ok(()) => Err(format!(
            "{what} was not reached when evaluating `{}` again",
            origin.file.path().display()
        )),
    }
}

fn function_name(f: Value<'_>) -> String {
    let repr = f.to_repr();
    let name = repr
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim_start_matches("function ");
    // `deploy.py.check` -> `check`
    name.rsplit('.').next().unwrap_or(name).to_string()
}

#[starlark_module]
pub(crate) fn python_module(builder: &mut GlobalsBuilder) {
    /// `python.call(function=f, *args, **kwargs)`: call `f(*args, **kwargs)` at execute time,
    /// in operation order. Inside `f`, `host.get_fact(...)` is fresh and
    /// `host.run_shell_command(cmd)` runs a command on the host.
    fn call<'v>(
        function: Value<'v>,
        #[starlark(args)] args: UnpackTuple<Value<'v>>,
        #[starlark(kwargs)] kwargs: DictRef<'v>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let named: Vec<(String, Value<'v>)> = kwargs
            .iter()
            .map(|(k, v)| (k.unpack_str().unwrap_or_default().to_string(), v))
            .collect();
        drop(kwargs);
        let (globals, rest) = split_global_args(&named, eval)?;
        let name = function_name(function);
        let index = {
            let py = &state(eval)?.python;
            let i = py.count.get();
            py.count.set(i + 1);
            i
        };
        if let Mode::Replay {
            target: Target::PythonCall(target),
            ..
        } = &state(eval)?.python.mode
        {
            if *target == index {
                let rest_ref: Vec<(&str, Value<'v>)> =
                    rest.iter().map(|(k, v)| (k.as_str(), *v)).collect();
                state(eval)?.python.in_callback.set(true);
                let r = eval.eval_function(function, &args.items, &rest_ref);
                let st = state(eval)?;
                st.python.in_callback.set(false);
                let outcome =
                    match &r {
                        Ok(_) => Ok(true),
                        Err(e) => Err(crate::error::LangError::from_starlark(e, |m| m.to_string())
                            .to_string()),
                    };
                *st.python.outcome.borrow_mut() = Some(outcome);
                r?;
                return Err(native_error(REPLAY_DONE));
            }
        }
        // Arguments are data for display; the function itself runs at execute time.
        let mut op_args = Map::new();
        op_args.insert("function".into(), Json::String(name.clone()));
        if !args.items.is_empty() {
            let a: Result<Vec<Json>, String> = args.items.iter().map(|v| to_json(*v)).collect();
            if let Ok(a) = a {
                op_args.insert("args".into(), Json::Array(a));
            }
        }
        let meta = record_call(eval, "python.call", op_args, globals)?;
        let st = state(eval)?;
        if let Mode::Prepare(origin) = &st.python.mode {
            let cb = PythonCallback {
                origin: origin.clone(),
                index,
                fact_log: st.python.fact_log.clone(),
                description: format!("python.call {name}"),
            };
            if let Some(call) = st.calls.borrow_mut().last_mut() {
                call.callback = Some(Arc::new(cb));
            }
        }
        Ok(meta)
    }
}

/// `host.run_shell_command(cmd)` inside a `python.call` function: `(ok, output)` where output
/// has `stdout`, `stderr`, `stdout_lines` and `stderr_lines`.
pub(crate) fn run_shell_command<'v>(
    command: &str,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    let st = state(eval)?;
    let bridge = match &st.python.mode {
        Mode::Replay { bridge, .. } if st.python.in_callback.get() => bridge.clone(),
        _ => {
            return Err(crate::error::native_error_hint(
                "`host.run_shell_command` only works inside a `python.call` function",
                "use `server.shell(...)` to run commands as an operation",
            ))
        }
    };
    let out = bridge
        .run(StringCommand::from(command))
        .map_err(|e| native_error(format!("[{}] {e}", st.host_name)))?;
    let heap = eval.heap();
    let lines = |heap: Heap<'v>, l: &[String]| {
        heap.alloc(AllocList(l.iter().map(|s| heap.alloc_str(s).to_value())))
    };
    let output = heap.alloc(AllocStruct([
        ("stdout", heap.alloc_str(&out.stdout.join("\n")).to_value()),
        ("stderr", heap.alloc_str(&out.stderr.join("\n")).to_value()),
        ("stdout_lines", lines(heap, &out.stdout)),
        ("stderr_lines", lines(heap, &out.stderr)),
    ]));
    Ok(heap.alloc((Value::new_bool(out.ok), output)))
}
