//! `git.repo`: cloning and updating a checkout.

use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{OpHost, OperationError};
use serde_json::{json, Value};

use super::files::chown;
use super::{call, define_op, fact, q, Args, Out};
use crate::python::{python_str, truthy};

define_op! {
    /// Clone or update a git repository (pull, branch or tag checkout, submodules); the
    /// checkout is chowned to `user`/`group` when anything ran.
    ///
    /// Deploy example: `git.repo(src="https://github.com/pyinfra-dev/pyinfra", dest="/srv/pyinfra", branch="3.x")`
    Repo = "git.repo";
    params: [required "src" = "the repository's URL",
             required "dest" = "the checkout's directory",
             optional "branch" = "the branch or tag to check out",
             optional "pull" = "pull an existing checkout (default True)",
             optional "rebase" = "pull with `--rebase`",
             optional "user" = "chown the checkout to this user",
             optional "group" = "chown the checkout to this group",
             optional "ssh_keyscan" = "trust the git server's SSH key first",
             optional "update_submodules" = "update submodules",
             optional "recursive_submodules" = "update nested submodules too",
             optional "depth" = "clone this many commits only",
             optional "fetch_tags" = "fetch tags when switching branch"];
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
    let is_repo = truthy(
        &fact(
            host,
            &crate::facts::files::Directory,
            &[("path", json!(git_dir))],
        )
        .await?,
    );
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
        let config = fact(
            host,
            &crate::facts::git::GitConfig,
            &[("repo", json!(dest))],
        )
        .await?;
        let remote = config.get("remote.origin.url").filter(|v| !v.is_null());
        let remote_changed = remote.is_some_and(|r| *r != json!([src]));
        if remote_changed {
            git.push(StringCommand::new([
                Bit::from("remote set-url origin"),
                q(&src),
            ]));
        }
        let current = fact(
            host,
            &crate::facts::git::GitBranch,
            &[("repo", json!(dest))],
        )
        .await?;
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
            let tags = fact(host, &crate::facts::git::GitTag, &[("repo", json!(dest))]).await?;
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
                    &crate::facts::git::GitLocalCommit,
                    &[("repo", json!(dest)), ("ref", json!(b))],
                )
                .await?;
                let remote = fact(
                    host,
                    &crate::facts::git::GitRemoteBranchCommit,
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

define_op! {
    /// Set a git config key in a repository (`repo`), the user's global config or, with
    /// `system=True`, the system config.
    ///
    /// Deploy example: `git.config(key="user.name", value="Anon E. Mouse", repo="/srv/app")`
    Config = "git.config";
    params: [required "key" = "the config key (`user.name`)",
             required "value" = "the value it should have",
             optional "multi_value" = "add the value to the key's values instead of replacing them",
             optional "repo" = "the repository whose local config to edit (default: global)",
             optional "system" = "without `repo`, edit the system config instead of the global one"];
    generate: config;
}

async fn config(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let key = a.str("key")?;
    let value = a.str("value")?;
    let repo = a.nonempty("repo");
    let system = a.bool_or("system", false);
    let existing = match &repo {
        None => {
            fact(
                host,
                &crate::facts::git::GitConfig,
                &[("repo", Value::Null), ("system", json!(system))],
            )
            .await?
        }
        Some(r) => {
            let git_dir = format!("{}/.git", r.trim_end_matches('/'));
            if truthy(
                &fact(
                    host,
                    &crate::facts::files::Directory,
                    &[("path", json!(git_dir))],
                )
                .await?,
            ) {
                fact(host, &crate::facts::git::GitConfig, &[("repo", json!(r))]).await?
            } else {
                json!({})
            }
        }
    };
    let mut bits: Vec<Bit> = match &repo {
        None => vec![Bit::from(if system {
            "git config --system"
        } else {
            "git config --global"
        })],
        Some(r) => vec![Bit::from("cd"), q(r), Bit::from("&& git config --local")],
    };
    let values: Vec<String> = existing
        .get(&key)
        .and_then(Value::as_array)
        .map(|v| v.iter().map(python_str).collect())
        .unwrap_or_default();
    let multi = a.bool_or("multi_value", false);
    if !multi && values != [value.clone()] {
        bits.extend([
            q(&key),
            Bit::from(crate::facts::shell::double_quoted(&value)),
        ]);
        out.shell(StringCommand::new(bits));
    } else if multi && !values.contains(&value) {
        bits.extend([
            Bit::from("--add"),
            q(&key),
            Bit::from(crate::facts::shell::double_quoted(&value)),
        ]);
        out.shell(StringCommand::new(bits));
    } else {
        out.noop(format!("git config {key} is set to {value}"));
    }
    Ok(())
}

define_op! {
    /// Create (or remove) a bare repository; a new one is chowned to `user`/`group`, an
    /// existing one when its owner differs.
    ///
    /// Deploy example: `git.bare_repo(path="/home/git/project.git", user="git")`
    BareRepo = "git.bare_repo";
    params: [required "path" = "the repository's directory",
             optional "user" = "owner of the repository's files",
             optional "group" = "group of the repository's files",
             optional "present" = "whether the repository should exist (default True)"];
    touches: "path";
    generate: bare_repo;
}

async fn bare_repo(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let path = a.str("path")?;
    let present = a.bool_or("present", true);
    call!(
        super::files::directory,
        "files.directory",
        &[("path", json!(path)), ("present", json!(present))],
        host,
        out
    )
    .await?;
    if !present {
        return Ok(());
    }
    let (user, group) = (a.nonempty("user"), a.nonempty("group"));
    let head = format!("{}/HEAD", path.trim_end_matches('/'));
    let head = fact(host, &crate::facts::files::File, &[("path", json!(head))]).await?;
    let owned = user.is_some() || group.is_some();
    if !truthy(&head) {
        out.shell(StringCommand::new([Bit::from("git init --bare"), q(&path)]));
        if owned {
            out.shell(chown(&path, user.as_deref(), group.as_deref(), true, true)?);
        }
    } else {
        let differs = |field: &str, want: &Option<String>| {
            want.as_ref()
                .is_some_and(|w| head.get(field).map(python_str).as_ref() != Some(w))
        };
        if differs("user", &user) || differs("group", &group) {
            out.shell(chown(&path, user.as_deref(), group.as_deref(), true, true)?);
        }
    }
    Ok(())
}

define_op! {
    /// Add, update (pull) or remove a git worktree of a repository.
    ///
    /// Deploy example: `git.worktree(worktree="/srv/app-hotfix", repo="/srv/app", new_branch="hotfix")`
    Worktree = "git.worktree";
    params: [required "worktree" = "the working tree's directory",
             optional "repo" = "the main repository (needed to create the worktree)",
             optional "detached" = "create it with a detached HEAD",
             optional "new_branch" = "create this local branch with the worktree",
             optional "commitish" = "the commit, branch or tag to create it from",
             optional "pull" = "pull an existing worktree (default True)",
             optional "rebase" = "pull with `--rebase`",
             optional "from_remote_branch" = "`(remote, branch)` to pull from",
             optional "present" = "whether the worktree should exist (default True)",
             optional "assume_repo_exists" = "skip checking that `repo` is a git repository",
             optional "force" = "pass `--force` when adding or removing",
             optional "user" = "owner of the new worktree's files",
             optional "group" = "group of the new worktree's files"];
    generate: worktree;
}

async fn worktree(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let tree = a.str("worktree")?;
    let present = a.bool_or("present", true);
    let force = a.bool_or("force", false);
    let exists = truthy(
        &fact(
            host,
            &crate::facts::files::Directory,
            &[("path", json!(tree))],
        )
        .await?,
    );
    if !exists && present {
        let repo = a.nonempty("repo");
        if !a.bool_or("assume_repo_exists", false) {
            let git_dir = repo
                .as_deref()
                .map(|r| format!("{}/.git", r.trim_end_matches('/')));
            let is_repo = match git_dir {
                Some(d) => truthy(
                    &fact(host, &crate::facts::files::Directory, &[("path", json!(d))]).await?,
                ),
                None => false,
            };
            if !is_repo {
                return Err(OperationError::Other(format!(
                    "The following folder is not a valid GIT repository : {}",
                    repo.as_deref().unwrap_or("None")
                )));
            }
        }
        let Some(repo) = repo else {
            return Err(a.invalid("repo", "must be given to create a worktree"));
        };
        let new_branch = a.nonempty("new_branch");
        let detached = a.bool_or("detached", false);
        let commitish = a.nonempty("commitish");
        let mut bits = vec![Bit::from("cd"), q(&repo), Bit::from("&& git worktree add")];
        if let Some(b) = &new_branch {
            bits.extend([Bit::from("-b"), q(b)]);
        } else if detached {
            bits.push(Bit::from("--detach"));
        }
        if force {
            bits.push(Bit::from("--force"));
        }
        bits.push(q(&tree));
        if let Some(c) = &commitish {
            bits.push(q(c));
        }
        out.shell(StringCommand::new(bits));
        let (user, group) = (a.nonempty("user"), a.nonempty("group"));
        if user.is_some() || group.is_some() {
            let (u, g) = (user.as_deref(), group.as_deref());
            out.shell(chown(&tree, u, g, true, true)?);
            // `git worktree add` writes metadata (and a new branch's ref and log) into the
            // main repository, owned by whoever ran it
            let name = tree
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or_default();
            let git = format!("{}/.git", repo.trim_end_matches('/'));
            out.shell(chown(&format!("{git}/worktrees/{name}"), u, g, true, true)?);
            let branch =
                new_branch.or_else(|| (!detached && commitish.is_none()).then(|| name.to_string()));
            if let Some(b) = branch {
                out.shell(chown(&format!("{git}/refs/heads/{b}"), u, g, false, true)?);
                out.shell(chown(
                    &format!("{git}/logs/refs/heads/{b}"),
                    u,
                    g,
                    true,
                    true,
                )?);
            }
        }
    } else if exists && !present {
        let mut bits = vec![
            Bit::from("cd"),
            q(&tree),
            Bit::from("&& git worktree remove ."),
        ];
        if force {
            bits.push(Bit::from("--force"));
        }
        out.shell(StringCommand::new(bits));
    } else if exists && present {
        if !a.bool_or("pull", true) {
            out.noop("Pull is disabled");
            return Ok(());
        }
        let from_remote = match a.get("from_remote_branch") {
            None => None,
            Some(Value::Array(pair)) if pair.len() == 2 => {
                Some((python_str(&pair[0]), python_str(&pair[1])))
            }
            Some(_) => {
                return Err(a.invalid(
                    "from_remote_branch",
                    "The remote branch must be a 2-tuple (remote, branch) such as (\"origin\", \"master\")",
                ))
            }
        };
        let tracking = fact(
            host,
            &crate::facts::git::GitTrackingBranch,
            &[("repo", json!(tree))],
        )
        .await?;
        if !truthy(&tracking) && from_remote.is_none() {
            out.noop(format!(
                "git worktree {tree} tracks no remote branch: nothing to pull"
            ));
            return Ok(());
        }
        let remote = from_remote.clone().or_else(|| {
            tracking
                .as_str()
                .and_then(|t| t.split_once('/'))
                .map(|(r, b)| (r.to_string(), b.to_string()))
        });
        if let Some((remote, branch)) = remote.filter(|(r, b)| !r.is_empty() && !b.is_empty()) {
            let local = fact(
                host,
                &crate::facts::git::GitLocalCommit,
                &[("repo", json!(tree)), ("ref", json!("HEAD"))],
            )
            .await?;
            let tip = fact(
                host,
                &crate::facts::git::GitRemoteBranchCommit,
                &[
                    ("repo", json!(tree)),
                    ("remote", json!(remote)),
                    ("branch", json!(branch)),
                ],
            )
            .await?;
            if truthy(&local) && local == tip {
                out.noop(format!("git worktree {tree} is already up to date"));
                return Ok(());
            }
        }
        let mut bits = vec![Bit::from("cd"), q(&tree), Bit::from("&& git pull")];
        if a.bool_or("rebase", false) {
            bits.push(Bit::from("--rebase"));
        }
        if let Some((r, b)) = &from_remote {
            bits.extend([q(r), q(b)]);
        }
        out.shell(StringCommand::new(bits));
    } else {
        out.noop(format!("git worktree {tree} does not exist"));
    }
    Ok(())
}
