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

/// The largest upload [`write_file_command`] carries: its text grows up to four times (binary
/// bytes become `\ooo`), and a command wrapped in `sudo sh -c '...'` is one argument, which
/// Linux bounds at 128 KiB.
pub const MAX_INLINE_UPLOAD: usize = 16 * 1024;

/// `printf` writes `data` to a temp file beside `dest`, which is then moved into place as by
/// [`move_into_place_command`]; nothing is left behind on failure. One shell command instead of
/// a file transfer: over SSH it shares the exec of the commands around it. `printf` is a
/// builtin of every POSIX shell, so the data never meets an argument-length limit of `exec`.
pub fn write_file_command(data: &[u8], dest: &str) -> StringCommand {
    let tmp = temp_path_beside(dest);
    StringCommand::new([
        Bit::from("{ printf"),
        quoted(printf_format(data)),
        Bit::from(">"),
        quoted(tmp.as_str()),
        Bit::from("|| { rm -f"),
        quoted(tmp.as_str()),
        Bit::from("; false; }; } &&"),
        move_into_place_command(&tmp, dest).into(),
    ])
}

/// A `printf` format that prints exactly `data`: `%` doubled, and every byte that is not
/// printable ASCII (or is `\` or `'`) as a three-digit octal escape (POSIX `\ddd`).
fn printf_format(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len() + data.len() / 8);
    for &b in data {
        match b {
            b'%' => out.push_str("%%"),
            b'\\' | b'\'' => out.push_str(&format!("\\{b:03o}")),
            b'\n' | 0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out
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
    fn writes_any_bytes_through_printf() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("dest it's");
        let data: Vec<u8> = (0..=255u8).chain(*b"100% \\n 'q' \n\n").collect();
        assert!(sh(&write_file_command(&data, dest.to_str().unwrap())));
        assert_eq!(std::fs::read(&dest).unwrap(), data);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // An empty file too.
        assert!(sh(&write_file_command(b"", dest.to_str().unwrap())));
        assert_eq!(std::fs::read(&dest).unwrap(), b"");
    }

    #[test]
    fn failed_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("missing-dir/dest");
        assert!(!sh(&write_file_command(b"x", dest.to_str().unwrap())));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
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
