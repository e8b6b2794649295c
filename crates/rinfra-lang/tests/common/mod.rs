//! Test operations, facts and helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rinfra_connectors::StringCommand;
use rinfra_core::{
    Fact, FactArgs, FactError, FactRegistry, OpArgs, OpCall, OpHost, OpOutcome, Operation,
    OperationError, OperationRegistry, Param,
};
use rinfra_lang::{DeployEnv, DeployOutput, FactProvider, HostContext, LangError};
use serde_json::{json, Map, Value};

pub struct TestOp {
    pub name: &'static str,
    pub params: &'static [Param],
}

#[async_trait]
impl Operation for TestOp {
    fn name(&self) -> &'static str {
        self.name
    }
    fn params(&self) -> &'static [Param] {
        self.params
    }
    fn accepts_extra_kwargs(&self) -> bool {
        // like pyinfra's `files.template(src, dest, **data)`
        self.name == "files.template"
    }
    async fn generate(
        &self,
        _args: &OpArgs,
        _host: &dyn OpHost,
    ) -> Result<OpOutcome, OperationError> {
        Ok(OpOutcome::noop("test"))
    }
}

pub struct TestFact {
    pub name: &'static str,
    pub params: &'static [&'static str],
}

impl Fact for TestFact {
    fn name(&self) -> &'static str {
        self.name
    }
    fn params(&self) -> &'static [&'static str] {
        self.params
    }
    fn command(&self, args: &FactArgs) -> Result<StringCommand, FactError> {
        Ok(StringCommand::from(format!(
            "fact {} {}",
            self.name,
            Value::Object(args.clone())
        )))
    }
    fn process(&self, stdout: &[String], _args: &FactArgs) -> Result<Value, FactError> {
        Ok(Value::String(stdout.join("\n")))
    }
}

pub fn registries() -> (Arc<OperationRegistry>, Arc<FactRegistry>) {
    let mut ops = OperationRegistry::new();
    for (name, params) in [
        (
            "files.put",
            &[
                Param::required("src"),
                Param::required("dest"),
                Param::optional("user"),
                Param::optional("group"),
                Param::optional("mode"),
            ][..],
        ),
        (
            "files.directory",
            &[
                Param::required("path"),
                Param::optional("present"),
                Param::optional("user"),
            ][..],
        ),
        ("server.shell", &[Param::required("commands")][..]),
        (
            "files.template",
            &[Param::required("src"), Param::required("dest")][..],
        ),
        (
            "server.user",
            &[
                Param::required("user"),
                Param::optional("present"),
                Param::optional("home"),
            ][..],
        ),
        (
            "apt.packages",
            &[
                Param::optional("packages"),
                Param::optional("present"),
                Param::optional("update"),
            ][..],
        ),
    ] {
        // Leak the params so they are 'static, as real ops' are.
        let params: &'static [Param] = Box::leak(params.to_vec().into_boxed_slice());
        ops.register(Arc::new(TestOp { name, params }));
    }
    let mut facts = FactRegistry::new();
    for (name, params) in [
        ("server.LinuxName", &[][..]),
        ("server.Hostname", &[][..]),
        ("server.Command", &["command"][..]),
        ("files.File", &["path"][..]),
        ("files.Directory", &["path"][..]),
    ] {
        let params: &'static [&'static str] = Box::leak(params.to_vec().into_boxed_slice());
        facts.register(Arc::new(TestFact { name, params }));
    }
    (Arc::new(ops), Arc::new(facts))
}

/// Facts answered from a table: `fact name + args JSON` → value; records what was asked.
#[derive(Default)]
pub struct TableFacts {
    pub table: BTreeMap<String, Value>,
    pub asked: Mutex<Vec<String>>,
}

impl TableFacts {
    pub fn with(mut self, fact: &str, args: Value, value: Value) -> Self {
        self.table.insert(format!("{fact} {args}"), value);
        self
    }
}

impl FactProvider for TableFacts {
    fn get_fact(&self, fact: &str, args: Map<String, Value>) -> Result<Value, String> {
        let key = format!("{fact} {}", Value::Object(args));
        self.asked.lock().unwrap().push(key.clone());
        self.table
            .get(&key)
            .cloned()
            .ok_or_else(|| format!("no test value for {key}"))
    }
}

pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, text).unwrap();
        p
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn env(&self) -> DeployEnv {
        let (ops, facts) = registries();
        DeployEnv::new(ops, facts, self.dir.path().to_path_buf())
    }

    /// Write `deploy.py` and evaluate it for `host`.
    pub fn run_with(
        &self,
        src: &str,
        host: &HostContext,
        facts: &dyn FactProvider,
    ) -> Result<DeployOutput, LangError> {
        let path = self.file("deploy.py", src);
        let env = self.env();
        let file = env.load_file(&path)?;
        env.evaluate(&file, 0, host, facts)
    }

    pub fn run(&self, src: &str, host: &HostContext) -> Result<DeployOutput, LangError> {
        self.run_with(src, host, &TableFacts::default())
    }
}

pub fn host(name: &str, data: Value) -> HostContext {
    HostContext {
        name: name.into(),
        groups: vec!["web".into()],
        data: data.as_object().cloned().unwrap_or_default(),
        ..Default::default()
    }
}

/// `op args order location` lines, for compact assertions.
pub fn summary(calls: &[OpCall]) -> Vec<String> {
    calls
        .iter()
        .map(|c| {
            let mut s = format!(
                "{} {} {:?} {}",
                c.op,
                Value::Object(c.args.clone()),
                c.order,
                c.location
            );
            if !c.global_args.is_empty() {
                s.push_str(&format!(
                    " globals={}",
                    Value::Object(c.global_args.clone())
                ));
            }
            s
        })
        .collect()
}

pub fn j(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

pub fn unused() -> Value {
    json!(null)
}
