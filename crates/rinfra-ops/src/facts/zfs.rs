//! `zfs.*` facts: pools and datasets with their properties (`zpool/zfs get -H all`).
//! pyinfra also registers them under their short names (`zfs.Datasets`...): so do we.

use serde_json::{json, Map, Value};

use super::define_fact;
use super::shell::raw;

/// `name<TAB>property<TAB>value<TAB>source` lines as `{name: {property: value}}`.
fn props_table(lines: &[String]) -> super::ProcessResult {
    let mut items: Map<String, Value> = Map::new();
    for line in lines {
        let parts: Vec<&str> = line.split('\t').collect();
        let [name, property, value, _source] = parts[..] else {
            return Err(format!("expected four tab-separated fields: {line:?}"));
        };
        let entry = items.entry(name.to_string()).or_insert_with(|| json!({}));
        if let Value::Object(props) = entry {
            props.insert(property.to_string(), json!(value));
        }
    }
    Ok(Value::Object(items))
}

/// The datasets of `kind` (`filesystem`, `snapshot`, `volume`).
fn of_type(lines: &[String], kind: &str) -> super::ProcessResult {
    let all = props_table(lines)?;
    Ok(Value::Object(
        all.as_object()
            .into_iter()
            .flatten()
            .filter(|(_, props)| props.get("type").and_then(Value::as_str) == Some(kind))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    ))
}

macro_rules! zfs_facts {
    ($($ty:ident, $alias:ident = $name:literal, $short:literal, $doc:literal, $cmd:literal, $requires:literal, $process:expr;)*) => {
        $(
            define_fact! {
                #[doc = $doc]
                $ty = $name;
                params: [];
                command: |_| Ok(raw($cmd));
                process: $process;
                default: || json!({});
                requires: |_| Some($requires.into());
            }

            define_fact! {
                #[doc = $doc]
                $alias = $short;
                params: [];
                command: |_| Ok(raw($cmd));
                process: $process;
                default: || json!({});
                requires: |_| Some($requires.into());
            }
        )*
    };
}

zfs_facts! {
    ZfsPools, Pools = "zfs.ZfsPools", "zfs.Pools",
        "Pools and their properties: `{pool: {property: value}}`.",
        "zpool get -H all", "zpool", |lines, _| props_table(lines);
    ZfsDatasets, Datasets = "zfs.ZfsDatasets", "zfs.Datasets",
        "Datasets (filesystems, snapshots, volumes) and their properties.",
        "zfs get -H all", "zfs", |lines, _| props_table(lines);
    ZfsFilesystems, Filesystems = "zfs.ZfsFilesystems", "zfs.Filesystems",
        "Filesystem datasets and their properties.",
        "zfs get -H all", "zfs", |lines, _| of_type(lines, "filesystem");
    ZfsSnapshots, Snapshots = "zfs.ZfsSnapshots", "zfs.Snapshots",
        "Snapshots and their properties.",
        "zfs get -H all", "zfs", |lines, _| of_type(lines, "snapshot");
    ZfsVolumes, Volumes = "zfs.ZfsVolumes", "zfs.Volumes",
        "Volumes and their properties.",
        "zfs get -H all", "zfs", |lines, _| of_type(lines, "volume");
}
