//! `puppet.*` operations.

use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{OpHost, OperationError};

use super::{define_op, q, Args, Out};

define_op! {
    /// Run the Puppet agent once (`puppet agent -t`; not idempotent). Its exit code 2 means
    /// "changes applied": pass `_success_exit_codes=[0, 2]` to accept it.
    ///
    /// Deploy example: `puppet.agent(server="puppet.example.com", _success_exit_codes=[0, 2])`
    Agent = "puppet.agent";
    params: [optional "server" = "the Puppet server (`--server`)",
             optional "port" = "its port (`--masterport`)"];
    idempotent: false;
    generate: agent;
}

async fn agent(a: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let mut bits = vec![Bit::from("puppet agent -t")];
    if let Some(server) = a.nonempty("server") {
        bits.push(q(format!("--server={server}")));
    }
    if let Some(port) = a.get("port").filter(|p| crate::python::truthy(p)) {
        bits.push(q(format!(
            "--masterport={}",
            crate::python::python_str(port)
        )));
    }
    out.shell(StringCommand::new(bits));
    Ok(())
}
