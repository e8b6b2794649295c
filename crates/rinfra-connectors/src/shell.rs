//! The `run_shell_command` flow every connector shares: wrap, askpass, prompt-and-retry,
//! success codes. pyinfra: `make_unix_command_for_host` + `execute_command_with_sudo_retry`.

use crate::arguments::ConnectorArguments;
use crate::base::{Connector, RawCommand};
use crate::command::{quoted, Bit, StringCommand};
use crate::error::ConnectorError;
use crate::output::CommandOutput;
use crate::wrap::{
    askpass_script_command, make_unix_command, sudo_password_required, AskpassPaths,
    SUDO_ASKPASS_ENV_VAR, SU_ASKPASS_ENV_VAR,
};

/// Default remote temp directory (pyinfra's `DEFAULT_TEMP_DIR`).
pub const DEFAULT_TEMP_DIR: &str = "/tmp";

pub(crate) async fn run_shell_command<C: Connector + ?Sized>(
    conn: &C,
    command: &StringCommand,
    print_output: bool,
    print_input: bool,
    arguments: &ConnectorArguments,
) -> Result<(bool, CommandOutput), ConnectorError> {
    let mut args = arguments.clone();
    let password_given = args.sudo_password.as_ref().is_some_and(|p| !p.is_empty());
    if args.sudo && !password_given {
        args.sudo_password = conn.host().sudo.lock().await.prompted_password.clone();
    }

    let mut output = run_once(conn, command, print_output, print_input, &args).await?;

    // sudo wanted a password we did not have: ask once, remember it for the host, retry.
    let used_password = args.sudo_password.as_ref().is_some_and(|p| !p.is_empty());
    if args.sudo
        && !used_password
        && !args.is_success(output.exit_code)
        && sudo_password_required(output.output_lines().into_iter())
    {
        let host = &conn.host().name;
        let prompt = format!("[{host}] sudo password: ");
        if let Some(password) = conn.host().reporter.prompt_secret(host, &prompt) {
            conn.host().sudo.lock().await.prompted_password = Some(password.clone());
            args.sudo_password = Some(password);
            output = run_once(conn, command, print_output, print_input, &args).await?;
        }
    }

    Ok((args.is_success(output.exit_code), output))
}

async fn run_once<C: Connector + ?Sized>(
    conn: &C,
    command: &StringCommand,
    print_output: bool,
    print_input: bool,
    args: &ConnectorArguments,
) -> Result<CommandOutput, ConnectorError> {
    let temp_dir = args.temp_dir.as_deref().unwrap_or(DEFAULT_TEMP_DIR);
    let mut askpass = AskpassPaths::default();
    if args.sudo && args.sudo_password.as_ref().is_some_and(|p| !p.is_empty()) {
        askpass.sudo =
            Some(ensure_askpass(conn, "sudo_askpass_path", SUDO_ASKPASS_ENV_VAR, temp_dir).await?);
    }
    if args.su_user.is_some() && args.su_password.as_ref().is_some_and(|p| !p.is_empty()) {
        askpass.su =
            Some(ensure_askpass(conn, "su_askpass_path", SU_ASKPASS_ENV_VAR, temp_dir).await?);
    }

    let wrapped = make_unix_command(command, args, &askpass);
    if print_input {
        conn.host()
            .reporter
            .command_input(&conn.host().name, &wrapped.get_masked_value());
    }
    conn.execute(RawCommand {
        command: &wrapped,
        stdin: args.stdin.as_deref(),
        timeout: args.timeout,
        get_pty: args.get_pty,
        print_output,
        portable: args.shell_executable.is_some(),
    })
    .await
}

/// Create the askpass script once per (host, kind, temp dir) and return its path.
async fn ensure_askpass<C: Connector + ?Sized>(
    conn: &C,
    kind: &str,
    env_var: &str,
    temp_dir: &str,
) -> Result<String, ConnectorError> {
    let key = format!("{kind}__{temp_dir}");
    let mut state = conn.host().sudo.lock().await;
    if let Some(path) = state.askpass.get(&key) {
        return Ok(path.clone());
    }
    let script = StringCommand::from(askpass_script_command(temp_dir, env_var));
    let wrapped = make_unix_command(
        &script,
        &ConnectorArguments::default(),
        &AskpassPaths::default(),
    );
    let output = conn
        .execute(RawCommand {
            command: &wrapped,
            stdin: None,
            timeout: None,
            get_pty: false,
            print_output: false,
            portable: true,
        })
        .await?;
    let path = match (output.exit_code, output.stdout_lines().first()) {
        (Some(0), Some(path)) if !path.is_empty() => path.to_string(),
        _ => {
            return Err(ConnectorError::Other(format!(
                "failed to create the sudo askpass script: {}",
                output.output()
            )))
        }
    };
    state.askpass.insert(key, path.clone());
    Ok(path)
}

pub(crate) async fn remove_askpass_files<C: Connector + ?Sized>(conn: &C) {
    let paths: Vec<String> = conn
        .host()
        .sudo
        .lock()
        .await
        .askpass
        .drain()
        .map(|(_, p)| p)
        .collect();
    if paths.is_empty() {
        return;
    }
    let mut bits = vec![Bit::from("rm"), Bit::from("-f")];
    bits.extend(paths.iter().map(|p| quoted(p.as_str())));
    let wrapped = make_unix_command(
        &StringCommand::new(bits),
        &ConnectorArguments::default(),
        &AskpassPaths::default(),
    );
    // Best effort, as pyinfra: the connection may already be gone (after a reboot).
    let _ = conn
        .execute(RawCommand {
            command: &wrapped,
            stdin: None,
            timeout: None,
            get_pty: false,
            print_output: false,
            portable: true,
        })
        .await;
}
