//! `rinfra INVENTORY module.op ARG... key=value...`: one ad-hoc operation.

use rinfra_core::{is_global_argument, OpCall, OperationRegistry, State};
use serde_json::{Map, Value};

use crate::error::CliError;
use crate::settings::{as_keyword_argument, parse_cli_value};

/// The calls for an ad-hoc operation: positional arguments map to the operation's parameters
/// in order; `_`-prefixed keys are global arguments.
pub(crate) fn calls(
    state: &State,
    ops: &OperationRegistry,
    name: &str,
    raw: &[String],
) -> Result<Vec<Vec<OpCall>>, CliError> {
    let op = ops.get(name).ok_or_else(|| {
        CliError::usage(format!("unknown operation `{name}`")).with_hint(crate::unknown_name::hint(
            "operation",
            "files.directory or server.shell",
            name,
            &ops.names().collect::<Vec<_>>(),
        ))
    })?;
    let mut args = Map::new();
    let mut globals = Map::new();
    let mut positional = 0;
    for item in raw {
        if let Some((k, v)) = as_keyword_argument(item) {
            if is_global_argument(&k) {
                globals.insert(k, v);
            } else {
                args.insert(k, v);
            }
        } else {
            let param = op.params().get(positional).ok_or_else(|| {
                CliError::usage(format!(
                    "{name} takes {} positional argument(s); got `{item}`",
                    op.params().len()
                ))
            })?;
            let value = parse_cli_value(item);
            // server.shell's `commands` is a list; a single positional command becomes one.
            let value = match (param.name, value) {
                ("commands", Value::String(s)) => Value::Array(vec![Value::String(s)]),
                (_, v) => v,
            };
            args.insert(param.name.to_string(), value);
            positional += 1;
        }
    }
    let valid: Vec<&str> = op.params().iter().map(|p| p.name).collect();
    if let Some(unknown) = args
        .keys()
        .find(|k| !op.accepts_extra_kwargs() && !valid.contains(&k.as_str()))
    {
        let err = CliError::usage(format!("unknown argument `{unknown}` for `{name}`"));
        let candidates = valid
            .iter()
            .copied()
            .chain(rinfra_core::all_global_arguments());
        return Err(match rinfra_python::did_you_mean(unknown, candidates) {
            Some(best) => err.with_hint(format!("did you mean `{best}`?")),
            None => err.with_hint(format!("arguments of `{name}`: {}", valid.join(", "))),
        });
    }
    // What is left: required arguments that are missing (the message names them).
    rinfra_core::validate_op_args(op.as_ref(), &args)
        .map_err(|e| CliError::usage(e.to_string()))?;
    Ok(state
        .hosts
        .iter()
        .map(|_| {
            let mut call = OpCall::new(name, args.clone(), vec![0], "command line");
            call.global_args = globals.clone();
            vec![call]
        })
        .collect())
}
