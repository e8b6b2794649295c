//! pyinfra's prepare step as the operator sees it, after connecting: `--> Preparing ...`, each
//! deploy file `Loading:`, and each host `Ready:` once the operations are known for it.

use rinfra_core::State;

use crate::output::{self, section};

/// What the run prepares, by CLI form.
pub(crate) enum Preparing {
    /// `exec -- COMMAND`: one `server.shell`.
    Exec,
    /// An operation or a deploy function named on the command line (`files.directory`).
    Func(String),
    /// Deploy files, in order.
    Files(Vec<String>),
}

impl Preparing {
    /// An operation or deploy function by its full name: hosts are ready with its last part,
    /// as pyinfra names the function.
    pub(crate) fn func(name: &str) -> Self {
        let short = name.rsplit(['.', ':']).next().unwrap_or(name);
        Preparing::Func(short.to_string())
    }

    /// The section header, before deploy code runs (what it prints comes under it).
    pub(crate) fn start(&self) {
        section(match self {
            Preparing::Exec => "Preparing exec operation...",
            Preparing::Func(_) => "Preparing operation func...",
            Preparing::Files(_) => "Preparing operation files...",
        });
    }

    /// The files loaded and the hosts ready (those still active, in inventory order), then a
    /// blank line. Deploy files all run on a host at once, so each file's lines come after the
    /// whole evaluation rather than as each file finishes.
    pub(crate) fn finish(&self, state: &State) {
        let hosts: Vec<&str> = state
            .active_hosts()
            .into_iter()
            .map(|i| state.hosts[i].name.as_str())
            .collect();
        let ready = |name: &str| {
            for host in &hosts {
                output::ready(host, name);
            }
        };
        match self {
            Preparing::Exec => ready("shell"),
            Preparing::Func(name) => ready(name),
            Preparing::Files(files) => {
                for f in files {
                    output::line(&format!("    Loading: {}", output::bold(f)));
                    ready(f);
                }
            }
        }
        output::line("");
    }
}
