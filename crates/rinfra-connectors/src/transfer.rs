//! Shell commands shared by file transfers: the temp-then-move install, temp names.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use std::path::Path;

use crate::command::{quoted, Bit, StringCommand};
use crate::error::ConnectorError;

/// A temp path beside `dest` (same directory, so the same filesystem and `mv` is a rename).
pub fn temp_path_beside(dest: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{dest}.rinfra-tmp-{}-{nanos:x}-{n}", std::process::id())
}

/// `cp SRC TMP`, give TMP the mode and owner DEST had (if it exists), then `mv -f TMP DEST`;
/// on any failure remove TMP and fail.
///
/// pyinfra copies straight onto the destination (`cp tmp dest`), which leaves a half-written
/// file when the disk fills or the connection drops; a rename is all or nothing. Copying the old
/// mode and owner keeps pyinfra's observable result (`cp` onto an existing file keeps them).
pub fn install_command(src: &str, dest: &str) -> StringCommand {
    let tmp = temp_path_beside(dest);
    StringCommand::new([
        Bit::from("cp"),
        quoted(src),
        quoted(tmp.as_str()),
        Bit::from("&&"),
        move_into_place_command(&tmp, dest).into(),
    ])
}

/// Give TMP (already beside DEST) the mode and owner DEST had, if it exists, then
/// `mv -f TMP DEST`; on any failure remove TMP and fail. The second half of
/// [`install_command`], for a file written beside its destination directly.
pub fn move_into_place_command(tmp: &str, dest: &str) -> StringCommand {
    let (t, d) = (tmp, dest);
    let q = |v: &str| quoted(v);
    StringCommand::new([
        Bit::from("{ if [ -e"),
        q(d),
        Bit::from("]; then chmod"),
        StringCommand::with_separator([Bit::from("--reference="), q(d)], "").into(),
        q(t),
        Bit::from("2>/dev/null; chown"),
        StringCommand::with_separator([Bit::from("--reference="), q(d)], "").into(),
        q(t),
        Bit::from("2>/dev/null; fi; mv -f"),
        q(t),
        q(d),
        Bit::from("; } || { rm -f"),
        q(t),
        Bit::from("; false; }"),
    ])
}

/// Where a local file comes from when written atomically.
pub trait LocalContent {
    /// The bytes to write.
    fn bytes(&self) -> std::io::Result<std::borrow::Cow<'_, [u8]>>;
}

impl LocalContent for [u8] {
    fn bytes(&self) -> std::io::Result<std::borrow::Cow<'_, [u8]>> {
        Ok(std::borrow::Cow::Borrowed(self))
    }
}

impl LocalContent for Vec<u8> {
    fn bytes(&self) -> std::io::Result<std::borrow::Cow<'_, [u8]>> {
        Ok(std::borrow::Cow::Borrowed(self))
    }
}

impl LocalContent for std::path::Path {
    fn bytes(&self) -> std::io::Result<std::borrow::Cow<'_, [u8]>> {
        std::fs::read(self).map(std::borrow::Cow::Owned)
    }
}

impl LocalContent for std::path::PathBuf {
    fn bytes(&self) -> std::io::Result<std::borrow::Cow<'_, [u8]>> {
        self.as_path().bytes()
    }
}

/// Write a downloaded file to the local path `dst` through a temp file beside it and a rename,
/// so `dst` is never seen half-written. `content` is bytes, or a staged file to copy.
pub fn write_local_atomically<C: LocalContent + ?Sized>(
    content: &C,
    dst: &Path,
) -> Result<(), ConnectorError> {
    let data = content
        .bytes()
        .map_err(|e| ConnectorError::io("cannot read the downloaded file", e))?;
    let parent = dst
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(parent).map_err(|e| {
        ConnectorError::io(
            format!("cannot create a temp file in `{}`", parent.display()),
            e,
        )
    })?;
    std::io::Write::write_all(&mut tmp, &data)
        .map_err(|e| ConnectorError::io(format!("cannot write `{}`", dst.display()), e))?;
    tmp.persist(dst).map_err(|e| {
        ConnectorError::io(format!("cannot move into `{}`", dst.display()), e.error)
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn sh(cmd: &StringCommand) -> bool {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(cmd.get_raw_value())
            .status()
            .unwrap()
            .success()
    }

    #[test]
    fn installs_and_keeps_mode_of_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        let dest = dir.path().join("dest it's");
        std::fs::write(&src, "new").unwrap();
        std::fs::write(&dest, "old").unwrap();
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o751)).unwrap();
        assert!(sh(&install_command(
            src.to_str().unwrap(),
            dest.to_str().unwrap()
        )));
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "new");
        assert_eq!(
            std::fs::metadata(&dest).unwrap().permissions().mode() & 0o7777,
            0o751
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no temp file left"
        );
    }

    #[test]
    fn failure_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("dest");
        assert!(!sh(&install_command(
            "/nonexistent/src",
            dest.to_str().unwrap()
        )));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
