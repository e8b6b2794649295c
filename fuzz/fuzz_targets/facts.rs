//! Every registered fact's `command` and `process`.
//!
//! Input: byte 0 picks the fact (index into the sorted names of `rinfra_ops::register_facts`,
//! modulo their number); the rest is text whose first line is the fact's arguments as JSON (as
//! pyinfra's fact vectors write `arg`: an array is positional, an object keyword arguments,
//! anything else one positional argument; not JSON means no arguments) and whose other lines
//! are the command's stdout. Arguments go through `bind_fact_args` and `command` first, as in a
//! real run, so `process` only sees arguments the fact accepted. A fact that loads with others
//! (`SharedLoad`: one `stat` for many paths) also has the stdout split between its path and two
//! fixed ones, and each part parsed: the split may give up, never hand out lines it was not given.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use rinfra_core::{bind_fact_args, Fact, FactArgs, FactRegistry};
use serde_json::Value;

fn facts() -> &'static Vec<Arc<dyn Fact>> {
    static FACTS: OnceLock<Vec<Arc<dyn Fact>>> = OnceLock::new();
    FACTS.get_or_init(|| {
        let mut registry = FactRegistry::new();
        rinfra_ops::register_facts(&mut registry);
        let names: Vec<&str> = registry.names().collect();
        names
            .iter()
            .map(|n| registry.get(n).expect("registered").clone())
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let facts = facts();
    let fact = &facts[usize::from(selector) % facts.len()];
    let text = String::from_utf8_lossy(rest);
    let mut lines = text.lines();
    let (positional, kwargs): (Vec<Value>, FactArgs) =
        match serde_json::from_str::<Value>(lines.next().unwrap_or("")) {
            Err(_) => (vec![], FactArgs::new()),
            Ok(Value::Array(a)) => (a, FactArgs::new()),
            Ok(Value::Object(o)) => (vec![], o),
            Ok(v) => (vec![v], FactArgs::new()),
        };
    let Ok(args) = bind_fact_args(fact.as_ref(), &positional, &kwargs) else {
        return;
    };
    if fact.command(&args).is_err() {
        return;
    }
    let _ = fact.requires_command(&args);
    let stdout: Vec<String> = lines.map(str::to_string).collect();
    let _ = fact.process(&stdout, &args);
    if let Some(loader) = fact.shared_load() {
        if let Some(item) = loader.item(&args) {
            let mut items = vec!["/srv/a".to_string(), "/srv/a b".to_string()];
            if !items.contains(&item) {
                items.push(item);
            }
            let _ = loader.command(&items);
            if let Some(split) = loader.split(&items, 0, &stdout) {
                assert_eq!(split.len(), items.len());
                for part in &split {
                    assert!(part.iter().all(|l| stdout.contains(l)), "a line not in the output");
                    let _ = fact.process(part, &args);
                }
            }
        }
    }
});
