//! An `OpHost` answering facts from a vector's `facts` map, as pyinfra's `FakeHost` does, with
//! the vector's `local_files` written to a temp dir that stands for the controller's `/`.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use rinfra_connectors::HostData;
use rinfra_core::{FactArgs, FactError, OpHost};
use serde_json::{Map, Value};

pub(crate) struct FakeHost {
    facts: Value,
    data: HostData,
    groups: Vec<String>,
    root: tempfile::TempDir,
}

impl FakeHost {
    pub(crate) fn new(facts: Value, local_files: Value) -> Result<Self, String> {
        let root = tempfile::tempdir().map_err(|e| e.to_string())?;
        write_tree(root.path(), &local_files)?;
        Ok(Self {
            facts,
            data: HostData::new(),
            groups: Vec::new(),
            root,
        })
    }

    /// A local path as pyinfra's vectors show it (relative to the fake `/`).
    pub(crate) fn display_local(&self, p: &Path) -> String {
        match p.strip_prefix(self.root.path()) {
            Ok(rel) => format!("/{}", rel.display()),
            Err(_) => p.display().to_string(),
        }
    }
}

fn write_tree(dir: &Path, spec: &Value) -> Result<(), String> {
    for (name, info) in spec
        .get("files")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        let content = match info {
            Value::String(s) if !s.is_empty() => s.clone(),
            _ => "_test_data_".to_string(),
        };
        std::fs::write(&path, content).map_err(|e| e.to_string())?;
        if let Value::Object(meta) = info {
            apply_meta(&path, meta)?;
        }
    }
    for (name, target) in spec
        .get("links")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let target = target.as_str().unwrap_or_default();
        std::os::unix::fs::symlink(target, dir.join(name)).map_err(|e| e.to_string())?;
    }
    for (name, sub) in spec
        .get("dirs")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let path = dir.join(name);
        std::fs::create_dir_all(&path).map_err(|e| e.to_string())?;
        write_tree(&path, sub)?;
        if let Value::Object(meta) = sub {
            apply_meta(&path, meta)?;
        }
    }
    Ok(())
}

fn apply_meta(path: &Path, meta: &Map<String, Value>) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(mode) = meta.get("mode") {
        let text = rinfra_ops::python_str(mode);
        let bits = u32::from_str_radix(&text, 8).map_err(|e| e.to_string())?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(bits))
            .map_err(|e| e.to_string())?;
    }
    let time = |k: &str| meta.get(k).and_then(Value::as_str).and_then(parse_time);
    let mut times = std::fs::FileTimes::new();
    if let Some(t) = time("atime") {
        times = times.set_accessed(t);
    }
    if let Some(t) = time("mtime") {
        times = times.set_modified(t);
    }
    if path.is_file() {
        let f = std::fs::File::options()
            .write(true)
            .open(path)
            .map_err(|e| e.to_string())?;
        f.set_times(times).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// `datetime:2000-05-01T00:01:00[.fff][Z|+HH:MM]` (naive = UTC) as a system time.
fn parse_time(s: &str) -> Option<std::time::SystemTime> {
    let s = s.strip_prefix("datetime:").unwrap_or(s).trim();
    let (date, rest) = s.split_once('T')?;
    let d: Vec<i64> = date.split('-').filter_map(|x| x.parse().ok()).collect();
    let (y, m, day) = (d[0], d[1], d[2]);
    let (clock, offset) = if let Some(c) = rest.strip_suffix('Z') {
        (c, 0)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (c, o) = rest.split_at(i);
        let sign = if o.starts_with('-') { -1 } else { 1 };
        let hm: Vec<i64> = o[1..].split(':').filter_map(|x| x.parse().ok()).collect();
        (
            c,
            sign * (hm[0] * 3600 + hm.get(1).copied().unwrap_or(0) * 60),
        )
    } else {
        (rest, 0)
    };
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, "0"));
    let t: Vec<i64> = hms.split(':').filter_map(|x| x.parse().ok()).collect();
    let yy = if m <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + day - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    let secs = days * 86_400 + t[0] * 3600 + t[1] * 60 + t.get(2).copied().unwrap_or(0) - offset;
    let nanos: u32 = format!("{frac:0<9}")[..9].parse().ok()?;
    Some(std::time::UNIX_EPOCH + std::time::Duration::new(secs as u64, nanos))
}

#[async_trait]
impl OpHost for FakeHost {
    fn name(&self) -> &str {
        "somehost"
    }

    fn data(&self) -> &HostData {
        &self.data
    }

    fn groups(&self) -> &[String] {
        &self.groups
    }

    async fn get_fact(&self, fact: &str, args: FactArgs) -> Result<Value, FactError> {
        let value = self.facts.get(fact).ok_or_else(|| FactError::Unknown {
            name: format!("Missing test fact: {fact}"),
        })?;
        if args.is_empty() {
            return Ok(value.clone());
        }
        // pyinfra's get_kwargs_str: sorted `k=str(v)` joined by ", "
        let mut items: Vec<(&String, &Value)> = args.iter().collect();
        items.sort_by(|a, b| a.0.cmp(b.0));
        let key = items
            .iter()
            .map(|(k, v)| format!("{k}={}", rinfra_ops::python_str(v)))
            .collect::<Vec<_>>()
            .join(", ");
        value.get(&key).cloned().ok_or_else(|| FactError::Unknown {
            name: format!("Missing test fact key: {fact} -> {key}"),
        })
    }

    fn local_path(&self, path: &str) -> PathBuf {
        self.root.path().join(path.trim_start_matches('/'))
    }

    fn temp_dir(&self) -> String {
        "_tempdir_".into()
    }

    fn template_context(&self) -> Map<String, Value> {
        Map::new()
    }

    fn diff_enabled(&self) -> bool {
        false
    }
}
