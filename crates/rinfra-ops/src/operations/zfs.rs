//! `zfs.*` operations: datasets (filesystems, volumes) and snapshots. Properties come from
//! `properties={...}` and from any other keyword argument (`mountpoint="/srv"`).

use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{OpHost, OperationError};
use serde_json::Value;

use super::{define_op, fact, q, Args, Out};
use crate::python::{python_str, truthy};

/// `properties` then the extra keyword arguments, as `(name, value)`.
fn properties(a: &Args<'_>, declared: &[&str]) -> Result<Vec<(String, String)>, OperationError> {
    let mut props: Vec<(String, String)> = Vec::new();
    let mut set = |k: &str, v: &Value| {
        let v = python_str(v);
        match props.iter_mut().find(|(n, _)| n == k) {
            Some(p) => p.1 = v,
            None => props.push((k.to_string(), v)),
        }
    };
    match a.get("properties") {
        None => {}
        Some(Value::Object(m)) => m.iter().for_each(|(k, v)| set(k, v)),
        Some(other) => {
            return Err(a.invalid("properties", format!("must be a mapping, got {other}")))
        }
    }
    for (k, v) in a.raw() {
        if !declared.contains(&k.as_str()) && k != "properties" && !v.is_null() {
            set(k, v);
        }
    }
    if let Some((k, _)) = props
        .iter()
        .find(|(k, _)| k.is_empty() || k.contains(['=', ' ']))
    {
        return Err(a.invalid("properties", format!("not a property name: {k:?}")));
    }
    Ok(props)
}

fn prop_options(props: &[(String, String)]) -> Vec<Bit> {
    props
        .iter()
        .flat_map(|(k, v)| [Bit::from("-o"), q(format!("{k}={v}"))])
        .collect()
}

#[allow(clippy::too_many_arguments)]
async fn ensure_dataset(
    host: &dyn OpHost,
    out: &mut Out,
    name: &str,
    present: bool,
    recursive: bool,
    sparse: bool,
    volume_size: Option<String>,
    props: &[(String, String)],
) -> Result<(), OperationError> {
    let datasets = fact(host, &crate::facts::zfs::ZfsDatasets, &[]).await?;
    let existing = datasets.get(name).filter(|d| truthy(d));
    let noop = format!(
        "{name} is already {}",
        if present { "present" } else { "absent" }
    );
    match (present, existing) {
        (true, None) => {
            let mut bits = vec![Bit::from("zfs create")];
            bits.extend(prop_options(props));
            if recursive {
                bits.push(Bit::from("-p"));
            }
            if sparse {
                bits.push(Bit::from("-s"));
            }
            if let Some(size) = volume_size {
                bits.extend([Bit::from("-V"), q(size)]);
            }
            bits.push(q(name));
            out.shell(StringCommand::new(bits));
        }
        (true, Some(have)) => {
            let changes: Vec<Bit> = props
                .iter()
                .filter(|(k, v)| have.get(k).map(python_str).as_deref() != Some(v.as_str()))
                .map(|(k, v)| q(format!("{k}={v}")))
                .collect();
            if changes.is_empty() {
                out.noop(noop);
            } else {
                let mut bits = vec![Bit::from("zfs set")];
                bits.extend(changes);
                bits.push(q(name));
                out.shell(StringCommand::new(bits));
            }
        }
        (false, Some(_)) => {
            let mut bits = vec![Bit::from("zfs destroy")];
            if recursive {
                bits.push(Bit::from("-r"));
            }
            bits.push(q(name));
            out.shell(StringCommand::new(bits));
        }
        (false, None) => out.noop(noop),
    }
    Ok(())
}

const DATASET_PARAMS: &[&str] = &[
    "dataset_name",
    "present",
    "recursive",
    "sparse",
    "volume_size",
];

define_op! {
    /// Create, change or destroy a dataset (a filesystem, or a volume with `volume_size`);
    /// extra keyword arguments are properties.
    ///
    /// Deploy example: `zfs.dataset("tank/srv", mountpoint="/srv", compression="lz4")`
    Dataset = "zfs.dataset";
    params: [required "dataset_name" = "the dataset (`pool/path`, or `pool/path@snap` to destroy a snapshot)",
             optional "present" = "whether it should exist (default True)",
             optional "recursive" = "create parents (`-p`) / destroy children (`-r`)",
             optional "sparse" = "a sparse volume (`-s`)",
             optional "volume_size" = "make a volume of this size (`-V`)",
             optional "properties" = "properties to set (a mapping)"];
    extra_kwargs: true;
    generate: dataset;
}

async fn dataset(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let props = properties(a, DATASET_PARAMS)?;
    ensure_dataset(
        host,
        out,
        &a.str("dataset_name")?,
        a.bool_or("present", true),
        a.bool_or("recursive", false),
        a.bool_or("sparse", false),
        a.nonempty("volume_size"),
        &props,
    )
    .await
}

define_op! {
    /// Create or destroy a snapshot; extra keyword arguments are properties.
    ///
    /// Deploy example: `zfs.snapshot("tank/home@weekly")`
    Snapshot = "zfs.snapshot";
    params: [required "snapshot_name" = "the snapshot (`pool/path@name`)",
             optional "present" = "whether it should exist (default True)",
             optional "recursive" = "snapshot the children too (`-r`)",
             optional "properties" = "properties to set (a mapping)"];
    extra_kwargs: true;
    generate: snapshot;
}

async fn snapshot(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let name = a.str("snapshot_name")?;
    let props = properties(a, &["snapshot_name", "present", "recursive"])?;
    let present = a.bool_or("present", true);
    let snapshots = fact(host, &crate::facts::zfs::ZfsSnapshots, &[]).await?;
    if snapshots.get(&name).is_some() || !present {
        return ensure_dataset(host, out, &name, present, false, false, None, &props).await;
    }
    let mut bits = vec![Bit::from("zfs snap")];
    bits.extend(prop_options(&props));
    if a.bool_or("recursive", false) {
        bits.push(Bit::from("-r"));
    }
    bits.push(q(&name));
    out.shell(StringCommand::new(bits));
    Ok(())
}

define_op! {
    /// Create, change or destroy a volume of `size`; extra keyword arguments are properties.
    ///
    /// Deploy example: `zfs.volume("tank/vm-disks/db", "32G")`
    Volume = "zfs.volume";
    params: [required "volume_name" = "the volume (`pool/path`)",
             required "size" = "its size (`32G`)",
             optional "sparse" = "a sparse volume (`-s`)",
             optional "present" = "whether it should exist (default True)",
             optional "recursive" = "create parents / destroy children",
             optional "properties" = "properties to set (a mapping)"];
    extra_kwargs: true;
    generate: volume;
}

async fn volume(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let props = properties(
        a,
        &["volume_name", "size", "sparse", "present", "recursive"],
    )?;
    ensure_dataset(
        host,
        out,
        &a.str("volume_name")?,
        a.bool_or("present", true),
        a.bool_or("recursive", false),
        a.bool_or("sparse", false),
        Some(a.str("size")?),
        &props,
    )
    .await
}

define_op! {
    /// Create, change or destroy a filesystem dataset; extra keyword arguments are properties.
    ///
    /// Deploy example: `zfs.filesystem("tank/srv", mountpoint="/srv")`
    Filesystem = "zfs.filesystem";
    params: [required "fs_name" = "the filesystem (`pool/path`)",
             optional "present" = "whether it should exist (default True)",
             optional "recursive" = "create parents / destroy children",
             optional "properties" = "properties to set (a mapping)"];
    extra_kwargs: true;
    generate: filesystem;
}

async fn filesystem(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let props = properties(a, &["fs_name", "present", "recursive"])?;
    ensure_dataset(
        host,
        out,
        &a.str("fs_name")?,
        a.bool_or("present", true),
        a.bool_or("recursive", false),
        false,
        None,
        &props,
    )
    .await
}
