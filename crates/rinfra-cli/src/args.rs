//! Command-line arguments, pyinfra's forms: `rinfra [OPTIONS] INVENTORY OPERATIONS...`.
//! The doc comments are the `--help` text.

use clap::Parser;

/// rinfra: pyinfra's model (Python-syntax deploys → shell commands on many hosts) as one fast
/// binary.
///
/// OPERATIONS is one of:
///   deploy.py [more.py...]         run deploy files
///   module.op [ARG...] [key=value...]  run one operation, e.g. files.directory path=/srv mode=755
///   exec -- COMMAND...             run a shell command
///   fact NAME [key=value...]...    print facts, e.g. fact server.Hostname files.File path=/etc/hosts
///   debug-inventory                print hosts, groups and data
#[derive(Parser, Debug)]
// `term_width = 0`: the help as written, never wrapped to the terminal. clap wraps only with
// its `wrap_help` feature, which a workspace build turns on (through divan, a bench
// dependency) and a build of this package alone does not: the same binary would print two
// different helps.
#[command(
    name = "rinfra",
    version,
    verbatim_doc_comment,
    arg_required_else_help = true,
    term_width = 0
)]
pub(crate) struct Args {
    /// Inventory: a file (inventory.py), `@local`, `@connector/arg`, or a comma list of hosts.
    #[arg(required_unless_present_any = ["list_connectors", "support"])]
    pub(crate) inventory: Option<String>,

    /// What to run (see above).
    #[arg(num_args = 0..)]
    pub(crate) operations: Vec<String>,

    /// Verbosity: -v facts and noop reasons, -vv commands, -vvv command output.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,

    /// Prepare and show detected changes, change nothing.
    #[arg(long)]
    pub(crate) dry: bool,

    /// Show unified diffs of file changes.
    #[arg(long)]
    pub(crate) diff: bool,

    /// Execute without change detection or confirmation (also `RINFRA_YES=1` or
    /// `PYINFRA_YES=1`).
    // The variables are read as click reads `PYINFRA_YES` (`main.rs`), not by clap, whose
    // flags refuse `0` and an empty value.
    #[arg(short = 'y', long = "yes")]
    pub(crate) yes: bool,

    /// Write the plan and results as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,

    /// Only these hosts: host names, group names or globs (repeatable).
    #[arg(long)]
    pub(crate) limit: Vec<String>,

    /// Not these hosts: host names, group names or globs (repeatable, applied after --limit).
    #[arg(long)]
    pub(crate) exclude: Vec<String>,

    /// Stop when more than this percentage of hosts failed.
    #[arg(long)]
    pub(crate) fail_percent: Option<f64>,

    /// Override host data, key=value (repeatable; values parsed as pyinfra does).
    #[arg(long = "data")]
    pub(crate) data: Vec<String>,

    /// Extra group_data directories, applied last (repeatable).
    #[arg(long = "group-data")]
    pub(crate) group_data: Vec<String>,

    /// Config file (default: config.py next to the deploy).
    #[arg(long)]
    pub(crate) config: Option<String>,

    /// Change to this local directory before anything else (as pyinfra: inventory, deploy and
    /// config paths are relative to it).
    #[arg(long)]
    pub(crate) chdir: Option<String>,

    /// Run commands with sudo.
    #[arg(long)]
    pub(crate) sudo: bool,

    /// sudo to this user.
    #[arg(long)]
    pub(crate) sudo_user: Option<String>,

    /// Use `sudo -i`.
    #[arg(long)]
    pub(crate) use_sudo_login: bool,

    /// Ask for the sudo password once, before running.
    #[arg(long)]
    pub(crate) use_sudo_password: bool,

    /// All hosts have the same sudo password: ask for it once, before running.
    #[arg(long)]
    pub(crate) same_sudo_password: bool,

    /// Run commands with su as this user.
    #[arg(long)]
    pub(crate) su_user: Option<String>,

    /// Run commands with doas.
    #[arg(long)]
    pub(crate) doas: bool,

    /// doas to this user.
    #[arg(long)]
    pub(crate) doas_user: Option<String>,

    /// Run commands with dzdo.
    #[arg(long)]
    pub(crate) dzdo: bool,

    /// dzdo to this user (with --dzdo).
    #[arg(long)]
    pub(crate) dzdo_user: Option<String>,

    /// Shell that wraps commands (`None` to disable wrapping).
    #[arg(long)]
    pub(crate) shell_executable: Option<String>,

    /// Hosts to run at once (default: bounded by the open-file limit).
    #[arg(long)]
    pub(crate) parallel: Option<usize>,

    /// Each host runs all its operations without waiting for the others.
    #[arg(long)]
    pub(crate) no_wait: bool,

    /// Run host by host.
    #[arg(long)]
    pub(crate) serial: bool,

    /// Retry failed operations this many times.
    #[arg(long)]
    pub(crate) retry: Option<u32>,

    /// Seconds between retries.
    #[arg(long)]
    pub(crate) retry_delay: Option<f64>,

    /// SSH user to connect as (also --user).
    #[arg(long = "ssh-user", visible_alias = "user")]
    pub(crate) user: Option<String>,

    /// SSH port to connect to (also --port).
    #[arg(long = "ssh-port", visible_alias = "port")]
    pub(crate) port: Option<u16>,

    /// SSH private key file (also --key).
    #[arg(long = "ssh-key", visible_alias = "key")]
    pub(crate) key: Option<String>,

    /// Password of the SSH private key (also --key-password).
    #[arg(long = "ssh-key-password", visible_alias = "key-password")]
    pub(crate) key_password: Option<String>,

    /// SSH password (also --password).
    #[arg(long = "ssh-password", visible_alias = "password")]
    pub(crate) password: Option<String>,

    /// Ask for the SSH password (without echo) instead of taking it on the command line.
    #[arg(long)]
    pub(crate) ssh_password_prompt: bool,

    /// Seconds to wait for a connection.
    #[arg(long)]
    pub(crate) connect_timeout: Option<f64>,

    /// Print debug information.
    #[arg(long)]
    pub(crate) debug: bool,

    /// Print debug information from everything (rinfra has no other packages' logs: as --debug).
    #[arg(long)]
    pub(crate) debug_all: bool,

    /// Prepare (gather facts, detect changes), then exit without executing.
    #[arg(long)]
    pub(crate) debug_facts: bool,

    /// Prepare, print the operations (JSON), then exit without executing.
    #[arg(long)]
    pub(crate) debug_operations: bool,

    /// Print versions and platform information for bug reports, and exit.
    #[arg(long)]
    pub(crate) support: bool,

    /// List the connectors rinfra can use and exit.
    #[arg(long)]
    pub(crate) list_connectors: bool,
}
