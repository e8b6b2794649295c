//! `gpg.key`: installing and removing GPG keys and keyrings (what `apt.key` builds on).

use rinfra_core::{OpHost, OperationError};
use serde_json::{json, Value};

use super::{call, define_op, fact, Args, Out};
use crate::python::python_str;

/// The parent directory of a path (`PurePosixPath(dest).parent`).
fn parent(path: &str) -> String {
    match path.trim_end_matches('/').rsplit_once('/') {
        Some(("", _)) => "/".into(),
        Some((p, _)) => p.into(),
        None => ".".into(),
    }
}

/// Whether an existing key id matches a wanted one (short id, long id or fingerprint), both
/// upper case and without `0x`.
fn matches_keyid(existing: &str, wanted: &str) -> bool {
    let existing = existing.to_uppercase();
    wanted == existing
        || existing.ends_with(wanted)
        || existing.starts_with(wanted)
        || wanted.ends_with(&existing)
}

fn clean_keyid(id: &str) -> String {
    id.replace("0x", "").replace("0X", "").to_uppercase()
}

/// Shell-safe text for the double-quoted paths and ids pyinfra inserts into gpg commands.
fn check_dq(what: &str, value: &str) -> Result<(), OperationError> {
    if value.contains(['"', '$', '`', '\\', '\n']) {
        return Err(OperationError::InvalidArgument {
            op: "gpg.key".into(),
            arg: what.into(),
            reason: format!("`{value}` must not contain quotes, `$`, backquotes or backslashes"),
        });
    }
    Ok(())
}

async fn file_op(
    host: &dyn OpHost,
    out: &mut Out,
    pairs: &[(&str, Value)],
) -> Result<(), OperationError> {
    call!(super::files::file, "files.file", pairs, host, out).await
}

async fn directory_op(
    host: &dyn OpHost,
    out: &mut Out,
    pairs: &[(&str, Value)],
) -> Result<(), OperationError> {
    call!(super::files::directory, "files.directory", pairs, host, out).await
}

/// Delete `keyids` from the keyrings in `keyrings` (a `gpg.GpgKeyrings` value), or only from
/// `only` when given.
async fn remove_keys(
    host: &dyn OpHost,
    out: &mut Out,
    keyids: &[String],
    keyrings: &Value,
    only: Option<&str>,
) -> Result<(), OperationError> {
    for (path, data) in keyrings.as_object().into_iter().flatten() {
        if only.is_some_and(|o| o != path) {
            continue;
        }
        let keys = data.get("keys").and_then(Value::as_object);
        let mut remove: Vec<String> = Vec::new();
        for kid in keyids {
            let wanted = clean_keyid(kid);
            for (id, info) in keys.into_iter().flatten() {
                if matches_keyid(id, &wanted) {
                    let fpr = info
                        .get("fingerprint")
                        .map_or_else(|| id.clone(), python_str);
                    if !remove.contains(&fpr) {
                        remove.push(fpr);
                    }
                }
            }
        }
        if remove.is_empty() {
            continue;
        }
        if data.get("format").and_then(Value::as_str) == Some("asc") {
            if remove.len() < keys.map_or(0, |k| k.len()) {
                return Err(OperationError::Other(format!(
                    "Cannot remove individual keys from armored keyring '{path}': the file contains other keys and cannot be edited in-place. Remove the file explicitly with present=False and no keyid."
                )));
            }
            file_op(
                host,
                out,
                &[("path", json!(path)), ("present", json!(false))],
            )
            .await?;
        } else {
            check_dq("dest", path)?;
            out.shell(format!(
                "gpg --batch --yes --no-default-keyring --keyring \"{path}\" --delete-keys {}",
                remove.join(" ")
            ));
            out.shell(format!(
                "gpg --batch --no-default-keyring --keyring \"{path}\" --list-keys 2>/dev/null | grep -q \"^pub\" || rm -f \"{path}\""
            ));
        }
    }
    Ok(())
}

define_op! {
    /// Install GPG keys (from a file, a URL or a keyserver) into a keyring file, or remove keys
    /// or whole keyrings.
    ///
    /// Deploy example: `gpg.key(src="https://download.docker.com/linux/debian/gpg", dest="/etc/apt/keyrings/docker.gpg")`
    Key = "gpg.key";
    params: [optional "src" = "the key's file on the host or URL",
             optional "dest" = "the keyring file to write",
             optional "keyserver" = "fetch the key from this keyserver",
             optional "keyid" = "the key's ID (or IDs) on the keyserver, or to remove",
             optional "dearmor" = "convert an armored key into a binary keyring (default True)",
             optional "mode" = "the keyring's permissions (default 0644)",
             optional "present" = "whether it should exist (default True)",
             optional "working_dirs" = "with `present=False`, the directories whose keyrings to search"];
    generate: key;
}

pub(crate) async fn key(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    let src = a.nonempty("src");
    let dest = a.nonempty("dest");
    let keyserver = a.nonempty("keyserver");
    let keyids = a.list("keyid")?;
    let mode = a.opt_str("mode").unwrap_or_else(|| "0644".into());
    let working_dirs = a.list("working_dirs")?;
    let err = |m: &str| Err(OperationError::Other(m.into()));

    if !a.bool_or("present", true) {
        if dest.is_none() && (keyids.is_empty() || working_dirs.is_empty()) {
            return err(
                "For removal, either `dest` or both `keyid` and `working_dirs` must be provided",
            );
        }
        return match (&dest, keyids.is_empty()) {
            (None, false) => {
                let rings = fact(
                    host,
                    &crate::facts::gpg::GpgKeyrings,
                    &[("directories", json!(working_dirs))],
                )
                .await?;
                remove_keys(host, out, &keyids, &rings, None).await
            }
            (Some(dest), false) => {
                let dirs = json!([parent(dest)]);
                let rings = fact(
                    host,
                    &crate::facts::gpg::GpgKeyrings,
                    &[("directories", dirs)],
                )
                .await?;
                remove_keys(host, out, &keyids, &rings, Some(dest)).await
            }
            (Some(dest), true) => {
                file_op(
                    host,
                    out,
                    &[("path", json!(dest)), ("present", json!(false))],
                )
                .await
            }
            (None, true) => err("Invalid parameters for removal operation"),
        };
    }

    if src.is_none() && keyserver.is_none() {
        return err("Either `src` or `keyserver` must be provided for installation");
    }
    if keyserver.is_some() && keyids.is_empty() {
        return err("`keyid` must be provided with `keyserver`");
    }
    let Some(dest) = dest else {
        return err("`dest` must be provided for installation");
    };
    check_dq("dest", &dest)?;
    let ensure_dest = [
        ("path", json!(dest)),
        ("mode", json!(mode)),
        ("present", json!(true)),
    ];
    if !keyids.is_empty() {
        // as pyinfra, a keyring that cannot be read counts as missing: the key is installed
        let rings = fact(
            host,
            &crate::facts::gpg::GpgKeyrings,
            &[("directories", json!([parent(&dest)]))],
        )
        .await
        .unwrap_or_default();
        if let Some(existing) = rings
            .get(&dest)
            .and_then(|r| r.get("keys"))
            .and_then(Value::as_object)
        {
            let all = keyids.iter().all(|k| {
                let wanted = clean_keyid(k);
                existing.keys().any(|id| matches_keyid(id, &wanted))
            });
            if all {
                file_op(host, out, &ensure_dest).await?;
                out.noop(format!(
                    "GPG keys {} already exist in {dest}",
                    crate::python::python_repr(a.get("keyid").unwrap_or(&Value::Null))
                ));
                return Ok(());
            }
        }
    } else if crate::python::truthy(
        &fact(host, &crate::facts::files::File, &[("path", json!(dest))]).await?,
    ) {
        file_op(host, out, &ensure_dest).await?;
        out.noop(format!("GPG keyring {dest} already exists"));
        return Ok(());
    }
    directory_op(
        host,
        out,
        &[
            ("path", json!(parent(&dest))),
            ("mode", json!("0755")),
            ("present", json!(true)),
        ],
    )
    .await?;
    if let Some(src) = src {
        let is_url = src.starts_with("http://") || src.starts_with("https://");
        let file = if is_url {
            let temp = crate::pinned::temp_filename(&host.temp_dir(), &src);
            let pairs = [("src", json!(src)), ("dest", json!(temp))];
            call!(
                super::files::put::download,
                "files.download",
                &pairs,
                host,
                out
            )
            .await?;
            temp
        } else {
            src
        };
        check_dq("src", &file)?;
        if a.bool_or("dearmor", true) {
            out.shell(format!(
                "if grep -q \"BEGIN PGP PUBLIC KEY BLOCK\" \"{file}\"; then gpg --batch --dearmor -o \"{dest}\" \"{file}\"; else cp \"{file}\" \"{dest}\"; fi"
            ));
        } else {
            out.shell(format!("cp \"{file}\" \"{dest}\""));
        }
        file_op(host, out, &ensure_dest).await?;
        if is_url {
            file_op(
                host,
                out,
                &[("path", json!(file)), ("present", json!(false))],
            )
            .await?;
        }
    }
    if let Some(keyserver) = keyserver {
        check_dq("keyserver", &keyserver)?;
        for k in &keyids {
            check_dq("keyid", k)?;
        }
        let joined = keyids.join(" ");
        let temp =
            crate::pinned::temp_filename(&host.temp_dir(), &format!("gpg-keyserver-{joined}"));
        directory_op(
            host,
            out,
            &[
                ("path", json!(temp)),
                ("mode", json!("0700")),
                ("present", json!(true)),
            ],
        )
        .await?;
        out.shell(format!(
            "export GNUPGHOME=\"{temp}\" && gpg --batch --keyserver \"{keyserver}\" --recv-keys {joined}"
        ));
        out.shell(format!(
            "export GNUPGHOME=\"{temp}\" && gpg --batch --export {joined} > \"{dest}\""
        ));
        directory_op(
            host,
            out,
            &[("path", json!(temp)), ("present", json!(false))],
        )
        .await?;
        file_op(host, out, &ensure_dest).await?;
    }
    Ok(())
}

define_op! {
    /// Convert an ASCII-armored key on the host into a binary keyring (`gpg --dearmor`), e.g.
    /// for apt's `signed-by`; the directory is created and the mode set. An existing keyring is
    /// left alone when it already is `src` dearmored, and replaced otherwise.
    ///
    /// Deploy example: `gpg.dearmor(src="/tmp/docker.asc", dest="/etc/apt/keyrings/docker.gpg")`
    Dearmor = "gpg.dearmor";
    params: [required "src" = "the armored key file on the host",
             required "dest" = "the binary keyring to write",
             optional "mode" = "the keyring's mode (default 0644)"];
    generate: dearmor;
}

async fn dearmor(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let src = a.str("src")?;
    let dest = a.str("dest")?;
    // pyinfra puts both in double quotes unescaped
    for (arg, v) in [("src", &src), ("dest", &dest)] {
        if v.contains(['"', '$', '`', '\\', '\n']) {
            return Err(a.invalid(
                arg,
                format!("`{v}` must not contain quotes, `$`, backquotes or backslashes"),
            ));
        }
    }
    let mode = a.get("mode").cloned().unwrap_or_else(|| json!("0644"));
    directory_op(
        host,
        out,
        &[
            ("path", json!(parent(&dest))),
            ("mode", json!("0755")),
            ("present", json!(true)),
        ],
    )
    .await?;
    // pyinfra always runs `gpg --dearmor`, which refuses an existing `dest` ("File exists"):
    // a second run failed. An existing `dest` is compared with what dearmoring gives instead,
    // and replaced (`--yes`) only when it differs.
    let existing = fact(host, &crate::facts::files::File, &[("path", json!(dest))]).await?;
    if existing.is_null() {
        out.shell(format!("gpg --batch --dearmor -o \"{dest}\" \"{src}\""));
    } else {
        let same = fact(
            host,
            &crate::facts::server::Command,
            &[(
                "command",
                json!(format!(
                    "if gpg --batch --dearmor < \"{src}\" 2>/dev/null | cmp -s - \"{dest}\"; then echo same; fi"
                )),
            )],
        )
        .await?;
        if python_str(&same).trim() == "same" {
            out.noop(format!("{dest} is already {src} dearmored"));
        } else {
            out.shell(format!(
                "gpg --batch --yes --dearmor -o \"{dest}\" \"{src}\""
            ));
        }
    }
    file_op(
        host,
        out,
        &[
            ("path", json!(dest)),
            ("mode", mode),
            ("present", json!(true)),
        ],
    )
    .await
}
