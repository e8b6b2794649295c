//! A host in a run: its name, groups, data, connector and fact cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rinfra_connectors::{Connector, ConnectorArguments, HostData, StringCommand};
use serde_json::Value;

use crate::fact::{
    fact_command_with_requirement, Fact, FactArgs, FactError, SharedLoad, NO_COMMAND_MARKER,
};

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
    facts: Mutex<HashMap<String, Cached>>,
    /// Where its time went (`-v`, `--json`).
    pub timings: crate::timings::HostTimings,
}

/// A cached fact value, with what path-scoped invalidation needs to know about it.
struct Cached {
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
    fn new(fact: &dyn Fact, args: &FactArgs, value: Value) -> Self {
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

    fn cache_key(fact: &dyn Fact, args_text: &str, c: &ConnectorArguments) -> String {
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
    fn fact_run_args(connector_args: &ConnectorArguments) -> ConnectorArguments {
        let mut run_args = connector_args.clone();
        run_args.stdin = None;
        run_args.success_exit_codes = None;
        run_args
    }

    /// Turn one fact command's result into the fact's value (pyinfra's `get_fact` rules).
    fn fact_value(
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

    /// Load several facts in ONE command (pyinfra runs one command per fact): each fact's
    /// command runs in its own subshell between marker lines, and its stdout, stderr and exit
    /// code are split back out. Successful values go into the cache, so the `get_fact` calls
    /// that follow are free; a fact that failed is left out, and its `get_fact` runs it again
    /// on its own and reports the error with the usual context.
    ///
    /// All facts run with the same `connector_args` (callers group requests by escalation).
    pub async fn prefetch_facts(
        &self,
        requests: &[(&dyn Fact, FactArgs)],
        connector_args: &ConnectorArguments,
        print_input: bool,
        loaded: &(dyn Fn(&str, &str) + Send + Sync),
    ) {
        let mut todo = Vec::new();
        {
            let cache = self.facts.lock().expect("not poisoned");
            let mut seen = std::collections::HashSet::new();
            for (fact, args) in requests {
                let args_text = serde_json::to_string(args).unwrap_or_default();
                let key = Self::cache_key(*fact, &args_text, connector_args);
                if cache.contains_key(&key) || !seen.insert(key.clone()) {
                    continue;
                }
                let Ok(command) = fact.command(args) else {
                    continue;
                };
                let command =
                    fact_command_with_requirement(command, fact.requires_command(args).as_deref());
                todo.push((*fact, args, args_text, key, command));
            }
        }
        if todo.len() < 2 {
            // Nothing to gain over the plain path; `get_fact` will load a single one.
            return;
        }
        let sections = sections(&todo);
        let nonce = format!("{:x}{:x}", std::process::id(), todo.as_ptr() as usize);
        let mut bits: Vec<rinfra_connectors::Bit> = Vec::new();
        for (n, section) in sections.iter().enumerate() {
            let command = match section {
                Section::Alone(t) => todo[*t].4.clone(),
                Section::Shared { loader, items, .. } => loader.command(items),
            };
            // `:;` keeps the subshell valid when the command is only a comment.
            bits.push(
                format!("echo '@@RINFRA-{nonce}-{n}'; echo '@@RINFRA-{nonce}-{n}' >&2; ( :;")
                    .into(),
            );
            bits.push(command.into());
            bits.push(
                format!("\n); rinfra_rc=$?; echo; echo \"@@RINFRA-{nonce}-END-{n} $rinfra_rc\";")
                    .into(),
            );
        }
        let script = rinfra_connectors::StringCommand::new(bits);
        let start = std::time::Instant::now();
        let ran = self
            .connector
            .run_shell_command(
                &script,
                false,
                print_input,
                &Self::fact_run_args(connector_args),
            )
            .await;
        self.timings.since(crate::timings::Phase::Facts, start);
        let Ok((_, output)) = ran else {
            return;
        };
        let parsed = parse_batch(&output, &nonce, sections.len());
        // (todo index, exit code, stdout, stderr) of each fact that has a result.
        let mut results: Vec<(usize, i32, Vec<String>, Vec<String>)> = Vec::new();
        for (section, (exit, stdout, stderr)) in sections.iter().zip(parsed) {
            let Some(exit) = exit else { continue };
            match section {
                Section::Alone(t) => results.push((*t, exit, stdout, stderr)),
                Section::Shared {
                    loader,
                    items,
                    members,
                } => {
                    // When the output cannot be attributed, each fact loads alone later.
                    let Some(split) = loader.split(items, exit, &stdout) else {
                        continue;
                    };
                    if split.len() != items.len() {
                        continue;
                    }
                    // Several facts may ask about one item (`File` and `Directory` of a path).
                    for (t, k) in members {
                        results.push((*t, 0, split[*k].clone(), Vec::new()));
                    }
                }
            }
        }
        let mut cache = self.facts.lock().expect("not poisoned");
        for (t, exit, stdout, stderr) in results {
            let (fact, args, _, key, _) = &todo[t];
            if let Ok(value) =
                Self::fact_value(*fact, args, connector_args, Some(exit), stdout, &stderr)
            {
                loaded(fact.name(), &crate::shown_arguments_json(args));
                cache.insert(key.clone(), Cached::new(*fact, args, value));
            }
        }
    }
}

/// A fact to load in a batch: the fact, its arguments, their JSON text, its cache key and its
/// own command.
type Todo<'a> = (&'a dyn Fact, &'a FactArgs, String, String, StringCommand);

/// One part of a batch, between its own markers.
enum Section {
    /// A fact's own command (index into the batch's facts).
    Alone(usize),
    /// One command for several facts that share a loader.
    Shared {
        loader: &'static dyn SharedLoad,
        /// The loader's distinct items.
        items: Vec<String>,
        /// (index into the batch's facts, index into `items`) of each fact it loads.
        members: Vec<(usize, usize)>,
    },
}

/// Split a batch's facts into sections: facts that share a loader with at least one other fact
/// of the batch go into one section per loader, the rest run their own commands.
fn sections(todo: &[Todo<'_>]) -> Vec<Section> {
    let mut alone = Vec::new();
    // One (loader, its distinct items, its members) per loader key, in first-seen order.
    type Group = (&'static dyn SharedLoad, Vec<String>, Vec<(usize, usize)>);
    let mut groups: Vec<Group> = Vec::new();
    for (t, (fact, args, ..)) in todo.iter().enumerate() {
        let item = fact.shared_load().and_then(|l| Some((l, l.item(args)?)));
        // A fact with a required command runs alone: its own command checks for it.
        let Some((loader, item)) = item.filter(|_| fact.requires_command(args).is_none()) else {
            alone.push(Section::Alone(t));
            continue;
        };
        let g = match groups.iter().position(|g| g.0.key() == loader.key()) {
            Some(g) => g,
            None => {
                groups.push((loader, Vec::new(), Vec::new()));
                groups.len() - 1
            }
        };
        let (_, items, members) = &mut groups[g];
        let k = match items.iter().position(|i| *i == item) {
            Some(k) => k,
            None => {
                items.push(item);
                items.len() - 1
            }
        };
        members.push((t, k));
    }
    for (loader, items, members) in groups {
        if members.len() < 2 {
            // Nothing shared: the fact's own command is as cheap.
            alone.extend(members.into_iter().map(|(t, _)| Section::Alone(t)));
        } else {
            alone.push(Section::Shared {
                loader,
                items,
                members,
            });
        }
    }
    alone
}

/// Split a batch's output back into `(exit code, stdout lines, stderr lines)` per fact. A fact
/// whose end marker is missing (the batch died) has no exit code.
fn parse_batch(
    output: &rinfra_connectors::CommandOutput,
    nonce: &str,
    count: usize,
) -> Vec<(Option<i32>, Vec<String>, Vec<String>)> {
    let mut out: Vec<(Option<i32>, Vec<String>, Vec<String>)> =
        vec![(None, Vec::new(), Vec::new()); count];
    let start = format!("@@RINFRA-{nonce}-");
    let end = format!("@@RINFRA-{nonce}-END-");
    let mut current_out: Option<usize> = None;
    let mut current_err: Option<usize> = None;
    for line in &output.combined_lines {
        let text = line.line.as_str();
        match line.stream {
            rinfra_connectors::Stream::Stdout => {
                if let Some(rest) = text.strip_prefix(&end) {
                    let mut it = rest.split(' ');
                    let (Some(n), Some(code)) = (it.next(), it.next()) else {
                        continue;
                    };
                    if let (Ok(n), Ok(code)) = (n.parse::<usize>(), code.parse::<i32>()) {
                        if n < count {
                            // `echo` before the marker ends a last line without a newline; the
                            // empty line it leaves is ours, not the fact's.
                            if out[n].1.last().is_some_and(String::is_empty) {
                                out[n].1.pop();
                            }
                            out[n].0 = Some(code);
                        }
                    }
                    current_out = None;
                } else if let Some(n) = text
                    .strip_prefix(&start)
                    .and_then(|n| n.parse::<usize>().ok())
                {
                    current_out = Some(n).filter(|n| *n < count);
                } else if let Some(n) = current_out {
                    out[n].1.push(text.to_string());
                }
            }
            rinfra_connectors::Stream::Stderr => {
                if let Some(n) = text
                    .strip_prefix(&start)
                    .and_then(|n| n.parse::<usize>().ok())
                {
                    current_err = Some(n).filter(|n| *n < count);
                } else if let Some(n) = current_err {
                    out[n].2.push(text.to_string());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rinfra_connectors::{ConnectorRegistry, HostContext, SilentReporter, StringCommand};

    struct Cat;
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

    fn args(sh: &str) -> FactArgs {
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

    /// Facts sharing a loader go into one section per loader, one item per distinct path; a
    /// loader with a single fact, a fact whose item cannot share, and other facts run alone.
    #[test]
    fn shared_loaders_make_one_section_each() {
        struct Paths;
        impl SharedLoad for Paths {
            fn key(&self) -> &'static str {
                "paths"
            }
            fn item(&self, args: &FactArgs) -> Option<String> {
                args.get("path")?.as_str().map(str::to_string)
            }
            fn command(&self, items: &[String]) -> StringCommand {
                StringCommand::from(items.join(" ").as_str())
            }
            fn split(&self, _: &[String], _: i32, _: &[String]) -> Option<Vec<Vec<String>>> {
                None
            }
        }
        static PATHS: Paths = Paths;
        struct Stat(&'static str);
        impl Fact for Stat {
            fn name(&self) -> &'static str {
                self.0
            }
            fn command(&self, _: &FactArgs) -> Result<StringCommand, FactError> {
                Ok(StringCommand::from("stat"))
            }
            fn process(&self, _: &[String], _: &FactArgs) -> Result<Value, FactError> {
                Ok(Value::Null)
            }
            fn shared_load(&self) -> Option<&'static dyn SharedLoad> {
                Some(&PATHS)
            }
        }
        let (file, dir) = (Stat("files.File"), Stat("files.Directory"));
        let p = |path: &str| {
            serde_json::json!({ "path": path })
                .as_object()
                .unwrap()
                .clone()
        };
        let (a, b, none, cat) = (p("/a"), p("/b"), FactArgs::new(), args("x"));
        let todo = |list: Vec<(&'static dyn Fact, &'static FactArgs)>| -> Vec<Todo<'static>> {
            list.into_iter()
                .map(|(f, a)| (f, a, String::new(), String::new(), StringCommand::from("x")))
                .collect()
        };
        let leak = |a: FactArgs| -> &'static FactArgs { Box::leak(Box::new(a)) };
        let file: &'static dyn Fact = Box::leak(Box::new(file));
        let dir: &'static dyn Fact = Box::leak(Box::new(dir));
        let (a, b, none, cat) = (leak(a), leak(b), leak(none), leak(cat));
        let shape = |s: &[Section]| -> Vec<String> {
            s.iter()
                .map(|s| match s {
                    Section::Alone(t) => format!("alone {t}"),
                    Section::Shared { items, members, .. } => format!("{items:?} {members:?}"),
                })
                .collect()
        };
        let got = sections(&todo(vec![
            (file, a),
            (&Cat, cat),
            (dir, a),
            (file, b),
            (file, none),
        ]));
        assert_eq!(
            shape(&got),
            [
                "alone 1",
                "alone 4",
                r#"["/a", "/b"] [(0, 0), (2, 0), (3, 1)]"#
            ]
        );
        let got = sections(&todo(vec![(file, a), (&Cat, cat)]));
        assert_eq!(shape(&got), ["alone 1", "alone 0"]);
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
