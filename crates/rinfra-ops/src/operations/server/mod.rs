//! `server.*` operations for commands, scripts, reboots and system settings. Submodules:
//! [`users`] (`server.user`, `server.group`, `server.user_authorized_keys`) and [`services`]
//! (`server.service`, `server.packages`, which dispatch to the host's init system and
//! package manager).

pub(crate) mod services;
pub(crate) mod users;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{ArgOverrides, Callback, ExecHost, OpArgs, OpCommand, OpHost, OperationError};
use serde_json::{json, Value};

use super::args::Mode;
use super::files::chmod;
use super::files::put::{put_source, Source};
use super::{define_op, fact, q, Args, Out};
use crate::python::{python_str, truthy};

define_op! {
    /// Run shell commands (always: not idempotent).
    ///
    /// Deploy example: `server.shell(commands=["echo hello", "uptime"])`
    Shell = "server.shell";
    params: [required "commands" = "the command or list of commands"];
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
    params: [required "src" = "the local script file",
             optional "args" = "arguments for the script"];
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
    params: [required "src" = "the local Jinja2 template of the script",
             optional "args" = "arguments for the script"];
    idempotent: false;
    extra_kwargs: true;
    generate: script_template;
}

async fn script_template(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    let data = super::files::template::template_data(a.raw(), host, &["src", "args"]);
    let rendered = super::files::template::render_src(a, host, &data)?;
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
    params: [optional "delay" = "seconds to wait before reconnecting (default 10)",
             optional "interval" = "seconds between reconnection attempts (default 1)",
             optional "reboot_timeout" = "give up after this many seconds (default 300)"];
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
    params: [required "port" = "the port to wait for something to listen on"];
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
    params: [required "hostname" = "the host name to set",
             optional "hostname_file" = "the file that keeps it across reboots (default by OS)"];
    generate: hostname;
}

async fn hostname(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let name = a.str("hostname")?;
    let current = fact(host, &crate::facts::server::Hostname, &[]).await?;
    let same = current.as_str() == Some(name.as_str());
    if truthy(
        &fact(
            host,
            &crate::facts::server::Which,
            &[("command", json!("hostnamectl"))],
        )
        .await?,
    ) {
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
        file = match fact(host, &crate::facts::server::Os, &[]).await?.as_str() {
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
    params: [required "key" = "the sysctl key (`vm.swappiness`)",
             required "value" = "its value (a list for multi-value keys)",
             optional "persist" = "also write it to the sysctl file",
             optional "persist_file" = "that file (default `/etc/sysctl.conf`)"];
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
    let existing = fact(
        host,
        &crate::facts::server::Sysctl,
        &[("keys", json!([key]))],
    )
    .await?;
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
        super::files::text::line(&Args::new("files.line", &line_args), host, out).await?;
    }
    Ok(())
}

define_op! {
    /// Mount or unmount a filesystem, remounting to add missing options.
    ///
    /// Deploy example: `server.mount(path="/data", device="/dev/sdb1", fs_type="ext4")`
    Mount = "server.mount";
    params: [required "path" = "the mount point",
             optional "mounted" = "whether it should be mounted (default True)",
             optional "options" = "mount options (a list)",
             optional "device" = "the device to mount",
             optional "fs_type" = "the filesystem type"];
    generate: mount;
}

async fn mount(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let path = a.str("path")?;
    let mounted = a.bool_or("mounted", true);
    let options = a.list("options")?;
    let options_string = options.join(",");
    let device = a.nonempty("device");
    let mounts = fact(host, &crate::facts::server::Mounts, &[]).await?;
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
            let kernel = fact(host, &crate::facts::server::Kernel, &[]).await?;
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
    params: [required "module" = "the kernel module",
             optional "present" = "whether it should be loaded (default True)",
             optional "force" = "load or unload with `--force`"];
    generate: modprobe;
}

async fn modprobe(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let modules = a.list("module")?;
    let present = a.bool_or("present", true);
    let loaded = fact(host, &crate::facts::server::KernelModules, &[]).await?;
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
    params: [required "locale" = "the locale (`en_GB.UTF-8`)",
             optional "present" = "whether it should be generated (default True)"];
    generate: locale;
}

async fn locale(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let locale = a.str("locale")?;
    let present = a.bool_or("present", true);
    let locales = fact(host, &crate::facts::server::Locales, &[]).await?;
    let file = "/etc/locale.gen";
    let matches = fact(
        host,
        &crate::facts::files::FindInFile,
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
        super::files::text::line(&Args::new("files.line", &args), host, out).await?;
        out.shell("locale-gen");
    }
    if present && !enabled {
        args.insert("text".into(), json!(format!("^{line}$")));
        args.insert("replace".into(), json!(line.replace("# ", "")));
        super::files::text::replace_inner(&Args::new("files.replace", &args), host, out).await?;
        out.shell("locale-gen");
    }
    Ok(())
}

define_op! {
    /// Set the system timezone (timedatectl, else the `/etc/localtime` link).
    ///
    /// Deploy example: `server.timezone(timezone="Europe/Paris")`
    Timezone = "server.timezone";
    params: [required "timezone" = "the zone (`Europe/London`)"];
    generate: timezone;
}

async fn timezone(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let tz = a.str("timezone")?;
    if fact(host, &crate::facts::server::Timezone, &[])
        .await?
        .as_str()
        == Some(tz.as_str())
    {
        out.noop("timezone is set");
        return Ok(());
    }
    if truthy(
        &fact(
            host,
            &crate::facts::server::Which,
            &[("command", json!("timedatectl"))],
        )
        .await?,
    ) {
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

/// Signal names `kill` takes (without `SIG`), as POSIX and Linux/BSD `kill -l` list them.
const SIGNALS: &[&str] = &[
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "IOT", "BUS", "EMT", "FPE", "KILL", "USR1",
    "SEGV", "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CLD", "CONT", "STOP", "TSTP",
    "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "POLL", "PWR", "INFO",
    "LOST", "SYS", "UNUSED", "THR", "LIBRT",
];

/// Whether `kill -<signal>` names a signal: a known name (`TERM`, `SIGTERM`, any case), a
/// number 0-64 or `RTMIN+n`/`RTMAX-n`.
fn valid_signal(signal: &str) -> bool {
    let upper = signal.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if SIGNALS.contains(&name) {
        return true;
    }
    if let Ok(n) = signal.parse::<u8>() {
        return n <= 64;
    }
    let realtime = |base: &str, sign: char| {
        name.strip_prefix(base).is_some_and(|rest| {
            rest.is_empty()
                || rest
                    .strip_prefix(sign)
                    .is_some_and(|n| n.parse::<u8>().is_ok_and(|n| n <= 32))
        })
    };
    realtime("RTMIN", '+') || realtime("RTMAX", '-')
}

define_op! {
    /// Send a signal to a process (always runs: not idempotent).
    ///
    /// Deploy example: `server.kill(pid=1234, signal="KILL")`
    Kill = "server.kill";
    params: [required "pid" = "the process ID",
             optional "signal" = "the signal's name or number (default `TERM`)"];
    idempotent: false;
    generate: kill;
}

async fn kill(a: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let pid = a.int_or("pid", -1)?;
    if a.get("pid").is_none() || pid <= 0 {
        return Err(a.invalid("pid", "must be a positive process ID"));
    }
    let signal = a.opt_str("signal").unwrap_or_else(|| "TERM".into());
    if !valid_signal(&signal) {
        return Err(a.invalid(
            "signal",
            format!(
                "unknown signal `{signal}`: give a name such as TERM, KILL or HUP, or a number"
            ),
        ));
    }
    out.shell(StringCommand::new([
        Bit::from("kill"),
        q(format!("-{signal}")),
        q(pid.to_string()),
    ]));
    Ok(())
}

define_op! {
    /// Set one limit in `/etc/security/limits.conf` (the line for the same domain, type and
    /// item is replaced).
    ///
    /// Deploy example: `server.security_limit(domain="*", limit_type="soft", item="nofile", value=1024)`
    SecurityLimit = "server.security_limit";
    params: [required "domain" = "a user, `@group` or `*`",
             required "limit_type" = "`hard`, `soft` or `-` (both)",
             required "item" = "what is limited (`nofile`, `nproc`, `core`...)",
             required "value" = "the limit (a number or `unlimited`)"];
    generate: security_limit;
}

async fn security_limit(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    let domain = a.str("domain")?;
    let limit_type = a.str("limit_type")?;
    let item = a.str("item")?;
    let value = a.str("value")?;
    for (name, v) in [
        ("domain", &domain),
        ("limit_type", &limit_type),
        ("item", &item),
        ("value", &value),
    ] {
        if v.is_empty() || v.chars().any(char::is_whitespace) {
            return Err(a.invalid(name, format!("must be one word, got {v:?}")));
        }
    }
    // pyinfra matches `[[:space:]]+` as a basic regular expression, where `+` is a literal:
    // an existing line never matched, so a new value was appended next to the old one. Here
    // it is an extended one, with the words' own regex characters (`*`) escaped.
    let esc = |w: &str| -> String {
        w.chars()
            .flat_map(|c| {
                let special = r"\.[]()*+?{}^$|".contains(c);
                special.then_some('\\').into_iter().chain([c])
            })
            .collect()
    };
    super::call!(
        super::files::text::line,
        "files.line",
        &[
            ("path", json!("/etc/security/limits.conf")),
            (
                "line",
                json!(format!(
                    "^{}[[:space:]]+{}[[:space:]]+{}",
                    esc(&domain),
                    esc(&limit_type),
                    esc(&item)
                ))
            ),
            ("extended_regex", json!(true)),
            (
                "replace",
                json!(format!("{domain}\t{limit_type}\t{item}\t{value}"))
            ),
        ],
        host,
        out
    )
    .await
}

define_op! {
    /// Add, change or remove the `/etc/hosts` line of an IP address. With `present=False` and
    /// `hostnames`, only those names are dropped (and the line when none remain). Comments on
    /// an edited line are not kept.
    ///
    /// Deploy example: `server.etc_hosts(ip="192.168.1.10", hostnames=["db.internal", "db"])`
    EtcHosts = "server.etc_hosts";
    params: [required "ip" = "the address the line is for",
             optional "hostnames" = "a name, space-separated names or a list of names",
             optional "present" = "whether the line should exist (default True)",
             optional "path" = "the hosts file (default `/etc/hosts`)"];
    touches: "path";
    generate: etc_hosts;
}

async fn etc_hosts(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let ip = a.str("ip")?;
    if ip.is_empty() || ip.contains(char::is_whitespace) || ip.contains('#') {
        return Err(a.invalid("ip", format!("not an address: {ip:?}")));
    }
    let names: Vec<String> = match a.get("hostnames") {
        None => Vec::new(),
        Some(Value::String(s)) => s.split_whitespace().map(String::from).collect(),
        Some(_) => a.list("hostnames")?,
    };
    let present = a.bool_or("present", true);
    let path = a.opt_str("path").unwrap_or_else(|| "/etc/hosts".into());
    if present && names.is_empty() {
        return Err(a.invalid("hostnames", "must be given when present=True"));
    }
    let entries = fact(
        host,
        &crate::facts::server::EtcHosts,
        &[("path", json!(path))],
    )
    .await?;
    let current: Option<Vec<String>> = entries
        .get(&ip)
        .and_then(Value::as_array)
        .map(|a| a.iter().map(python_str).collect());
    if present {
        if current.as_ref() == Some(&names) {
            out.noop(format!(
                "{ip} -> {} already present in {path}",
                names.join(" ")
            ));
            return Ok(());
        }
    } else {
        let Some(current) = &current else {
            out.noop(format!("{ip} already absent from {path}"));
            return Ok(());
        };
        if !names.is_empty() && !names.iter().any(|n| current.contains(n)) {
            out.noop(format!(
                "{ip} in {path} does not reference any of: {}",
                names.join(" ")
            ));
            return Ok(());
        }
    }
    let existing = fact(
        host,
        &crate::facts::files::FileContents,
        &[("path", json!(path))],
    )
    .await?;
    let mut lines: Vec<String> = Vec::new();
    let mut found = false;
    for line in existing.as_array().into_iter().flatten().map(python_str) {
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        let content = line.split('#').next().unwrap_or_default();
        let mut tokens = content.split_whitespace();
        if tokens.next() != Some(ip.as_str()) {
            lines.push(line);
            continue;
        }
        found = true;
        if present {
            lines.push(format!("{ip} {}", names.join(" ")));
        } else if !names.is_empty() {
            let remaining: Vec<&str> = tokens.filter(|t| !names.iter().any(|n| n == t)).collect();
            if !remaining.is_empty() {
                lines.push(format!("{ip} {}", remaining.join(" ")));
            }
        }
    }
    if present && !found {
        lines.push(format!("{ip} {}", names.join(" ")));
    }
    let mut content = lines.join("\n");
    if !content.is_empty() {
        content.push('\n');
    }
    let mut put_args = OpArgs::new();
    put_args.insert("dest".into(), json!(path));
    put_source(
        &Args::new("files.put", &put_args),
        host,
        out,
        Source::Content(content.into_bytes()),
    )
    .await
}

#[cfg(test)]
mod signal_tests {
    use super::valid_signal;

    #[test]
    fn signals() {
        for ok in [
            "TERM", "KILL", "sigterm", "SIGHUP", "9", "0", "RTMIN+3", "RTMAX",
        ] {
            assert!(valid_signal(ok), "{ok}");
        }
        for bad in ["9; rm -rf /", "TERMINATE", "", "65", "-9", "RTMIN+99"] {
            assert!(!valid_signal(bad), "{bad}");
        }
    }
}
