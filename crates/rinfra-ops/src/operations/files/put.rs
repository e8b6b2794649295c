//! `files.put`, `files.get`, `files.download` and `files.sync`: moving whole files.

use std::path::PathBuf;

use rinfra_connectors::{Bit, FileSource, StringCommand};
use rinfra_core::{OpCommand, OpHost, OperationError};
use serde_json::{json, Value};
use sha1::Digest;

use crate::facts::shell::formatted;
use crate::operations::args::Mode;
use crate::operations::files::{chmod, chown, create_remote_dir};
use crate::operations::{define_op, fact, q, Args, Out};
use crate::python::truthy;

/// Where upload content comes from: a local file or in-memory text (`{"content": ...}`, what a
/// deploy's `StringIO` becomes).
pub(crate) enum Source {
    Path(PathBuf),
    Content(Vec<u8>),
}

impl Source {
    pub(crate) fn from_arg(
        a: &Args<'_>,
        host: &dyn OpHost,
        name: &str,
    ) -> Result<Self, OperationError> {
        match a.get(name) {
            Some(Value::Object(o)) if o.contains_key("content") => Ok(Source::Content(
                crate::python::python_str(&o["content"]).into_bytes(),
            )),
            Some(v) if !a.bool_or("add_deploy_dir", true) => {
                Ok(Source::Path(PathBuf::from(crate::python::python_str(v))))
            }
            Some(v) => Ok(Source::Path(host.local_path(&crate::python::python_str(v)))),
            None => Err(a.invalid(name, "missing required argument")),
        }
    }

    fn read(&self) -> std::io::Result<Vec<u8>> {
        match self {
            Source::Path(p) => std::fs::read(p),
            Source::Content(c) => Ok(c.clone()),
        }
    }

    fn file_source(&self) -> FileSource {
        match self {
            Source::Path(p) => FileSource::Path(p.clone()),
            Source::Content(c) => FileSource::Bytes(c.clone()),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// pyinfra's `_file_equal`: compare with the first remote checksum available (sha1, md5,
/// sha256).
async fn file_equal(
    host: &dyn OpHost,
    local: Option<&[u8]>,
    remote: &str,
) -> Result<bool, OperationError> {
    let Some(local) = local else { return Ok(false) };
    use crate::facts::files::{Md5File, Sha1File, Sha256File};
    /// A remote checksum fact and the same sum of local bytes.
    type Sum = (&'static dyn rinfra_core::Fact, fn(&[u8]) -> String);
    let sums: [Sum; 3] = [
        (&Sha1File, |b| hex(&sha1::Sha1::digest(b))),
        (&Md5File, |b| format!("{:x}", md5::compute(b))),
        (&Sha256File, |b| hex(&sha2::Sha256::digest(b))),
    ];
    for (sum_fact, local_sum) in sums {
        let remote_sum = fact(host, sum_fact, &[("path", json!(remote))]).await?;
        if truthy(&remote_sum) {
            return Ok(Some(local_sum(local).as_str()) == remote_sum.as_str());
        }
    }
    Ok(false)
}

/// A point in time: seconds since the epoch (UTC) plus microseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Instant {
    secs: i64,
    micros: i64,
}

impl Instant {
    fn as_f64(self) -> f64 {
        self.secs as f64 + self.micros as f64 / 1e6
    }

    /// `touch -d` text: UTC ISO 8601 with `Z` (Python's `isoformat`, microseconds if any).
    fn touch_text(self) -> String {
        let base = crate::facts::parse::timestamp_iso(self.secs);
        if self.micros == 0 {
            format!("{base}Z")
        } else {
            format!("{base}.{:06}Z", self.micros)
        }
    }
}

/// Parse `YYYY-MM-DD[T ]HH:MM[:SS[.ffffff]][Z|±HH:MM]`; a naive time gets `default_offset`.
fn parse_iso(s: &str, default_offset: Option<i64>) -> Option<Instant> {
    let caps = crate::facts::parse::re_fullmatch(
        r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?",
        s.trim(),
    )?;
    let n = |i: usize| {
        caps.get(i)
            .map_or(0, |m| m.as_str().parse::<i64>().unwrap_or(0))
    };
    let days = days_from_civil(n(1), n(2), n(3));
    let mut secs = days * 86_400 + n(4) * 3600 + n(5) * 60 + n(6);
    let micros = caps.get(7).map_or(0, |m| {
        format!("{:0<6}", m.as_str()).parse::<i64>().unwrap_or(0)
    });
    let offset = match caps.get(8).map(|m| m.as_str()) {
        Some("Z") => 0,
        Some(o) => {
            let digits: String = o[1..].chars().filter(char::is_ascii_digit).collect();
            let v = digits[..2].parse::<i64>().ok()? * 3600 + digits[2..].parse::<i64>().ok()? * 60;
            if o.starts_with('-') {
                -v
            } else {
                v
            }
        }
        None => default_offset.unwrap_or(0),
    };
    secs -= offset;
    Some(Instant { secs, micros })
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The host's UTC offset in seconds, from `server.Date`.
async fn host_offset(host: &dyn OpHost) -> Result<i64, OperationError> {
    let date = fact(host, &crate::facts::server::Date, &[]).await?;
    let s = date.as_str().unwrap_or("");
    let Some(caps) = crate::facts::parse::re_match(r".*([+-])(\d{2}):?(\d{2})$", s) else {
        return Ok(0);
    };
    let v = caps[2].parse::<i64>().unwrap_or(0) * 3600 + caps[3].parse::<i64>().unwrap_or(0) * 60;
    Ok(if &caps[1] == "-" { -v } else { v })
}

/// pyinfra's `_canonicalize_timespec`: `True` (the local file's time), an ISO datetime, a Unix
/// timestamp, or a remote reference file.
async fn timespec(
    a: &Args<'_>,
    host: &dyn OpHost,
    field: &str,
    local: Option<&std::fs::Metadata>,
    spec: &Value,
) -> Result<Option<Instant>, OperationError> {
    if spec == &Value::Bool(true) {
        let Some(meta) = local else {
            return Ok(None);
        };
        let t = if field == "atime" {
            meta.accessed()
        } else {
            meta.modified()
        };
        let d = t
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .unwrap_or_default();
        return Ok(Some(Instant {
            secs: d.as_secs() as i64,
            micros: i64::from(d.subsec_micros()),
        }));
    }
    if let Some(f) = spec.as_f64().filter(|_| spec.is_number()) {
        return Ok(Some(Instant {
            secs: f.floor() as i64,
            micros: ((f.fract()) * 1e6).round() as i64,
        }));
    }
    let text = crate::python::python_str(spec);
    if crate::facts::parse::re_match(r"\d{4}-\d{2}-\d{2}", &text).is_some() {
        let naive_offset =
            if crate::facts::parse::re_match(r".*(Z|[+-]\d{2}:?\d{2})$", &text).is_some() {
                None
            } else {
                Some(host_offset(host).await?)
            };
        return parse_iso(&text, naive_offset)
            .map(Some)
            .ok_or_else(|| a.invalid(field, format!("bad datetime `{text}`")));
    }
    if let Ok(f) = text.trim().parse::<f64>() {
        return Ok(Some(Instant {
            secs: f.floor() as i64,
            micros: (f.fract() * 1e6).round() as i64,
        }));
    }
    let reference = fact(host, &crate::facts::files::File, &[("path", json!(text))]).await?;
    Ok(reference
        .get(field)
        .and_then(Value::as_str)
        .and_then(|t| parse_iso(t, Some(0))))
}

fn touch(dest: &str, field: &str, when: Instant) -> StringCommand {
    let flag = if field == "atime" {
        "touch -a -d"
    } else {
        "touch -m -d"
    };
    StringCommand::new([Bit::from(format!("{flag} {}", when.touch_text())), q(dest)])
}

fn times_differ(want: Instant, have: Instant) -> bool {
    (want.as_f64() - have.as_f64()).abs() >= 1.0 || want.secs != have.secs
}

define_op! {
    /// Upload a local file (or in-memory content) to the host, then set owner, mode and times.
    ///
    /// Deploy example: `files.put(src="files/motd", dest="/etc/motd", mode=644)`
    Put = "files.put";
    params: [required "src" = "local file (relative to the deploy directory) or in-memory content",
             required "dest" = "where the file goes on the host",
             optional "user" = "owner (user name)",
             optional "group" = "group (group name)",
             optional "mode" = "permissions, octal (`644`, `'0644'`) or symbolic (`u+x`)",
             optional "add_deploy_dir" = "read a relative `src` from the deploy directory (default True)",
             optional "create_remote_dir" = "create the parent directory when missing",
             optional "force" = "upload even when the content is the same",
             optional "assume_exists" = "do not fail when the local file is missing (it will be made earlier in the deploy)",
             optional "atime" = "set the access time: a date, or True to copy the local file's",
             optional "mtime" = "set the modification time: a date, or True to copy the local file's"];
    touches: "dest";
    generate: put;
}

pub(crate) async fn put(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    let src = Source::from_arg(a, host, "src")?;
    put_source(a, host, out, src).await
}

/// The body of `files.put` for a resolved source (shared with `files.template`).
pub(crate) async fn put_source(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
    src: Source,
) -> Result<(), OperationError> {
    let mut dest = a.str("dest")?;
    let (user, group) = (a.nonempty("user"), a.nonempty("group"));
    let (user, group) = (user.as_deref(), group.as_deref());
    let local_path = match &src {
        Source::Path(p) => Some(p.clone()),
        Source::Content(_) => None,
    };
    // read the local times before the content: reading updates the access time
    let local_times = local_path
        .as_deref()
        .and_then(|p| std::fs::metadata(p).ok());
    let content: Option<Vec<u8>> =
        match &src {
            Source::Path(p) if p.is_file() => Some(src.read().map_err(|e| {
                OperationError::Other(format!("cannot read `{}`: {e}", p.display()))
            })?),
            Source::Path(p) => {
                if !a.bool_or("assume_exists", false) {
                    return Err(OperationError::Other(format!(
                        "No such file: {}",
                        p.display()
                    )));
                }
                None
            }
            Source::Content(c) => Some(c.clone()),
        };
    let mode: Option<Mode> = if a.get("mode") == Some(&Value::Bool(true)) {
        local_path
            .as_ref()
            .filter(|p| p.is_file())
            .and_then(|p| std::fs::metadata(p).ok())
            .map(|m| {
                use std::os::unix::fs::PermissionsExt;
                Mode::Octal(
                    format!("{:o}", m.permissions().mode() & 0o7777)
                        .parse()
                        .unwrap_or(0),
                )
            })
    } else {
        a.mode("mode")?
    };
    let mode = mode.filter(Mode::is_set);

    let mut remote = fact(host, &crate::facts::files::File, &[("path", json!(dest))]).await?;
    if !truthy(&remote)
        && truthy(
            &fact(
                host,
                &crate::facts::files::Directory,
                &[("path", json!(dest))],
            )
            .await?,
        )
    {
        let Some(local) = &local_path else {
            return Err(a.invalid(
                "dest",
                "When `src` is a file-like object, `dest` must be a full file path, not a directory",
            ));
        };
        let name = local
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        dest = format!("{}/{name}", dest.trim_end_matches('/'));
        remote = fact(host, &crate::facts::files::File, &[("path", json!(dest))]).await?;
    }
    if a.bool_or("create_remote_dir", true) {
        create_remote_dir(host, out, &dest, user, group).await?;
    }
    let temp = crate::pinned::temp_filename(&host.temp_dir(), &dest);
    let local_for_times = local_times.as_ref();
    let upload = |out: &mut Out| {
        out.push(OpCommand::Upload {
            src: src.file_source(),
            dest: dest.clone(),
            remote_temp: Some(temp.clone()),
        })
    };
    let (atime, mtime) = (
        a.get("atime").filter(|v| truthy(v)),
        a.get("mtime").filter(|v| truthy(v)),
    );

    let must_upload = !truthy(&remote)
        || a.bool_or("force", false)
        || !file_equal(host, content.as_deref(), &dest).await?;
    if must_upload {
        if host.diff_enabled() {
            let old = if truthy(&remote) {
                fact(
                    host,
                    &crate::facts::files::FileContents,
                    &[("path", json!(dest))],
                )
                .await?
                .as_array()
                .map(|l| {
                    l.iter()
                        .map(|x| format!("{}\n", crate::python::python_str(x)))
                        .collect()
                })
            } else {
                None
            };
            if let Some(c) = &content {
                out.diff(&dest, old, String::from_utf8_lossy(c).into_owned());
            }
        }
        upload(out);
        if user.is_some() || group.is_some() {
            out.shell(chown(&dest, user, group, false, true)?);
        }
        if let Some(mode) = &mode {
            out.shell(chmod(&dest, mode, false));
        }
        // mtime before atime: setting mtime would otherwise touch atime again
        if let Some(spec) = mtime {
            if let Some(t) = timespec(a, host, "mtime", local_for_times, spec).await? {
                out.shell(touch(&dest, "mtime", t));
            }
        }
        if let Some(spec) = atime {
            if let Some(t) = timespec(a, host, "atime", local_for_times, spec).await? {
                out.shell(touch(&dest, "atime", t));
            }
        }
        return Ok(());
    }
    let mut changed = false;
    if let Some(mode) = &mode {
        if mode.differs_from(remote.get("mode")) {
            out.shell(chmod(&dest, mode, false));
            changed = true;
        }
    }
    if user.is_some_and(|u| remote["user"].as_str() != Some(u))
        || group.is_some_and(|g| remote["group"].as_str() != Some(g))
    {
        out.shell(chown(&dest, user, group, false, true)?);
        changed = true;
    }
    for (field, spec) in [("mtime", mtime), ("atime", atime)] {
        let Some(spec) = spec else { continue };
        let Some(want) = timespec(a, host, field, local_for_times, spec).await? else {
            continue;
        };
        let have = remote
            .get(field)
            .and_then(Value::as_str)
            .and_then(|t| parse_iso(t, Some(0)));
        if have.is_none_or(|h| times_differ(want, h)) {
            out.shell(touch(&dest, field, want));
            changed = true;
        }
    }
    if !changed {
        out.noop(format!("file {dest} is already uploaded"));
    }
    Ok(())
}

define_op! {
    /// Download a file from the host to the controller (always re-checks: not idempotent).
    ///
    /// Deploy example: `files.get(src="/etc/hosts", dest="backup/hosts")`
    Get = "files.get";
    params: [required "src" = "the file on the host",
             required "dest" = "where it goes locally",
             optional "add_deploy_dir" = "read a relative `src` from the deploy directory (default True)",
             optional "create_local_dir" = "create the local parent directory when missing",
             optional "force" = "download even when the local copy is the same"];
    idempotent: false;
    generate: get;
}

async fn get(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let src = a.str("src")?;
    let dest_arg = a.str("dest")?;
    let dest = if a.bool_or("add_deploy_dir", true) {
        host.local_path(&dest_arg)
    } else {
        PathBuf::from(&dest_arg)
    };
    if a.bool_or("create_local_dir", false) {
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(|e| {
                OperationError::Other(format!("cannot create `{}`: {e}", parent.display()))
            })?;
        }
    }
    let remote = fact(host, &crate::facts::files::File, &[("path", json!(src))]).await?;
    let download = OpCommand::Download {
        src: src.clone(),
        dest: dest.clone(),
    };
    if !truthy(&remote) || a.bool_or("force", false) || !dest.exists() {
        out.push(download);
        return Ok(());
    }
    let local = std::fs::read(&dest).ok();
    if file_equal(host, local.as_deref(), &src).await? {
        out.noop(format!(
            "file {} has already been downloaded",
            dest_display(&dest_arg, a)
        ));
    } else {
        out.push(download);
    }
    Ok(())
}

/// pyinfra prints the joined local path (`/` + dest in its tests, whose cwd is `/`).
fn dest_display(dest: &str, a: &Args<'_>) -> String {
    if a.bool_or("add_deploy_dir", true) && !dest.starts_with('/') {
        format!("/{dest}")
    } else {
        dest.to_string()
    }
}

define_op! {
    /// Download a URL on the host (curl, else wget), with optional checksums and caching.
    ///
    /// Deploy example: `files.download(src="https://x/y.tgz", dest="/tmp/y.tgz", sha256sum="...")`
    Download = "files.download";
    params: [required "src" = "the URL",
             required "dest" = "where the file goes on the host",
             optional "user" = "owner (user name)",
             optional "group" = "group (group name)",
             optional "mode" = "permissions, octal (`644`, `'0644'`) or symbolic (`u+x`)",
             optional "cache_time" = "skip when the last refresh is younger than this many seconds",
             optional "force" = "download even when the file is there",
             optional "sha384sum" = "expected SHA-384; a file that differs is downloaded again",
             optional "sha256sum" = "expected SHA-256; a file that differs is downloaded again",
             optional "sha1sum" = "expected SHA-1; a file that differs is downloaded again",
             optional "md5sum" = "expected MD5; a file that differs is downloaded again",
             optional "headers" = "HTTP headers to send (a mapping)",
             optional "insecure" = "do not check the server's TLS certificate",
             optional "proxy" = "download through this proxy",
             optional "limit_rate" = "limit the bandwidth (curl/wget rate syntax)",
             optional "temp_dir" = "download into this directory first",
             optional "extra_curl_args" = "extra arguments for curl",
             optional "extra_wget_args" = "extra arguments for wget"];
    generate: download;
}

pub(crate) async fn download(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    let src = a.str("src")?;
    let dest = a.str("dest")?;
    let mode = a.mode("mode")?.filter(Mode::is_set);
    let (user, group) = (a.nonempty("user"), a.nonempty("group"));
    let (user, group) = (user.as_deref(), group.as_deref());
    let info = fact(host, &crate::facts::files::File, &[("path", json!(dest))]).await?;
    if info == Value::Bool(false) {
        return Err(OperationError::Other(format!(
            "Destination {dest} already exists and is not a file"
        )));
    }
    let sums: [(&str, &dyn rinfra_core::Fact); 4] = [
        ("sha1sum", &crate::facts::files::Sha1File),
        ("sha256sum", &crate::facts::files::Sha256File),
        ("sha384sum", &crate::facts::files::Sha384File),
        ("md5sum", &crate::facts::files::Md5File),
    ];
    let mut download = a.bool_or("force", false) || info.is_null();
    if !info.is_null() {
        let cache_time = a.int_or("cache_time", 0)?;
        if cache_time != 0 {
            let now = fact(host, &crate::facts::server::Date, &[]).await?;
            let now = now
                .as_str()
                .and_then(|d| parse_iso(&d[..d.len().min(19)], Some(0)));
            let mtime = info
                .get("mtime")
                .and_then(Value::as_str)
                .and_then(|t| parse_iso(t, Some(0)));
            if let (Some(now), Some(mtime)) = (now, mtime) {
                if mtime.secs < now.secs - cache_time {
                    download = true;
                }
            }
        }
        for (arg, sum_fact) in sums {
            if let Some(want) = a.nonempty(arg) {
                let have = fact(host, sum_fact, &[("path", json!(dest))]).await?;
                if have.as_str() != Some(want.as_str()) {
                    download = true;
                }
            }
        }
    }
    if !download {
        let mut changed = false;
        if user.is_some_and(|u| info["user"].as_str() != Some(u))
            || group.is_some_and(|g| info["group"].as_str() != Some(g))
        {
            out.shell(chown(&dest, user, group, false, true)?);
            changed = true;
        }
        if let Some(mode) = &mode {
            if mode.differs_from(info.get("mode")) {
                out.shell(chmod(&dest, mode, false));
                changed = true;
            }
        }
        if !changed {
            out.noop(format!("file {dest} has already been downloaded"));
        }
        return Ok(());
    }
    let temp_dir = a.nonempty("temp_dir").unwrap_or_else(|| host.temp_dir());
    let temp = crate::pinned::temp_filename(&temp_dir, &dest);
    let mut curl: Vec<Bit> = vec![Bit::from("-sSLf")];
    let mut wget: Vec<Bit> = vec![Bit::from("-q")];
    for (arg, list) in [
        ("extra_curl_args", &mut curl),
        ("extra_wget_args", &mut wget),
    ] {
        if let Some(Value::Object(extra)) = a.get(arg) {
            for (k, v) in extra {
                list.push(
                    StringCommand::new([Bit::from(k.as_str()), q(crate::python::python_str(v))])
                        .into(),
                );
            }
        }
    }
    if let Some(proxy) = a.nonempty("proxy") {
        curl.push(StringCommand::new([Bit::from("--proxy"), q(&proxy)]).into());
        wget.push(Bit::from("-e use_proxy=yes"));
        wget.push(
            StringCommand::with_separator([Bit::from("-e http_proxy="), q(&proxy)], "").into(),
        );
    }
    if a.bool_or("insecure", false) {
        curl.push(Bit::from("--insecure"));
        wget.push(Bit::from("--no-check-certificate"));
    }
    if let Some(rate) = a.nonempty("limit_rate") {
        let bit: Bit = StringCommand::new([Bit::from("--limit-rate"), q(&rate)]).into();
        curl.push(bit.clone());
        wget.push(bit);
    }
    if let Some(Value::Object(headers)) = a.get("headers") {
        for (k, v) in headers {
            let bit: Bit = StringCommand::new([
                Bit::from("--header"),
                q(format!("{k}: {}", crate::python::python_str(v))),
            ])
            .into();
            curl.push(bit.clone());
            wget.push(bit);
        }
    }
    let curl_cmd = formatted(
        "curl {0} {1} -o {2}",
        &[StringCommand::new(curl).into(), q(&src), q(&temp)],
    );
    let wget_cmd = formatted(
        "wget {0} {1} -O {2} || ( rm -f {2} ; exit 1 )",
        &[StringCommand::new(wget).into(), q(&src), q(&temp)],
    );
    if truthy(
        &fact(
            host,
            &crate::facts::server::Which,
            &[("command", json!("curl"))],
        )
        .await?,
    ) {
        out.shell(curl_cmd);
    } else if truthy(
        &fact(
            host,
            &crate::facts::server::Which,
            &[("command", json!("wget"))],
        )
        .await?,
    ) {
        out.shell(wget_cmd);
    } else {
        out.shell(StringCommand::new([
            Bit::from("("),
            curl_cmd.into(),
            Bit::from(") || ("),
            wget_cmd.into(),
            Bit::from(")"),
        ]));
    }
    out.shell(StringCommand::new([Bit::from("mv"), q(&temp), q(&dest)]));
    if user.is_some() || group.is_some() {
        out.shell(chown(&dest, user, group, false, true)?);
    }
    if let Some(mode) = &mode {
        out.shell(chmod(&dest, mode, false));
    }
    let checks = [
        ("sha1sum", "(( sha1sum {0} 2> /dev/null || shasum {0} || sha1 {0} ) | grep {1} ) || ( echo {2} && exit 1 )", "SHA1 did not match!"),
        ("sha256sum", "(( sha256sum {0} 2> /dev/null || shasum -a 256 {0} || sha256 {0} ) | grep {1} ) || ( echo {2} && exit 1 )", "SHA256 did not match!"),
        ("sha384sum", "(( sha384sum {0} 2> /dev/null || shasum -a 384 {0} ) | grep {1} ) || ( echo {2} && exit 1 )", "SHA384 did not match!"),
        ("md5sum", "(( md5sum {0} 2> /dev/null || md5 {0} ) | grep {1} ) || ( echo {2} && exit 1 )", "MD5 did not match!"),
    ];
    for (arg, template, message) in checks {
        if let Some(sum) = a.nonempty(arg) {
            // pyinfra inserts the checksum unquoted; quoting is identical for hex digests
            out.shell(formatted(template, &[q(&dest), q(sum), q(message)]));
        }
    }
    Ok(())
}

define_op! {
    /// Make a remote directory mirror a local one (upload changed files, optionally delete).
    ///
    /// Deploy example: `files.sync(src="files/site", dest="/srv/site", delete=True)`
    Sync = "files.sync";
    params: [required "src" = "the local directory to copy",
             required "dest" = "the directory on the host",
             optional "user" = "owner (user name)",
             optional "group" = "group (group name)",
             optional "mode" = "permissions of the files (default: as local)",
             optional "dir_mode" = "permissions of the directories (default: as local)",
             optional "delete" = "remove files on the host that are not in `src`",
             optional "exclude" = "file name patterns to leave out",
             optional "exclude_dir" = "directory name patterns to leave out",
             optional "add_deploy_dir" = "read a relative `src` from the deploy directory (default True)"];
    generate: crate::operations::files::sync::sync;
}
