//! Running a wrapped command in a local shell without its text in any process's argv.
//!
//! A process's argv is public: every user of the machine reads it in `/proc/PID/cmdline`
//! (`ps`). Commands carry secrets to their target (database passwords, hidden `_env` values),
//! and under `@local` or `@chroot` that target is this machine, so the command travels in the
//! shell's environment instead (readable only by its own user and root), and is unset before it
//! runs, so the command's own children do not inherit it.
//!
//! A command wrapped only in its shell (`sh -c '...'`, pyinfra's `_shell_executable`) runs in
//! that shell directly, not as `sh -c 'sh -c ...'`: the inner shell's argv would hold it again.
//! Escalation (`sudo`, `su`, `doas`) starts its own shell with the command in argv, as on any
//! target: sudo clears the environment, so there is no other way to hand the command over.

use std::ffi::OsStr;

use crate::base::HostContext;
use crate::command::{Bit, StringCommand};
use crate::error::ConnectorError;
use crate::output::CommandOutput;
use crate::process::{run_local_process_with_env, LocalProcess};

/// The environment variable that carries the command (see [`SH_COMMAND_FROM_ENV`]).
pub const COMMAND_ENV_VAR: &str = "RINFRA_COMMAND";

/// `SHELL -c` text that runs the command held in `$RINFRA_COMMAND`, after unsetting it.
pub const SH_COMMAND_FROM_ENV: &str = "c=$RINFRA_COMMAND; unset RINFRA_COMMAND; eval \"$c\"";

/// Shells known to run [`SH_COMMAND_FROM_ENV`] (POSIX `eval` and parameter assignment).
const POSIX_SHELLS: [&str; 7] = ["sh", "bash", "dash", "ksh", "mksh", "zsh", "ash"];

/// The shell to start and the command it evaluates: the inner command of a plain
/// `SHELL -c '<command>'` wrapper in that shell, anything else (escalation, no wrapper, an
/// unknown shell) as a whole in `sh`.
pub fn shell_and_command(wrapped: &StringCommand) -> (String, String) {
    if let [Bit::Raw(shell), Bit::Raw(flag), Bit::Quoted(inner)] = wrapped.bits() {
        let name = shell.rsplit('/').next().unwrap_or_default();
        if flag == "-c" && POSIX_SHELLS.contains(&name) {
            let inner = StringCommand::new([(**inner).clone()]).get_raw_value();
            return (shell.clone(), inner);
        }
    }
    ("sh".into(), wrapped.get_raw_value())
}

/// Run `wrapped` locally: `PREFIX... SHELL -c SH_COMMAND_FROM_ENV` with the command in the
/// environment (`prefix` is e.g. `chroot ROOT`; empty to start the shell itself).
pub async fn run_local_shell(
    host: &HostContext,
    prefix: &[&OsStr],
    wrapped: &StringCommand,
    opts: LocalProcess<'_>,
) -> Result<CommandOutput, ConnectorError> {
    let (shell, command) = shell_and_command(wrapped);
    let mut argv: Vec<&OsStr> = prefix.to_vec();
    argv.extend([
        OsStr::new(shell.as_str()),
        OsStr::new("-c"),
        OsStr::new(SH_COMMAND_FROM_ENV),
    ]);
    let (program, args) = argv.split_first().expect("a shell at least");
    let program = program.to_string_lossy();
    run_local_process_with_env(
        host,
        &program,
        args,
        &[(COMMAND_ENV_VAR, command.as_str())],
        opts,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arguments::ConnectorArguments;
    use crate::command::quoted;
    use crate::secret::Secret;
    use crate::wrap::{make_unix_command, AskpassPaths};

    fn wrapped(args: &ConnectorArguments) -> StringCommand {
        let cmd = StringCommand::new([
            Bit::from("mysql"),
            StringCommand::with_separator([Bit::from("-p"), quoted(Secret::new("pw 1"))], "")
                .into(),
        ]);
        make_unix_command(&cmd, args, &AskpassPaths::default())
    }

    #[test]
    fn a_plain_shell_wrapper_is_unwrapped() {
        let args = ConnectorArguments {
            shell_executable: Some("bash".into()),
            ..Default::default()
        };
        assert_eq!(
            shell_and_command(&wrapped(&args)),
            ("bash".to_string(), "mysql -p'pw 1'".to_string())
        );
    }

    #[test]
    fn escalation_and_unknown_shells_run_whole_in_sh() {
        let sudo = ConnectorArguments {
            shell_executable: Some("sh".into()),
            sudo: true,
            ..Default::default()
        };
        let (shell, command) = shell_and_command(&wrapped(&sudo));
        assert_eq!(shell, "sh");
        assert!(command.starts_with("sudo -H -n sh -c "), "{command}");
        let fish = ConnectorArguments {
            shell_executable: Some("fish".into()),
            ..Default::default()
        };
        assert_eq!(shell_and_command(&wrapped(&fish)).0, "sh");
        let bare = ConnectorArguments::default();
        assert_eq!(
            shell_and_command(&wrapped(&bare)),
            ("sh".to_string(), "mysql -p'pw 1'".to_string())
        );
    }
}
