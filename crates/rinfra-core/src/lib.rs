//! rinfra's engine (pyinfra's `api`): global arguments, facts, operations, ordering and the
//! two-phase run.
//!
//! * [`Fact`] and [`FactRegistry`]: a command plus a parser, returning pyinfra-shaped JSON;
//! * [`Operation`] and [`OperationRegistry`]: arguments + facts → [`OpCommand`]s or a noop;
//! * [`GlobalArguments`]: `_sudo`, `_env`, `name`, ... with pyinfra's precedence;
//! * [`State`], [`build_plan`], [`detect_changes`], [`execute`]: the run itself. Deploy code
//!   (evaluated per host by the language layer) produces [`OpCall`]s; the engine merges their
//!   order across hosts, detects changes without touching hosts, then executes.
#![deny(missing_docs)]

mod arguments;
mod batch;
mod call;
mod config;
mod context;
mod deep_stack;
mod events;
mod execute;
mod fact;
mod fact_batch;
mod fnmatch;
mod host;
mod operation;
mod order;
mod plan;
mod prefetch;
mod pyrepr;
mod secret_args;
mod state;
mod timings;

pub use arguments::{
    all_global_arguments, apply_overrides, global_argument, is_global_argument, ArgumentError,
    ArgumentLayer, GlobalArgument, GlobalArguments, GLOBAL_ARGUMENTS,
};
pub use call::{Condition, ConditionCallback, ConditionKind, EarlierOps, OpCall, RetryUntil};
pub use config::{default_parallel, limit_malloc_arenas, raise_open_file_limit, RunConfig};
pub use deep_stack::with_deep_stack;
pub use events::{Events, HostOpStatus, NoEvents};
pub use execute::{execute, panic_text, OpResultJson, Results, ResultsJson, RunStop, TotalsJson};
pub use fact::{
    bind_fact_args, fact_command_with_requirement, Fact, FactArgs, FactError, FactRegistry,
    SharedLoad, NO_COMMAND_MARKER,
};
pub use fnmatch::fnmatch;
pub use host::Host;
pub use operation::{
    validate_op_args, ArgOverrides, Callback, ExecHost, FileDiff, OpArgs, OpCommand, OpHost,
    OpOutcome, Operation, OperationError, OperationRegistry, Param,
};
pub use order::{merge_order, OpId, OpOrder, OrderError};
pub use plan::{
    build_plan, detect_changes, HostPlan, Plan, PlanError, PlanJson, PlanOpJson, PlannedOp,
};
pub use pyrepr::{py_repr, py_str};
pub use secret_args::{is_secret_argument, shown_argument, shown_arguments_json};
pub use state::State;
pub use timings::{HostStatsJson, HostTimings, Phase};
