//! Connector arguments: the global arguments (`_sudo`, `_env`, `_timeout`, ...) a connector
//! receives with every command, as pyinfra's `ConnectorArguments`.

use std::time::Duration;

use crate::secret::Secret;

/// A value in `_env`: plain, or secret (pyinfra's `HiddenValue`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvValue {
    /// Printed as is.
    Plain(String),
    /// Sent to the target, printed as `*MASKED*`.
    Hidden(Secret),
}

/// The global arguments that change how a command is run.
///
/// Field names are pyinfra's argument names without the leading underscore. The defaults match
/// pyinfra's config defaults: no escalation, `sh` as the shell, exit code 0 as success.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectorArguments {
    /// `_sudo`: run through `sudo -H -n` (or `-A -k` with a password).
    pub sudo: bool,
    /// `_sudo_user`: `sudo -u USER`.
    pub sudo_user: Option<String>,
    /// `_use_sudo_login`: `sudo -i`.
    pub use_sudo_login: bool,
    /// `_sudo_password`: sent through an askpass script, never on the command line unmasked.
    pub sudo_password: Option<Secret>,
    /// `_preserve_sudo_env`: `sudo -E`.
    pub preserve_sudo_env: bool,
    /// `_su_user`: `su USER -c '...'`.
    pub su_user: Option<String>,
    /// `_use_su_login`: `su -l`.
    pub use_su_login: bool,
    /// `_preserve_su_env`: `su -m`.
    pub preserve_su_env: bool,
    /// `_su_shell`: `su -s $(command -v SHELL)`.
    pub su_shell: Option<String>,
    /// `_su_password`: piped into `su` from an askpass script.
    pub su_password: Option<Secret>,
    /// `_doas`: `doas -n`.
    pub doas: bool,
    /// `_doas_user`: `doas -u USER`.
    pub doas_user: Option<String>,
    /// `_dzdo`: `dzdo -H -n`.
    pub dzdo: bool,
    /// `_dzdo_user`: `dzdo -u USER`.
    pub dzdo_user: Option<String>,
    /// `_shell_executable`: the shell of `SHELL -c '...'`; `None` sends the command unwrapped.
    pub shell_executable: Option<String>,
    /// `_chdir`: `cd DIR && ...`.
    pub chdir: Option<String>,
    /// `_env`: `export K=V ... && ...`, in insertion order.
    pub env: Vec<(String, EnvValue)>,
    /// `_success_exit_codes`: exit codes that count as success (default: only 0).
    pub success_exit_codes: Option<Vec<i32>>,
    /// `_timeout`: per-command timeout; the command is killed and a timeout reported.
    pub timeout: Option<Duration>,
    /// `_get_pty`: ask for a pseudo-terminal where the connector can.
    pub get_pty: bool,
    /// `_stdin`: lines written to the command's stdin (each newline-terminated), then closed.
    pub stdin: Option<Vec<String>>,
    /// `_temp_dir`: remote directory for temp files and askpass scripts.
    pub temp_dir: Option<String>,
}

impl Default for ConnectorArguments {
    fn default() -> Self {
        Self {
            sudo: false,
            sudo_user: None,
            use_sudo_login: false,
            sudo_password: None,
            preserve_sudo_env: false,
            su_user: None,
            use_su_login: false,
            preserve_su_env: false,
            su_shell: None,
            su_password: None,
            doas: false,
            doas_user: None,
            dzdo: false,
            dzdo_user: None,
            shell_executable: Some("sh".to_string()),
            chdir: None,
            env: Vec::new(),
            success_exit_codes: None,
            timeout: None,
            get_pty: false,
            stdin: None,
            temp_dir: None,
        }
    }
}

impl ConnectorArguments {
    /// Whether any privilege escalation (`sudo`, `su`, `doas`, `dzdo`) is asked for.
    pub fn escalates(&self) -> bool {
        self.sudo || self.su_user.is_some() || self.doas || self.dzdo
    }

    /// The user the command ends up running as, when an escalation names one
    /// (pyinfra: `_su_user or _sudo_user or _doas_user or _dzdo_user`).
    pub fn target_user(&self) -> Option<&str> {
        self.su_user
            .as_deref()
            .or(self.sudo_user.as_deref())
            .or(self.doas_user.as_deref())
            .or(self.dzdo_user.as_deref())
    }

    /// These arguments without escalation, `_chdir`, stdin or timeout: for the helper commands a
    /// connector runs as the login user (temp file clean-up, ACLs).
    pub fn unescalated(&self) -> Self {
        Self {
            env: self.env.clone(),
            shell_executable: self.shell_executable.clone(),
            temp_dir: self.temp_dir.clone(),
            ..Self::default()
        }
    }

    /// Whether `exit_code` counts as success under `_success_exit_codes`.
    pub fn is_success(&self, exit_code: Option<i32>) -> bool {
        match (exit_code, &self.success_exit_codes) {
            (None, _) => false,
            (Some(code), Some(codes)) if !codes.is_empty() => codes.contains(&code),
            (Some(code), _) => code == 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_codes() {
        let mut args = ConnectorArguments::default();
        assert!(args.is_success(Some(0)));
        assert!(!args.is_success(Some(3)));
        assert!(!args.is_success(None));
        args.success_exit_codes = Some(vec![0, 3]);
        assert!(args.is_success(Some(3)));
        assert!(!args.is_success(Some(1)));
    }

    #[test]
    fn target_user_precedence() {
        let args = ConnectorArguments {
            sudo: true,
            sudo_user: Some("app".into()),
            su_user: Some("other".into()),
            ..Default::default()
        };
        assert_eq!(args.target_user(), Some("other"));
        assert!(args.escalates());
        assert!(!args.unescalated().escalates());
    }
}
