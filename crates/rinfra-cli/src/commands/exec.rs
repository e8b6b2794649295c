//! `rinfra INVENTORY exec -- COMMAND...`: `server.shell` with the output always shown.

use rinfra_core::{OpCall, State};
use serde_json::{json, Map};

/// One `server.shell` call per host running `command`.
pub(crate) fn calls(state: &State, command: &str) -> Vec<Vec<OpCall>> {
    let mut args = Map::new();
    args.insert("commands".into(), json!([command]));
    state
        .hosts
        .iter()
        .map(|_| vec![OpCall::new("server.shell", args.clone(), vec![0], "exec")])
        .collect()
}
