//! `freebsd.freebsd_update.update`: binary system updates.

use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{OpHost, OperationError};

use crate::operations::{define_op, q, Args, Out};

define_op! {
    /// Fetch and install the available binary updates (`freebsd-update fetch install`).
    ///
    /// Deploy example: `freebsd.freebsd_update.update()`
    Update = "freebsd.freebsd_update.update";
    params: [optional "force" = "`-F`: update even with local changes",
             optional "basedir" = "the system to update (`-b`)",
             optional "workdir" = "the working directory (`-d`)",
             optional "conffile" = "the configuration file (`-f`)",
             optional "jail" = "update this jail (`-j`)",
             optional "key" = "the trusted key's hash (`-k`)",
             optional "currently_running" = "accepted for compatibility (pyinfra ignores it too)",
             optional "server" = "the update server (`-s`)"];
    generate: update;
}

async fn update(a: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let mut bits = vec![Bit::from(
        "PAGER=cat freebsd-update --not-running-from-cron",
    )];
    if a.bool_or("force", false) {
        bits.push(Bit::from("-F"));
    }
    for (flag, arg) in [
        ("-b", "basedir"),
        ("-d", "workdir"),
        ("-f", "conffile"),
        ("-j", "jail"),
        ("-k", "key"),
        ("-s", "server"),
    ] {
        if let Some(v) = a.opt_str(arg) {
            bits.extend([Bit::from(flag), q(v)]);
        }
    }
    bits.push(Bit::from("fetch install"));
    out.shell(StringCommand::new(bits));
    Ok(())
}
