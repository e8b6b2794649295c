//! `server.user`, `server.group` and `server.user_authorized_keys`: system accounts and their
//! SSH keys.

use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{OpHost, OperationError};
use serde_json::{json, Value};

use crate::operations::{call, define_op, fact, q, Args, Out};
use crate::python::{python_str, truthy};

/// `'a','b'` as one word for `useradd -G`.
fn groups_word(groups: &[String]) -> Bit {
    let mut parts: Vec<Bit> = Vec::new();
    for g in groups {
        if !parts.is_empty() {
            parts.push(Bit::from(","));
        }
        parts.push(q(g));
    }
    StringCommand::with_separator(parts, "").into()
}

/// Fail as pyinfra does when a shadow tool is missing on Linux (Alpine ships without them).
async fn require_tool(host: &dyn OpHost, os: &str, tool: &str) -> Result<(), OperationError> {
    if os != "Linux"
        || truthy(
            &fact(
                host,
                &crate::facts::server::Which,
                &[("command", json!(tool))],
            )
            .await?,
        )
    {
        return Ok(());
    }
    if fact(host, &crate::facts::server::LinuxName, &[]).await? == json!("Alpine") {
        return Err(OperationError::Other(format!(
            "{tool} is not installed (install the shadow package)"
        )));
    }
    Err(OperationError::Other(format!("{tool} is not installed")))
}

define_op! {
    /// Add or remove a system group.
    ///
    /// Deploy example: `server.group(group="docker", gid=999)`
    Group = "server.group";
    params: [required "group" = "the group's name",
             optional "present" = "whether it should exist (default True)",
             optional "system" = "make it a system account",
             optional "gid" = "its numeric ID"];
    generate: group;
}

async fn group(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let name = a.str("group")?;
    let groups = fact(host, &crate::facts::server::Groups, &[]).await?;
    let os = python_str(&fact(host, &crate::facts::server::Os, &[]).await?);
    let is_present = groups
        .as_array()
        .is_some_and(|g| g.iter().any(|x| x.as_str() == Some(&name)));
    let present = a.bool_or("present", true);
    let freebsd = os == "FreeBSD";
    if !present && is_present {
        out.shell(if freebsd {
            StringCommand::new([Bit::from("pw groupdel -n"), q(&name)])
        } else {
            StringCommand::new([Bit::from("groupdel"), q(&name)])
        });
    } else if present && !is_present {
        let mut bits = vec![Bit::from(if freebsd { "pw groupadd" } else { "groupadd" })];
        // BSDs have no system groups
        if a.bool_or("system", false) && !os.contains("BSD") {
            bits.push(Bit::from("-r"));
        }
        if freebsd {
            bits.push(Bit::from("-n"));
        }
        bits.push(q(&name));
        if let Some(gid) = a.nonempty("gid") {
            bits.push(Bit::from(if freebsd { "-g" } else { "--gid" }));
            bits.push(q(gid));
        }
        out.shell(StringCommand::new(bits));
    } else if present {
        out.noop(format!("group {name} already exists"));
    } else {
        out.noop(format!("group {name} does not exist"));
    }
    Ok(())
}

define_op! {
    /// Manage the `authorized_keys` of a user (keys are key text or local key files).
    ///
    /// Deploy example: `server.user_authorized_keys(user="kevin", public_keys=["ssh-ed25519 ..."])`
    UserAuthorizedKeys = "server.user_authorized_keys";
    params: [required "user" = "whose `authorized_keys`",
             required "public_keys" = "SSH public keys (text or local `.pub` files) to authorize",
             optional "group" = "the group of the `.ssh` directory and file",
             optional "delete_keys" = "remove authorized keys not in `public_keys`",
             optional "authorized_key_directory" = "the directory (default `~user/.ssh`)",
             optional "authorized_key_filename" = "the file name (default `authorized_keys`)"];
    generate: user_authorized_keys;
}

async fn user_authorized_keys(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    let user = a.str("user")?;
    let dir = match a.nonempty("authorized_key_directory") {
        Some(d) => d,
        None => {
            let home = fact(host, &crate::facts::server::Home, &[("user", json!(user))]).await?;
            format!("{}/.ssh", python_str(&home))
        }
    };
    let filename = a
        .nonempty("authorized_key_filename")
        .unwrap_or_else(|| "authorized_keys".into());
    // a key may be the path of a local public key file, read line by line
    let mut keys: Vec<String> = Vec::new();
    for key in a.list("public_keys")? {
        let path = host.local_path(&key);
        match std::fs::read_to_string(&path) {
            Ok(text) if path.is_file() => keys.extend(text.lines().map(|l| l.trim().to_string())),
            _ => keys.push(key.trim().to_string()),
        }
    }
    let owner_group = a.nonempty("group").unwrap_or_else(|| user.clone());
    call!(
        crate::operations::files::directory,
        "files.directory",
        &[
            ("path", json!(dir)),
            ("user", json!(user)),
            ("group", json!(owner_group)),
            ("mode", json!(700)),
        ],
        host,
        out,
    )
    .await?;
    let file = format!("{dir}/{filename}");
    let current = fact(
        host,
        &crate::facts::server::AuthorizedKeys,
        &[("user", json!(user)), ("path", json!(file))],
    )
    .await?;
    let current: Vec<String> = current
        .as_array()
        .map(|a| a.iter().map(python_str).collect())
        .unwrap_or_default();
    let ensure_file = [
        ("path", json!(file)),
        ("user", json!(user)),
        ("group", json!(owner_group)),
        ("mode", json!(600)),
    ];
    if a.bool_or("delete_keys", false) && current != keys {
        let content = format!("{}\n", keys.join("\n"));
        call!(
            crate::operations::files::put::put,
            "files.put",
            &[
                ("src", json!({ "content": content })),
                ("dest", json!(file)),
                ("user", json!(user)),
                ("group", json!(owner_group)),
                ("mode", json!(600)),
            ],
            host,
            out,
        )
        .await?;
        return Ok(());
    }
    call!(
        crate::operations::files::file,
        "files.file",
        &ensure_file,
        host,
        out
    )
    .await?;
    if a.bool_or("delete_keys", false) {
        return Ok(());
    }
    // only the keys the fact says are missing: one fact for all keys instead of one per key
    for key in keys.iter().filter(|k| !current.contains(k)) {
        call!(
            crate::operations::files::text::line,
            "files.line",
            &[
                ("path", json!(file)),
                ("line", json!(key)),
                ("ensure_newline", json!(true)),
            ],
            host,
            out,
        )
        .await?;
    }
    Ok(())
}

define_op! {
    /// Add, remove or update a system user and its SSH `authorized_keys`.
    ///
    /// Deploy example: `server.user(user="myweb", shell="/bin/bash", groups=["www-data"])`
    User = "server.user";
    params: [required "user" = "the user's name",
             optional "present" = "whether it should exist (default True)",
             optional "home" = "the home directory",
             optional "shell" = "the login shell",
             optional "group" = "the primary group",
             optional "groups" = "supplementary groups",
             optional "append" = "add `groups` to the existing ones instead of replacing them",
             optional "public_keys" = "SSH public keys (text or local `.pub` files) to authorize",
             optional "delete_keys" = "remove authorized keys not in `public_keys`",
             optional "ensure_home" = "create the home directory and keep its owner right",
             optional "create_home" = "let `useradd` create the home directory",
             optional "system" = "make it a system account",
             optional "uid" = "the numeric user ID",
             optional "comment" = "the GECOS comment (full name)",
             optional "unique" = "refuse a duplicate `uid` (default True)",
             optional "password" = "the password hash (as `/etc/shadow` stores it)"];
    generate: user;
}

async fn user(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let name = a.str("user")?;
    let users = fact(host, &crate::facts::server::Users, &[]).await?;
    let existing_groups = fact(host, &crate::facts::server::Groups, &[]).await?;
    let existing = users.get(&name).filter(|u| !u.is_null()).cloned();
    let os = python_str(&fact(host, &crate::facts::server::Os, &[]).await?);
    let freebsd = os == "FreeBSD";
    let groups = a.list("groups")?;
    let home = match a.opt_str("home") {
        Some(h) => h,
        None => existing
            .as_ref()
            .and_then(|u| u.get("home"))
            .filter(|h| !h.is_null())
            .map(python_str)
            .unwrap_or_else(|| format!("/home/{name}")),
    };
    let field = |k: &str| -> Value {
        existing
            .as_ref()
            .and_then(|u| u.get(k))
            .cloned()
            .unwrap_or(Value::Null)
    };

    if !a.bool_or("present", true) {
        if existing.is_some() {
            if freebsd {
                out.shell(StringCommand::new([Bit::from("pw userdel -n"), q(&name)]));
            } else {
                require_tool(host, &os, "userdel").await?;
                out.shell(StringCommand::new([Bit::from("userdel"), q(&name)]));
            }
        } else {
            out.noop(format!("user {name} does not exist"));
        }
        return Ok(());
    }

    let mut group = a.nonempty("group");
    let shell = a.nonempty("shell");
    let comment = a.nonempty("comment");
    let password = a.nonempty("password");
    if existing.is_none() {
        // a group named as the user already exists: useradd must use it, not create it
        let group_exists = existing_groups
            .as_array()
            .is_some_and(|g| g.iter().any(|x| x.as_str() == Some(&name)));
        if group.is_none() && group_exists {
            group = Some(name.clone());
        }
        let mut args: Vec<Bit> = Vec::new();
        if !home.is_empty() {
            args.extend([Bit::from("-d"), q(&home)]);
        }
        if let Some(s) = &shell {
            args.extend([Bit::from("-s"), q(s)]);
        }
        if let Some(g) = &group {
            args.extend([Bit::from("-g"), q(g)]);
        }
        if !groups.is_empty() {
            args.extend([Bit::from("-G"), groups_word(&groups)]);
        }
        if a.bool_or("system", false) && !os.contains("BSD") {
            args.push(Bit::from("-r"));
        }
        if let Some(uid) = a.nonempty("uid") {
            args.extend([Bit::from(if freebsd { "-u" } else { "--uid" }), q(uid)]);
        }
        if let Some(c) = &comment {
            args.extend([Bit::from("-c"), q(c)]);
        }
        if !a.bool_or("unique", true) {
            args.push(Bit::from("-o"));
        }
        if a.bool_or("create_home", false) {
            args.push(Bit::from("-m"));
        } else if !matches!(os.as_str(), "FreeBSD" | "OpenBSD") {
            args.push(Bit::from("-M"));
        }
        if let (Some(p), false) = (&password, freebsd) {
            args.extend([Bit::from("-p"), q(p)]);
        }
        if freebsd {
            let mut bits = Vec::new();
            if let Some(p) = &password {
                bits.extend([Bit::from("echo"), q(p), Bit::from("|")]);
            }
            bits.extend([Bit::from("pw useradd -n"), q(&name)]);
            if password.is_some() {
                bits.extend([Bit::from("-H"), Bit::from("0")]);
            }
            bits.extend(args);
            out.shell(StringCommand::new(bits));
        } else {
            require_tool(host, &os, "useradd").await?;
            let mut bits = vec![Bit::from("useradd")];
            bits.extend(args);
            bits.push(q(&name));
            out.shell(StringCommand::new(bits));
        }
    } else {
        let mut args: Vec<Bit> = Vec::new();
        if !home.is_empty() && python_str(&field("home")) != home {
            args.extend([Bit::from("-d"), q(&home)]);
        }
        if let Some(s) = shell.as_ref().filter(|s| field("shell") != json!(s)) {
            args.extend([Bit::from("-s"), q(s)]);
        }
        if let Some(g) = group.as_ref().filter(|g| field("group") != json!(g)) {
            args.extend([Bit::from("-g"), q(g)]);
        }
        if !groups.is_empty() {
            let have: Vec<String> = field("groups")
                .as_array()
                .map(|a| a.iter().map(python_str).collect())
                .unwrap_or_default();
            let subset = groups.iter().all(|g| have.contains(g));
            if a.bool_or("append", false) {
                if !subset {
                    args.extend([Bit::from("-a"), Bit::from("-G"), groups_word(&groups)]);
                }
            } else if !(subset && have.iter().all(|g| groups.contains(g))) {
                args.extend([Bit::from("-G"), groups_word(&groups)]);
            }
        }
        if let Some(c) = comment.as_ref().filter(|c| field("comment") != json!(c)) {
            args.extend([Bit::from("-c"), q(c)]);
        }
        if let Some(p) = password.as_ref().filter(|p| field("password") != json!(p)) {
            if freebsd {
                out.shell(StringCommand::new([
                    Bit::from("echo"),
                    q(p),
                    Bit::from("| pw usermod -n"),
                    q(&name),
                    Bit::from("-H 0"),
                ]));
            } else {
                args.extend([Bit::from("-p"), q(p)]);
            }
        }
        if !args.is_empty() {
            if freebsd {
                let mut bits = vec![Bit::from("pw usermod -n"), q(&name)];
                bits.extend(args);
                out.shell(StringCommand::new(bits));
            } else {
                require_tool(host, &os, "usermod").await?;
                let mut bits = vec![Bit::from("usermod")];
                bits.extend(args);
                bits.push(q(&name));
                out.shell(StringCommand::new(bits));
            }
        } else {
            out.noop(format!("user {name} already exists"));
        }
    }

    if a.bool_or("ensure_home", true) && !home.is_empty() {
        call!(
            crate::operations::files::directory,
            "files.directory",
            &[
                ("path", json!(home)),
                ("user", json!(name)),
                (
                    "group",
                    json!(group.clone().unwrap_or_else(|| name.clone()))
                ),
                // the home may be a link to a directory elsewhere
                ("_no_fail_on_link", json!(true)),
            ],
            host,
            out,
        )
        .await?;
    }
    if let Some(keys) = a.get("public_keys") {
        let mut pairs = vec![
            ("user", json!(name)),
            ("public_keys", keys.clone()),
            ("delete_keys", json!(a.bool_or("delete_keys", false))),
            ("authorized_key_directory", json!(format!("{home}/.ssh"))),
        ];
        if let Some(g) = &group {
            pairs.push(("group", json!(g)));
        }
        call!(
            user_authorized_keys,
            "server.user_authorized_keys",
            &pairs,
            host,
            out,
        )
        .await?;
    }
    Ok(())
}
