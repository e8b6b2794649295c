//! `files.sync`: mirror a local directory tree to the host by composing `files.directory`,
//! `files.link`, `files.put` and `files.file`.

use std::path::{Path, PathBuf};

use rinfra_core::{fnmatch, OpArgs, OpHost, OperationError};
use serde_json::{json, Value};

use crate::operations::{fact, Args, Out};
use crate::python::truthy;

/// `stat.S_IMODE` as octal digits (`"644"`).
fn permissions(path: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path)
        .map(|m| format!("{:o}", m.permissions().mode() & 0o7777))
        .unwrap_or_default()
}

fn join(parts: &[&str]) -> String {
    let parts: Vec<&str> = parts
        .iter()
        .copied()
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let mut out = String::new();
    for (i, p) in parts.iter().enumerate() {
        if i + 1 < parts.len() {
            out.push_str(p.trim_end_matches('/'));
            out.push('/');
        } else {
            out.push_str(p);
        }
    }
    out
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    entries
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    match v {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.iter().map(crate::python::python_str).collect(),
        Some(v) => vec![crate::python::python_str(v)],
    }
}

async fn call(
    op: &'static str,
    args: Value,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    let map: OpArgs = args.as_object().cloned().unwrap_or_default();
    let a = Args::new(op, &map);
    match op {
        "files.directory" => crate::operations::files::directory(&a, host, out).await,
        "files.link" => crate::operations::files::link(&a, host, out).await,
        "files.file" => crate::operations::files::file(&a, host, out).await,
        _ => crate::operations::files::put::put(&a, host, out).await,
    }
}

pub(crate) async fn sync(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    let src_arg = a.str("src")?;
    let dest = a.str("dest")?;
    let src = if a.bool_or("add_deploy_dir", true) {
        host.local_path(&src_arg)
    } else {
        PathBuf::from(&src_arg)
    };
    if !src.is_dir() {
        return Err(OperationError::Other(format!(
            "No such directory: {src_arg}"
        )));
    }
    let exclude = string_list(a.get("exclude"));
    let exclude_dir = string_list(a.get("exclude_dir"));
    let (user, group) = (a.get("user").cloned(), a.get("group").cloned());
    let mode = a.get("mode").cloned();
    let dir_mode = a.get("dir_mode").cloned();

    let mut put_files: Vec<(PathBuf, String)> = Vec::new();
    let mut put_links: Vec<(String, String)> = Vec::new();
    let mut ensure_dirs: Vec<(String, String)> = Vec::new();
    // os.walk, top-down, not following links
    let mut stack: Vec<PathBuf> = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        let rel = dir
            .strip_prefix(&src)
            .map(|p| p.to_string_lossy().to_string())
            .unwrap_or_default();
        if !rel.is_empty() {
            ensure_dirs.push((rel.clone(), permissions(&dir)));
        }
        let mut subdirs = Vec::new();
        for entry in sorted_entries(&dir) {
            let name = entry
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let is_link = entry
                .symlink_metadata()
                .is_ok_and(|m| m.file_type().is_symlink());
            if entry.is_dir() {
                let child = join(&[&rel, &name]);
                if exclude_dir.iter().any(|p| fnmatch(&child, p)) {
                    continue;
                }
                if is_link {
                    let target = std::fs::read_link(&entry)
                        .map(|t| t.to_string_lossy().to_string())
                        .unwrap_or_default();
                    put_links.push((join(&[&dest, &rel, &name]), target));
                    continue;
                }
                subdirs.push(entry);
                continue;
            }
            let full = entry.to_string_lossy().to_string();
            let shown = format!(
                "/{}",
                entry
                    .strip_prefix(host.local_path(""))
                    .map(|p| p.to_string_lossy().to_string())
                    .unwrap_or(full.clone())
            );
            if exclude
                .iter()
                .any(|p| fnmatch(&full, p) || fnmatch(&shown, p))
            {
                continue;
            }
            let remote = join(&[&dest, &rel, &name]);
            if is_link {
                let target = std::fs::read_link(&entry)
                    .map(|t| t.to_string_lossy().to_string())
                    .unwrap_or_default();
                put_links.push((remote, target));
            } else {
                put_files.push((entry, remote));
            }
        }
        // visit subdirectories in order: push reversed onto the stack
        stack.extend(subdirs.into_iter().rev());
    }

    let mut dest_to_ensure = dest.clone();
    let link_info = fact(host, &crate::facts::files::Link, &[("path", json!(dest))]).await?;
    if truthy(&link_info) {
        if let Some(t) = link_info.get("link_target").and_then(Value::as_str) {
            dest_to_ensure = t.to_string();
        }
    }
    let pick = |specific: &Option<Value>, fallback: String| -> Value {
        dir_mode
            .clone()
            .or_else(|| specific.clone())
            .unwrap_or(json!(fallback))
    };
    call(
        "files.directory",
        json!({"path": dest_to_ensure, "user": user, "group": group, "mode": pick(&mode, permissions(&src))}),
        host,
        out,
    )
    .await?;
    for (rel, perms) in &ensure_dirs {
        call(
            "files.directory",
            json!({"path": join(&[&dest, rel]), "user": user, "group": group, "mode": pick(&mode, perms.clone())}),
            host,
            out,
        )
        .await?;
    }
    for (remote, target) in &put_links {
        call(
            "files.link",
            json!({"path": remote, "target": target, "user": user, "group": group, "create_remote_dir": false}),
            host,
            out,
        )
        .await?;
    }
    for (local, remote) in &put_files {
        let m = mode.clone().unwrap_or_else(|| json!(permissions(local)));
        call(
            "files.put",
            json!({"src": local.to_string_lossy(), "dest": remote, "user": user, "group": group,
                   "mode": m, "add_deploy_dir": false, "create_remote_dir": false}),
            host,
            out,
        )
        .await?;
    }
    if a.bool_or("delete", false) {
        let remote_files = fact(
            host,
            &crate::facts::files::FindFiles,
            &[("path", json!(dest))],
        )
        .await?;
        let remote_links = fact(
            host,
            &crate::facts::files::FindLinks,
            &[("path", json!(dest))],
        )
        .await?;
        let wanted_files: Vec<&String> = put_files.iter().map(|(_, r)| r).collect();
        let wanted_links: Vec<&String> = put_links.iter().map(|(r, _)| r).collect();
        let mut extra_files: Vec<String> = string_list(Some(&remote_files))
            .into_iter()
            .filter(|f| !wanted_files.contains(&f))
            .collect();
        extra_files.sort();
        for f in extra_files {
            if exclude.iter().any(|p| fnmatch(&f, p)) {
                continue;
            }
            call(
                "files.file",
                json!({"path": f, "present": false}),
                host,
                out,
            )
            .await?;
        }
        let mut extra_links: Vec<String> = string_list(Some(&remote_links))
            .into_iter()
            .filter(|l| !wanted_links.contains(&l))
            .collect();
        extra_links.sort();
        for l in extra_links {
            if exclude.iter().any(|p| fnmatch(&l, p)) {
                continue;
            }
            call(
                "files.link",
                json!({"path": l, "present": false}),
                host,
                out,
            )
            .await?;
        }
    }
    Ok(())
}
