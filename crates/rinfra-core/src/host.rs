//! A host in a run: its name, groups, data, connector and fact cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rinfra_connectors::{Connector, ConnectorArguments, HostData};
use serde_json::Value;

use crate::fact::{fact_command_with_requirement, Fact, FactArgs, FactError, NO_COMMAND_MARKER};

/// One host of the inventory, connected (or about to be) through its connector.
pub struct Host {
    /// The inventory name.
    pub name: String,
    /// Groups, in inventory order.
    pub groups: Vec<String>,
    /// Merged data (`host.data`).
    pub data: HostData,
    /// How commands reach it.
    pub connector: Arc<dyn Connector>,
    facts: Mutex<HashMap<String, Value>>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("name", &self.name)
            .field("groups", &self.groups)
            .finish_non_exhaustive()
    }
}

/// Why a fact's failed command still counts as its default: the user a sudo/su fact runs as
/// does not exist yet (it may be created by this very deploy), as pyinfra does.
fn is_missing_user_error(first_stderr: &str, args: &ConnectorArguments) -> bool {
    (args.sudo_user.is_some() && first_stderr.starts_with("sudo: unknown user"))
        || (args.su_user.is_some()
            && (first_stderr.starts_with("su: user ") && first_stderr.contains("does not exist")
                || first_stderr.starts_with("su: unknown login")))
}

impl Host {
    /// A host with its connector.
    pub fn new(
        name: String,
        groups: Vec<String>,
        data: HostData,
        connector: Arc<dyn Connector>,
    ) -> Self {
        Self {
            name,
            groups,
            data,
            connector,
            facts: Mutex::new(HashMap::new()),
        }
    }

    /// Forget every cached fact: called after an operation changed the host.
    pub fn invalidate_facts(&self) {
        self.facts.lock().expect("not poisoned").clear();
    }

    /// Load `fact` with `args`, running it with the escalation of `connector_args` (a fact
    /// asked for inside an `_sudo` operation runs with sudo, as in pyinfra).
    ///
    /// Results are cached per host until [`invalidate_facts`](Self::invalidate_facts); `loaded`
    /// is called when the fact really ran.
    pub async fn get_fact(
        &self,
        fact: &dyn Fact,
        args: &FactArgs,
        connector_args: &ConnectorArguments,
        print_input: bool,
        loaded: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<Value, FactError> {
        let args_text = serde_json::to_string(args).unwrap_or_default();
        let key = format!(
            "{}|{}|{}|{:?}|{:?}|{:?}",
            fact.name(),
            args_text,
            connector_args.sudo,
            connector_args.sudo_user,
            connector_args.su_user,
            connector_args.shell_executable
        );
        if let Some(v) = self.facts.lock().expect("not poisoned").get(&key) {
            return Ok(v.clone());
        }

        let command = fact.command(args)?;
        let requires = fact.requires_command(args);
        let command = fact_command_with_requirement(command, requires.as_deref());
        // Facts never stream output nor read stdin; a fact must not inherit an op's `_stdin`.
        let mut run_args = connector_args.clone();
        run_args.stdin = None;
        run_args.success_exit_codes = None;
        let (ok, output) = self
            .connector
            .run_shell_command(&command, false, print_input, &run_args)
            .await
            .map_err(|e| FactError::CommandFailed {
                fact: fact.name().into(),
                reason: e.to_string(),
            })?;

        let value = if ok {
            let stdout: Vec<String> = output
                .stdout_lines()
                .into_iter()
                .map(str::to_string)
                .collect();
            if stdout.iter().any(|l| l == NO_COMMAND_MARKER) || stdout.is_empty() {
                fact.default()
            } else {
                fact.process(&stdout, args)?
            }
        } else {
            let stderr = output.stderr_lines();
            if is_missing_user_error(stderr.first().copied().unwrap_or(""), connector_args) {
                fact.default()
            } else {
                let reason = if output.output().trim().is_empty() {
                    format!(
                        "exit code {}",
                        output.exit_code.map_or("?".into(), |c| c.to_string())
                    )
                } else {
                    output.output()
                };
                return Err(FactError::CommandFailed {
                    fact: fact.name().into(),
                    reason,
                });
            }
        };
        loaded(&args_text);
        self.facts
            .lock()
            .expect("not poisoned")
            .insert(key, value.clone());
        Ok(value)
    }
}
