//! pyinfra-format fact and operation vectors.
//!
//! Runs `tests/vectors/{facts,operations}/<module>.<Name>/*.{json,yaml}` (copies of pyinfra's
//! own vectors, MIT-licensed) and, when `RINFRA_PYINFRA_VECTORS` points at pyinfra's `tests/`
//! directory, the full upstream set too, printing passed/failed per module. Facts and operations
//! rinfra does not implement are counted as skipped. Failures in the project's own directory
//! fail the test unless listed in `tests/vectors/known_failures.txt` (with a reason).
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod fake_host;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rinfra_connectors::{FileSource, StringCommand};
use rinfra_core::{bind_fact_args, FactArgs, FactRegistry, OpCommand, OperationRegistry};
use serde_json::{json, Value};

use fake_host::FakeHost;

#[derive(Default)]
struct Tally {
    /// module → (passed, failed, skipped)
    modules: BTreeMap<String, (usize, usize, usize)>,
    failures: Vec<String>,
}

impl Tally {
    fn record(&mut self, module: &str, case: &str, result: Result<(), String>) {
        let entry = self.modules.entry(module.to_string()).or_default();
        match result {
            Ok(()) => entry.0 += 1,
            Err(e) => {
                entry.1 += 1;
                self.failures.push(format!("{case}: {e}"));
            }
        }
    }

    fn skip(&mut self, module: &str, n: usize) {
        self.modules.entry(module.to_string()).or_default().2 += n;
    }

    fn print(&self, title: &str) {
        println!("== {title}");
        let (mut p, mut f, mut s) = (0, 0, 0);
        for (module, (passed, failed, skipped)) in &self.modules {
            if passed + failed > 0 {
                println!(
                    "{module:<14} {passed:>4} passed, {failed:>3} failed, {skipped:>3} skipped"
                );
            }
            p += passed;
            f += failed;
            s += skipped;
        }
        println!("{title}: {p} passed, {f} failed, {s} skipped (not implemented)");
    }
}

fn vectors_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn known_failures() -> Vec<String> {
    std::fs::read_to_string(vectors_root().join("known_failures.txt"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Vector files of one directory, sorted.
fn case_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("json" | "yaml" | "yml")
            )
        })
        .collect();
    files.sort();
    files
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// pyinfra loads every vector with `yaml.safe_load` (so JSON files may have trailing commas).
fn load(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    serde_yaml::from_str(&text).map_err(|e| format!("cannot parse: {e}"))
}

/// pyinfra's `parse_value`, into rinfra's JSON conventions: datetimes become naive ISO strings,
/// `path:` prefixes are dropped, `io:` becomes `{"content": ...}` and sets become lists.
fn parse_value(v: &Value) -> Value {
    match v {
        Value::String(s) => {
            if let Some(d) = s.strip_prefix("datetime:") {
                json!(d)
            } else if let Some(p) = s.strip_prefix("path:") {
                json!(p)
            } else if let Some(c) = s.strip_prefix("io:") {
                json!({"content": c})
            } else {
                v.clone()
            }
        }
        Value::Array(a) => {
            let items = if a.first() == Some(&json!("set:")) {
                &a[1..]
            } else {
                &a[..]
            };
            Value::Array(items.iter().map(parse_value).collect())
        }
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), parse_value(v))).collect())
        }
        other => other.clone(),
    }
}

/// Python equality of JSON values (`1 == 1.0`, dict order ignored).
fn py_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| py_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| py_eq(v, w)))
        }
        _ => a == b,
    }
}

/// pyinfra's `get_command_string`.
fn command_string(cmd: &StringCommand) -> Value {
    let (raw, masked) = (cmd.get_raw_value(), cmd.get_masked_value());
    if raw == masked {
        json!(raw)
    } else {
        json!({"raw": raw, "masked": masked})
    }
}

// ---------------------------------------------------------------------------------------------
// facts

fn run_fact_case(registry: &FactRegistry, name: &str, data: &Value) -> Result<(), String> {
    let fact = registry.get(name).map_err(|e| e.to_string())?;
    let (positional, kwargs): (Vec<Value>, FactArgs) = match data.get("arg") {
        None => (vec![], FactArgs::new()),
        Some(Value::Array(a)) => (a.clone(), FactArgs::new()),
        Some(Value::Object(o)) => (vec![], o.clone()),
        Some(v) => (vec![v.clone()], FactArgs::new()),
    };
    let args = bind_fact_args(fact.as_ref(), &positional, &kwargs).map_err(|e| e.to_string())?;
    let host_facts = data.get("facts").cloned().unwrap_or(Value::Null);
    let command = match rinfra_ops::host_specific_command(name, &args, &host_facts) {
        Some(c) => c,
        None => fact.command(&args).map_err(|e| e.to_string())?,
    };
    if let Some(want) = data.get("command") {
        let got = command_string(&command);
        if &got != want {
            return Err(format!("command\n   got: {got}\n  want: {want}"));
        }
    }
    if let Some(want) = data.get("requires_command") {
        let got = fact.requires_command(&args);
        if got.as_deref() != want.as_str() {
            return Err(format!("requires_command got {got:?}, want {want}"));
        }
    }
    let output: Vec<String> = match data.get("output") {
        Some(Value::String(s)) => s.lines().map(String::from).collect(),
        Some(Value::Array(a)) => a.iter().map(rinfra_ops::python_str).collect(),
        _ => vec![],
    };
    // `output: null` means the command printed nothing: the engine then uses the default
    let got = if data.get("output").is_none_or(Value::is_null) {
        fact.default()
    } else {
        fact.process(&output, &args).map_err(|e| e.to_string())?
    };
    let want = data.get("fact").cloned().unwrap_or(Value::Null);
    if !py_eq(&got, &want) {
        return Err(format!("fact\n   got: {got}\n  want: {want}"));
    }
    Ok(())
}

fn run_fact_dir(registry: &FactRegistry, root: &Path, tally: &mut Tally) {
    for dir in subdirs(root) {
        let name = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let module = name.split('.').next().unwrap_or("").to_string();
        let cases = case_files(&dir);
        if registry.get(&name).is_err() {
            tally.skip(&module, cases.len());
            continue;
        }
        for case in cases {
            let id = format!(
                "facts/{name}/{}",
                case.file_name().unwrap_or_default().to_string_lossy()
            );
            let result = load(&case).and_then(|d| run_fact_case(registry, &name, &d));
            tally.record(&module, &id, result);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// operations

fn encode_command(cmd: &OpCommand, host: &FakeHost) -> Value {
    match cmd {
        OpCommand::Shell { command, overrides } => {
            let s = command_string(command);
            if overrides.is_empty() {
                s
            } else {
                let mut o = overrides.clone();
                o.insert("command".into(), s);
                Value::Object(o)
            }
        }
        OpCommand::Upload { src, dest, .. } => match src {
            FileSource::Bytes(b) => json!(["upload", String::from_utf8_lossy(b), dest]),
            FileSource::Path(p) => json!(["upload", host.display_local(p), dest]),
        },
        OpCommand::Download { src, dest } => json!(["download", src, host.display_local(dest)]),
        OpCommand::Callback(cb) => {
            let (args, kwargs) = cb.arguments();
            json!([cb.describe(), args, kwargs])
        }
    }
}

async fn run_op_case(registry: &OperationRegistry, name: &str, data: &Value) -> Result<(), String> {
    let op = registry.get(name).ok_or("unknown operation")?;
    if let Some(platforms) = data.get("require_platform").and_then(Value::as_array) {
        if !platforms.iter().any(|p| p == "Linux") {
            return Ok(());
        }
    }
    let args = parse_value(data.get("args").unwrap_or(&json!([])));
    let kwargs = parse_value(data.get("kwargs").unwrap_or(&json!({})));
    let mut op_args = rinfra_core::OpArgs::new();
    let params = op.params();
    // pyinfra's `raise_exception(exception, *args, **kwargs)`: the rest of the positional
    // arguments are its `args`
    let mut args = args;
    if name == "python.raise_exception" {
        if let Some(a) = args.as_array_mut().filter(|a| a.len() > 1) {
            let rest: Vec<Value> = a.drain(1..).collect();
            a.push(Value::Array(rest));
        }
    }
    for (i, v) in args.as_array().into_iter().flatten().enumerate() {
        let p = params
            .get(i)
            .ok_or_else(|| format!("too many positional arguments ({})", i + 1))?;
        op_args.insert(p.name.to_string(), v.clone());
    }
    for (k, v) in kwargs.as_object().into_iter().flatten() {
        if !rinfra_core::is_global_argument(k) {
            op_args.insert(k.clone(), v.clone());
        }
    }
    let host = FakeHost::new(
        parse_value(data.get("facts").unwrap_or(&json!({}))),
        data.get("local_files").cloned().unwrap_or(json!({})),
    )?;
    let result = match rinfra_core::validate_op_args(op.as_ref(), &op_args) {
        Ok(()) => op.generate(&op_args, &host).await,
        Err(e) => Err(e),
    };
    if let Some(exception) = data.get("exception") {
        return match result {
            Err(_) => Ok(()),
            Ok(out) => Err(format!(
                "expected exception {exception}, got commands {:?}",
                out.commands
            )),
        };
    }
    let outcome = result.map_err(|e| format!("error: {e}"))?;
    let got: Vec<Value> = outcome
        .commands
        .iter()
        .map(|c| encode_command(c, &host))
        .collect();
    let want = data.get("commands").cloned().unwrap_or(json!([]));
    if !py_eq(&Value::Array(got.clone()), &want) {
        return Err(format!(
            "commands\n   got: {}\n  want: {}",
            serde_json::to_string_pretty(&got).unwrap_or_default(),
            serde_json::to_string_pretty(&want).unwrap_or_default()
        ));
    }
    if let Some(want) = data.get("noop_description") {
        if outcome.noop.as_deref() != want.as_str() {
            return Err(format!("noop got {:?}, want {want}", outcome.noop));
        }
    } else if got.is_empty() && outcome.noop.is_none() {
        return Err("no commands and no noop description".into());
    }
    Ok(())
}

async fn run_op_dir(registry: &OperationRegistry, root: &Path, tally: &mut Tally) {
    for dir in subdirs(root) {
        let name = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let module = name.split('.').next().unwrap_or("").to_string();
        let cases = case_files(&dir);
        if registry.get(&name).is_none() {
            tally.skip(&module, cases.len());
            continue;
        }
        for case in cases {
            let id = format!(
                "operations/{name}/{}",
                case.file_name().unwrap_or_default().to_string_lossy()
            );
            let result = match load(&case) {
                Ok(d) => run_op_case(registry, &name, &d).await,
                Err(e) => Err(e),
            };
            tally.record(&module, &id, result);
        }
    }
}

fn registries() -> (FactRegistry, OperationRegistry) {
    rinfra_ops::set_test_mode(true);
    let mut facts = FactRegistry::new();
    let mut ops = OperationRegistry::new();
    rinfra_ops::register_all(&mut facts, &mut ops);
    (facts, ops)
}

fn check(tally: &Tally, title: &str, must_pass: bool) {
    tally.print(title);
    let known = known_failures();
    let unexpected: Vec<&String> = tally
        .failures
        .iter()
        .filter(|f| {
            !known
                .iter()
                .any(|k| f.starts_with(k.as_str()) || f.contains(&format!("/{k}:")))
        })
        .collect();
    for f in &tally.failures {
        println!("FAIL {f}");
    }
    if must_pass {
        assert!(
            unexpected.is_empty(),
            "{} unexpected vector failures",
            unexpected.len()
        );
    }
}

#[test]
fn fact_vectors() {
    let (facts, _) = registries();
    let mut tally = Tally::default();
    run_fact_dir(&facts, &vectors_root().join("facts"), &mut tally);
    check(&tally, "fact vectors (rinfra)", true);
    if let Ok(dir) = std::env::var("RINFRA_PYINFRA_VECTORS") {
        let mut tally = Tally::default();
        run_fact_dir(&facts, &Path::new(&dir).join("facts"), &mut tally);
        check(&tally, "fact vectors (pyinfra)", false);
    }
}

#[tokio::test]
async fn operation_vectors() {
    let (_, ops) = registries();
    let mut tally = Tally::default();
    run_op_dir(&ops, &vectors_root().join("operations"), &mut tally).await;
    check(&tally, "operation vectors (rinfra)", true);
    if let Ok(dir) = std::env::var("RINFRA_PYINFRA_VECTORS") {
        let mut tally = Tally::default();
        run_op_dir(&ops, &Path::new(&dir).join("operations"), &mut tally).await;
        check(&tally, "operation vectors (pyinfra)", false);
    }
}
