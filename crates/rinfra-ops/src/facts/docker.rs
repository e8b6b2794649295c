//! `docker.*` facts: what `docker ... inspect` and friends print, as JSON.

use rinfra_connectors::{quoted, Bit, StringCommand};
use serde_json::{json, Map, Value};

use super::define_fact;
use super::shell::raw;

/// The output as one JSON document (None when there is none: the object does not exist).
fn json_doc(lines: &[String]) -> super::ProcessResult {
    let text = lines.concat();
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&text).map_err(|e| format!("docker did not print JSON: {e}"))
}

/// `docker network inspect` prints `[]` for a missing network, which pyinfra's fact passes
/// on; `docker.network` then tests the value against `None` and runs `docker network rm` on
/// a network that is not there, which fails. Missing is None here, so the operation can test
/// for `None` as pyinfra's does (its vectors) and be right on a real engine.
fn missing_as_none(value: super::ProcessResult) -> super::ProcessResult {
    value.map(|v| match v {
        Value::Array(items) if items.is_empty() => Value::Null,
        v => v,
    })
}

/// One JSON document per non-empty line.
fn json_lines(lines: &[String]) -> super::ProcessResult {
    lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| format!("docker did not print JSON: {e}")))
        .collect::<Result<Vec<Value>, _>>()
        .map(Value::Array)
}

const CONTAINERS: &str =
    r#"ids=$(docker ps -qa) && [ -n "$ids" ] && docker container inspect $ids || echo "[]""#;
const IMAGES: &str =
    r#"ids=$(docker images -q) && [ -n "$ids" ] && docker image inspect $ids || echo "[]""#;
const NETWORKS: &str = "docker network inspect `docker network ls -q`";
const VOLUMES: &str = "docker volume inspect `docker volume ls -q`";
const PLUGINS: &str =
    r#"ids=$(docker plugin ls -q) && [ -n "$ids" ] && docker plugin inspect $ids || echo "[]""#;

/// `{item[id_key]: f(item)}` over a list of inspected objects.
fn by_id(lines: &[String], id_key: &str, f: impl Fn(&Value) -> Value) -> super::ProcessResult {
    let items = json_doc(lines)?;
    let mut out = Map::new();
    for item in items.as_array().into_iter().flatten() {
        let id = item
            .get(id_key)
            .map(crate::python::python_str)
            .unwrap_or_else(|| "None".into());
        out.insert(id, f(item));
    }
    Ok(Value::Object(out))
}

/// `item[a][b]`, or `default` when missing or null/empty.
fn nested(item: &Value, a: &str, b: &str, default: Value) -> Value {
    item.get(a)
        .and_then(|x| x.get(b))
        .filter(|v| crate::python::truthy(v))
        .cloned()
        .unwrap_or(default)
}

fn inspect_one(kind: &str, args: &rinfra_core::FactArgs) -> super::CommandResult {
    let id = super::arg_str(args, "object_id")?;
    Ok(StringCommand::new([
        Bit::from(format!("docker {kind} inspect")),
        quoted(id.as_str()),
        Bit::from("2>&- || true"),
    ]))
}

macro_rules! docker_facts {
    ($($ty:ident = $name:literal, $doc:literal, [$($param:literal),*], $command:expr, $process:expr;)*) => {
        $(
            define_fact! {
                #[doc = $doc]
                $ty = $name;
                params: [$($param),*];
                command: $command;
                process: $process;
                requires: |_| Some("docker".into());
            }
        )*
    };
}

docker_facts! {
    DockerSystemInfo = "docker.DockerSystemInfo", "`docker system info` as JSON.", [],
        |_| Ok(raw(r#"docker system info --format="{{json .}}""#)), |lines, _| json_doc(lines);
    DockerVersion = "docker.DockerVersion", "`docker --version`'s line.", [],
        |_| Ok(raw("docker --version")), |lines, _| Ok(json!(lines.concat().replace('\n', "")));
    DockerContainers = "docker.DockerContainers", "Every container, as `docker container inspect` shows it.", [],
        |_| Ok(raw(CONTAINERS)), |lines, _| json_doc(lines);
    DockerImages = "docker.DockerImages", "Every image, as `docker image inspect` shows it.", [],
        |_| Ok(raw(IMAGES)), |lines, _| json_doc(lines);
    DockerNetworks = "docker.DockerNetworks", "Every network, as `docker network inspect` shows it.", [],
        |_| Ok(raw(NETWORKS)), |lines, _| json_doc(lines);
    DockerVolumes = "docker.DockerVolumes", "Every volume, as `docker volume inspect` shows it.", [],
        |_| Ok(raw(VOLUMES)), |lines, _| json_doc(lines);
    DockerPlugins = "docker.DockerPlugins", "Every plugin, as `docker plugin inspect` shows it.", [],
        |_| Ok(raw(PLUGINS)), |lines, _| json_doc(lines);
    DockerContainer = "docker.DockerContainer", "One container's `inspect` (None when missing).", ["object_id"],
        |args| inspect_one("container", args), |lines, _| json_doc(lines);
    DockerImage = "docker.DockerImage", "One image's `inspect` (None when missing).", ["object_id"],
        |args| inspect_one("image", args), |lines, _| json_doc(lines);
    DockerNetwork = "docker.DockerNetwork", "One network's `inspect` (None when missing).", ["object_id"],
        |args| inspect_one("network", args), |lines, _| missing_as_none(json_doc(lines));
    DockerVolume = "docker.DockerVolume", "One volume's `inspect` (None when missing).", ["object_id"],
        |args| inspect_one("volume", args), |lines, _| json_doc(lines);
    DockerPlugin = "docker.DockerPlugin", "One plugin's `inspect` (None when missing).", ["object_id"],
        |args| inspect_one("plugin", args), |lines, _| json_doc(lines);
    DockerContainerEnvs = "docker.DockerContainerEnvs", "Container ID → its environment `{NAME: value}`.", [],
        |_| Ok(raw(CONTAINERS)),
        |lines, _| by_id(lines, "Id", |c| {
            let mut env = Map::new();
            for entry in nested(c, "Config", "Env", json!([])).as_array().into_iter().flatten() {
                let entry = crate::python::python_str(entry);
                let (k, v) = entry.split_once('=').unwrap_or((&entry, ""));
                env.insert(k.to_string(), json!(v));
            }
            Value::Object(env)
        });
    DockerContainerLabels = "docker.DockerContainerLabels", "Container ID → its labels.", [],
        |_| Ok(raw(CONTAINERS)), |lines, _| by_id(lines, "Id", |c| nested(c, "Config", "Labels", json!({})));
    DockerContainerMounts = "docker.DockerContainerMounts", "Container ID → its mounts.", [],
        |_| Ok(raw(CONTAINERS)),
        |lines, _| by_id(lines, "Id", |c| c.get("Mounts").filter(|v| crate::python::truthy(v)).cloned().unwrap_or(json!([])));
    DockerContainerNetworks = "docker.DockerContainerNetworks", "Container ID → its networks.", [],
        |_| Ok(raw(CONTAINERS)), |lines, _| by_id(lines, "Id", |c| nested(c, "NetworkSettings", "Networks", json!({})));
    DockerContainerPorts = "docker.DockerContainerPorts", "Container ID → its published ports.", [],
        |_| Ok(raw(CONTAINERS)), |lines, _| by_id(lines, "Id", |c| nested(c, "NetworkSettings", "Ports", json!({})));
    DockerImageLabels = "docker.DockerImageLabels", "Image ID → its labels.", [],
        |_| Ok(raw(IMAGES)),
        |lines, _| by_id(lines, "Id", |i| {
            let labels = nested(i, "Config", "Labels", Value::Null);
            if labels.is_null() { nested(i, "ContainerConfig", "Labels", json!({})) } else { labels }
        });
    DockerImageLayers = "docker.DockerImageLayers", "Image ID → its layers.", [],
        |_| Ok(raw(IMAGES)), |lines, _| by_id(lines, "Id", |i| nested(i, "RootFS", "Layers", json!([])));
    DockerNetworkLabels = "docker.DockerNetworkLabels", "Network ID → its labels.", [],
        |_| Ok(raw(NETWORKS)),
        |lines, _| by_id(lines, "Id", |n| n.get("Labels").filter(|v| crate::python::truthy(v)).cloned().unwrap_or(json!({})));
    DockerVolumeLabels = "docker.DockerVolumeLabels", "Volume name → its labels.", [],
        |_| Ok(raw(VOLUMES)),
        |lines, _| by_id(lines, "Name", |v| v.get("Labels").filter(|x| crate::python::truthy(x)).cloned().unwrap_or(json!({})));
    DockerContainerFsChanges = "docker.DockerContainerFsChanges", "A container's filesystem changes: `[{change, path}]`.", ["container_id"],
        |args| Ok(StringCommand::new([
            Bit::from("docker container diff"),
            quoted(super::arg_str(args, "container_id")?.as_str()),
            Bit::from("2>&- || true"),
        ])),
        |lines, _| Ok(lines
            .iter()
            .filter_map(|l| l.split_once(' '))
            .map(|(change, path)| json!({"change": change, "path": path}))
            .collect::<Vec<_>>()
            .into());
    DockerContainerProcesses = "docker.DockerContainerProcesses", "A container's processes (`docker top`), one map per process keyed by the header.", ["container_id"],
        |args| Ok(StringCommand::new([
            Bit::from("docker container top"),
            quoted(super::arg_str(args, "container_id")?.as_str()),
            Bit::from("2>&- || true"),
        ])),
        |lines, _| {
            let lines: Vec<&String> = lines.iter().filter(|l| !l.is_empty()).collect();
            let Some((header, rest)) = lines.split_first() else { return Ok(json!([])) };
            let header: Vec<&str> = header.split_whitespace().collect();
            Ok(rest
                .iter()
                .map(|line| {
                    let mut fields = super::parse::split_ws_n(line, header.len().saturating_sub(1));
                    fields.resize(header.len(), "");
                    Value::Object(header.iter().zip(fields).map(|(h, f)| (h.to_string(), json!(f))).collect())
                })
                .collect::<Vec<_>>()
                .into())
        };
    DockerContainerStats = "docker.DockerContainerStats", "One `docker stats` sample per running container.", [],
        |_| Ok(raw("docker stats --no-stream --format '{{json .}}'")), |lines, _| json_lines(lines);
    DockerImageHistory = "docker.DockerImageHistory", "An image's history, one entry per layer.", ["image_id"],
        |args| Ok(StringCommand::new([
            Bit::from("docker image history --no-trunc --format '{{json .}}'"),
            quoted(super::arg_str(args, "image_id")?.as_str()),
            Bit::from("2>&- || true"),
        ])),
        |lines, _| json_lines(lines);
    DockerAuths = "docker.DockerAuths", "The registries docker has credentials for (`auths` of its config).", [],
        |_| Ok(raw(r#"config="${DOCKER_CONFIG:-$HOME/.docker}/config.json"; [ -r "$config" ] && cat "$config" || echo "{}""#)),
        |lines, _| Ok(serde_json::from_str::<Value>(&lines.concat())
            .ok()
            .and_then(|d| d.get("auths").and_then(Value::as_object).map(|a| a.keys().map(|k| json!(k)).collect::<Vec<_>>()))
            .unwrap_or_default()
            .into());
}
