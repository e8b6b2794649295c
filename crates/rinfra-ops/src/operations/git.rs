//! `git.repo`: cloning and updating a checkout.

use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{OpHost, OperationError};
use serde_json::json;

use super::files::chown;
use super::{call, define_op, fact, q, Args, Out};
use crate::python::{python_str, truthy};

define_op! {
    /// Clone or update a git repository (pull, branch or tag checkout, submodules); the
    /// checkout is chowned to `user`/`group` when anything ran.
    ///
    /// Deploy example: `git.repo(src="https://github.com/pyinfra-dev/pyinfra", dest="/srv/pyinfra", branch="3.x")`
    Repo = "git.repo";
    params: [required "src", required "dest", optional "branch", optional "pull",
             optional "rebase", optional "user", optional "group", optional "ssh_keyscan",
             optional "update_submodules", optional "recursive_submodules", optional "depth",
             optional "fetch_tags"];
    generate: repo;
}

async fn repo(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let src = a.str("src")?;
    let dest = a.str("dest")?;
    let branch = a.nonempty("branch");
    call!(
        super::files::directory,
        "files.directory",
        &[("path", json!(dest))],
        host,
        out
    )
    .await?;
    if a.bool_or("ssh_keyscan", false) {
        let Some(m) = crate::facts::parse::re_match(r"^[a-zA-Z0-9]+@([0-9a-zA-Z\.\-]+)", &src)
        else {
            return Err(OperationError::Other(format!(
                "Could not parse domain (to SSH keyscan) from: {src}"
            )));
        };
        let domain = crate::facts::parse::group(&m, 1);
        call!(
            super::ssh::keyscan,
            "ssh.keyscan",
            &[("hostname", json!(domain))],
            host,
            out
        )
        .await?;
    }
    let mut git: Vec<StringCommand> = Vec::new();
    let git_dir = format!("{}/.git", dest.trim_end_matches('/'));
    let is_repo = truthy(&fact(host, "files.Directory", &[("path", json!(git_dir))]).await?);
    if !is_repo {
        let mut bits = vec![Bit::from("clone"), q(&src)];
        if let Some(depth) = a.get("depth") {
            bits.extend([Bit::from("--depth"), q(python_str(depth))]);
        }
        if let Some(b) = &branch {
            bits.extend([Bit::from("--branch"), q(b)]);
        }
        bits.push(Bit::from("."));
        git.push(StringCommand::new(bits));
    } else {
        // a changed `src` moves `origin` so fetch and pull use the new remote
        // (https://github.com/pyinfra-dev/pyinfra/issues/1763)
        let config = fact(host, "git.GitConfig", &[("repo", json!(dest))]).await?;
        let remote = config.get("remote.origin.url").filter(|v| !v.is_null());
        let remote_changed = remote.is_some_and(|r| *r != json!([src]));
        if remote_changed {
            git.push(StringCommand::new([
                Bit::from("remote set-url origin"),
                q(&src),
            ]));
        }
        let current = fact(host, "git.GitBranch", &[("repo", json!(dest))]).await?;
        let current = current.as_str().map(str::to_string);
        if let Some(b) = branch.as_ref().filter(|b| current.as_ref() != Some(*b)) {
            git.push(StringCommand::from(if a.bool_or("fetch_tags", false) {
                "fetch --tags"
            } else {
                "fetch"
            }));
            git.push(StringCommand::new([Bit::from("checkout"), q(b)]));
        }
        let mut is_tag = false;
        if let Some(b) = &branch {
            let tags = fact(host, "git.GitTag", &[("repo", json!(dest))]).await?;
            if tags.as_array().is_some_and(|t| t.contains(&json!(b))) {
                git.push(StringCommand::new([Bit::from("checkout"), q(b)]));
                is_tag = true;
            }
        }
        if a.bool_or("pull", true) && !is_tag {
            let effective = branch.clone().or(current.filter(|c| !c.is_empty()));
            let mut up_to_date = false;
            // after a remote change the remote tip was read from the old origin: always pull
            if let (false, Some(b)) = (remote_changed, &effective) {
                let local = fact(
                    host,
                    "git.GitLocalCommit",
                    &[("repo", json!(dest)), ("ref", json!(b))],
                )
                .await?;
                let remote = fact(
                    host,
                    "git.GitRemoteBranchCommit",
                    &[
                        ("repo", json!(dest)),
                        ("remote", json!("origin")),
                        ("branch", json!(b)),
                    ],
                )
                .await?;
                up_to_date = truthy(&local) && local == remote;
            }
            if up_to_date {
                out.noop(format!("git repository {dest} is already up to date"));
            } else if a.bool_or("rebase", false) {
                git.push(StringCommand::from("pull --rebase"));
            } else {
                git.push(StringCommand::from("pull"));
            }
        }
    }
    if a.bool_or("update_submodules", false) {
        git.push(StringCommand::from(
            if a.bool_or("recursive_submodules", false) {
                "submodule update --init --recursive"
            } else {
                "submodule update --init"
            },
        ));
    }
    let changed = !git.is_empty();
    for cmd in git {
        out.shell(StringCommand::new([
            Bit::from("cd"),
            q(&dest),
            Bit::from("&&"),
            Bit::from("git"),
            cmd.into(),
        ]));
    }
    let (user, group) = (a.nonempty("user"), a.nonempty("group"));
    if changed && (user.is_some() || group.is_some()) {
        out.shell(chown(&dest, user.as_deref(), group.as_deref(), true, true)?);
    }
    Ok(())
}
