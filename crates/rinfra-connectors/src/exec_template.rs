//! Exec-template connectors: "prefix a command" connectors written in TOML.
//!
//! `rinfra @nspawn/web1 exec -- uname -a` (with `[connectors.nspawn]` in `rinfra.toml`)
//!
//! Many targets are reached by putting a local CLI in front of a shell command: `docker exec`,
//! `chroot DIR`, `kubectl exec`, `incus exec`, `systemd-run --machine`. An exec template is such
//! a connector written as a few lines of TOML instead of Rust:
//!
//! ```toml
//! [connectors.nspawn]
//! description = "systemd-nspawn machines (@nspawn/MACHINE)"
//! run = ["systemd-run", "--machine={arg}", "--pipe", "--wait", "--quiet", "sh", "-c", "{command}"]
//! put = ["machinectl", "copy-to", "{arg}", "{local}", "{remote}"]
//! get = ["machinectl", "copy-from", "{arg}", "{remote}", "{local}"]
//! ```
//!
//! Templates are argv lists, never shell text: each element becomes exactly one argument, with
//! the placeholders `{arg}` (the part after `@name/`), `{command}` (the wrapped shell command),
//! `{local}` and `{remote}` (file paths) replaced inside it (`{{` and `}}` give literal braces).
//! `run` must contain `{command}` and pass stdin through (`kubectl exec -i`, `incus exec`).
//! `put` and `get` are optional: without them files travel through `run` itself (`cat >` with
//! the bytes on stdin for uploads, `base64` for downloads).
//!
//! Files go through the staged transfers of `staged.rs`, as for docker and chroot.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use serde::Deserialize;

use crate::base::{
    Connector, GetFile, HostContext, InventoryConnector, NameData, PutFile, RawCommand,
};
use crate::command::{quoted, Bit, StringCommand};
use crate::error::{ConnectError, ConnectorError, InventoryError};
use crate::output::CommandOutput;
use crate::process::{run_local_process, LocalProcess};
use crate::staged::{get_staged, put_staged, StagedTransfer};

// ---------------------------------------------------------------------------------------------
// Exec-template connectors.
// ---------------------------------------------------------------------------------------------

/// An exec-template configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ExecTemplateError {
    /// The config file could not be read.
    #[error("cannot read `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The config file is not valid TOML or has the wrong shape.
    #[error("invalid connector config `{}`", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The TOML error, with its location.
        #[source]
        source: toml::de::Error,
    },
    /// One connector's templates are unusable.
    #[error("invalid exec template `[connectors.{name}]`: {reason}")]
    Invalid {
        /// The connector name.
        name: String,
        /// What is wrong.
        reason: String,
    },
}

/// `[connectors.NAME]` in `rinfra.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateConfig {
    /// One line for `--list-connectors`.
    #[serde(default)]
    description: Option<String>,
    /// argv running a shell command; must contain `{command}`.
    run: Vec<String>,
    /// argv copying `{local}` to `{remote}` in the target.
    #[serde(default)]
    put: Option<Vec<String>>,
    /// argv copying `{remote}` in the target to `{local}`.
    #[serde(default)]
    get: Option<Vec<String>>,
}

/// The part of `rinfra.toml` read here; other tables belong to other readers.
#[derive(Debug, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    connectors: BTreeMap<String, TemplateConfig>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Placeholder {
    Arg,
    Command,
    Local,
    Remote,
}

impl Placeholder {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "arg" => Placeholder::Arg,
            "command" => Placeholder::Command,
            "local" => Placeholder::Local,
            "remote" => Placeholder::Remote,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    Value(Placeholder),
}

/// One argv template: each element is text with placeholders, and stays one argument.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Template(Vec<Vec<Piece>>);

/// Values substituted into a [`Template`].
#[derive(Default)]
struct Values<'a> {
    arg: &'a str,
    command: &'a str,
    local: &'a str,
    remote: &'a str,
}

impl Template {
    /// Parse `argv`, allowing only the placeholders in `allowed` and requiring those in
    /// `required`.
    fn parse(
        argv: &[String],
        allowed: &[Placeholder],
        required: &[Placeholder],
    ) -> Result<Self, String> {
        if argv.is_empty() {
            return Err("the argv list is empty".into());
        }
        let mut elements = Vec::new();
        for element in argv {
            let mut pieces = Vec::new();
            let mut text = String::new();
            let mut chars = element.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '{' if chars.peek() == Some(&'{') => {
                        chars.next();
                        text.push('{');
                    }
                    '}' if chars.peek() == Some(&'}') => {
                        chars.next();
                        text.push('}');
                    }
                    '{' => {
                        let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
                        let p = Placeholder::parse(&name)
                            .filter(|p| allowed.contains(p))
                            .ok_or_else(|| {
                                format!("unknown placeholder `{{{name}}}` in `{element}`")
                            })?;
                        if !text.is_empty() {
                            pieces.push(Piece::Text(std::mem::take(&mut text)));
                        }
                        pieces.push(Piece::Value(p));
                    }
                    '}' => return Err(format!("unmatched `}}` in `{element}` (write `}}}}`)")),
                    c => text.push(c),
                }
            }
            if !text.is_empty() || pieces.is_empty() {
                pieces.push(Piece::Text(text));
            }
            elements.push(pieces);
        }
        if matches!(elements[0].as_slice(), [Piece::Text(t)] if t.is_empty()) {
            return Err("the program (first element) is empty".into());
        }
        let template = Template(elements);
        for p in required {
            if !template.uses(*p) {
                let name = match p {
                    Placeholder::Arg => "arg",
                    Placeholder::Command => "command",
                    Placeholder::Local => "local",
                    Placeholder::Remote => "remote",
                };
                return Err(format!("`{{{name}}}` is missing"));
            }
        }
        Ok(template)
    }

    fn uses(&self, p: Placeholder) -> bool {
        self.0
            .iter()
            .flatten()
            .any(|piece| *piece == Piece::Value(p))
    }

    fn render(&self, values: &Values<'_>) -> Vec<String> {
        self.0
            .iter()
            .map(|pieces| {
                pieces
                    .iter()
                    .map(|piece| match piece {
                        Piece::Text(t) => t.as_str(),
                        Piece::Value(Placeholder::Arg) => values.arg,
                        Piece::Value(Placeholder::Command) => values.command,
                        Piece::Value(Placeholder::Local) => values.local,
                        Piece::Value(Placeholder::Remote) => values.remote,
                    })
                    .collect()
            })
            .collect()
    }
}

/// A connector defined by argv templates (`[connectors.NAME]` in `rinfra.toml`): an
/// [`InventoryConnector`] producing `@NAME/ARG` hosts that execute through the templates.
///
/// Build them with [`load_exec_templates`] (or [`ExecTemplateConnector::new`]) and add them to a
/// [`ConnectorRegistry`](crate::ConnectorRegistry) with `register`.
#[derive(Clone, Debug)]
pub struct ExecTemplateConnector {
    name: String,
    description: String,
    run: Template,
    put: Option<Template>,
    get: Option<Template>,
}

impl ExecTemplateConnector {
    /// A connector called `name` from its `run` template and optional `put`/`get` templates.
    pub fn new(
        name: &str,
        run: &[String],
        put: Option<&[String]>,
        get: Option<&[String]>,
        description: Option<&str>,
    ) -> Result<Self, ExecTemplateError> {
        use Placeholder::*;
        let invalid = |reason: String| ExecTemplateError::Invalid {
            name: name.to_string(),
            reason,
        };
        let valid_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid_name {
            return Err(invalid(
                "connector names are letters, digits, `-` and `_`".into(),
            ));
        }
        let run = Template::parse(run, &[Arg, Command], &[Command])
            .map_err(|e| invalid(format!("run: {e}")))?;
        let put = put
            .map(|t| Template::parse(t, &[Arg, Local, Remote], &[Local, Remote]))
            .transpose()
            .map_err(|e| invalid(format!("put: {e}")))?;
        let get = get
            .map(|t| Template::parse(t, &[Arg, Local, Remote], &[Local, Remote]))
            .transpose()
            .map_err(|e| invalid(format!("get: {e}")))?;
        let description = description.map(str::to_string).unwrap_or_else(|| {
            let program = match run.0[0].as_slice() {
                [Piece::Text(t)] => t.clone(),
                _ => "a command".to_string(),
            };
            format!("exec template running `{program}` (@{name}/ARG)")
        });
        Ok(Self {
            name: name.to_string(),
            description,
            run,
            put,
            get,
        })
    }

    /// Whether hosts need an argument (`@NAME/ARG`): some template uses `{arg}`.
    fn needs_arg(&self) -> bool {
        self.run.uses(Placeholder::Arg)
            || self.put.as_ref().is_some_and(|t| t.uses(Placeholder::Arg))
            || self.get.as_ref().is_some_and(|t| t.uses(Placeholder::Arg))
    }
}

/// Read the `[connectors.NAME]` tables of a config file (`rinfra.toml`) into exec-template
/// connectors, sorted by name. Other tables in the file are ignored; a file without
/// `[connectors]` gives none.
pub fn load_exec_templates(path: &Path) -> Result<Vec<ExecTemplateConnector>, ExecTemplateError> {
    let text = std::fs::read_to_string(path).map_err(|source| ExecTemplateError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let config: ConfigFile = toml::from_str(&text).map_err(|source| ExecTemplateError::Parse {
        path: path.to_path_buf(),
        source,
    })?;
    config
        .connectors
        .iter()
        .map(|(name, c)| {
            ExecTemplateConnector::new(
                name,
                &c.run,
                c.put.as_deref(),
                c.get.as_deref(),
                c.description.as_deref(),
            )
        })
        .collect()
}

/// Host data of exec-template hosts.
#[derive(Debug, Deserialize)]
struct ExecTemplateData {
    /// The argument after `@NAME/`, substituted for `{arg}`.
    #[serde(default)]
    exec_arg: Option<String>,
}

impl InventoryConnector for ExecTemplateConnector {
    fn name(&self) -> &str {
        &self.name
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn handles_execution(&self) -> bool {
        true
    }

    fn make_names_data(&self, arg: Option<&str>) -> Result<Vec<NameData>, InventoryError> {
        let name = &self.name;
        let group = format!("@{name}");
        match arg.filter(|a| !a.is_empty()) {
            None if self.needs_arg() => Err(InventoryError::InvalidHost {
                host: group,
                reason: format!("the {name} connector needs an argument; write `@{name}/ARG`"),
            }),
            None => Ok(vec![NameData::new(group.clone(), &[&group])]),
            Some(arg) => {
                let mut host = NameData::new(format!("@{name}/{arg}"), &[&group]);
                host.data
                    .insert("exec_arg".into(), serde_json::Value::from(arg));
                Ok(vec![host])
            }
        }
    }

    fn new_connector(&self, host: HostContext) -> Result<Arc<dyn Connector>, ConnectError> {
        let data: ExecTemplateData =
            serde_json::from_value(serde_json::Value::Object(host.data.clone())).map_err(|e| {
                ConnectError::new(format!("invalid host data for {}: {e}", host.name))
            })?;
        Ok(Arc::new(ExecTemplateHost {
            template: self.clone(),
            arg: data.exec_arg.unwrap_or_default(),
            host,
        }))
    }
}

/// Executes one host through an [`ExecTemplateConnector`]'s templates.
#[derive(Debug)]
struct ExecTemplateHost {
    template: ExecTemplateConnector,
    arg: String,
    host: HostContext,
}

impl ExecTemplateHost {
    async fn run_argv(
        &self,
        argv: &[String],
        opts: LocalProcess<'_>,
    ) -> Result<CommandOutput, ConnectorError> {
        let (program, args) = argv.split_first().expect("templates are never empty");
        run_local_process(&self.host, program, args, opts).await
    }

    /// Run a helper shell command (not wrapped: it runs as the template's own user).
    async fn run_plain(
        &self,
        command: &StringCommand,
        stdin_bytes: Option<&[u8]>,
        print_input: bool,
    ) -> Result<CommandOutput, ConnectorError> {
        let raw = command.get_raw_value();
        if print_input {
            self.host
                .reporter
                .command_input(&self.host.name, &command.get_masked_value());
        }
        let argv = self.template.run.render(&Values {
            arg: &self.arg,
            command: &raw,
            ..Default::default()
        });
        self.run_argv(
            &argv,
            LocalProcess {
                stdin_bytes,
                ..Default::default()
            },
        )
        .await
    }

    async fn run_transfer(
        &self,
        template: &Template,
        local: &Path,
        staged: &str,
        print_output: bool,
        print_input: bool,
    ) -> Result<(), ConnectorError> {
        let local = local.to_string_lossy();
        let argv = template.render(&Values {
            arg: &self.arg,
            local: &local,
            remote: staged,
            ..Default::default()
        });
        if print_input {
            let shown: Vec<String> = argv.iter().map(|a| crate::quote::quote(a)).collect();
            self.host
                .reporter
                .command_input(&self.host.name, &shown.join(" "));
        }
        let out = self
            .run_argv(
                &argv,
                LocalProcess {
                    print_output,
                    ..Default::default()
                },
            )
            .await?;
        if out.exit_code != Some(0) {
            return Err(ConnectorError::Transfer(format!(
                "`{}` failed: {}",
                argv[0],
                out.stderr()
            )));
        }
        Ok(())
    }
}

#[async_trait]
impl Connector for ExecTemplateHost {
    fn host(&self) -> &HostContext {
        &self.host
    }

    async fn execute(&self, command: RawCommand<'_>) -> Result<CommandOutput, ConnectorError> {
        let raw = command.command.get_raw_value();
        let argv = self.template.run.render(&Values {
            arg: &self.arg,
            command: &raw,
            ..Default::default()
        });
        self.run_argv(
            &argv,
            LocalProcess {
                stdin: command.stdin,
                stdin_bytes: None,
                timeout: command.timeout,
                print_output: command.print_output,
            },
        )
        .await
    }

    async fn put_file(&self, request: PutFile<'_>) -> Result<bool, ConnectorError> {
        put_staged(self, request).await
    }

    async fn get_file(&self, request: GetFile<'_>) -> Result<bool, ConnectorError> {
        get_staged(self, request).await
    }
}

#[async_trait]
impl StagedTransfer for ExecTemplateHost {
    async fn push(
        &self,
        local: &Path,
        staged: &str,
        print_output: bool,
        print_input: bool,
    ) -> Result<(), ConnectorError> {
        if let Some(put) = &self.template.put {
            return self
                .run_transfer(put, local, staged, print_output, print_input)
                .await;
        }
        // No put template: `cat >` through `run`, the bytes on stdin, the staged file created
        // with the local staging file's mode.
        let meta = std::fs::metadata(local)
            .map_err(|e| ConnectorError::io("cannot read a local temp file", e))?;
        let data = std::fs::read(local)
            .map_err(|e| ConnectorError::io("cannot read a local temp file", e))?;
        let umask = format!("{:03o}", !meta.permissions().mode() & 0o777);
        let cmd = StringCommand::new([
            Bit::from("umask"),
            Bit::from(umask),
            Bit::from("&& cat >"),
            quoted(staged),
        ]);
        let out = self.run_plain(&cmd, Some(&data), print_input).await?;
        if out.exit_code != Some(0) {
            return Err(ConnectorError::Transfer(format!(
                "cannot write `{staged}` in {}: {}",
                self.host.name,
                out.stderr()
            )));
        }
        Ok(())
    }

    async fn pull(
        &self,
        staged: &str,
        local: &Path,
        print_output: bool,
        print_input: bool,
    ) -> Result<(), ConnectorError> {
        if let Some(get) = &self.template.get {
            return self
                .run_transfer(get, local, staged, print_output, print_input)
                .await;
        }
        // No get template: `base64` through `run` (output is read as text lines).
        let cmd = StringCommand::new([Bit::from("base64 <"), quoted(staged)]);
        let out = self.run_plain(&cmd, None, print_input).await?;
        if out.exit_code != Some(0) {
            return Err(ConnectorError::Transfer(format!(
                "cannot read `{staged}` in {}: {}",
                self.host.name,
                out.stderr()
            )));
        }
        let encoded: String = out.stdout_lines().concat();
        let data = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|e| {
                ConnectorError::Transfer(format!("invalid base64 from `{staged}`: {e}"))
            })?;
        std::fs::write(local, data)
            .map_err(|e| ConnectorError::io("cannot write a local temp file", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn placeholders_stay_one_argument() {
        let c = ExecTemplateConnector::new(
            "nspawn",
            &argv(&[
                "systemd-run",
                "--machine={arg}",
                "sh",
                "-c",
                "{command}",
                "{{x}}",
            ]),
            None,
            None,
            None,
        )
        .unwrap();
        let out = c.run.render(&Values {
            arg: "web 1",
            command: "echo 'a b'; rm -rf /",
            ..Default::default()
        });
        assert_eq!(
            out,
            [
                "systemd-run",
                "--machine=web 1",
                "sh",
                "-c",
                "echo 'a b'; rm -rf /",
                "{x}"
            ]
        );
        assert!(c.needs_arg());
    }

    #[test]
    fn rejects_bad_templates() {
        let err = |run: &[&str], put: Option<&[&str]>| {
            let put = put.map(argv);
            ExecTemplateConnector::new("x", &argv(run), put.as_deref(), None, None)
                .unwrap_err()
                .to_string()
        };
        assert!(err(&["sh", "-c", "true"], None).contains("`{command}` is missing"));
        assert!(err(&["sh", "{cmd}"], None).contains("unknown placeholder `{cmd}`"));
        assert!(err(&["sh", "{local}", "{command}"], None).contains("unknown placeholder"));
        assert!(err(&[], None).contains("empty"));
        assert!(err(&["sh", "{command}"], Some(&["cp", "{local}"])).contains("`{remote}`"));
        assert!(err(&["sh", "a}b", "{command}"], None).contains("unmatched"));
        assert!(
            ExecTemplateConnector::new("a b", &argv(&["sh", "{command}"]), None, None, None)
                .is_err()
        );
    }

    #[test]
    fn loads_config_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rinfra.toml");
        std::fs::write(
            &path,
            r#"
[other]
ignored = true

[connectors.kube]
description = "pods"
run = ["kubectl", "exec", "-i", "{arg}", "--", "sh", "-c", "{command}"]

[connectors.plain]
run = ["sh", "-c", "{command}"]
"#,
        )
        .unwrap();
        let cs = load_exec_templates(&path).unwrap();
        assert_eq!(cs.len(), 2);
        assert_eq!(cs[0].name(), "kube");
        assert_eq!(cs[0].description(), "pods");
        let hosts = cs[0].make_names_data(Some("pod-1")).unwrap();
        assert_eq!(hosts[0].name, "@kube/pod-1");
        assert_eq!(hosts[0].groups, ["@kube"]);
        assert_eq!(hosts[0].data["exec_arg"], "pod-1");
        assert!(cs[0].make_names_data(None).is_err());
        assert_eq!(cs[1].make_names_data(None).unwrap()[0].name, "@plain");

        std::fs::write(&path, "[connectors.bad]\nrun = [\"sh\"]\nrnu = []\n").unwrap();
        let err = load_exec_templates(&path).unwrap_err();
        assert!(matches!(err, ExecTemplateError::Parse { .. }), "{err}");
    }
}
