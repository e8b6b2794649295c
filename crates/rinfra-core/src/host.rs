//! A host in a run: its name, groups, data, connector and fact cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rinfra_connectors::{Connector, ConnectorArguments, HostData};
use serde_json::Value;

use crate::fact::{fact_command_with_requirement, Fact, FactArgs, FactError, NO_COMMAND_MARKER};
use crate::fact_batch::FactBatch;

/// One host of the inventory, connected (or about to be) through its connector.
pub struct Host {
    /// The inventory name.
    pub name: String,
    /// Groups, in inventory order.
    pub groups: Vec<String>,
    /// Merged data (`host.data`).
    pub data: HostData,
    /// How commands reach it.
    pub connector: Arc<dyn Connector>,
    pub(crate) facts: Mutex<HashMap<String, Cached>>,
    /// Where its time went (`-v`, `--json`).
    pub timings: crate::timings::HostTimings,
}

/// A cached fact value, with what path-scoped invalidation needs to know about it.
pub(crate) struct Cached {
    value: Value,
    /// The remote path the fact describes, for the facts about one path (`files.File`...).
    path: Option<String>,
}

/// Facts that describe one remote path (their `path` argument) and nothing else: when an
/// operation changed only other paths, their cached values stay valid.
const PATH_FACTS: &[&str] = &[
    "files.File",
    "files.Directory",
    "files.Link",
    "files.FileContents",
    "files.FindInFile",
    "files.Sha1File",
    "files.Sha256File",
    "files.Sha384File",
    "files.Md5File",
    "files.Block",
];

impl Cached {
    pub(crate) fn new(fact: &dyn Fact, args: &FactArgs, value: Value) -> Self {
        let path = PATH_FACTS
            .contains(&fact.name())
            .then(|| args.get("path").and_then(Value::as_str))
            .flatten()
            .filter(|p| p.starts_with('/'))
            .map(|p| p.trim_end_matches('/').to_string());
        Self { value, path }
    }
}

/// How a fact's path relates to a changed path.
#[derive(Debug, PartialEq, Eq)]
enum Relation {
    /// The same path.
    Same,
    /// Under it: reached by a removal or a recursive change.
    Under,
    /// Above it: the change may have created it (`mkdir -p`, `create_remote_dir`).
    Above,
    /// Unrelated.
    None,
}

fn relation(path: &str, touched: &str) -> Relation {
    let (path, touched) = (path.trim_end_matches('/'), touched.trim_end_matches('/'));
    let under =
        |a: &str, b: &str| b.is_empty() || (a.starts_with(b) && a[b.len()..].starts_with('/'));
    if path == touched {
        Relation::Same
    } else if under(path, touched) {
        Relation::Under
    } else if under(touched, path) {
        Relation::Above
    } else {
        Relation::None
    }
}

/// Whether a cached fact may be stale after a change at `touched`. A fact about a directory
/// above the change stays valid when it says the directory exists: the path facts are about
/// existence, type, owner and mode, which changing an entry inside does not alter (only the
/// directory's mtime, which no operation compares for a parent). One that says it does not
/// exist may be stale: the change may have created it. A fact about a path under the change
/// is stale only when the change reached below its path (`below`).
fn stale(cached: &Cached, touched: &str, below: bool) -> bool {
    let Some(path) = &cached.path else {
        return true;
    };
    match relation(path, touched) {
        Relation::Same => true,
        Relation::Under => below,
        Relation::Above => matches!(cached.value, Value::Null | Value::Bool(false)),
        Relation::None => false,
    }
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("name", &self.name)
            .field("groups", &self.groups)
            .finish_non_exhaustive()
    }
}

/// Why a fact's failed command still counts as its default: the user a sudo/su fact runs as
/// does not exist yet (it may be created by this very deploy), as pyinfra does.
fn is_missing_user_error(first_stderr: &str, args: &ConnectorArguments) -> bool {
    (args.sudo_user.is_some() && first_stderr.starts_with("sudo: unknown user"))
        || (args.su_user.is_some()
            && (first_stderr.starts_with("su: user ") && first_stderr.contains("does not exist")
                || first_stderr.starts_with("su: unknown login")))
}

impl Host {
    /// A host with its connector.
    pub fn new(
        name: String,
        groups: Vec<String>,
        data: HostData,
        connector: Arc<dyn Connector>,
    ) -> Self {
        Self {
            name,
            groups,
            data,
            connector,
            facts: Mutex::new(HashMap::new()),
            timings: Default::default(),
        }
    }

    /// Forget every cached fact: called after an operation changed the host.
    pub fn invalidate_facts(&self) {
        self.facts.lock().expect("not poisoned").clear();
    }

    /// Forget the cached facts an operation that changed `touched` paths may have made stale.
    /// With `None` (the operation may have changed anything) or a relative path, that is every
    /// fact; otherwise only facts about a related path (the same, above or under it) go, and
    /// so do all facts that are not about one path (users, packages...: a file change can
    /// change those). With `below` false (see
    /// [`Operation::changes_below_touched_paths`](crate::Operation::changes_below_touched_paths)),
    /// facts about paths under a touched one stay.
    pub fn invalidate_facts_touching(&self, touched: Option<&[String]>, below: bool) {
        let Some(touched) = touched.filter(|t| t.iter().all(|p| p.starts_with('/'))) else {
            return self.invalidate_facts();
        };
        self.facts
            .lock()
            .expect("not poisoned")
            .retain(|_, c| !touched.iter().any(|t| stale(c, t, below)));
    }

    pub(crate) fn cache_key(fact: &dyn Fact, args_text: &str, c: &ConnectorArguments) -> String {
        format!(
            "{}|{args_text}|{}|{:?}|{:?}|{:?}",
            fact.name(),
            c.sudo,
            c.sudo_user,
            c.su_user,
            c.shell_executable
        )
    }

    /// The arguments a fact command runs with: the operation's escalation, never its stdin or
    /// success codes.
    pub(crate) fn fact_run_args(connector_args: &ConnectorArguments) -> ConnectorArguments {
        let mut run_args = connector_args.clone();
        run_args.stdin = None;
        run_args.success_exit_codes = None;
        run_args
    }

    /// Turn one fact command's result into the fact's value (pyinfra's `get_fact` rules).
    pub(crate) fn fact_value(
        fact: &dyn Fact,
        args: &FactArgs,
        connector_args: &ConnectorArguments,
        exit_code: Option<i32>,
        stdout: Vec<String>,
        stderr: &[String],
    ) -> Result<Value, FactError> {
        if exit_code == Some(0) {
            if stdout.iter().any(|l| l == NO_COMMAND_MARKER) || stdout.is_empty() {
                return Ok(fact.default());
            }
            return fact.process(&stdout, args);
        }
        if is_missing_user_error(
            stderr.first().map(String::as_str).unwrap_or(""),
            connector_args,
        ) {
            return Ok(fact.default());
        }
        let all: Vec<&str> = stdout.iter().chain(stderr).map(String::as_str).collect();
        let reason = if all.iter().all(|l| l.trim().is_empty()) {
            format!(
                "exit code {}",
                exit_code.map_or("?".into(), |c| c.to_string())
            )
        } else {
            all.join("\n")
        };
        Err(FactError::CommandFailed {
            fact: fact.name().into(),
            reason,
        })
    }

    /// The cached value of `fact` with `args`, if loaded since the host last changed.
    pub fn cached_fact(
        &self,
        fact: &dyn Fact,
        args: &FactArgs,
        connector_args: &ConnectorArguments,
    ) -> Option<Value> {
        let args_text = serde_json::to_string(args).unwrap_or_default();
        self.facts
            .lock()
            .expect("not poisoned")
            .get(&Self::cache_key(fact, &args_text, connector_args))
            .map(|c| c.value.clone())
    }

    /// Load `fact` with `args`, running it with the escalation of `connector_args` (a fact
    /// asked for inside an `_sudo` operation runs with sudo, as in pyinfra).
    ///
    /// Results are cached per host until [`invalidate_facts`](Self::invalidate_facts); `loaded`
    /// is called when the fact really ran.
    pub async fn get_fact(
        &self,
        fact: &dyn Fact,
        args: &FactArgs,
        connector_args: &ConnectorArguments,
        print_input: bool,
        loaded: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<Value, FactError> {
        let args_text = serde_json::to_string(args).unwrap_or_default();
        let key = Self::cache_key(fact, &args_text, connector_args);
        if let Some(c) = self.facts.lock().expect("not poisoned").get(&key) {
            return Ok(c.value.clone());
        }
        let command = fact_command_with_requirement(
            fact.command(args)?,
            fact.requires_command(args).as_deref(),
        );
        let start = std::time::Instant::now();
        let ran = self
            .connector
            .run_shell_command(
                &command,
                false,
                print_input,
                &Self::fact_run_args(connector_args),
            )
            .await;
        self.timings.since(crate::timings::Phase::Facts, start);
        let (_, output) = ran.map_err(|e| FactError::CommandFailed {
            fact: fact.name().into(),
            reason: e.to_string(),
        })?;
        let stdout: Vec<String> = output
            .stdout_lines()
            .into_iter()
            .map(str::to_string)
            .collect();
        let stderr: Vec<String> = output
            .stderr_lines()
            .into_iter()
            .map(str::to_string)
            .collect();
        let value = Self::fact_value(
            fact,
            args,
            connector_args,
            output.exit_code,
            stdout,
            &stderr,
        )?;
        loaded(&crate::shown_arguments_json(args));
        self.facts
            .lock()
            .expect("not poisoned")
            .insert(key, Cached::new(fact, args, value.clone()));
        Ok(value)
    }

    /// Load several facts in ONE command (pyinfra runs one command per fact), see
    /// [`FactBatch`]. Successful values go into the cache, so the `get_fact` calls that follow
    /// are free; a fact that failed is left out, and its `get_fact` runs it again on its own and
    /// reports the error with the usual context.
    ///
    /// All facts run with the same `connector_args` (callers group requests by escalation).
    pub async fn prefetch_facts(
        &self,
        requests: &[(&dyn Fact, FactArgs)],
        connector_args: &ConnectorArguments,
        print_input: bool,
        loaded: &(dyn Fn(&str, &str) + Send + Sync),
    ) {
        // One fact alone gains nothing over the plain path: `get_fact` will load it.
        let Some(batch) = FactBatch::new(self, requests, connector_args).filter(|b| b.len() >= 2)
        else {
            return;
        };
        let start = std::time::Instant::now();
        let ran = self
            .connector
            .run_shell_command(
                &batch.script(),
                false,
                print_input,
                &Self::fact_run_args(connector_args),
            )
            .await;
        self.timings.since(crate::timings::Phase::Facts, start);
        if let Ok((_, output)) = ran {
            batch.store(self, &output, loaded);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rinfra_connectors::{ConnectorRegistry, HostContext, SilentReporter, StringCommand};

    /// A fact whose command is its `sh` argument, and whose value is its output lines.
    pub(crate) struct Cat;
    impl Fact for Cat {
        fn name(&self) -> &'static str {
            "test.Cat"
        }
        fn command(&self, args: &FactArgs) -> Result<StringCommand, FactError> {
            Ok(StringCommand::from(args["sh"].as_str().unwrap()))
        }
        fn process(&self, stdout: &[String], _: &FactArgs) -> Result<Value, FactError> {
            Ok(serde_json::json!(stdout))
        }
    }

    fn local_host() -> Host {
        let registry = ConnectorRegistry::with_builtins();
        let ctx = HostContext::new(
            "@local",
            Default::default(),
            std::sync::Arc::new(SilentReporter),
        );
        Host::new(
            "@local".into(),
            vec![],
            Default::default(),
            registry.new_connector("local", ctx).unwrap(),
        )
    }

    pub(crate) fn args(sh: &str) -> FactArgs {
        serde_json::json!({ "sh": sh }).as_object().unwrap().clone()
    }

    #[test]
    fn related_paths() {
        use Relation::*;
        assert_eq!(relation("/srv/app", "/srv/app"), Same);
        assert_eq!(
            relation("/srv/app/x", "/srv/app"),
            Under,
            "under a changed directory"
        );
        assert_eq!(
            relation("/srv", "/srv/app/x"),
            Above,
            "above a changed file"
        );
        assert_eq!(relation("/srv/app", "/srv/app/"), Same);
        assert_eq!(
            relation("/srv/app2", "/srv/app"),
            None,
            "a sibling with a common prefix"
        );
        assert_eq!(relation("/srv/app/a", "/srv/app/b"), None);
        assert_eq!(relation("/", "/etc/x"), Above);
    }

    /// After a change to one path, facts about unrelated paths survive; facts about related
    /// paths, and facts that are not about a path, do not.
    #[tokio::test]
    async fn invalidation_is_scoped_to_touched_paths() {
        struct PathFact(&'static str);
        impl Fact for PathFact {
            fn name(&self) -> &'static str {
                self.0
            }
            fn command(&self, args: &FactArgs) -> Result<StringCommand, FactError> {
                // `/srv/app` does not exist (no output: the default, None); the rest do.
                let missing = args.get("path").and_then(Value::as_str) == Some("/srv/app");
                Ok(StringCommand::from(if missing { "true" } else { "echo x" }))
            }
            fn process(&self, stdout: &[String], _: &FactArgs) -> Result<Value, FactError> {
                Ok(serde_json::json!(stdout))
            }
        }
        let host = local_host();
        let conn = ConnectorArguments::default();
        let file = PathFact("files.File");
        let users = PathFact("server.Users");
        let p = |path: &str| {
            serde_json::json!({ "path": path })
                .as_object()
                .unwrap()
                .clone()
        };
        for path in ["/srv/app", "/srv/app/a", "/srv/other", "/srv"] {
            host.get_fact(&file, &p(path), &conn, false, &|_| {})
                .await
                .unwrap();
        }
        host.get_fact(&users, &FactArgs::new(), &conn, false, &|_| {})
            .await
            .unwrap();
        // A directory created (or its mode set): what is inside stays as it was.
        host.invalidate_facts_touching(Some(&["/srv/app".to_string()]), false);
        let cached = |f: &dyn Fact, a: &FactArgs| host.cached_fact(f, a, &conn).is_some();
        assert!(cached(&file, &p("/srv/app/a")));
        assert!(!cached(&file, &p("/srv/app")));
        host.get_fact(&file, &p("/srv/app"), &conn, false, &|_| {})
            .await
            .unwrap();
        host.get_fact(&users, &FactArgs::new(), &conn, false, &|_| {})
            .await
            .unwrap();
        host.invalidate_facts_touching(Some(&["/srv/app/a".to_string()]), true);
        assert!(cached(&file, &p("/srv/other")));
        assert!(!cached(&file, &p("/srv/app/a")));
        assert!(
            !cached(&file, &p("/srv/app")),
            "a missing parent may have been created"
        );
        assert!(
            cached(&file, &p("/srv")),
            "an existing parent is still there"
        );
        assert!(!cached(&users, &FactArgs::new()));
        // A removal or recursive change reaches what is under it.
        host.get_fact(&file, &p("/srv/app/a"), &conn, false, &|_| {})
            .await
            .unwrap();
        host.invalidate_facts_touching(Some(&["/srv/app".to_string()]), true);
        assert!(!cached(&file, &p("/srv/app/a")));
        host.invalidate_facts_touching(None, true);
        assert!(!cached(&file, &p("/srv/other")));
    }

    /// A batch gives each fact exactly what running it alone gives: trailing newlines or not,
    /// empty output, stderr, failures.
    #[tokio::test]
    async fn batched_facts_match_single_runs() {
        let cases = [
            "printf 'a\\nb\\n'",
            "printf 'no newline'",
            "printf 'x\\n\\n'",
            "true",
            "echo out; echo err >&2",
            "echo partial; exit 3",
            "# a comment at the end",
            "echo '@@RINFRA-fake-0'",
        ];
        let conn = ConnectorArguments::default();
        let single = local_host();
        let mut expected = Vec::new();
        for c in cases {
            expected.push(
                single
                    .get_fact(&Cat, &args(c), &conn, false, &|_| {})
                    .await
                    .map_err(|e| e.to_string()),
            );
        }
        let batched = local_host();
        let requests: Vec<(&dyn Fact, FactArgs)> =
            cases.iter().map(|c| (&Cat as &dyn Fact, args(c))).collect();
        batched
            .prefetch_facts(&requests, &conn, false, &|_, _| {})
            .await;
        for (c, want) in cases.iter().zip(expected) {
            let cached = batched.cached_fact(&Cat, &args(c), &conn);
            match want {
                Ok(v) => assert_eq!(cached, Some(v), "case {c:?}"),
                Err(_) => assert_eq!(cached, None, "a failed fact is not cached: {c:?}"),
            }
        }
    }
}
