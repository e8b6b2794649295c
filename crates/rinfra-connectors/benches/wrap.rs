//! Command wrapping: `make_unix_command` and `StringCommand` rendering.
//!
//! Every command rinfra sends (facts and operations alike) is wrapped by
//! [`make_unix_command`] for the global arguments (`_sudo`, `_su_user`, `_env`, `_chdir`, ...)
//! and rendered twice: the raw value goes to the target, the masked value (secrets as
//! `*MASKED*`) to the output. A deploy of 1,000 hosts × 100 operations wraps at least 100,000
//! commands, so this is on the path of every command.
//!
//! Cases (the `args` of each bench):
//!
//! * `plain`: no global arguments (`sh -c '...'`);
//! * `sudo_env_chdir`: `_sudo`, `_sudo_user`, two `_env` variables (one secret) and `_chdir`;
//! * `su_user`: `_su_user` with `_use_su_login` and `_su_shell` (the command quoted twice);
//! * `sudo_password`: `_sudo` with a `_sudo_password` sent through the askpass script (a
//!   masked secret in the wrapped command).
//!
//! Run with `cargo bench -p rinfra-connectors --bench wrap`.

use divan::{black_box, Bencher};
use rinfra_connectors::{
    make_unix_command, quoted, AskpassPaths, Bit, ConnectorArguments, EnvValue, Secret,
    StringCommand,
};

fn main() {
    divan::main();
}

const CASES: &[&str] = &["plain", "sudo_env_chdir", "su_user", "sudo_password"];

/// A typical operation command: a quoted path, a `&&` chain, a nested quoted command.
fn operation_command() -> StringCommand {
    StringCommand::new([
        Bit::from("mkdir"),
        Bit::from("-p"),
        quoted("/srv/app/releases/2024-06-01 build"),
        Bit::from("&&"),
        Bit::from("chmod"),
        Bit::from("750"),
        quoted("/srv/app/releases/2024-06-01 build"),
        Bit::from("&&"),
        Bit::from("sh"),
        Bit::from("-c"),
        quoted(StringCommand::new([
            Bit::from("echo"),
            quoted("it's done"),
            Bit::from(">"),
            quoted("/srv/app/releases/.stamp"),
        ])),
    ])
}

/// The global arguments and askpass paths of a case.
fn arguments(case: &str) -> (ConnectorArguments, AskpassPaths) {
    let mut args = ConnectorArguments::default();
    let mut askpass = AskpassPaths::default();
    match case {
        "plain" => {}
        "sudo_env_chdir" => {
            args.sudo = true;
            args.sudo_user = Some("app".into());
            args.env = vec![
                ("LANG".into(), EnvValue::Plain("C.UTF-8".into())),
                ("API_TOKEN".into(), EnvValue::Hidden(Secret::new("t0k3n"))),
            ];
            args.chdir = Some("/srv/app".into());
        }
        "su_user" => {
            args.su_user = Some("app".into());
            args.use_su_login = true;
            args.su_shell = Some("bash".into());
        }
        "sudo_password" => {
            args.sudo = true;
            args.sudo_password = Some(Secret::new("s3cret pw"));
            askpass.sudo = Some("/tmp/pyinfra-sudo-askpass-AbCdEfGhIjKl".into());
        }
        other => panic!("unknown case {other}"),
    }
    (args, askpass)
}

/// `StringCommand::from(&str)`: how facts and `server.shell` commands start.
#[divan::bench]
fn from_str() -> StringCommand {
    StringCommand::from(black_box(
        "  test -d /srv/app && ls -la /srv/app | grep -v '^total'  ",
    ))
}

/// Building the operation command from its bits (quoted paths, a nested command).
#[divan::bench]
fn build() -> StringCommand {
    operation_command()
}

/// `make_unix_command` alone: the wrapped command as data, nothing rendered.
#[divan::bench(args = CASES)]
fn wrap(bencher: Bencher, case: &str) {
    let command = operation_command();
    let (args, askpass) = arguments(case);
    bencher.bench(|| make_unix_command(black_box(&command), black_box(&args), &askpass));
}

/// What a connector does per command: wrap, render the raw value (sent) and the masked value
/// (printed with `-v`).
#[divan::bench(args = CASES)]
fn wrap_and_render(bencher: Bencher, case: &str) {
    let command = operation_command();
    let (args, askpass) = arguments(case);
    bencher.bench(|| {
        let wrapped = make_unix_command(black_box(&command), black_box(&args), &askpass);
        (wrapped.get_raw_value(), wrapped.get_masked_value())
    });
}

/// Rendering an already wrapped command with a secret: raw vs masked value.
#[divan::bench(args = ["raw", "masked"])]
fn render_secret(bencher: Bencher, value: &str) {
    let (args, askpass) = arguments("sudo_password");
    let wrapped = make_unix_command(&operation_command(), &args, &askpass);
    assert!(wrapped.has_secret());
    let masked = value == "masked";
    bencher.bench(|| {
        let w = black_box(&wrapped);
        if masked {
            w.get_masked_value()
        } else {
            w.get_raw_value()
        }
    });
}
