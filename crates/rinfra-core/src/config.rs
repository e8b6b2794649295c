//! Run-wide settings (pyinfra's `Config` plus CLI state such as verbosity).

use serde_json::{Map, Value};

/// Settings of one run.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// Global-argument defaults from CLI flags (`--sudo` → `_sudo`): under host data, over the
    /// config (`OpCall::config_args`).
    pub global_defaults: Map<String, Value>,
    /// Hosts running an operation at once (`--parallel`); 0 = derived from the open-file limit.
    pub parallel: usize,
    /// `--fail-percent`: stop when more than this share of hosts failed.
    pub fail_percent: Option<f64>,
    /// `--diff`: show file diffs in the prepare phase.
    pub diff: bool,
    /// `-y`: skip change detection before executing (pyinfra: `check_for_changes=False`).
    pub skip_change_detection: bool,
    /// `--serial`: run all operations host by host.
    pub serial: bool,
    /// `--no-wait`: each host runs its operations without waiting for the others.
    pub no_wait: bool,
    /// `-vv`: print each command before it runs.
    pub print_input: bool,
    /// `-vvv`: stream each command's output.
    pub print_output: bool,
    /// Directory that relative local paths in operations are resolved against.
    pub deploy_dir: std::path::PathBuf,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            global_defaults: Map::new(),
            parallel: 0,
            fail_percent: None,
            diff: false,
            skip_change_detection: false,
            serial: false,
            no_wait: false,
            print_input: false,
            print_output: false,
            deploy_dir: std::path::PathBuf::from("."),
        }
    }
}

/// The default number of hosts to run at once: bounded by the open-file limit (each host needs
/// a connection plus pipes for local processes), not by a fixed batch.
pub fn default_parallel(host_count: usize) -> usize {
    let mut limit = libc_nofile().unwrap_or(1024);
    limit = limit.saturating_sub(32) / 4;
    host_count.clamp(1, limit.max(1) as usize)
}

/// Raise this process's soft open-file limit to its hard limit (at most 65,536), as Go
/// programs do at start: the soft limit is often 1,024, which a run over 1,000 SSH hosts (one
/// socket each, all open for the whole run) would exhaust, and the default parallelism is
/// derived from it. Returns the soft limit in force afterwards.
pub fn raise_open_file_limit() -> Option<u64> {
    let rl = nofile_limits()?;
    let wanted = rl.rlim_max.min(65_536);
    if rl.rlim_cur < wanted {
        let raised = libc::rlimit {
            rlim_cur: wanted,
            rlim_max: rl.rlim_max,
        };
        // SAFETY: setrlimit reads the struct we pass; lowering nothing, raising within the hard
        // limit, which needs no privilege.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            return Some(wanted);
        }
    }
    Some(rl.rlim_cur)
}

/// Cap glibc's malloc arenas at the number of cores (its default is 8 per core), unless the
/// user set `MALLOC_ARENA_MAX`: a run keeps one connection per host open on a few worker
/// threads, and extra arenas only hold freed memory (measured at 1,000 hosts: peak RSS 215 MB
/// with the default, 201 MB with 2 arenas, on 2 cores).
pub fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let arenas = libc::c_int::try_from(cores.max(2)).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt only sets a tuning parameter; called before any thread starts.
        unsafe { libc::mallopt(libc::M_ARENA_MAX, arenas) };
    }
}

fn libc_nofile() -> Option<u64> {
    nofile_limits().map(|rl| rl.rlim_cur)
}

/// The soft and hard open-file limits.
fn nofile_limits() -> Option<libc::rlimit> {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) };
    (rc == 0).then_some(rl)
}
