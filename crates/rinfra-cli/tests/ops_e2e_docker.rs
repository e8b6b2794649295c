//! pyinfra's `docker` module end to end against the testbed's private Docker engine: the
//! `rinfra` binary runs each operation as `rinfra @local docker.OP ...` with
//! `DOCKER_HOST=$RINFRA_TB_DOCKER_HOST` in its environment (pyinfra's docker operations manage
//! the engine "from the view of the current inventory host"; `@local` is that host here, and
//! the engine is the testbed's, never the machine's own). Each idempotent operation runs twice
//! (a change, then `No changes`) and the result is checked with the plain `docker` CLI, never
//! with rinfra's facts. The docker facts are checked against what `docker inspect` says.
//!
//! Nothing is ever pulled: every image is the testbed's `rinfra-deb` (imported from the rootfs)
//! or built or tagged from it here, containers are created with `--pull=never` (through
//! `extra_args`), and builds use images that are already local.
//!
//! Networks: the engine runs with `--bridge=none --iptables=false`. The `host` and `null`
//! drivers allow one network each (they exist already); `macvlan` and `ipvlan` fail with
//! `operation not supported` here (no parent interface, no kernel support in the sandbox);
//! `overlay` needs a swarm. A user-defined `bridge` network can be created, but it makes a
//! bridge interface on the controller, normally with an address and a route for its subnet. So
//! the network test uses the bridge driver with the driver option
//! `com.docker.network.bridge.inhibit_ipv4=true` (the bridge gets no address and no route:
//! nothing on the controller can reach it) and a subnet from 198.18.0.0/15 (RFC 2544's
//! benchmarking range, never routed), and no container is ever started on it: a container
//! joining it (`docker.container(networks=...)`) is only created, with `start=False`, as the
//! testbed's rule for containers is `--network none` or `host`. Containers that run use the
//! engine's default, which here is no network at all (only `lo`).
//!
//! Vectors only (`crates/rinfra-ops/tests/vectors/operations/docker.*`), as they need a
//! registry or tools the testbed lacks:
//! * `docker.image` pulls (an absent image, `force`, a `latest` or untagged reference, a
//!   digest): here only an image that is already local (no change) and its removal run;
//! * `docker.plugin` install (a plugin is made locally with `docker plugin create` instead; its
//!   enabling, options, disabling and removal run);
//! * `docker.build`'s `secrets`, `builder`, `cache_to` and `platform` (BuildKit / buildx, which
//!   the testbed's Debian `docker.io` does not have);
//! * `docker.login` to Docker Hub: `docker.login`/`docker.logout` run against a registry stub on
//!   127.0.0.1 that this test starts (it answers `GET /v2/` with 200, which is all the engine
//!   checks for a login).
//!
//! `docker.compose` runs with `compose_command="docker-compose"`: Debian 12's Compose v1
//! (`.ci/run` installs `docker-compose`; the `docker compose` plugin is not packaged there). Its
//! service uses an image made here, so nothing is pulled (Compose v1 ignores `pull_policy` and
//! would pull a missing image), and `network_mode: none`, so Compose makes no network.
//!
//! Every object is named `rinfra-e2e-docker-<test>-<pid>...` (or labelled so) and removed at the
//! end, also when the test fails. Needs the project testbed (`scripts/testbed up`, then
//! `. /tmp/rinfra-testbed/env`); missing variables fail the tests, they never pass silently.

mod util;

use std::cell::RefCell;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

use util::target::env;
use util::{fact_entry, Run, TestDir};

/// The testbed's engine for one test: plain `docker` calls, `rinfra @local` runs, and the
/// objects to remove at the end.
struct Dockerd {
    host: String,
    /// The testbed image everything starts from.
    image: String,
    /// `DOCKER_CONFIG` of every `docker` and `rinfra` call: registry logins stay in the test.
    config: tempfile::TempDir,
    /// `rinfra-e2e-docker-<test>-<pid>`.
    prefix: String,
    /// `docker ...` argument lists run (failures ignored) when the test ends, last first.
    cleanup: RefCell<Vec<Vec<String>>>,
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        for args in self.cleanup.borrow().iter().rev() {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let _ = self.docker(&args);
        }
    }
}

impl Dockerd {
    fn new(test: &str) -> Self {
        Self {
            host: env("RINFRA_TB_DOCKER_HOST"),
            image: env("RINFRA_TB_DOCKER_IMAGE"),
            config: tempfile::tempdir().unwrap(),
            prefix: format!("rinfra-e2e-docker-{test}-{}", std::process::id()),
            cleanup: RefCell::new(Vec::new()),
        }
    }

    /// A name of this test's own.
    fn name(&self, what: &str) -> String {
        format!("{}-{what}", self.prefix)
    }

    /// Run `docker args...` at the end of the test.
    fn at_end(&self, args: &[&str]) {
        self.cleanup
            .borrow_mut()
            .push(args.iter().map(|a| a.to_string()).collect());
    }

    fn docker_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("docker");
        c.args(args)
            .env("DOCKER_HOST", &self.host)
            .env("DOCKER_CONFIG", self.config.path())
            .stdin(Stdio::null());
        c
    }

    /// Plain `docker args...`: (exit code, stdout, stderr).
    fn docker(&self, args: &[&str]) -> (i32, String, String) {
        let out = self
            .docker_cmd(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run docker (install docker.io): {e}"));
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `docker args...`'s stdout, trimmed; panics when it fails.
    fn check(&self, args: &[&str]) -> String {
        let (code, out, err) = self.docker(args);
        assert_eq!(code, 0, "`docker {}` failed: {out}{err}", args.join(" "));
        out.trim().to_string()
    }

    /// Whether `docker KIND inspect NAME` finds the object.
    fn exists(&self, kind: &str, name: &str) -> bool {
        self.docker(&[kind, "inspect", name]).0 == 0
    }

    /// `docker KIND inspect NAME` as JSON (its one object).
    fn inspect(&self, kind: &str, name: &str) -> Value {
        let out = self.check(&[kind, "inspect", name]);
        let all: Value = serde_json::from_str(&out).unwrap();
        all[0].clone()
    }

    /// An image of this test's own: the testbed image tagged `<prefix>-<what>`, removed at the
    /// end.
    fn own_image(&self, what: &str) -> String {
        let tag = self.name(what);
        self.check(&["image", "tag", &self.image, &tag]);
        self.at_end(&["image", "rm", "-f", &tag]);
        tag
    }

    /// A running container of this test's own (no network, `--init` so it stops at once).
    fn own_container(&self, what: &str) -> String {
        let name = self.name(what);
        self.at_end(&["container", "rm", "-f", &name]);
        self.check(&[
            "container",
            "run",
            "-d",
            "--pull=never",
            "--network=none",
            "--init",
            "--name",
            &name,
            &self.image,
            "sleep",
            "infinity",
        ]);
        name
    }

    /// `rinfra @local ARGS... -y` with the testbed's engine as `DOCKER_HOST`.
    fn rinfra(&self, dir: &TestDir, args: &[&str]) -> Run {
        let mut all = vec!["@local"];
        all.extend_from_slice(args);
        all.push("-y");
        let out = dir
            .cmd(&all)
            .env("DOCKER_HOST", &self.host)
            .env("DOCKER_CONFIG", self.config.path())
            .output()
            .unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// One run that must succeed and change something.
    fn changes(&self, args: &[&str]) -> Run {
        let run = self.rinfra(&TestDir::new(), args);
        assert_eq!(run.code, 0, "run of {args:?}: {run:?}");
        assert!(
            run.stderr.contains("[@local] Success"),
            "run of {args:?} should change something: {run:?}"
        );
        run
    }

    /// One run that must succeed and change nothing.
    fn unchanged(&self, args: &[&str]) -> Run {
        let run = self.rinfra(&TestDir::new(), args);
        assert_eq!(run.code, 0, "run of {args:?}: {run:?}");
        assert!(
            run.stderr.contains("[@local] No changes"),
            "run of {args:?} should change nothing: {run:?}"
        );
        run
    }

    /// Run an operation twice: the first run changes the engine, the second changes nothing.
    fn twice(&self, args: &[&str]) {
        self.changes(args);
        self.unchanged(args);
    }

    /// `rinfra @local fact NAME ARGS... --json`: the fact's value for `@local`.
    fn fact(&self, name: &str, args: &[&str]) -> Value {
        let run = self.fact_run(name, args);
        assert_eq!(run.code, 0, "fact {name} {args:?}: {run:?}");
        Self::fact_value(name, &run)
    }

    fn fact_run(&self, name: &str, args: &[&str]) -> Run {
        let mut all = vec!["fact", name];
        all.extend_from_slice(args);
        all.push("--json");
        self.rinfra(&TestDir::new(), &all)
    }

    fn fact_value(name: &str, run: &Run) -> Value {
        let out: Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("fact {name} printed no JSON ({e}): {run:?}"));
        fact_entry(&out, name)["@local"].clone()
    }

    /// A fact listing every object of the engine. Other tests add and remove objects on the
    /// shared engine meanwhile, and `docker X inspect $(docker X ls -q)` fails when one goes
    /// between the two commands (pyinfra's command, kept as is): try a few times.
    fn fact_of_all(&self, name: &str) -> Value {
        let mut last = None;
        for _ in 0..5 {
            let run = self.fact_run(name, &[]);
            if run.code == 0 {
                return Self::fact_value(name, &run);
            }
            last = Some(run);
        }
        panic!("fact {name} failed five times: {last:?}");
    }
}

/// A failed run on `@local` whose error line contains `needle`.
fn assert_failed(run: &Run, needle: &str) {
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .lines()
            .any(|l| l.contains("[@local] ") && l.contains(needle)),
        "expected an error containing `{needle}`: {run:?}"
    );
    assert!(!run.stderr.contains("panicked"), "{run:?}");
}

// ---------------------------------------------------------------------------------------------
// docker.container

#[test]
fn container_lifecycle() {
    let d = Dockerd::new("container");
    let image = d.own_image("img:1.0");
    let name = d.name("web");
    let volume = d.name("data");
    d.at_end(&["container", "rm", "-f", &name]);
    d.at_end(&["volume", "rm", "-f", &volume]);
    let local = TestDir::new();
    let env_file = local.write("app.env", "FROM_FILE=yes\n");

    let c = format!("container={name}");
    let img = format!("image={image}");
    let vols = format!("volumes=[\"{volume}:/data\"]");
    let env_files = format!("env_files=[\"{}\"]", env_file.display());
    let create = [
        "docker.container",
        &c,
        &img,
        "command=sleep infinity",
        // never pull (a mistyped image must not reach a registry); `--init` makes stops quick
        "extra_args=[\"--pull=never\", \"--init\"]",
        "env_vars=[\"E2E=1\", \"SPACED=a b\"]",
        &env_files,
        "labels=[\"rinfra.e2e=container\"]",
        &vols,
        "mounts=[\"type=tmpfs,target=/scratch\"]",
        "restart_policy=unless-stopped",
        "hostname=e2e-web",
        "entrypoint=/usr/bin/env",
        "user=daemon",
        "cpus=0.5",
        "memory=64m",
        "dns=[\"192.0.2.53\"]",
    ];
    d.twice(&create);
    let info = d.inspect("container", &name);
    assert_eq!(info["State"]["Status"], "running", "{info}");
    assert_eq!(info["Config"]["Image"], image.as_str());
    assert_eq!(info["Config"]["Entrypoint"], json!(["/usr/bin/env"]));
    assert_eq!(info["Config"]["Cmd"], json!(["sleep", "infinity"]));
    assert_eq!(info["Config"]["Hostname"], "e2e-web");
    assert_eq!(info["Config"]["User"], "daemon");
    assert_eq!(info["Config"]["Labels"]["rinfra.e2e"], "container");
    let envs = info["Config"]["Env"].as_array().unwrap();
    for want in ["E2E=1", "SPACED=a b", "FROM_FILE=yes"] {
        assert!(envs.contains(&json!(want)), "{want} not in {envs:?}");
    }
    let host_config = &info["HostConfig"];
    assert_eq!(host_config["RestartPolicy"]["Name"], "unless-stopped");
    assert_eq!(host_config["Init"], true);
    assert_eq!(host_config["Memory"], 64 * 1024 * 1024);
    assert_eq!(host_config["NanoCpus"], 500_000_000);
    assert_eq!(host_config["Dns"], json!(["192.0.2.53"]));
    assert_eq!(host_config["Binds"], json!([format!("{volume}:/data")]));
    assert_eq!(
        host_config["Mounts"],
        json!([{"Type": "tmpfs", "Target": "/scratch"}])
    );
    let id = info["Id"].as_str().unwrap().to_string();
    // the process runs as the user, in the container
    assert_eq!(d.check(&["exec", &name, "id", "-un"]), "daemon");

    // stop, and start again
    let mut stop = create.to_vec();
    stop.push("start=false");
    d.twice(&stop);
    assert_eq!(
        d.check(&["inspect", "-f", "{{.State.Status}}", &name]),
        "exited"
    );
    d.twice(&create);
    assert_eq!(
        d.check(&["inspect", "-f", "{{.State.Status}}", &name]),
        "running"
    );
    assert_eq!(d.inspect("container", &name)["Id"], id.as_str(), "same one");

    // `force` recreates it on every run (as pyinfra)
    let mut force = create.to_vec();
    force.push("force=true");
    d.changes(&force);
    let recreated = d.inspect("container", &name);
    assert_ne!(recreated["Id"], id.as_str(), "recreated");
    assert_eq!(recreated["State"]["Status"], "running");
    d.changes(&force);
    assert_ne!(d.inspect("container", &name)["Id"], recreated["Id"]);

    // removed: only the name is needed
    d.twice(&["docker.container", &c, "present=false"]);
    assert!(!d.exists("container", &name));
}

#[test]
fn container_stopped_is_removed_without_being_started() {
    // a stopped container with `present=False` (and the default `start=True`): removed, and
    // the removal runs twice (pyinfra also starts what it just removed, and fails)
    let d = Dockerd::new("container-rm");
    let name = d.own_container("stopped");
    d.check(&["container", "stop", &name]);
    let c = format!("container={name}");
    d.twice(&["docker.container", &c, "present=false"]);
    assert!(!d.exists("container", &name));
}

#[test]
fn container_created_only_with_network_and_ports() {
    // created, never started: it joins a bridge network and publishes a port, which the
    // testbed's rules allow only for a container that does not run
    let d = Dockerd::new("container-net");
    let image = d.own_image("img:1.0");
    let network = d.name("net");
    d.at_end(&["network", "rm", &network]);
    d.check(&[
        "network",
        "create",
        "-o",
        "com.docker.network.bridge.inhibit_ipv4=true",
        &network,
    ]);
    let name = d.name("created");
    d.at_end(&["container", "rm", "-f", &name]);
    let c = format!("container={name}");
    let img = format!("image={image}");
    let net = format!("networks=[\"{network}\"]");
    d.twice(&[
        "docker.container",
        &c,
        &img,
        &net,
        "ports=[\"127.0.0.1:18080:80\"]",
        "extra_args=[\"--pull=never\"]",
        "auto_remove=true",
        "privileged=true",
        "command=true",
        "start=false",
    ]);
    let info = d.inspect("container", &name);
    assert_eq!(info["State"]["Status"], "created");
    assert_eq!(info["HostConfig"]["NetworkMode"], network.as_str());
    assert_eq!(
        info["HostConfig"]["PortBindings"],
        json!({"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18080"}]})
    );
    assert_eq!(info["HostConfig"]["AutoRemove"], true);
    assert_eq!(info["HostConfig"]["Privileged"], true);
    assert!(info["NetworkSettings"]["Networks"]
        .as_object()
        .unwrap()
        .contains_key(&network));

    // the facts about it agree with `docker inspect`
    let id = info["Id"].as_str().unwrap();
    let networks = d.fact_of_all("docker.DockerContainerNetworks");
    assert!(
        networks[id].as_object().unwrap().contains_key(&network),
        "{}",
        networks[id]
    );
    let ports = d.fact_of_all("docker.DockerContainerPorts");
    assert_eq!(ports[id], info["NetworkSettings"]["Ports"]);

    d.check(&["container", "rm", "-f", &name]);
    let absent = d.rinfra(&TestDir::new(), &["docker.container", &c, "start=false"]);
    assert_failed(&absent, "Docker image not specified");
}

// ---------------------------------------------------------------------------------------------
// docker.container_exec

#[test]
fn container_exec_runs_every_time() {
    let d = Dockerd::new("exec");
    let name = d.own_container("box");
    let c = format!("container={name}");
    // a string goes through `sh -c`: the redirection happens in the container
    let shell = ["docker.container_exec", &c, "command=echo run >> /tmp/runs"];
    d.changes(&shell);
    d.changes(&shell);
    assert_eq!(d.check(&["exec", &name, "cat", "/tmp/runs"]), "run\nrun");

    // a list is argv, with user, working directory and environment
    d.changes(&[
        "docker.container_exec",
        &c,
        "command=[\"sh\", \"-c\", \"printf '%s' \\\"$STAGE\\\" > stage\"]",
        "user=daemon",
        "workdir=/tmp",
        "env={\"STAGE\": \"prod it's\"}",
    ]);
    assert_eq!(d.check(&["exec", &name, "cat", "/tmp/stage"]), "prod it's");
    assert_eq!(
        d.check(&["exec", &name, "stat", "-c", "%U", "/tmp/stage"]),
        "daemon"
    );
    // argv words are not shell words: `;` is an argument of echo
    d.changes(&[
        "docker.container_exec",
        &c,
        "command=[\"sh\", \"-c\", \"echo \\\"$0\\\" > /tmp/argv\", \"a; touch /tmp/injected\"]",
    ]);
    assert_eq!(
        d.check(&["exec", &name, "cat", "/tmp/argv"]),
        "a; touch /tmp/injected"
    );
    assert_ne!(
        d.docker(&["exec", &name, "test", "-e", "/tmp/injected"]).0,
        0
    );

    // detached: rinfra does not wait for it
    d.changes(&[
        "docker.container_exec",
        &c,
        "command=touch /tmp/detached",
        "detach=true",
    ]);
    let (code, _, _) = d.docker(&[
        "exec",
        &name,
        "sh",
        "-c",
        "for i in $(seq 100); do test -e /tmp/detached && exit 0; sleep 0.1; done; exit 1",
    ]);
    assert_eq!(code, 0, "the detached command did not run");

    // a failing command fails the operation
    let failed = d.rinfra(
        &TestDir::new(),
        &["docker.container_exec", &c, "command=exit 3"],
    );
    assert_failed(&failed, "exit code 3");
    let gone = d.name("gone");
    let gone = format!("container={gone}");
    let failed = d.rinfra(
        &TestDir::new(),
        &["docker.container_exec", &gone, "command=true"],
    );
    assert_eq!(failed.code, 1, "{failed:?}");
}

// ---------------------------------------------------------------------------------------------
// docker.image, docker.build

#[test]
fn image_local_then_removed() {
    let d = Dockerd::new("image");
    let image = d.own_image("img:1.0");
    let arg = format!("image={image}");
    // already here with this tag: nothing to pull, on both runs
    d.unchanged(&["docker.image", &arg]);
    d.unchanged(&["docker.image", &arg, "present=true"]);
    d.twice(&["docker.image", &arg, "present=false"]);
    assert!(!d.exists("image", &image));
    assert!(d.exists("image", &d.image), "only the tag went");
}

#[test]
fn build_tags_once() {
    let d = Dockerd::new("build");
    let ctx = TestDir::new();
    ctx.write(
        "Dockerfile.e2e",
        &format!(
            "FROM {} AS base\nARG VERSION=0\nRUN echo \"$VERSION\" > /version\n\
             FROM base AS final\nRUN echo final > /stage\n",
            d.image
        ),
    );
    let one = d.name("img:1");
    let two = d.name("img:2");
    d.at_end(&["image", "rm", "-f", &one]);
    d.at_end(&["image", "rm", "-f", &two]);
    let path = format!("path={}", ctx.path().display());
    let tags = format!("tags=[\"{one}\", \"{two}\"]");
    let dockerfile = format!("dockerfile={}", ctx.join("Dockerfile.e2e").display());
    let mut build = vec![
        "docker.build",
        &path,
        &tags,
        // the classic builder reads a relative `-f` from its working directory, not the context
        &dockerfile,
        "build_args={\"VERSION\": \"1.2\"}",
        "labels={\"rinfra.e2e\": \"build\"}",
        "target=base",
        // RUN steps get no network (the engine has no bridge)
        "network=none",
        // the classic builder: the testbed's docker.io has no buildx for BuildKit
        "build_cmd=DOCKER_BUILDKIT=0 docker build",
    ];
    d.twice(&build);
    let run = |tag: &str, path: &str| {
        d.docker(&[
            "run",
            "--rm",
            "--pull=never",
            "--network=none",
            tag,
            "cat",
            path,
        ])
    };
    assert_eq!(run(&one, "/version").1.trim(), "1.2");
    assert_ne!(run(&one, "/stage").0, 0, "only the `base` stage was built");
    // every image built here is removed at the end, also those a rebuild left untagged
    let built = || {
        let id = d.inspect("image", &one)["Id"].as_str().unwrap().to_string();
        d.at_end(&["image", "rm", "-f", &id]);
        id
    };
    let first = d.inspect("image", &one);
    built();
    assert_eq!(first["Config"]["Labels"]["rinfra.e2e"], "build");
    assert_eq!(d.inspect("image", &two)["Id"], first["Id"]);

    // one tag missing: built again
    d.check(&["image", "rm", &two]);
    d.twice(&build);
    assert!(d.exists("image", &two));

    // `force` builds every time; `no_cache` makes it a new image
    build.extend(["force=true", "no_cache=true"]);
    d.changes(&build);
    let rebuilt = built();
    d.changes(&build);
    assert_ne!(built(), rebuilt);
    assert_ne!(rebuilt, first["Id"].as_str().unwrap());
    assert_eq!(run(&two, "/version").1.trim(), "1.2");
}

// ---------------------------------------------------------------------------------------------
// docker.volume, docker.network

#[test]
fn volume_with_driver_labels_and_options() {
    let d = Dockerd::new("volume");
    let name = d.name("vol");
    d.at_end(&["volume", "rm", "-f", &name]);
    let v = format!("volume={name}");
    d.twice(&[
        "docker.volume",
        &v,
        "driver=local",
        "labels=[\"rinfra.e2e=volume\"]",
        "options=[\"type=tmpfs\", \"device=tmpfs\", \"o=size=1m\"]",
    ]);
    let info = d.inspect("volume", &name);
    assert_eq!(info["Driver"], "local");
    assert_eq!(info["Labels"], json!({"rinfra.e2e": "volume"}));
    assert_eq!(
        info["Options"],
        json!({"type": "tmpfs", "device": "tmpfs", "o": "size=1m"})
    );

    // the facts about it
    let one = d.fact("docker.DockerVolume", &[&format!("object_id={name}")]);
    assert_eq!(one[0]["Name"], name.as_str());
    assert_eq!(one[0]["Options"], info["Options"]);
    let all = d.fact_of_all("docker.DockerVolumes");
    assert!(all
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["Name"] == name.as_str()));
    let labels = d.fact_of_all("docker.DockerVolumeLabels");
    assert_eq!(labels[&name], json!({"rinfra.e2e": "volume"}));

    d.twice(&["docker.volume", &v, "present=false"]);
    assert!(!d.exists("volume", &name));
    assert_eq!(
        d.fact("docker.DockerVolume", &[&format!("object_id={name}")]),
        json!([]),
        "docker prints `[]` for a missing object"
    );
}

#[test]
fn network_bridge_without_address() {
    let d = Dockerd::new("network");
    let name = d.name("net");
    d.at_end(&["network", "rm", &name]);
    // a bridge's interface name has at most 15 characters
    let bridge = format!("rde2e{}", std::process::id() % 1_000_000);
    let n = format!("network={name}");
    let opts = format!(
        "opts=[\"com.docker.network.bridge.inhibit_ipv4=true\", \
         \"com.docker.network.bridge.name={bridge}\"]"
    );
    d.twice(&[
        "docker.network",
        &n,
        "driver=bridge",
        "subnet=198.18.117.0/29",
        "gateway=198.18.117.1",
        "ip_range=198.18.117.0/30",
        "aux_addresses={\"reserved\": \"198.18.117.5\"}",
        "ipam_driver=default",
        "scope=local",
        &opts,
        "labels=[\"rinfra.e2e=network\"]",
        "attachable=true",
    ]);
    let info = d.inspect("network", &name);
    assert_eq!(info["Driver"], "bridge");
    assert_eq!(info["Scope"], "local");
    assert_eq!(info["Attachable"], true);
    assert_eq!(info["Labels"], json!({"rinfra.e2e": "network"}));
    assert_eq!(
        info["Options"]["com.docker.network.bridge.name"],
        bridge.as_str()
    );
    assert_eq!(
        info["IPAM"]["Config"],
        json!([{
            "Subnet": "198.18.117.0/29",
            "IPRange": "198.18.117.0/30",
            "Gateway": "198.18.117.1",
            "AuxiliaryAddresses": {"reserved": "198.18.117.5"}
        }])
    );
    // no address on the controller's side of the bridge: nothing routes to it
    let addr = Command::new("ip")
        .args(["-o", "-4", "addr", "show", "dev", &bridge])
        .output()
        .expect("cannot run ip (install iproute2)");
    assert!(addr.status.success(), "{addr:?}");
    assert_eq!(String::from_utf8_lossy(&addr.stdout).trim(), "");

    // the facts about it
    let id = info["Id"].as_str().unwrap();
    let one = d.fact("docker.DockerNetwork", &[&format!("object_id={name}")]);
    assert_eq!(one[0]["Id"], id);
    assert_eq!(one[0]["IPAM"], info["IPAM"]);
    let all = d.fact_of_all("docker.DockerNetworks");
    assert!(all.as_array().unwrap().iter().any(|n| n["Id"] == id));
    let labels = d.fact_of_all("docker.DockerNetworkLabels");
    assert_eq!(labels[id], json!({"rinfra.e2e": "network"}));

    d.twice(&["docker.network", &n, "present=false"]);
    assert!(!d.exists("network", &name));
}

// ---------------------------------------------------------------------------------------------
// docker.prune

#[test]
fn prune_removes_only_what_the_filter_names() {
    let d = Dockerd::new("prune");
    let label = format!("rinfra.e2e.prune={}", std::process::id());
    // labelled: a stopped container, an unused network and an unused image
    let stopped = d.name("stopped");
    d.at_end(&["container", "rm", "-f", &stopped]);
    d.check(&[
        "container",
        "create",
        "--pull=never",
        "--label",
        &label,
        "--name",
        &stopped,
        &d.image,
        "true",
    ]);
    let network = d.name("net");
    d.at_end(&["network", "rm", &network]);
    d.check(&[
        "network",
        "create",
        "--label",
        &label,
        "-o",
        "com.docker.network.bridge.inhibit_ipv4=true",
        &network,
    ]);
    let image = d.name("img:1");
    d.at_end(&["image", "rm", "-f", &image]);
    let ctx = TestDir::new();
    ctx.write("Dockerfile", &format!("FROM {}\nLABEL {label}\n", d.image));
    let built = d
        .docker_cmd(&["build", "-q", "-t", &image, &ctx.path().to_string_lossy()])
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .unwrap();
    assert!(built.status.success(), "{built:?}");
    // not labelled: stays
    let kept = d.name("kept");
    d.at_end(&["container", "rm", "-f", &kept]);
    d.check(&[
        "container",
        "create",
        "--pull=never",
        "--name",
        &kept,
        &d.image,
        "true",
    ]);

    let filter = format!("filter=label={label}");
    let prune = ["docker.prune", "all=true", &filter];
    d.changes(&prune);
    assert!(!d.exists("container", &stopped));
    assert!(!d.exists("network", &network));
    assert!(!d.exists("image", &image));
    assert!(d.exists("container", &kept));
    assert!(d.exists("image", &d.image));
    // not idempotent (as in pyinfra): it runs again, with nothing left to remove
    d.changes(&prune);
    assert!(d.exists("container", &kept));
}

// ---------------------------------------------------------------------------------------------
// docker.plugin

/// The program of the test's plugin: a volume driver that answers the engine's activation
/// (`POST /Plugin.Activate`) on its socket, and exits at SIGTERM so that it is disabled at once.
/// The image's Python is minimal (no `json`, no `http`): plain sockets.
const PLUGIN_PROGRAM: &str = r#"import os, signal, socket
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
os.makedirs("/run/docker/plugins", exist_ok=True)
s = socket.socket(socket.AF_UNIX)
s.bind("/run/docker/plugins/e2e.sock")
s.listen(8)
body = b'{"Implements": ["VolumeDriver"]}'
while True:
    c, _ = s.accept()
    c.recv(65536)
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
    c.close()
"#;

/// A plugin made locally with `docker plugin create` (installing one needs a registry),
/// disabled. Its rootfs is empty but for `bin`/`lib`/`lib64` links: the testbed rootfs's `/usr`
/// is bind-mounted read-only at `/usr`, and its Python runs [`PLUGIN_PROGRAM`].
fn local_plugin(d: &Dockerd) -> String {
    let name = d.name("plugin");
    let dir = TestDir::new();
    let rootfs = dir.join("rootfs");
    std::fs::create_dir(&rootfs).unwrap();
    for (link, target) in [
        ("bin", "usr/bin"),
        ("lib", "usr/lib"),
        ("lib64", "usr/lib64"),
    ] {
        std::os::unix::fs::symlink(target, rootfs.join(link)).unwrap();
    }
    let usr = format!("{}/usr", env("RINFRA_TB_ROOTFS"));
    let config = json!({
        "description": "rinfra e2e",
        "documentation": "-",
        "entrypoint": ["/usr/bin/python3", "-c", PLUGIN_PROGRAM],
        "interface": {"types": ["docker.volumedriver/1.0"], "socket": "e2e.sock"},
        "env": [
            {"name": "DEBUG", "settable": ["value"], "value": "0"},
            {"name": "LEVEL", "settable": ["value"], "value": "low"}
        ],
        "network": {"type": "none"},
        "mounts": [{"source": usr, "destination": "/usr", "type": "bind", "options": ["rbind", "ro"]}]
    });
    dir.write("config.json", &config.to_string());
    d.at_end(&["plugin", "rm", "-f", &name]);
    d.check(&["plugin", "create", &name, &dir.path().to_string_lossy()]);
    name
}

#[test]
fn plugin_enable_options_disable_and_removal() {
    let d = Dockerd::new("plugin");
    let name = local_plugin(&d);
    let p = format!("plugin={name}");
    let env = || d.check(&["plugin", "inspect", "-f", "{{json .Settings.Env}}", &name]);
    let enabled = || d.check(&["plugin", "inspect", "-f", "{{.Enabled}}", &name]);
    assert_eq!(env(), r#"["DEBUG=0","LEVEL=low"]"#);
    assert_eq!(enabled(), "false");

    // installed (made here) and disabled, as wanted
    d.unchanged(&["docker.plugin", &p, "enabled=false"]);
    // enabled (the default)
    d.twice(&["docker.plugin", &p]);
    assert_eq!(enabled(), "true");
    // new options: disabled, set, enabled again
    d.twice(&[
        "docker.plugin",
        &p,
        "plugin_options={\"DEBUG\": \"1\", \"LEVEL\": \"low\"}",
    ]);
    assert_eq!(env(), r#"["DEBUG=1","LEVEL=low"]"#);
    assert_eq!(enabled(), "true");

    // the facts about it
    let one = d.fact("docker.DockerPlugin", &[&format!("object_id={name}")]);
    assert_eq!(one[0]["Name"], format!("{name}:latest").as_str());
    assert_eq!(one[0]["Enabled"], true);
    let all = d.fact_of_all("docker.DockerPlugins");
    assert!(all
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["Id"] == one[0]["Id"]));

    // disabled; options of a disabled plugin are set without enabling it
    d.twice(&["docker.plugin", &p, "enabled=false"]);
    assert_eq!(enabled(), "false");
    d.twice(&[
        "docker.plugin",
        &p,
        "enabled=false",
        "plugin_options={\"LEVEL\": \"high\"}",
    ]);
    assert_eq!(env(), r#"["DEBUG=1","LEVEL=high"]"#);
    assert_eq!(enabled(), "false");

    d.twice(&["docker.plugin", &p, "present=false"]);
    assert!(!d.exists("plugin", &name));
    assert_eq!(
        d.fact("docker.DockerPlugin", &[&format!("object_id={name}")]),
        json!([]),
        "docker prints `[]` for a missing object"
    );
}

// ---------------------------------------------------------------------------------------------
// docker.compose

#[test]
fn compose_up_again_and_down() {
    let d = Dockerd::new("compose");
    let found = Command::new("docker-compose").arg("version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "docker-compose is missing: install Debian's docker-compose (.ci/run does)"
    );
    // only images that are here: Compose v1 would pull a missing one
    let image = d.own_image("img:1");
    assert!(d.exists("image", &image));
    let project = d.prefix.clone();
    let container = format!("{project}_app_1");
    let volume = format!("{project}_data");
    d.at_end(&["container", "rm", "-f", &container]);
    d.at_end(&["volume", "rm", "-f", &volume]);
    let dir = TestDir::new();
    let file = dir.write(
        "compose.e2e.yml",
        &format!(
            "version: \"2.4\"\nservices:\n  app:\n    image: {image}\n    \
             command: [\"sleep\", \"infinity\"]\n    network_mode: none\n    init: true\n    \
             labels:\n      rinfra.e2e: compose\n    volumes:\n      - data:/data\n\
             volumes:\n  data: {{}}\n"
        ),
    );
    let project_directory = format!("project_directory={}", dir.path().display());
    let files = format!("files=[\"{}\"]", file.display());
    let project_name = format!("project_name={project}");
    let up = [
        "docker.compose",
        &project_directory,
        &files,
        &project_name,
        "compose_command=docker-compose",
    ];
    d.changes(&up);
    let info = d.inspect("container", &container);
    assert_eq!(info["State"]["Status"], "running");
    assert_eq!(info["Config"]["Labels"]["rinfra.e2e"], "compose");
    assert_eq!(info["HostConfig"]["NetworkMode"], "none");
    assert!(d.exists("volume", &volume));
    // not idempotent (as in pyinfra): compose runs again, and leaves the container as it is
    d.changes(&up);
    assert_eq!(d.inspect("container", &container)["Id"], info["Id"]);
    // `force_recreate` makes a new one
    let mut recreate = up.to_vec();
    recreate.push("force_recreate=true");
    d.changes(&recreate);
    let recreated = d.inspect("container", &container);
    assert_ne!(recreated["Id"], info["Id"]);
    assert_eq!(recreated["State"]["Status"], "running");

    let mut down = up.to_vec();
    down.extend(["present=false", "remove_volumes=true"]);
    d.changes(&down);
    assert!(!d.exists("container", &container));
    assert!(!d.exists("volume", &volume));
}

// ---------------------------------------------------------------------------------------------
// docker.login, docker.logout

/// A registry stub on 127.0.0.1 (a free port): `GET /v2/` answers 200, the only check the
/// engine makes when logging in. Killed on drop.
struct Registry {
    child: Child,
    addr: String,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn registry_stub() -> Registry {
    const STUB: &str = r#"
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        self.end_headers()
        self.wfile.write(b"{}")
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), H)
print(server.server_port, flush=True)
server.serve_forever()
"#;
    let mut child = Command::new("python3")
        .args(["-c", STUB])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("cannot run python3");
    let mut port = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let port = port.trim().to_string();
    assert!(!port.is_empty(), "the registry stub did not start");
    Registry {
        child,
        addr: format!("127.0.0.1:{port}"),
    }
}

#[test]
fn login_and_logout_of_a_local_registry() {
    let d = Dockerd::new("login");
    let registry = registry_stub();
    let server = format!("server={}", registry.addr);
    let secret = "e2e-S3cret-$(not run)";
    // from a deploy file, as a password is given (on the command line, an ad-hoc operation's
    // arguments are shown in its name, as the operator typed them)
    let deploy = TestDir::new();
    deploy.write(
        "login.py",
        &format!(
            "from pyinfra.operations import docker\n\
             docker.login(name=\"Log in\", username=\"e2e\", password={secret:?}, server={:?})\n",
            registry.addr
        ),
    );
    let login_file = deploy.join("login.py");
    let login = [login_file.to_str().unwrap(), "-vv"];
    let first = d.changes(&login);
    let second = d.unchanged(&login);
    assert!(first.stderr.contains("*MASKED*"), "{first:?}");
    for run in [&first, &second] {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "the password is shown: {run:?}"
        );
    }
    let config: Value = serde_json::from_str(
        &std::fs::read_to_string(d.config.path().join("config.json")).unwrap(),
    )
    .unwrap();
    assert!(
        config["auths"][&registry.addr].is_object(),
        "no credentials stored: {config}"
    );
    assert_eq!(d.fact("docker.DockerAuths", &[]), json!([registry.addr]));
    // `force` logs in again
    let password = format!("password={secret}");
    d.changes(&[
        "docker.login",
        "username=e2e",
        &password,
        &server,
        "force=true",
    ]);
    d.twice(&["docker.logout", &server]);
    assert_eq!(d.fact("docker.DockerAuths", &[]), json!([]));
    // Docker Hub: never logged in here
    d.unchanged(&["docker.logout"]);
}

// ---------------------------------------------------------------------------------------------
// facts

#[test]
fn facts_about_a_running_container() {
    let d = Dockerd::new("facts");
    let volume = d.name("vol");
    d.at_end(&["volume", "rm", "-f", &volume]);
    let name = d.name("box");
    d.at_end(&["container", "rm", "-f", &name]);
    let mount = format!("{volume}:/data");
    d.check(&[
        "container",
        "run",
        "-d",
        "--pull=never",
        "--network=none",
        "--init",
        "--label",
        "rinfra.e2e=facts",
        "-e",
        "E2E=facts=1",
        "-v",
        &mount,
        "--name",
        &name,
        &d.image,
        "sleep",
        "infinity",
    ]);
    d.check(&["exec", &name, "touch", "/e2e-added"]);
    let info = d.inspect("container", &name);
    let id = info["Id"].as_str().unwrap();

    let one = d.fact("docker.DockerContainer", &[&format!("object_id={name}")]);
    assert_eq!(one[0]["Id"], id);
    assert_eq!(one[0]["Config"], info["Config"]);
    let all = d.fact_of_all("docker.DockerContainers");
    let mine = all
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["Id"] == id)
        .expect("the container is listed");
    assert_eq!(mine["Name"], format!("/{name}").as_str());
    assert_eq!(
        d.fact(
            "docker.DockerContainer",
            &["object_id=rinfra-e2e-docker-none"]
        ),
        json!([]),
        "docker prints `[]` for a missing object"
    );

    let envs = d.fact_of_all("docker.DockerContainerEnvs");
    assert_eq!(envs[id]["E2E"], "facts=1", "split at the first `=`");
    let wanted: serde_json::Map<String, Value> = info["Config"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let (k, v) = e.as_str().unwrap().split_once('=').unwrap();
            (k.to_string(), json!(v))
        })
        .collect();
    assert_eq!(envs[id], Value::Object(wanted));
    let labels = d.fact_of_all("docker.DockerContainerLabels");
    assert_eq!(labels[id], info["Config"]["Labels"]);
    assert_eq!(labels[id]["rinfra.e2e"], "facts");
    let mounts = d.fact_of_all("docker.DockerContainerMounts");
    assert_eq!(mounts[id], info["Mounts"]);
    assert_eq!(mounts[id][0]["Name"], volume.as_str());

    let changes = d.fact(
        "docker.DockerContainerFsChanges",
        &[&format!("container_id={name}")],
    );
    assert!(
        changes
            .as_array()
            .unwrap()
            .contains(&json!({"change": "A", "path": "/e2e-added"})),
        "{changes}"
    );
    let processes = d.fact(
        "docker.DockerContainerProcesses",
        &[&format!("container_id={name}")],
    );
    let commands: Vec<&str> = processes
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["CMD"].as_str().unwrap())
        .collect();
    assert!(commands.contains(&"sleep infinity"), "{processes}");
    let stats = d.fact("docker.DockerContainerStats", &[]);
    assert!(
        stats
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["Name"] == name.as_str() && s["ID"] == id[..12]),
        "{stats}"
    );
}

#[test]
fn facts_about_images_and_the_engine() {
    let d = Dockerd::new("facts-image");
    let image = d.name("img:1");
    d.at_end(&["image", "rm", "-f", &image]);
    let ctx = TestDir::new();
    ctx.write(
        "Dockerfile",
        &format!("FROM {}\nLABEL rinfra.e2e=image\nENV E2E=1\n", d.image),
    );
    let built = d
        .docker_cmd(&["build", "-q", "-t", &image, &ctx.path().to_string_lossy()])
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .unwrap();
    assert!(built.status.success(), "{built:?}");
    let info = d.inspect("image", &image);
    let id = info["Id"].as_str().unwrap();

    let one = d.fact("docker.DockerImage", &[&format!("object_id={image}")]);
    assert_eq!(one[0]["Id"], id);
    assert_eq!(one[0]["RepoTags"], info["RepoTags"]);
    let all = d.fact_of_all("docker.DockerImages");
    assert!(all.as_array().unwrap().iter().any(|i| i["Id"] == id));
    let labels = d.fact_of_all("docker.DockerImageLabels");
    assert_eq!(labels[id], info["Config"]["Labels"]);
    assert_eq!(labels[id]["rinfra.e2e"], "image");
    let layers = d.fact_of_all("docker.DockerImageLayers");
    assert_eq!(layers[id], info["RootFS"]["Layers"]);
    let history = d.fact("docker.DockerImageHistory", &[&format!("image_id={image}")]);
    let ids = d.check(&["image", "history", "-q", "--no-trunc", &image]);
    assert_eq!(history.as_array().unwrap().len(), ids.lines().count());
    assert!(history[0]["CreatedBy"]
        .as_str()
        .unwrap()
        .contains("ENV E2E=1"));

    let system = d.fact("docker.DockerSystemInfo", &[]);
    assert_eq!(
        system["ID"],
        d.check(&["system", "info", "-f", "{{.ID}}"]).as_str()
    );
    assert_eq!(
        system["ServerVersion"],
        d.check(&["version", "-f", "{{.Server.Version}}"]).as_str()
    );
    let version = d.fact("docker.DockerVersion", &[]);
    assert_eq!(version, d.check(&["--version"]).as_str());
}
