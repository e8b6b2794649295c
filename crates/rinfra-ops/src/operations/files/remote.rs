//! `files.*` operations on files already on the host: `files.copy`, `files.move`,
//! `files.flags` and `files.unarchive` (which may upload the archive first).

use rinfra_connectors::{Bit, FileSource, StringCommand};
use rinfra_core::{OpCommand, OpHost, OperationError};
use serde_json::{json, Value};

use crate::operations::files::chown;
use crate::operations::{define_op, fact, q, Args, Out};
use crate::python::{python_str, truthy};

/// `posixpath.join(dest, PurePosixPath(src).name)`: where `src` lands inside `dest`.
fn inside(dest: &str, src: &str) -> String {
    let name = src
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    if dest.is_empty() || dest.ends_with('/') {
        format!("{dest}{name}")
    } else {
        format!("{dest}/{name}")
    }
}

/// pyinfra's `_remote_file_equal`: the first of sha1, md5 and sha256 both files have decides.
async fn remote_files_equal(host: &dyn OpHost, a: &str, b: &str) -> Result<bool, OperationError> {
    use crate::facts::files::{Md5File, Sha1File, Sha256File};
    let sums: [&dyn rinfra_core::Fact; 3] = [&Sha1File, &Md5File, &Sha256File];
    for sum_fact in sums {
        let sum_a = fact(host, sum_fact, &[("path", json!(a))]).await?;
        let sum_b = fact(host, sum_fact, &[("path", json!(b))]).await?;
        if truthy(&sum_a) && truthy(&sum_b) {
            return Ok(sum_a == sum_b);
        }
    }
    Ok(false)
}

define_op! {
    /// Copy a file, directory or link on the host into a directory (`cp -r`). An identical
    /// file already there is a noop; a different one is an error unless `overwrite`. A
    /// directory whose copy already has the same files (`diff -r`) is a noop too.
    ///
    /// Deploy example: `files.copy(src="/etc/nginx/nginx.conf", dest="/root/backup")`
    Copy = "files.copy";
    params: [required "src" = "the file, directory or link to copy",
             required "dest" = "the existing directory to copy it into",
             optional "overwrite" = "replace what is already there (`cp -f`)"];
    generate: copy;
}

async fn copy(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let src = a.str("src")?;
    let dest = a.str("dest")?;
    let overwrite = a.bool_or("overwrite", false);
    let src_is_dir = truthy(
        &fact(
            host,
            &crate::facts::files::Directory,
            &[("path", json!(src))],
        )
        .await?,
    );
    if !src_is_dir
        && !truthy(&fact(host, &crate::facts::files::File, &[("path", json!(src))]).await?)
    {
        return Err(OperationError::Other(format!("src {src} does not exist")));
    }
    if !truthy(
        &fact(
            host,
            &crate::facts::files::Directory,
            &[("path", json!(dest))],
        )
        .await?,
    ) {
        return Err(OperationError::Other(format!(
            "dest {dest} is not an existing directory"
        )));
    }
    let target = inside(&dest, &src);
    let target_info = fact(host, &crate::facts::files::File, &[("path", json!(target))]).await?;
    // pyinfra copied a directory again on every run (`files.File` is False for a directory):
    // one whose copy is already there with the same files is a noop here
    if src_is_dir && target_info == json!(false) && !overwrite {
        let diff = StringCommand::new([Bit::from("diff -r -q"), q(&src), q(&target)]);
        let same = fact(
            host,
            &crate::facts::server::Command,
            &[(
                "command",
                json!(format!(
                    "if {} >/dev/null 2>&1; then echo same; fi",
                    diff.get_raw_value()
                )),
            )],
        )
        .await?;
        if python_str(&same).trim() == "same" {
            out.noop(format!("{target} already exists"));
            return Ok(());
        }
    }
    let exists = truthy(&target_info);
    if exists && !overwrite {
        if remote_files_equal(host, &src, &target).await? {
            out.noop(format!("{target} already exists"));
            return Ok(());
        }
        return Err(OperationError::Other(format!(
            "{target} already exists and is different than src"
        )));
    }
    let head = if overwrite { "cp -r -f" } else { "cp -r" };
    out.shell(StringCommand::new([Bit::from(head), q(&src), q(&dest)]));
    Ok(())
}

define_op! {
    /// Move a file, directory or link on the host into a directory (`mv`); something of the
    /// same name there is an error unless `overwrite` (then it is removed first).
    ///
    /// Deploy example: `files.move(src="/tmp/build/app", dest="/opt", overwrite=True)`
    Move = "files.move";
    params: [required "src" = "the file, directory or link to move",
             required "dest" = "the existing directory to move it into",
             optional "overwrite" = "remove what is already there first"];
    generate: move_;
}

async fn move_(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let src = a.str("src")?;
    let dest = a.str("dest")?;
    // `files.File` is False for something that is not a regular file: it still exists
    if fact(host, &crate::facts::files::File, &[("path", json!(src))])
        .await?
        .is_null()
    {
        return Err(OperationError::Other(format!("src {src} does not exist")));
    }
    if !truthy(
        &fact(
            host,
            &crate::facts::files::Directory,
            &[("path", json!(dest))],
        )
        .await?,
    ) {
        return Err(OperationError::Other(format!(
            "dest {dest} is not an existing directory"
        )));
    }
    let target = inside(&dest, &src);
    if !fact(host, &crate::facts::files::File, &[("path", json!(target))])
        .await?
        .is_null()
    {
        if !a.bool_or("overwrite", false) {
            return Err(OperationError::Other(format!(
                "dest {target} already exists and `overwrite` is unset"
            )));
        }
        out.shell(StringCommand::new([Bit::from("rm -rf"), q(&target)]));
    }
    out.shell(StringCommand::new([Bit::from("mv"), q(&src), q(&dest)]));
    Ok(())
}

define_op! {
    /// Set or clear BSD/macOS file flags (`chflags`, e.g. `hidden`, `uchg`).
    ///
    /// Deploy example: `files.flags(path="~/Library", flags="hidden", present=False)`
    Flags = "files.flags";
    params: [required "path" = "the file or directory",
             optional "flags" = "a flag or list of flags",
             optional "present" = "set (True, default) or clear (False) them"];
    generate: flags;
}

async fn flags(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let path = a.str("path")?;
    let wanted = a.list("flags")?;
    if let Some(bad) = wanted
        .iter()
        .find(|f| f.is_empty() || !f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    {
        return Err(a.invalid("flags", format!("not a file flag: {bad:?}")));
    }
    if wanted.is_empty() {
        out.noop(format!("no changes requested to flags for '{path}'"));
        return Ok(());
    }
    let present = a.bool_or("present", true);
    let current: Vec<String> = fact(host, &crate::facts::files::Flags, &[("path", json!(path))])
        .await?
        .as_array()
        .map(|c| c.iter().map(python_str).collect())
        .unwrap_or_default();
    let mut change: Vec<&String> = wanted
        .iter()
        .filter(|f| current.contains(f) != present)
        .collect();
    change.sort();
    change.dedup();
    if change.is_empty() {
        out.noop(format!(
            "'{path}' already has '{}' {}",
            wanted.join(","),
            if present { "set" } else { "clear" }
        ));
        return Ok(());
    }
    let prefix = if present { "" } else { "no" };
    let list: Vec<String> = change.iter().map(|f| format!("{prefix}{f}")).collect();
    out.shell(StringCommand::new([
        Bit::from("chflags"),
        Bit::from(list.join(",")),
        q(&path),
    ]));
    Ok(())
}

/// Archive suffixes and how to extract them: `tar` with these flags, or `unzip -o`.
const TAR_FORMATS: &[(&str, &[&str])] = &[
    (".tar", &["-x"]),
    (".tar.gz", &["-xz"]),
    (".tgz", &["-xz"]),
    (".tar.bz2", &["-xj"]),
    (".tbz2", &["-xj"]),
    (".tar.xz", &["-xJ"]),
    (".txz", &["-xJ"]),
    (".tar.zst", &["-x", "--zstd"]),
];

define_op! {
    /// Extract a `.tar`, `.tar.gz`/`.tgz`, `.tar.bz2`/`.tbz2`, `.tar.xz`/`.txz`, `.tar.zst` or
    /// `.zip` archive into an existing directory; a local archive is uploaded to a temporary
    /// file first. `creates` makes it idempotent.
    ///
    /// Deploy example: `files.unarchive(src="releases/app-1.0.tar.gz", dest="/opt/app", creates="/opt/app/bin/start")`
    Unarchive = "files.unarchive";
    params: [required "src" = "the archive: a local path, or a path on the host with `remote_src`",
             required "dest" = "the existing directory to extract into",
             optional "remote_src" = "the archive is already on the host",
             optional "creates" = "skip when this path exists (it is what extracting creates)",
             optional "extra_opts" = "more arguments for tar or unzip",
             optional "user" = "chown the extracted tree to this user",
             optional "group" = "chown the extracted tree to this group"];
    generate: unarchive;
}

async fn unarchive(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let src = a.str("src")?;
    let dest = a.str("dest")?;
    let remote = a.bool_or("remote_src", false);
    if let Some(creates) = a.nonempty("creates") {
        if !fact(
            host,
            &crate::facts::files::File,
            &[("path", json!(creates))],
        )
        .await?
        .is_null()
        {
            out.noop(format!("archive already extracted ({creates} exists)"));
            return Ok(());
        }
    }
    if !truthy(
        &fact(
            host,
            &crate::facts::files::Directory,
            &[("path", json!(dest))],
        )
        .await?,
    ) {
        return Err(OperationError::Other(format!(
            "Destination {dest} is not an existing directory"
        )));
    }
    let lower = src.to_lowercase();
    let tar_flags = TAR_FORMATS
        .iter()
        .find(|(ext, _)| lower.ends_with(ext))
        .map(|(_, f)| *f);
    if tar_flags.is_none() && !lower.ends_with(".zip") {
        let mut known: Vec<&str> = TAR_FORMATS.iter().map(|(e, _)| *e).collect();
        known.push(".zip");
        return Err(a.invalid(
            "src",
            format!(
                "Unsupported archive format for {src}. Supported: {}",
                known.join(", ")
            ),
        ));
    }
    let archive = if remote {
        if fact(host, &crate::facts::files::File, &[("path", json!(src))])
            .await?
            .is_null()
        {
            return Err(OperationError::Other(format!(
                "Remote archive {src} does not exist"
            )));
        }
        src.clone()
    } else {
        // a missing local file fails the upload, naming it
        let local = host.local_path(&src);
        let temp = crate::pinned::temp_filename(&host.temp_dir(), &src);
        out.push(OpCommand::Upload {
            src: FileSource::Path(local),
            dest: temp.clone(),
            remote_temp: None,
        });
        temp
    };
    let extras: Vec<Bit> = match a.get("extra_opts") {
        None => Vec::new(),
        Some(Value::String(s)) => vec![Bit::from(s.as_str())],
        Some(_) => a.list("extra_opts")?.into_iter().map(Bit::from).collect(),
    };
    let mut bits: Vec<Bit> = Vec::new();
    match tar_flags {
        Some(flags) => {
            bits.push(Bit::from("tar"));
            bits.extend(flags.iter().map(|f| Bit::from(*f)));
            bits.extend(extras);
            // `-f` next to the archive, so an extra option cannot take its place
            bits.extend([Bit::from("-f"), q(&archive), Bit::from("-C"), q(&dest)]);
        }
        None => {
            bits.extend([Bit::from("unzip"), Bit::from("-o")]);
            bits.extend(extras);
            bits.extend([q(&archive), Bit::from("-d"), q(&dest)]);
        }
    }
    out.shell(StringCommand::new(bits));
    if !remote {
        out.shell(StringCommand::new([Bit::from("rm -f"), q(&archive)]));
    }
    let (user, group) = (a.nonempty("user"), a.nonempty("group"));
    if user.is_some() || group.is_some() {
        out.shell(chown(&dest, user.as_deref(), group.as_deref(), true, true)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::inside;

    #[test]
    fn joins_like_posixpath() {
        assert_eq!(inside("tmp2", "tmp/testfile"), "tmp2/testfile");
        assert_eq!(inside("/dest/", "/src/dir/"), "/dest/dir");
    }
}
