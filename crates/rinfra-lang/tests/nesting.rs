//! Deeply nested files: up to Python's limits they evaluate, beyond them they are located
//! syntax errors; never a stack overflow (which aborts the process). Test threads have 2 MB
//! stacks, as tokio workers do, where Starlark's recursive parser and compiler overflow at a
//! depth of about a hundred in a debug build unless evaluation gets a stack of its own.

mod common;

use common::*;
use rinfra_lang::{ErrorKind, InventorySpec};
use serde_json::json;

/// Each: the deepest accepted file of one recursive shape, and one level more.
fn shapes() -> Vec<(&'static str, String, String)> {
    let unary = |n: usize| format!("x = {}1\n", "-".repeat(n));
    let not = |n: usize| format!("x = {}True\n", "not ".repeat(n));
    let plus = |n: usize| format!("x = {}\n", vec!["1"; n].join(" + "));
    let lambdas = |n: usize| format!("x = {}1\n", "lambda: ".repeat(n));
    let parens = |n: usize| format!("x = {}1{}\n", "(".repeat(n), ")".repeat(n));
    let calls = |n: usize| format!("x = {}1{}\n", "str(".repeat(n), ")".repeat(n));
    let blocks = |n: usize| {
        (0..n)
            .map(|i| format!("{}if True:\n", " ".repeat(i)))
            .chain([format!("{}x = 1\n", " ".repeat(n))])
            .collect::<String>()
    };
    vec![
        ("unary minus", unary(997), unary(998)),
        ("not", not(997), not(998)),
        ("a + b + ...", plus(499), plus(500)),
        ("lambda: lambda: ...", lambdas(498), lambdas(499)),
        ("parentheses", parens(200), parens(201)),
        ("calls", calls(200), calls(201)),
        ("blocks", blocks(100), blocks(101)),
    ]
}

#[test]
fn deep_deploy_files_evaluate_up_to_the_limits() {
    let p = Project::new();
    let h = host("web1", json!({}));
    for (shape, deepest, over) in shapes() {
        let r = p.run(&deepest, &h);
        assert!(r.is_ok(), "{shape}: {:?}", r.err());
        let e = p.run(&over, &h).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Syntax, "{shape}: {e}");
        assert!(
            e.location().is_some_and(|l| l.file == "deploy.py"),
            "{shape}: {e}"
        );
    }
}

#[test]
fn deep_inventory_files_evaluate_up_to_the_limits() {
    for (shape, deepest, over) in shapes() {
        let ok = InventorySpec::from_source(
            "inventory.py",
            &format!("{deepest}hosts = [\"a\"]\n"),
            None,
        );
        assert!(ok.is_ok(), "{shape}: {:?}", ok.err());
        let e = InventorySpec::from_source("inventory.py", &over, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Syntax, "{shape}: {e}");
    }
}

#[test]
fn a_hundred_thousand_parentheses_are_one_error() {
    // Was quadratic in the compatibility pass (minutes), then a stack overflow in Starlark.
    let src = format!("x = {}1{}\n", "(".repeat(100_000), ")".repeat(100_000));
    let e = Project::new()
        .run(&src, &host("web1", json!({})))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "deploy.py:1:205: too many nested parentheses (more than 200)"
    );
}
