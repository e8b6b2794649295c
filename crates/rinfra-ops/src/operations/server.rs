//! `server.*` operations for commands, scripts, reboots and system settings.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{ArgOverrides, Callback, ExecHost, OpArgs, OpCommand, OpHost, OperationError};
use serde_json::{json, Value};

use super::args::Mode;
use super::files::chmod;
use super::files_put::{put_source, Source};
use super::{define_op, fact, q, Args, Out};
use crate::python::{python_str, truthy};

define_op! {
    /// Run shell commands (always: not idempotent).
    ///
    /// Deploy example: `server.shell(commands=["echo hello", "uptime"])`
    Shell = "server.shell";
    params: [required "commands"];
    idempotent: false;
    generate: shell;
}

async fn shell(a: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    for command in a.list("commands")? {
        out.shell(command);
    }
    Ok(())
}

/// Upload `src` to a temp file, make it executable, run it with `args`.
async fn run_uploaded(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
    temp: &str,
    src: Source,
) -> Result<(), OperationError> {
    let mut put_args = OpArgs::new();
    put_args.insert("dest".into(), json!(temp));
    put_source(&Args::new(a.op, &put_args), host, out, src).await?;
    out.shell(chmod(temp, &Mode::Symbolic("+x".into()), false));
    let mut bits = vec![Bit::from(temp)];
    bits.extend(a.list("args")?.into_iter().map(Bit::from));
    out.shell(StringCommand::new(bits));
    Ok(())
}

define_op! {
    /// Upload a local script and run it.
    ///
    /// Deploy example: `server.script(src="scripts/setup.sh", args=["--fast"])`
    Script = "server.script";
    params: [required "src", optional "args"];
    idempotent: false;
    generate: script;
}

async fn script(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let src = Source::from_arg(a, host, "src")?;
    let temp = crate::pinned::temp_filename(
        &host.temp_dir(),
        &format!("{:?}", std::time::SystemTime::now()),
    );
    run_uploaded(a, host, out, &temp, src).await
}

define_op! {
    /// Render a script template (extra keyword arguments are its data), upload and run it.
    ///
    /// Deploy example: `server.script_template(src="scripts/setup.sh.j2", version="1.2")`
    ScriptTemplate = "server.script_template";
    params: [required "src", optional "args"];
    idempotent: false;
    extra_kwargs: true;
    generate: script_template;
}

async fn script_template(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    let data = super::template::template_data(a.raw(), host, &["src", "args"]);
    let rendered = super::template::render_src(a, host, &data)?;
    let key = format!(
        "{}{}",
        a.opt_str("src").unwrap_or_default(),
        crate::python::python_repr(&Value::Object(data))
    );
    let temp = crate::pinned::temp_filename(&host.temp_dir(), &key);
    run_uploaded(a, host, out, &temp, Source::Content(rendered.into_bytes())).await
}

/// One step of `server.reboot`, named as pyinfra's function commands are.
struct RebootStep {
    name: &'static str,
    state: Arc<Mutex<Option<i64>>>,
    delay: u64,
    interval: u64,
    timeout: u64,
}

async fn uptime(host: &dyn ExecHost) -> Result<i64, String> {
    let cmd = StringCommand::from("cut -d. -f1 /proc/uptime 2>/dev/null || echo $(( $(date +%s) - $(sysctl -n kern.boottime | awk '{print $4}' | tr -d ',') ))");
    let (ok, output) = host
        .run_shell_command(&cmd, &ArgOverrides::new())
        .await
        .map_err(|e| e.to_string())?;
    if !ok {
        return Err(format!("could not read uptime: {}", output.stderr()));
    }
    output
        .stdout()
        .trim()
        .parse()
        .map_err(|_| format!("unexpected uptime `{}`", output.stdout()))
}

#[async_trait]
impl Callback for RebootStep {
    fn describe(&self) -> String {
        self.name.to_string()
    }

    async fn call(&self, host: &dyn ExecHost) -> Result<(), String> {
        match self.name {
            "capture_uptime" => {
                let up = uptime(host).await?;
                *self.state.lock().map_err(|e| e.to_string())? = Some(up);
                Ok(())
            }
            "wait_and_reconnect" => {
                tokio::time::sleep(Duration::from_secs(self.delay)).await;
                let before = self
                    .state
                    .lock()
                    .map_err(|e| e.to_string())?
                    .unwrap_or(i64::MAX);
                let deadline = Instant::now() + Duration::from_secs(self.timeout);
                loop {
                    if host.reconnect().await.is_ok() {
                        // the host answers: it rebooted if its uptime went back
                        if let Ok(up) = uptime(host).await {
                            if up < before + self.delay as i64 {
                                return Ok(());
                            }
                        }
                    }
                    if Instant::now() >= deadline {
                        return Err(format!(
                            "Server did not reboot in time (reboot_timeout={}s)",
                            self.timeout
                        ));
                    }
                    tokio::time::sleep(Duration::from_secs(self.interval.max(1))).await;
                }
            }
            // askpass files and sudo state live in the connector, which drops them on reconnect
            _ => Ok(()),
        }
    }
}

define_op! {
    /// Reboot the host and wait until it is back (uptime reset), up to `reboot_timeout` seconds.
    ///
    /// Deploy example: `server.reboot(delay=10, reboot_timeout=600)`
    Reboot = "server.reboot";
    params: [optional "delay", optional "interval", optional "reboot_timeout"];
    idempotent: false;
    generate: reboot;
}

async fn reboot(a: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let state = Arc::new(Mutex::new(None));
    let step = |name: &'static str| -> Result<OpCommand, OperationError> {
        Ok(OpCommand::Callback(Arc::new(RebootStep {
            name,
            state: state.clone(),
            delay: a.int_or("delay", 10)?.max(0) as u64,
            interval: a.int_or("interval", 1)?.max(0) as u64,
            timeout: a.int_or("reboot_timeout", 300)?.max(0) as u64,
        })))
    };
    out.push(step("remove_any_askpass_file")?);
    out.push(step("capture_uptime")?);
    // detached so the channel closes before the machine goes down
    out.shell("( sleep 1 && reboot ) </dev/null >/dev/null 2>&1 &");
    out.push(step("wait_and_reconnect")?);
    out.push(step("clean_sudo_info")?);
    Ok(())
}

define_op! {
    /// Wait until a TCP port is listening on the host (uses netstat).
    ///
    /// Deploy example: `server.wait(port=80)`
    Wait = "server.wait";
    params: [required "port"];
    idempotent: false;
    generate: wait;
}

async fn wait(a: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let port = a.int_or("port", 0)?;
    out.shell(format!(
        "while ! (netstat -an | grep LISTEN | grep -e \"\\.{port}\" -e \":{port}\"); do\n            echo \"waiting for port {port}...\"\n            sleep 1\n        done"
    ));
    Ok(())
}

define_op! {
    /// Set the hostname (hostnamectl, else `hostname` plus the hostname file).
    ///
    /// Deploy example: `server.hostname(hostname="web1")`
    Hostname = "server.hostname";
    params: [required "hostname", optional "hostname_file"];
    generate: hostname;
}

async fn hostname(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let name = a.str("hostname")?;
    let current = fact(host, "server.Hostname", &[]).await?;
    let same = current.as_str() == Some(name.as_str());
    if truthy(&fact(host, "server.Which", &[("command", json!("hostnamectl"))]).await?) {
        if same {
            out.noop("hostname is set");
        } else {
            out.shell(StringCommand::new([
                Bit::from("hostnamectl"),
                Bit::from("set-hostname"),
                q(&name),
            ]));
        }
        return Ok(());
    }
    let mut file = a.nonempty("hostname_file");
    if file.is_none() {
        file = match fact(host, "server.Os", &[]).await?.as_str() {
            Some("Linux") => Some("/etc/hostname".into()),
            Some("OpenBSD") => Some("/etc/myname".into()),
            _ => None,
        };
    }
    if same {
        out.noop("hostname is set");
    } else {
        out.shell(StringCommand::new([Bit::from("hostname"), q(&name)]));
    }
    if let Some(file) = file {
        let mut put_args = OpArgs::new();
        put_args.insert("dest".into(), json!(file));
        put_source(
            &Args::new(a.op, &put_args),
            host,
            out,
            Source::Content(format!("{name}\n").into_bytes()),
        )
        .await?;
    }
    Ok(())
}

define_op! {
    /// Set a sysctl value, optionally persisting it in a sysctl file.
    ///
    /// Deploy example: `server.sysctl(key="vm.swappiness", value=10, persist=True)`
    Sysctl = "server.sysctl";
    params: [required "key", required "value", optional "persist", optional "persist_file"];
    generate: sysctl;
}

async fn sysctl(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let key = a.str("key")?;
    let raw = a.get("value").cloned().unwrap_or(Value::Null);
    let (string_value, value) = match &raw {
        Value::Array(items) => {
            let s: Vec<String> = items.iter().map(python_str).collect();
            let mut v: Vec<Value> = s.iter().map(|x| crate::facts::parse::try_int(x)).collect();
            (
                s.join(" "),
                if v.len() == 1 {
                    v.remove(0)
                } else {
                    Value::Array(v)
                },
            )
        }
        Value::String(s) if s.split_whitespace().count() > 1 => (
            s.clone(),
            Value::Array(
                s.split_whitespace()
                    .map(crate::facts::parse::try_int)
                    .collect(),
            ),
        ),
        other => {
            let s = python_str(other);
            (
                s.clone(),
                if other.is_string() {
                    crate::facts::parse::try_int(&s)
                } else {
                    other.clone()
                },
            )
        }
    };
    let existing = fact(host, "server.Sysctl", &[("keys", json!([key]))]).await?;
    let current = existing.get(&key).cloned().unwrap_or(Value::Null);
    if current != value {
        out.shell(StringCommand::new([
            Bit::from("sysctl"),
            StringCommand::with_separator([q(&key), Bit::from("="), q(&string_value)], "").into(),
        ]));
    } else {
        out.noop(format!("sysctl {key} is set to {string_value}"));
    }
    if a.bool_or("persist", false) {
        let mut line_args = OpArgs::new();
        line_args.insert(
            "path".into(),
            json!(a
                .opt_str("persist_file")
                .unwrap_or_else(|| "/etc/sysctl.conf".into())),
        );
        line_args.insert(
            "line".into(),
            json!(format!("{key}[[:space:]]*=[[:space:]]*{string_value}")),
        );
        line_args.insert("replace".into(), json!(format!("{key} = {string_value}")));
        super::files_text::line(&Args::new("files.line", &line_args), host, out).await?;
    }
    Ok(())
}

define_op! {
    /// Mount or unmount a filesystem, remounting to add missing options.
    ///
    /// Deploy example: `server.mount(path="/data", device="/dev/sdb1", fs_type="ext4")`
    Mount = "server.mount";
    params: [required "path", optional "mounted", optional "options", optional "device",
             optional "fs_type"];
    generate: mount;
}

async fn mount(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let path = a.str("path")?;
    let mounted = a.bool_or("mounted", true);
    let options = a.list("options")?;
    let options_string = options.join(",");
    let device = a.nonempty("device");
    let mounts = fact(host, "server.Mounts", &[]).await?;
    let mut mounted_path = path.clone();
    let mut is_mounted = mounts.get(&path).is_some();
    if !is_mounted {
        if let Some(dev) = &device {
            for (mp, info) in mounts.as_object().into_iter().flatten() {
                if info.get("device").and_then(Value::as_str) == Some(dev) {
                    is_mounted = true;
                    mounted_path = mp.clone();
                    break;
                }
            }
        }
    }
    if mounted && !is_mounted {
        let mut bits = vec![Bit::from("mount")];
        if let Some(t) = a.nonempty("fs_type") {
            bits.extend([Bit::from("-t"), q(t)]);
        }
        if !options_string.is_empty() {
            bits.extend([Bit::from("-o"), q(&options_string)]);
        }
        if let Some(d) = &device {
            bits.push(q(d));
        }
        bits.push(q(&path));
        out.shell(StringCommand::new(bits));
    } else if !mounted && is_mounted {
        out.shell(StringCommand::new([Bit::from("umount"), q(&mounted_path)]));
    } else if is_mounted && mounted && !options.is_empty() {
        let info = &mounts[&mounted_path];
        let have: Vec<String> = info["options"]
            .as_array()
            .into_iter()
            .flatten()
            .map(python_str)
            .collect();
        if options.iter().any(|o| !have.contains(o)) {
            let kernel = fact(host, "server.Kernel", &[]).await?;
            if python_str(&kernel).contains("BSD") {
                out.shell(StringCommand::new([
                    Bit::from("mount"),
                    Bit::from("-uo"),
                    q(&options_string),
                    Bit::from("-t"),
                    q(python_str(&info["type"])),
                    q(python_str(&info["device"])),
                    q(&mounted_path),
                ]));
            } else {
                out.shell(StringCommand::new([
                    Bit::from("mount"),
                    Bit::from("-o"),
                    StringCommand::with_separator([Bit::from("remount,"), q(&options_string)], "")
                        .into(),
                    q(&mounted_path),
                ]));
            }
        }
    } else {
        out.noop(format!(
            "filesystem {path} is {}",
            if mounted { "mounted" } else { "not mounted" }
        ));
    }
    Ok(())
}

define_op! {
    /// Load or unload kernel modules.
    ///
    /// Deploy example: `server.modprobe(module="br_netfilter")`
    Modprobe = "server.modprobe";
    params: [required "module", optional "present", optional "force"];
    generate: modprobe;
}

async fn modprobe(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let modules = a.list("module")?;
    let present = a.bool_or("present", true);
    let loaded = fact(host, "server.KernelModules", &[]).await?;
    let (have, missing): (Vec<&String>, Vec<&String>) = modules
        .iter()
        .partition(|m| loaded.get(m.as_str()).is_some());
    let force: &[&str] = if a.bool_or("force", false) {
        &["-f"]
    } else {
        &[]
    };
    let build = |extra: &[&str], mods: &[&String]| {
        let mut bits = vec![Bit::from("modprobe")];
        bits.extend(force.iter().map(|f| Bit::from(*f)));
        bits.extend(extra.iter().map(|f| Bit::from(*f)));
        bits.extend(mods.iter().map(|m| q(m.as_str())));
        StringCommand::new(bits)
    };
    if !present && !have.is_empty() {
        out.shell(build(&["-r", "-a"], &have));
    } else if present && !missing.is_empty() {
        out.shell(build(&["-a"], &missing));
    } else {
        let many = modules.len() > 1;
        out.noop(format!(
            "{} {} {} {}",
            if many { "modules" } else { "module" },
            modules.join("/"),
            if many { "are" } else { "is" },
            if present { "loaded" } else { "not loaded" }
        ));
    }
    Ok(())
}

define_op! {
    /// Enable or disable a locale in `/etc/locale.gen` and run `locale-gen`.
    ///
    /// Deploy example: `server.locale(locale="fr_FR.UTF-8")`
    Locale = "server.locale";
    params: [required "locale", optional "present"];
    generate: locale;
}

async fn locale(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let locale = a.str("locale")?;
    let present = a.bool_or("present", true);
    let locales = fact(host, "server.Locales", &[]).await?;
    let file = "/etc/locale.gen";
    let matches = fact(
        host,
        "files.FindInFile",
        &[
            ("path", json!(file)),
            ("pattern", json!(format!("^.*{locale}[[:space:]]\\+.*$"))),
        ],
    )
    .await?;
    let lines: Vec<String> = matches
        .as_array()
        .into_iter()
        .flatten()
        .map(python_str)
        .collect();
    if lines.is_empty() {
        return Err(OperationError::Other(format!(
            "Locale {locale} not found in {file}"
        )));
    }
    if lines.len() > 1 {
        return Err(OperationError::Other(format!(
            "Multiple locales matches for {locale} in {file}"
        )));
    }
    let line = &lines[0];
    let enabled = locales
        .as_array()
        .is_some_and(|l| l.iter().any(|x| x.as_str() == Some(locale.as_str())));
    let mut args = OpArgs::new();
    args.insert("path".into(), json!(file));
    if !present && enabled {
        args.insert("line".into(), json!(format!("^{line}$")));
        args.insert("replace".into(), json!(format!("# {line}")));
        super::files_text::line(&Args::new("files.line", &args), host, out).await?;
        out.shell("locale-gen");
    }
    if present && !enabled {
        args.insert("text".into(), json!(format!("^{line}$")));
        args.insert("replace".into(), json!(line.replace("# ", "")));
        super::files_text::replace_inner(&Args::new("files.replace", &args), host, out).await?;
        out.shell("locale-gen");
    }
    Ok(())
}

define_op! {
    /// Set the system timezone (timedatectl, else the `/etc/localtime` link).
    ///
    /// Deploy example: `server.timezone(timezone="Europe/Paris")`
    Timezone = "server.timezone";
    params: [required "timezone"];
    generate: timezone;
}

async fn timezone(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let tz = a.str("timezone")?;
    if fact(host, "server.Timezone", &[]).await?.as_str() == Some(tz.as_str()) {
        out.noop("timezone is set");
        return Ok(());
    }
    if truthy(&fact(host, "server.Which", &[("command", json!("timedatectl"))]).await?) {
        out.shell(StringCommand::new([
            Bit::from("timedatectl set-timezone"),
            q(&tz),
        ]));
    } else {
        out.shell(StringCommand::new([
            Bit::from("ln -sf"),
            q(format!("/usr/share/zoneinfo/{tz}")),
            Bit::from("/etc/localtime"),
        ]));
        out.shell(StringCommand::new([
            Bit::from("echo"),
            q(&tz),
            Bit::from("> /etc/timezone"),
        ]));
    }
    Ok(())
}
