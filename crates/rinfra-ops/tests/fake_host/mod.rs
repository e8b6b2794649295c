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
    Ok(())
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
