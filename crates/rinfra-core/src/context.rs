//! The [`OpHost`] and [`ExecHost`] views of a host that operations and callbacks receive.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use rinfra_connectors::{
    CommandOutput, ConnectError, ConnectorArguments, ConnectorError, HostData, StringCommand,
};
use serde_json::{Map, Value};

use crate::arguments::apply_overrides;
use crate::fact::{FactArgs, FactError};
use crate::operation::{ArgOverrides, ExecHost, OpHost};
use crate::state::State;

/// Host `index` of `state`, seen by an operation running with `args`.
pub(crate) struct OpContext<'a> {
    pub(crate) state: &'a State,
    pub(crate) index: usize,
    pub(crate) args: &'a ConnectorArguments,
    /// Where the call is (`deploy.py:12`): `./x` paths are relative to that file, as pyinfra's.
    pub(crate) location: &'a str,
}

#[async_trait]
impl OpHost for OpContext<'_> {
    fn name(&self) -> &str {
        &self.state.hosts[self.index].name
    }

    fn data(&self) -> &HostData {
        &self.state.hosts[self.index].data
    }

    fn groups(&self) -> &[String] {
        &self.state.hosts[self.index].groups
    }

    async fn get_fact(&self, fact: &str, args: FactArgs) -> Result<Value, FactError> {
        self.state
            .get_fact(self.index, fact, &args, self.args)
            .await
    }

    fn local_path(&self, path: &str) -> PathBuf {
        let p = PathBuf::from(path);
        if p.is_absolute() {
            return p;
        }
        // pyinfra: relative to the working directory, except `./x`, relative to the deploy file.
        if path.starts_with("./") {
            let file = self
                .location
                .rsplit_once(':')
                .map_or(self.location, |(f, _)| f);
            if let Some(dir) = std::path::Path::new(file)
                .parent()
                .filter(|_| file.ends_with(".py"))
            {
                return self.state.config.deploy_dir.join(dir).join(p);
            }
        }
        self.state.config.deploy_dir.join(p)
    }

    fn temp_dir(&self) -> String {
        self.args
            .temp_dir
            .clone()
            .unwrap_or_else(|| rinfra_connectors::DEFAULT_TEMP_DIR.to_string())
    }

    fn template_context(&self) -> Map<String, Value> {
        let host = &self.state.hosts[self.index];
        let mut ctx = host.data.clone();
        ctx.insert(
            "host".into(),
            serde_json::json!({"name": host.name, "data": host.data, "groups": host.groups}),
        );
        // The run's `inventory` wins over host data of that name, as it did when it was one
        // map; the template's own keyword arguments still win over both.
        ctx.remove("inventory");
        ctx
    }

    fn inventory_context(&self) -> Option<Arc<Value>> {
        Some(Arc::clone(&self.state.inventory_context))
    }

    fn diff_enabled(&self) -> bool {
        self.state.config.diff
    }
}

/// Host `index` seen by a callback at execute time.
pub(crate) struct ExecContext<'a> {
    pub(crate) state: &'a Arc<State>,
    pub(crate) index: usize,
    pub(crate) args: &'a ConnectorArguments,
}

#[async_trait]
impl ExecHost for ExecContext<'_> {
    fn name(&self) -> &str {
        &self.state.hosts[self.index].name
    }

    async fn run_shell_command(
        &self,
        command: &StringCommand,
        overrides: &ArgOverrides,
    ) -> Result<(bool, CommandOutput), ConnectorError> {
        let args = apply_overrides(self.args, overrides)
            .map_err(|e| ConnectorError::Other(e.to_string()))?;
        let host = &self.state.hosts[self.index];
        let cfg = &self.state.config;
        host.connector
            .run_shell_command(command, cfg.print_output, cfg.print_input, &args)
            .await
    }

    async fn reconnect(&self) -> Result<(), ConnectError> {
        let host = &self.state.hosts[self.index];
        host.connector.disconnect().await;
        host.invalidate_facts();
        host.connector.connect().await
    }
}
