//! pyinfra's command wrapping (`make_unix_command`), byte for byte.
//!
//! Layers, innermost first: `_env` (`export 'K=V' && cmd`), `_chdir` (`cd DIR && ...`), then the
//! escalation prefix (`doas`, `dzdo`, sudo askpass env, `sudo`), then either
//! `su USER -c 'SHELL -c '...''` or `SHELL -c '...'` (or the bare command without a shell).
//! Connectors never build sudo/su text themselves; they call [`make_unix_command`].

use crate::arguments::{ConnectorArguments, EnvValue};
use crate::command::{quoted, Bit, StringCommand};

/// Environment variable that carries the sudo password to the askpass script.
pub const SUDO_ASKPASS_ENV_VAR: &str = "PYINFRA_SUDO_PASSWORD";
/// Environment variable that carries the su password to the askpass script.
pub const SU_ASKPASS_ENV_VAR: &str = "PYINFRA_SU_PASSWORD";

/// Output lines meaning sudo wanted a password it could not prompt for (sudo and sudo-rs).
pub const SUDO_PASSWORD_REQUIRED_LINES: [&str; 2] = [
    "sudo: a password is required",
    "sudo-rs: interactive authentication is required",
];

/// Paths of askpass scripts already created on the target (see [`askpass_script_command`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AskpassPaths {
    /// The script printing `$PYINFRA_SUDO_PASSWORD`, used with `SUDO_ASKPASS`.
    pub sudo: Option<String>,
    /// The script printing `$PYINFRA_SU_PASSWORD`, piped into `su`.
    pub su: Option<String>,
}

/// The shell snippet that creates an askpass script under `temp_dir` and prints its path.
///
/// The script prints the password from the environment variable `env_var`, so the password
/// itself is never written to the target's disk. `mktemp` makes the file 0600 before the
/// `chmod 700`, so no other user can read or run it.
pub fn askpass_script_command(temp_dir: &str, env_var: &str) -> String {
    format!(
        "temp=$(mktemp \"${{TMPDIR:={temp_dir}}}/pyinfra-sudo-askpass-XXXXXXXXXXXX\")\n\
         cat >\"$temp\"<<'__EOF__'\n\
         #!/bin/sh\n\
         printf '%s\\n' \"${env_var}\"\n\
         __EOF__\n\
         chmod 700 \"$temp\"\n\
         echo \"$temp\"\n"
    )
}

/// Wrap `command` with the global arguments, exactly as pyinfra 3.10's `make_unix_command`.
///
/// A sudo (or su) password is only used when its askpass script path is known: callers create
/// the script first (see [`askpass_script_command`]) and pass its path in `askpass`.
pub fn make_unix_command(
    command: &StringCommand,
    args: &ConnectorArguments,
    askpass: &AskpassPaths,
) -> StringCommand {
    let mut command = command.clone();

    if !args.env.is_empty() {
        let mut bits = vec![Bit::from("export")];
        for (key, value) in &args.env {
            let value = match value {
                EnvValue::Plain(v) => Bit::from(v.as_str()),
                EnvValue::Hidden(s) => Bit::Hidden(s.clone()),
            };
            let pair = StringCommand::with_separator([Bit::from(key.as_str()), value], "=");
            bits.push(quoted(pair));
        }
        bits.push("&&".into());
        bits.push(command.into());
        command = StringCommand::new(bits);
    }

    if let Some(dir) = args.chdir.as_deref().filter(|d| !d.is_empty()) {
        command = StringCommand::new([
            Bit::from("cd"),
            quoted(dir),
            Bit::from("&&"),
            command.into(),
        ]);
    }

    let mut bits: Vec<Bit> = Vec::new();

    if args.doas {
        bits.extend(["doas".into(), "-n".into()]);
        if let Some(user) = &args.doas_user {
            bits.extend(["-u".into(), quoted(user.as_str())]);
        }
    }

    if args.dzdo {
        bits.extend(["dzdo".into(), "-H".into(), "-n".into()]);
        if let Some(user) = &args.dzdo_user {
            bits.extend(["-u".into(), quoted(user.as_str())]);
        }
    }

    let sudo_password = args.sudo_password.as_ref().filter(|p| !p.is_empty());
    if let (Some(password), Some(path)) = (sudo_password, askpass.sudo.as_deref()) {
        bits.push("env".into());
        bits.push(
            StringCommand::with_separator([Bit::from("SUDO_ASKPASS="), quoted(path)], "").into(),
        );
        bits.push(
            StringCommand::with_separator(
                [Bit::from(SUDO_ASKPASS_ENV_VAR), quoted(password.clone())],
                "=",
            )
            .into(),
        );
    }

    if args.sudo {
        bits.extend(["sudo".into(), "-H".into()]);
        if sudo_password.is_some() {
            bits.extend(["-A".into(), "-k".into()]);
        } else {
            bits.push("-n".into());
        }
        if args.use_sudo_login {
            bits.push("-i".into());
        }
        if args.preserve_sudo_env {
            bits.push("-E".into());
        }
        if let Some(user) = &args.sudo_user {
            bits.extend(["-u".into(), quoted(user.as_str())]);
        }
    }

    if let Some(su_user) = &args.su_user {
        let su_password = args.su_password.as_ref().filter(|p| !p.is_empty());
        if let (Some(password), Some(path)) = (su_password, askpass.su.as_deref()) {
            bits.push("env".into());
            bits.push(
                StringCommand::with_separator(
                    [Bit::from(SU_ASKPASS_ENV_VAR), quoted(password.clone())],
                    "=",
                )
                .into(),
            );
            bits.push(quoted(path));
            bits.push("|".into());
        }
        bits.push("su".into());
        if args.use_su_login {
            bits.push("-l".into());
        }
        if args.preserve_su_env {
            bits.push("-m".into());
        }
        if let Some(shell) = &args.su_shell {
            bits.extend([
                "-s".into(),
                StringCommand::with_separator(
                    [
                        Bit::from("$(command -v "),
                        quoted(shell.as_str()),
                        Bit::from(")"),
                    ],
                    "",
                )
                .into(),
            ]);
        }
        bits.extend([quoted(su_user.as_str()), "-c".into()]);
        // The whole `sh -c '...'` is one quoted argument: BSD su has no shell option.
        match &args.shell_executable {
            Some(shell) => bits.push(quoted(StringCommand::new([
                Bit::from(shell.as_str()),
                Bit::from("-c"),
                quoted(command),
            ]))),
            None => bits.push(quoted(command)),
        }
    } else {
        match &args.shell_executable {
            Some(shell) => bits.extend([shell.as_str().into(), "-c".into(), quoted(command)]),
            None => bits.push(command.into()),
        }
    }

    StringCommand::new(bits)
}

/// Whether command output says sudo needed a password (and so a prompt and retry may help).
pub fn sudo_password_required<'a>(mut lines: impl Iterator<Item = &'a str>) -> bool {
    lines.any(|l| SUDO_PASSWORD_REQUIRED_LINES.contains(&l.trim_end()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    const CMD: &str = "echo 'hello world' && ls";
    const Q: &str = "'echo '\"'\"'hello world'\"'\"' && ls'";

    fn wrap(args: ConnectorArguments) -> String {
        make_unix_command(&StringCommand::from(CMD), &args, &AskpassPaths::default())
            .get_raw_value()
    }

    // The expected strings below are pyinfra 3.10.0's `make_unix_command` output
    // (reference/pyinfra.md section 1.5).
    #[test]
    fn no_arguments() {
        assert_eq!(wrap(Default::default()), format!("sh -c {Q}"));
    }

    #[test]
    fn sudo() {
        let a = ConnectorArguments {
            sudo: true,
            ..Default::default()
        };
        assert_eq!(wrap(a), format!("sudo -H -n sh -c {Q}"));
    }

    #[test]
    fn sudo_user() {
        let a = ConnectorArguments {
            sudo: true,
            sudo_user: Some("app".into()),
            ..Default::default()
        };
        assert_eq!(wrap(a), format!("sudo -H -n -u app sh -c {Q}"));
    }

    #[test]
    fn sudo_login_and_env() {
        let a = ConnectorArguments {
            sudo: true,
            sudo_user: Some("app".into()),
            use_sudo_login: true,
            preserve_sudo_env: true,
            ..Default::default()
        };
        assert_eq!(wrap(a), format!("sudo -H -n -i -E -u app sh -c {Q}"));
    }

    #[test]
    fn sudo_password_uses_askpass_and_is_masked() {
        let a = ConnectorArguments {
            sudo: true,
            sudo_password: Some(Secret::new("pw")),
            ..Default::default()
        };
        let askpass = AskpassPaths {
            sudo: Some("/tmp/pyinfra-sudo-askpass-XXXX".into()),
            su: None,
        };
        let cmd = make_unix_command(&StringCommand::from(CMD), &a, &askpass);
        assert_eq!(
            cmd.get_raw_value(),
            format!("env SUDO_ASKPASS=/tmp/pyinfra-sudo-askpass-XXXX PYINFRA_SUDO_PASSWORD=pw sudo -H -A -k sh -c {Q}")
        );
        assert_eq!(
            cmd.get_masked_value(),
            format!("env SUDO_ASKPASS=/tmp/pyinfra-sudo-askpass-XXXX PYINFRA_SUDO_PASSWORD='*MASKED*' sudo -H -A -k sh -c {Q}")
        );
    }

    #[test]
    fn su_user() {
        let a = ConnectorArguments {
            su_user: Some("app".into()),
            ..Default::default()
        };
        assert_eq!(
            wrap(a),
            "su app -c 'sh -c '\"'\"'echo '\"'\"'\"'\"'\"'\"'\"'\"'hello world'\"'\"'\"'\"'\"'\"'\"'\"' && ls'\"'\"''"
        );
    }

    #[test]
    fn su_login_shell_env() {
        let a = ConnectorArguments {
            su_user: Some("app".into()),
            use_su_login: true,
            su_shell: Some("bash".into()),
            preserve_su_env: true,
            ..Default::default()
        };
        assert!(wrap(a).starts_with("su -l -m -s $(command -v bash) app -c 'sh -c "));
    }

    #[test]
    fn sudo_then_su() {
        let a = ConnectorArguments {
            sudo: true,
            su_user: Some("app".into()),
            ..Default::default()
        };
        assert!(wrap(a).starts_with("sudo -H -n su app -c 'sh -c "));
    }

    #[test]
    fn doas_and_dzdo() {
        let a = ConnectorArguments {
            doas: true,
            doas_user: Some("app".into()),
            ..Default::default()
        };
        assert_eq!(wrap(a), format!("doas -n -u app sh -c {Q}"));
        let a = ConnectorArguments {
            dzdo: true,
            dzdo_user: Some("app".into()),
            ..Default::default()
        };
        assert_eq!(wrap(a), format!("dzdo -H -n -u app sh -c {Q}"));
    }

    #[test]
    fn env_and_chdir() {
        let a = ConnectorArguments {
            env: vec![
                ("A".into(), EnvValue::Plain("1".into())),
                ("B".into(), EnvValue::Plain("x y".into())),
            ],
            chdir: Some("/srv/my app".into()),
            ..Default::default()
        };
        assert_eq!(
            wrap(a),
            "sh -c 'cd '\"'\"'/srv/my app'\"'\"' && export A=1 '\"'\"'B=x y'\"'\"' && echo '\"'\"'hello world'\"'\"' && ls'"
        );
    }

    #[test]
    fn shell_executable() {
        let a = ConnectorArguments {
            shell_executable: Some("bash".into()),
            ..Default::default()
        };
        assert_eq!(wrap(a), format!("bash -c {Q}"));
        let a = ConnectorArguments {
            shell_executable: None,
            ..Default::default()
        };
        assert_eq!(wrap(a), CMD);
    }

    #[test]
    fn hidden_env_values_are_masked() {
        let a = ConnectorArguments {
            env: vec![("TOKEN".into(), EnvValue::Hidden(Secret::new("abc")))],
            ..Default::default()
        };
        let cmd = make_unix_command(&StringCommand::from("true"), &a, &AskpassPaths::default());
        assert!(cmd.get_raw_value().contains("TOKEN=abc"));
        assert!(!cmd.get_masked_value().contains("abc"));
    }

    #[test]
    fn su_password_pipes_askpass() {
        let a = ConnectorArguments {
            su_user: Some("app".into()),
            su_password: Some(Secret::new("pw")),
            ..Default::default()
        };
        let askpass = AskpassPaths {
            sudo: None,
            su: Some("/tmp/ap".into()),
        };
        let cmd = make_unix_command(&StringCommand::from("id"), &a, &askpass);
        assert_eq!(
            cmd.get_raw_value(),
            "env PYINFRA_SU_PASSWORD=pw /tmp/ap | su app -c 'sh -c id'"
        );
        assert_eq!(
            cmd.get_masked_value(),
            "env PYINFRA_SU_PASSWORD='*MASKED*' /tmp/ap | su app -c 'sh -c id'"
        );
    }

    /// Hostile values in every argument run as data, never as shell.
    #[test]
    fn hostile_values_stay_data() {
        let dir = tempfile::tempdir().unwrap();
        let weird = dir.path().join("we'ird $(touch pwned) `x`;\ndir");
        std::fs::create_dir(&weird).unwrap();
        let a = ConnectorArguments {
            chdir: Some(weird.to_str().unwrap().into()),
            env: vec![("V".into(), EnvValue::Plain("$(touch pwned2)'\"`;".into()))],
            ..Default::default()
        };
        let cmd = make_unix_command(
            &StringCommand::from("printf %s \"$V\"; pwd"),
            &a,
            &AskpassPaths::default(),
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(cmd.get_raw_value())
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(stdout.starts_with("$(touch pwned2)'\"`;"), "{stdout}");
        assert!(stdout.ends_with("`x`;\ndir\n"), "{stdout}");
        assert!(!dir.path().join("pwned").exists());
        assert!(!weird.join("pwned").exists());
        assert!(!weird.join("pwned2").exists());
    }

    #[test]
    fn password_required_detection() {
        assert!(sudo_password_required(
            ["x", "sudo: a password is required"].into_iter()
        ));
        assert!(sudo_password_required(
            ["sudo-rs: interactive authentication is required"].into_iter()
        ));
        assert!(!sudo_password_required(["sudo: unknown user"].into_iter()));
    }
}
