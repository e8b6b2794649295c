//! The persistent shell (`src/shell.rs`): commands share one `sh` per connection, yet each runs
//! as if in a shell of its own; output, exit codes and a shell killed by its command.

use rinfra_connectors::{ConnectorArguments, StringCommand};

use crate::common::*;

/// Prints the pid of the login shell of this command's session (the child of its sshd): the
/// persistent shell when commands share it, a new one per command otherwise.
const SESSION_SHELL_PID: &str = "c=$$; p=$PPID; while [ \"$(cat /proc/$p/comm)\" != sshd ]; do \
     c=$p; p=$(cut -d' ' -f4 /proc/$p/stat); done; echo $c";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consecutive_commands_share_one_shell_without_leaking_state() {
    let tb = testbed();
    let dir = tmp();
    let kh = dir.path().join("known_hosts");
    let conn = connector(tb.host(3), tb.data(tb.host(3), "root", &kh));
    let first = ok(&conn, SESSION_SHELL_PID).await;
    // A cd, a variable, an umask, an exit: none of it reaches the next command.
    let (success, out) = sh(&conn, "cd /tmp && X=1 && export Y=2 && umask 077 && exit 3").await;
    assert!(!success);
    assert_eq!(out.exit_code, Some(3));
    assert_eq!(
        ok(&conn, "pwd; echo ${X:-unset} ${Y:-unset}; umask").await,
        format!("{}\nunset unset\n0022", ok(&conn, "echo $HOME").await)
    );
    assert_eq!(
        ok(&conn, SESSION_SHELL_PID).await,
        first,
        "a new shell was started"
    );
    conn.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_is_passed_on_exactly() {
    let tb = testbed();
    let dir = tmp();
    let kh = dir.path().join("known_hosts");
    let conn = connector(tb.host(3), tb.data(tb.host(3), "root", &kh));
    // No trailing newline, on both streams.
    let (success, out) = sh(&conn, "printf 'no newline'; printf 'err tail' >&2").await;
    assert!(success);
    assert_eq!(out.stdout(), "no newline");
    assert_eq!(out.stderr(), "err tail");
    // Something that looks like a marker is output like any other.
    assert_eq!(ok(&conn, "echo 'rinfra-0000:0'").await, "rinfra-0000:0");
    // Lots of output, and a command reading stdin gets end-of-file, not the next command.
    let (success, out) = sh(&conn, "seq 1 200000; cat; echo after-cat").await;
    assert!(success);
    let lines = out.stdout_lines();
    assert_eq!(lines.len(), 200_001);
    assert_eq!(lines[199_999], "200000");
    assert_eq!(lines[200_000], "after-cat");
    // Quotes and newlines in the command survive the trip through the shell's stdin.
    assert_eq!(
        ok(&conn, "printf '%s\\n' \"it's\" 'a\nb'").await,
        "it's\na\nb"
    );
    conn.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_killing_its_shell_fails_and_the_next_gets_a_new_one() {
    let tb = testbed();
    let dir = tmp();
    let kh = dir.path().join("known_hosts");
    let conn = connector(tb.host(3), tb.data(tb.host(3), "root", &kh));
    let shell = ok(&conn, SESSION_SHELL_PID).await;
    let r = conn
        .run_shell_command(
            &StringCommand::from(format!("echo before; kill -9 {shell}; sleep 1")),
            false,
            false,
            &ConnectorArguments::default(),
        )
        .await
        .expect("the connection itself is fine");
    assert!(!r.0, "{r:?}");
    assert_eq!(r.1.stdout(), "before");
    assert_ne!(ok(&conn, SESSION_SHELL_PID).await, shell);
    assert_eq!(ok(&conn, "echo alive").await, "alive");
    conn.disconnect().await;
}
