//! rinfra's engine (pyinfra's `api`): global arguments, facts, operations, inventory, ordering
//! and the two-phase run.
//!
//! * [`Fact`] and [`FactRegistry`]: a command plus a parser, returning pyinfra-shaped JSON;
//! * [`Operation`] and [`OperationRegistry`]: arguments + facts → [`OpCommand`]s or a noop;
//! * [`GlobalArguments`]: `_sudo`, `_env`, `name`, ... with pyinfra's precedence.
#![deny(missing_docs)]

mod arguments;
mod call;
mod fact;
mod operation;

pub use arguments::{
    all_global_arguments, apply_overrides, is_global_argument, ArgumentError, GlobalArguments,
    CONNECTOR_ARGUMENTS, EXECUTION_ARGUMENTS, META_ARGUMENTS,
};
pub use call::{Condition, ConditionKind, OpCall};
pub use fact::{
    bind_fact_args, fact_command_with_requirement, Fact, FactArgs, FactError, FactRegistry,
    NO_COMMAND_MARKER,
};
pub use operation::{
    validate_op_args, ArgOverrides, Callback, ExecHost, FileDiff, OpArgs, OpCommand, OpHost,
    OpOutcome, Operation, OperationError, OperationRegistry, Param,
};
