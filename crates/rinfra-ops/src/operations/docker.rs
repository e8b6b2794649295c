//! `docker.*` operations: containers, images, builds, volumes, networks, plugins, registry
//! logins, compose projects and `exec`.

use rinfra_connectors::{Bit, Secret, StringCommand};
use rinfra_core::{OpHost, OperationError};
use serde_json::{json, Map, Value};

use super::{define_op, fact, q, Args, Out};
use crate::python::{python_str, truthy};

const DOCKER_HUB: &str = "https://index.docker.io/v1/";

fn cmd(head: &str, bits: impl IntoIterator<Item = Bit>) -> StringCommand {
    let mut all = vec![Bit::from(head)];
    all.extend(bits);
    StringCommand::new(all)
}

/// `flag value` for each item of a list argument.
fn repeated(a: &Args<'_>, arg: &str, flag: &str) -> Result<Vec<Bit>, OperationError> {
    Ok(a.list(arg)?
        .into_iter()
        .flat_map(|v| [Bit::from(flag), q(v)])
        .collect())
}

/// `flag key=value` for each entry of a mapping argument.
fn key_values(a: &Args<'_>, arg: &str, flag: Option<&str>) -> Result<Vec<Bit>, OperationError> {
    match a.get(arg) {
        None => Ok(Vec::new()),
        Some(Value::Object(m)) => Ok(m
            .iter()
            .flat_map(|(k, v)| {
                let kv = q(format!("{k}={}", python_str(v)));
                match flag {
                    Some(f) => vec![Bit::from(f), kv],
                    None => vec![kv],
                }
            })
            .collect()),
        Some(other) => Err(a.invalid(arg, format!("must be a mapping, got {other}"))),
    }
}

/// An inspect fact's first object (the facts return a list, or None when missing).
fn first(v: &Value) -> Option<&Value> {
    match v {
        Value::Array(items) => items.first().filter(|i| truthy(i)),
        Value::Object(_) => Some(v),
        _ => None,
    }
}

define_op! {
    /// Create, (re)start, stop or remove a container. An existing container is recreated
    /// only with `force` (its settings are not compared, as in pyinfra). Unlike pyinfra,
    /// `present=False` never starts anything, whatever `start` says.
    ///
    /// Deploy example: `docker.container(container="web", image="nginx:alpine", ports=["80:80"])`
    Container = "docker.container";
    params: [required "container" = "the container's name",
             optional "image" = "the image to create it from",
             optional "ports" = "published ports (`-p`)",
             optional "networks" = "networks to join",
             optional "volumes" = "volumes (`-v`)",
             optional "env_vars" = "environment (`NAME=value`)",
             optional "env_files" = "environment files",
             optional "labels" = "labels (`key=value`)",
             optional "pull_always" = "pull the image on creation",
             optional "present" = "whether it should exist (default True)",
             optional "force" = "remove and recreate an existing container",
             optional "start" = "whether it should be running (default True)",
             optional "restart_policy" = "`--restart` policy",
             optional "auto_remove" = "remove it when it stops (`--rm`)",
             optional "mounts" = "`--mount` specifications",
             optional "privileged" = "run privileged",
             optional "hostname" = "its host name",
             optional "entrypoint" = "override the image's entrypoint",
             optional "user" = "run as this user",
             optional "cpus" = "CPU limit",
             optional "memory" = "memory limit (`512m`)",
             optional "extra_args" = "more `docker container create` arguments (each quoted)",
             optional "dns" = "DNS servers",
             optional "command" = "the command to run, as shell words after the image"];
    generate: container;
}

async fn container(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let name = a.str("container")?;
    let existing = fact(
        host,
        &crate::facts::docker::DockerContainer,
        &[("object_id", json!(name))],
    )
    .await?;
    let current = first(&existing);
    let running = current
        .and_then(|c| c.pointer("/State/Status"))
        .and_then(Value::as_str)
        == Some("running");
    let present = a.bool_or("present", true);
    let start = a.bool_or("start", true);
    let recreating = current.is_some() && a.bool_or("force", false);
    let removing = current.is_some() && !present;
    if recreating || removing {
        out.shell(cmd("docker container rm -f", [q(&name)]));
    }
    if (present && current.is_none()) || recreating {
        let image = a
            .nonempty("image")
            .ok_or_else(|| a.invalid("image", "Docker image not specified"))?;
        let mut bits = vec![q(&name)];
        bits.extend(repeated(a, "networks", "--network")?);
        bits.extend(repeated(a, "ports", "-p")?);
        bits.extend(repeated(a, "volumes", "-v")?);
        bits.extend(repeated(a, "mounts", "--mount")?);
        bits.extend(repeated(a, "env_vars", "-e")?);
        bits.extend(repeated(a, "env_files", "--env-file")?);
        bits.extend(repeated(a, "labels", "--label")?);
        if a.bool_or("pull_always", false) {
            bits.push(Bit::from("--pull always"));
        }
        if let Some(p) = a.nonempty("restart_policy") {
            bits.extend([Bit::from("--restart"), q(p)]);
        }
        if a.bool_or("auto_remove", false) {
            bits.push(Bit::from("--rm"));
        }
        if a.bool_or("privileged", false) {
            bits.push(Bit::from("--privileged"));
        }
        for (arg, flag) in [
            ("hostname", "--hostname"),
            ("entrypoint", "--entrypoint"),
            ("user", "--user"),
            ("cpus", "--cpus"),
            ("memory", "--memory"),
        ] {
            if let Some(v) = a.get(arg) {
                bits.extend([Bit::from(flag), q(python_str(v))]);
            }
        }
        bits.extend(a.list("extra_args")?.into_iter().map(q));
        bits.extend(repeated(a, "dns", "--dns")?);
        bits.push(q(&image));
        if let Some(c) = a.nonempty("command") {
            bits.push(Bit::from(c));
        }
        out.shell(cmd("docker container create --name", bits));
    }
    // Only a container that should exist is started: pyinfra also starts one it has just
    // removed (or that was never there) when `present=False` comes with the default
    // `start=True`, which fails, so a removal could never run twice.
    if present && start && (recreating || !running) {
        out.shell(cmd("docker container start", [q(&name)]));
    }
    if !start && !removing && running {
        out.shell(cmd("docker container stop", [q(&name)]));
    }
    if out.commands.is_empty() {
        out.noop(format!("container {name} is as wanted"));
    }
    Ok(())
}

/// `(tag, digest)` of an image reference (`name:tag@digest`); no tag and no digest means
/// `latest`.
fn tag_and_digest(image: &str) -> (Option<String>, Option<String>) {
    let (rest, digest) = match image.rsplit_once('@') {
        Some((r, d)) => (r, Some(d.to_string())),
        None => (image, None),
    };
    let tag = rest
        .rsplit_once(':')
        .filter(|(_, t)| !t.contains('/'))
        .map(|(_, t)| t.to_string());
    let tag = if tag.is_none() && digest.is_none() {
        Some("latest".to_string())
    } else {
        tag
    };
    (tag, digest)
}

define_op! {
    /// Pull or remove an image; a `latest` (or untagged) image is always pulled again.
    ///
    /// Deploy example: `docker.image(image="nginx:1.27")`
    Image = "docker.image";
    params: [required "image" = "the image reference (`name[:tag][@digest]`)",
             optional "present" = "whether it should be there (default True)",
             optional "force" = "pull even when it is there"];
    generate: image;
}

async fn image(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let image = a.str("image")?;
    if image.trim().is_empty() {
        return Err(a.invalid("image", "Image reference cannot be empty"));
    }
    let (tag, digest) = tag_and_digest(image.trim());
    let pull = cmd("docker image pull", [q(&image)]);
    if a.bool_or("present", true) && a.bool_or("force", false) {
        out.shell(pull);
        return Ok(());
    }
    let existing = fact(
        host,
        &crate::facts::docker::DockerImage,
        &[("object_id", json!(image))],
    )
    .await?;
    let exists = first(&existing).is_some();
    if !a.bool_or("present", true) {
        if exists {
            out.shell(cmd("docker image rm", [q(&image)]));
        } else {
            out.noop(format!("There is no {image} image!"));
        }
        return Ok(());
    }
    match (&digest, tag.as_deref(), exists) {
        (Some(d), _, true) => out.noop(format!("Image with digest {d} already exists!")),
        (Some(_), _, false) => out.shell(pull),
        (None, Some("latest") | None, _) => out.shell(pull),
        (None, Some(t), true) => out.noop(format!("Image with tag {t} already exists!")),
        (None, Some(_), false) => out.shell(pull),
    }
    Ok(())
}

define_op! {
    /// Build an image; skipped when every tag already exists (unless `force`).
    ///
    /// Deploy example: `docker.build(path="/srv/app", tags=["app:1.0"], build_args={"VERSION": "1.0"})`
    Build = "docker.build";
    params: [required "path" = "the build context",
             optional "tags" = "tag(s) for the image",
             optional "dockerfile" = "the Dockerfile (`-f`)",
             optional "build_args" = "build arguments (a mapping)",
             optional "labels" = "labels (a mapping)",
             optional "target" = "the stage to build",
             optional "platform" = "the target platform",
             optional "network" = "the network for RUN steps",
             optional "cache_from" = "cache source(s)",
             optional "cache_to" = "cache destination(s)",
             optional "secrets" = "build secrets (`--secret`)",
             optional "pull" = "always pull base images",
             optional "no_cache" = "do not use the cache",
             optional "force" = "build even when the tags exist",
             optional "builder" = "the buildx builder",
             optional "build_cmd" = "the build command (default `docker build`)"];
    generate: build;
}

async fn build(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let path = a
        .nonempty("path")
        .ok_or_else(|| a.invalid("path", "docker.build requires a context path"))?;
    let tags = a.list("tags")?;
    if !tags.is_empty() && !a.bool_or("force", false) {
        let mut missing = false;
        for t in &tags {
            let have = fact(
                host,
                &crate::facts::docker::DockerImage,
                &[("object_id", json!(t))],
            )
            .await?;
            missing |= first(&have).is_none();
        }
        if !missing {
            out.noop(format!("Image(s) {} already exist!", tags.join(", ")));
            return Ok(());
        }
    }
    let build_cmd = a
        .nonempty("build_cmd")
        .unwrap_or_else(|| "docker build".into());
    let mut bits: Vec<Bit> = Vec::new();
    if let Some(b) = a.nonempty("builder") {
        bits.extend([Bit::from("--builder"), q(b)]);
    }
    bits.extend(tags.iter().flat_map(|t| [Bit::from("-t"), q(t)]));
    if let Some(f) = a.nonempty("dockerfile") {
        bits.extend([Bit::from("-f"), q(f)]);
    }
    bits.extend(key_values(a, "build_args", Some("--build-arg"))?);
    bits.extend(key_values(a, "labels", Some("--label"))?);
    for (arg, flag) in [
        ("target", "--target"),
        ("platform", "--platform"),
        ("network", "--network"),
    ] {
        if let Some(v) = a.nonempty(arg) {
            bits.extend([Bit::from(flag), q(v)]);
        }
    }
    bits.extend(repeated(a, "cache_from", "--cache-from")?);
    bits.extend(repeated(a, "cache_to", "--cache-to")?);
    bits.extend(repeated(a, "secrets", "--secret")?);
    if a.bool_or("pull", false) {
        bits.push(Bit::from("--pull"));
    }
    if a.bool_or("no_cache", false) {
        bits.push(Bit::from("--no-cache"));
    }
    bits.push(q(&path));
    out.shell(cmd(&build_cmd, bits));
    Ok(())
}

define_op! {
    /// Create or remove a volume.
    ///
    /// Deploy example: `docker.volume(volume="data", driver="local")`
    Volume = "docker.volume";
    params: [required "volume" = "the volume's name",
             optional "driver" = "its driver",
             optional "labels" = "labels (`key=value`)",
             optional "options" = "driver options (`--opt`)",
             optional "present" = "whether it should exist (default True)"];
    generate: volume;
}

async fn volume(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let name = a.str("volume")?;
    let existing = fact(
        host,
        &crate::facts::docker::DockerVolume,
        &[("object_id", json!(name))],
    )
    .await?;
    if a.bool_or("present", true) {
        if truthy(&existing) {
            out.noop("Volume already exists!");
            return Ok(());
        }
        let mut bits = vec![q(&name)];
        if let Some(d) = a.nonempty("driver") {
            bits.extend([Bit::from("-d"), q(d)]);
        }
        bits.extend(repeated(a, "labels", "--label")?);
        bits.extend(repeated(a, "options", "--opt")?);
        out.shell(cmd("docker volume create", bits));
    } else if !truthy(&existing) {
        // `docker volume inspect` prints `[]` for a missing volume: pyinfra only takes None
        // for missing and runs `docker volume rm` again, which fails.
        out.noop(format!("There is no {name} volume!"));
    } else {
        out.shell(cmd("docker volume rm", [q(&name)]));
    }
    Ok(())
}

define_op! {
    /// Create or remove a network.
    ///
    /// Deploy example: `docker.network(network="backend", driver="bridge", subnet="10.10.0.0/24")`
    Network = "docker.network";
    params: [required "network" = "the network's name",
             optional "driver" = "its driver",
             optional "gateway" = "its gateway",
             optional "ip_range" = "the range to allocate from",
             optional "ipam_driver" = "the IPAM driver",
             optional "subnet" = "its subnet",
             optional "scope" = "its scope",
             optional "aux_addresses" = "reserved addresses (a mapping host → address)",
             optional "opts" = "driver options",
             optional "ipam_opts" = "IPAM options",
             optional "labels" = "labels (`key=value`)",
             optional "ingress" = "a swarm ingress network",
             optional "attachable" = "containers may attach to it",
             optional "present" = "whether it should exist (default True)"];
    generate: network;
}

async fn network(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let name = a.str("network")?;
    let existing = fact(
        host,
        &crate::facts::docker::DockerNetwork,
        &[("object_id", json!(name))],
    )
    .await?;
    if !a.bool_or("present", true) {
        // As pyinfra: absent is None (`DockerNetwork` turns docker's `[]` into None).
        if existing.is_null() {
            out.noop(format!("Network {name} does not exist!"));
        } else {
            out.shell(cmd("docker network rm", [q(&name)]));
        }
        return Ok(());
    }
    if truthy(&existing) {
        out.noop(format!("Network {name} already exists!"));
        return Ok(());
    }
    let mut bits = vec![q(&name)];
    for (arg, flag) in [
        ("driver", "-d"),
        ("gateway", "--gateway"),
        ("ip_range", "--ip-range"),
        ("ipam_driver", "--ipam-driver"),
        ("subnet", "--subnet"),
        ("scope", "--scope"),
    ] {
        if let Some(v) = a.nonempty(arg) {
            bits.extend([Bit::from(flag), q(v)]);
        }
    }
    if a.bool_or("ingress", false) {
        bits.push(Bit::from("--ingress"));
    }
    if a.bool_or("attachable", false) {
        bits.push(Bit::from("--attachable"));
    }
    bits.extend(key_values(a, "aux_addresses", Some("--aux-address"))?);
    bits.extend(repeated(a, "opts", "--opt")?);
    bits.extend(repeated(a, "ipam_opts", "--ipam-opt")?);
    bits.extend(repeated(a, "labels", "--label")?);
    out.shell(cmd("docker network create", bits));
    Ok(())
}

define_op! {
    /// Remove unused data (`docker system prune -f`; not idempotent).
    ///
    /// Deploy example: `docker.prune(all=True, filter="until=24h")`
    Prune = "docker.prune";
    params: [optional "all" = "also unused images, not only dangling ones (`-a`)",
             optional "volumes" = "also volumes",
             optional "filter" = "a filter (`until=24h`)"];
    idempotent: false;
    generate: prune;
}

async fn prune(a: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let mut bits = Vec::new();
    if a.bool_or("all", false) {
        bits.push(Bit::from("-a"));
    }
    if let Some(f) = a.nonempty("filter") {
        bits.push(q(format!("--filter={f}")));
    }
    if a.bool_or("volumes", false) {
        bits.push(Bit::from("--volumes"));
    }
    bits.push(Bit::from("-f"));
    out.shell(cmd("docker system prune", bits));
    Ok(())
}

/// A plugin's `Settings.Env` as a map (docker lists `NAME=value` strings).
fn plugin_env(plugin: &Value) -> Map<String, Value> {
    match plugin.pointer("/Settings/Env") {
        Some(Value::Object(m)) => m.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(python_str)
            .map(|e| {
                let (k, v) = e.split_once('=').unwrap_or((&e, ""));
                (k.to_string(), json!(v))
            })
            .collect(),
        _ => Map::new(),
    }
}

define_op! {
    /// Install, configure, enable, disable or remove a plugin.
    ///
    /// Deploy example: `docker.plugin(plugin="vieux/sshfs", alias="sshfs", plugin_options={"DEBUG": "1"})`
    Plugin = "docker.plugin";
    params: [required "plugin" = "the plugin (`name[:tag]`)",
             optional "alias" = "the name to install it as",
             optional "present" = "whether it should be installed (default True)",
             optional "enabled" = "whether it should be enabled (default True)",
             optional "plugin_options" = "settings (a mapping)"];
    generate: plugin;
}

async fn plugin(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let plugin = a.str("plugin")?;
    let alias = a.nonempty("alias");
    let name = alias.clone().unwrap_or_else(|| plugin.clone());
    let enabled = a.bool_or("enabled", true);
    let options: Map<String, Value> = match a.get("plugin_options") {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => {
            return Err(a.invalid("plugin_options", format!("must be a mapping, got {other}")))
        }
    };
    let existing = fact(
        host,
        &crate::facts::docker::DockerPlugin,
        &[("object_id", json!(name))],
    )
    .await?;
    let current = first(&existing);
    if !a.bool_or("present", true) {
        match current {
            Some(_) => out.shell(cmd("docker plugin rm -f", [q(&name)])),
            None => out.noop(format!("Plugin '{name}' is not installed.")),
        }
        return Ok(());
    }
    let Some(current) = current else {
        let mut bits = vec![q(&plugin), Bit::from("--grant-all-permissions")];
        if let Some(al) = &alias {
            bits.extend([Bit::from("--alias"), q(al)]);
        }
        if !enabled {
            bits.push(Bit::from("--disable"));
        }
        bits.extend(
            options
                .iter()
                .map(|(k, v)| q(format!("{k}={}", python_str(v)))),
        );
        out.shell(cmd("docker plugin install", bits));
        return Ok(());
    };
    let is_enabled = current.get("Enabled").is_some_and(truthy);
    let env = plugin_env(current);
    // Only the options given are compared: the plugin has settings of its own besides them
    // (pyinfra compares the whole `Settings.Env`, a list of `NAME=value` on a real engine, with
    // the mapping, so it never matches).
    let differs = options
        .iter()
        .any(|(k, v)| env.get(k).map(python_str) != Some(python_str(v)));
    if differs {
        if is_enabled {
            out.shell(cmd("docker plugin disable", [q(&name)]));
        }
        let mut merged = env;
        merged.extend(options);
        let mut bits = vec![q(&name)];
        bits.extend(
            merged
                .iter()
                .map(|(k, v)| q(format!("{k}={}", python_str(v)))),
        );
        out.shell(cmd("docker plugin set", bits));
        if enabled {
            out.shell(cmd("docker plugin enable", [q(&name)]));
        }
    } else if is_enabled == enabled {
        out.noop(format!(
            "Plugin '{name}' is already installed with the same options and {}.",
            if enabled { "enabled" } else { "disabled" }
        ));
    } else {
        let action = if enabled {
            "docker plugin enable"
        } else {
            "docker plugin disable"
        };
        out.shell(cmd(action, [q(&name)]));
    }
    Ok(())
}

define_op! {
    /// Log in to a registry (Docker Hub by default) unless docker has credentials for it; the
    /// password goes through stdin and is masked in output.
    ///
    /// Deploy example: `docker.login(username="ci", password="...", server="registry.example.com")`
    Login = "docker.login";
    params: [required "username" = "the user",
             required "password" = "the password or token (masked in output)",
             optional "server" = "the registry (default Docker Hub)",
             optional "force" = "log in even when credentials exist"];
    generate: login;
}

async fn login(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let username = a
        .nonempty("username")
        .ok_or_else(|| a.invalid("username", "docker.login requires a username"))?;
    let password = a
        .nonempty("password")
        .ok_or_else(|| a.invalid("password", "docker.login requires a password"))?;
    let server = a.nonempty("server");
    let target = server.clone().unwrap_or_else(|| DOCKER_HUB.into());
    if !a.bool_or("force", false) {
        let auths = fact(host, &crate::facts::docker::DockerAuths, &[]).await?;
        if auths
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == target.as_str()))
        {
            out.noop(format!("Already logged in to Docker registry {target}"));
            return Ok(());
        }
    }
    let mut bits = vec![
        rinfra_connectors::quoted(Secret::new(password)),
        Bit::from("| docker login --username"),
        q(&username),
        Bit::from("--password-stdin"),
    ];
    bits.extend(server.as_deref().map(q));
    out.shell(cmd("printf '%s'", bits));
    Ok(())
}

define_op! {
    /// Log out of a registry (Docker Hub by default) when docker has credentials for it.
    ///
    /// Deploy example: `docker.logout(server="registry.example.com")`
    Logout = "docker.logout";
    params: [optional "server" = "the registry (default Docker Hub)"];
    generate: logout;
}

async fn logout(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let server = a.nonempty("server");
    let target = server.clone().unwrap_or_else(|| DOCKER_HUB.into());
    let auths = fact(host, &crate::facts::docker::DockerAuths, &[]).await?;
    if !auths
        .as_array()
        .is_some_and(|a| a.iter().any(|x| x == target.as_str()))
    {
        out.noop(format!("Not logged in to Docker registry {target}"));
        return Ok(());
    }
    out.shell(cmd("docker logout", server.as_deref().map(q)));
    Ok(())
}

define_op! {
    /// Bring a compose project up (`up -d`) or down (not idempotent: compose decides).
    ///
    /// Deploy example: `docker.compose(project_directory="/srv/app", pull="always")`
    Compose = "docker.compose";
    params: [required "project_directory" = "the project's directory",
             optional "files" = "compose file(s) (`-f`)",
             optional "project_name" = "the project name",
             optional "present" = "up (True, default) or down (False)",
             optional "pull" = "`always`, `missing` or `never`",
             optional "build" = "build images first",
             optional "force_recreate" = "recreate containers",
             optional "remove_orphans" = "remove containers of services no longer defined (default True)",
             optional "remove_volumes" = "with down, also remove volumes",
             optional "compose_command" = "the compose command (default `docker compose`)"];
    idempotent: false;
    generate: compose;
}

async fn compose(a: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let dir = a.nonempty("project_directory").ok_or_else(|| {
        a.invalid(
            "project_directory",
            "docker.compose requires a project_directory",
        )
    })?;
    let pull = a.opt_str("pull");
    if let Some(p) = pull
        .as_deref()
        .filter(|p| !matches!(*p, "always" | "missing" | "never"))
    {
        return Err(a.invalid("pull", format!("docker.compose pull must be one of None, \"always\", \"missing\", \"never\" (got {p:?})")));
    }
    let head = a
        .nonempty("compose_command")
        .unwrap_or_else(|| "docker compose".into());
    let mut bits = vec![Bit::from("--project-directory"), q(&dir)];
    if let Some(n) = a.nonempty("project_name") {
        bits.extend([Bit::from("--project-name"), q(n)]);
    }
    bits.extend(repeated(a, "files", "-f")?);
    let orphans = a.bool_or("remove_orphans", true);
    if a.bool_or("present", true) {
        bits.push(Bit::from("up -d"));
        if let Some(p) = pull {
            bits.extend([Bit::from("--pull"), Bit::from(p)]);
        }
        for (arg, flag) in [("build", "--build"), ("force_recreate", "--force-recreate")] {
            if a.bool_or(arg, false) {
                bits.push(Bit::from(flag));
            }
        }
    } else {
        bits.push(Bit::from("down"));
        if a.bool_or("remove_volumes", false) {
            bits.push(Bit::from("-v"));
        }
    }
    if orphans {
        bits.push(Bit::from("--remove-orphans"));
    }
    out.shell(cmd(&head, bits));
    Ok(())
}

define_op! {
    /// Run a command in a running container (`docker exec`; not idempotent). A string runs
    /// through `sh -c`, a list as the program and its arguments.
    ///
    /// Deploy example: `docker.container_exec(container="web", command="nginx -s reload")`
    ContainerExec = "docker.container_exec";
    params: [required "container" = "the container",
             required "command" = "a shell command, or a list of program and arguments",
             optional "user" = "run as this user",
             optional "workdir" = "in this directory",
             optional "env" = "environment (a mapping)",
             optional "detach" = "do not wait for it",
             optional "privileged" = "with extended privileges",
             optional "tty" = "with a terminal"];
    idempotent: false;
    generate: container_exec;
}

async fn container_exec(a: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let container = a
        .nonempty("container")
        .ok_or_else(|| a.invalid("container", "docker.container_exec requires a container"))?;
    if !a.get("command").is_some_and(truthy) {
        return Err(a.invalid("command", "docker.container_exec requires a command"));
    }
    let mut bits = Vec::new();
    for (arg, flag) in [
        ("detach", "--detach"),
        ("privileged", "--privileged"),
        ("tty", "--tty"),
    ] {
        if a.bool_or(arg, false) {
            bits.push(Bit::from(flag));
        }
    }
    for (arg, flag) in [("user", "--user"), ("workdir", "--workdir")] {
        if let Some(v) = a.opt_str(arg) {
            bits.extend([Bit::from(flag), q(v)]);
        }
    }
    bits.extend(key_values(a, "env", Some("--env"))?);
    bits.push(q(&container));
    match a.get("command") {
        Some(Value::Array(items)) => bits.extend(items.iter().map(|i| q(python_str(i)))),
        _ => bits.extend([Bit::from("sh -c"), q(a.str("command")?)]),
    }
    out.shell(cmd("docker exec", bits));
    Ok(())
}
