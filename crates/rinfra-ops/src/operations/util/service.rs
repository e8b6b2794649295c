//! pyinfra's `operations/util/service.py`: the start/stop/restart/reload logic every init
//! system's `service` operation shares.

use rinfra_connectors::{Bit, StringCommand};
use serde_json::Value;

use crate::facts::shell::formatted;
use crate::operations::{q, Args, Out};

/// `running`, `restarted`, `reloaded` and `command` of a `*.service` operation.
pub(crate) struct Control {
    pub(crate) running: Option<bool>,
    pub(crate) restarted: bool,
    pub(crate) reloaded: bool,
    pub(crate) command: Option<String>,
}

impl Control {
    pub(crate) fn from_args(a: &Args<'_>) -> Self {
        Self {
            // `running=None` leaves the state alone
            running: match a.raw().get("running") {
                None => Some(true),
                Some(Value::Null) => None,
                Some(v) => Some(crate::python::truthy(v)),
            },
            restarted: a.bool_or("restarted", false),
            reloaded: a.bool_or("reloaded", false),
            command: a.nonempty("command"),
        }
    }
}

/// `enabled`: `None` unless a boolean was given (pyinfra's `isinstance(enabled, bool)`).
pub(crate) fn enabled_arg(a: &Args<'_>) -> Option<bool> {
    a.get("enabled").and_then(Value::as_bool)
}

/// pyinfra's service formatter: `{0}` is the quoted service name, `{1}` the action.
pub(crate) fn format_action(formatter: &str, name: &str, action: &str) -> StringCommand {
    formatted(formatter, &[q(name), Bit::from(action)])
}

/// Yield the commands that bring service `name` (status from `statuses`) to `c`; `cmd` builds
/// the command for one action (`start`, `stop`, ...).
pub(crate) fn handle_service_control(
    out: &mut Out,
    name: &str,
    statuses: &Value,
    cmd: impl Fn(&str) -> StringCommand,
    c: &Control,
) {
    let is_running = statuses.get(name).is_some_and(crate::python::truthy);
    match c.running {
        Some(false) if is_running => out.shell(cmd("stop")),
        Some(false) => out.noop(format!("service {name} is stopped")),
        Some(true) if !is_running => out.shell(cmd("start")),
        Some(true) => out.noop(format!("service {name} is running")),
        None => {}
    }
    if c.restarted && is_running {
        out.shell(cmd("restart"));
    }
    if c.reloaded && is_running {
        out.shell(cmd("reload"));
    }
    // custom commands always run: they may or may not need the service up
    if let Some(command) = &c.command {
        out.shell(cmd(command));
    }
}
