mod common;

use common::*;
use rinfra_lang::{ErrorKind, LangError};
use serde_json::json;

fn err(src: &str) -> LangError {
    let p = Project::new();
    p.run(src, &host("web1", json!({"port": 80, "users": []})))
        .unwrap_err()
}

#[test]
fn syntax_error() {
    let e = err("server.shell(\"x\"\nserver.shell('y')\n");
    assert_eq!(e.kind(), ErrorKind::Syntax);
    let loc = e.location().unwrap();
    assert_eq!((loc.file.as_str(), loc.line), ("deploy.py", 2));
    assert!(
        e.diagnostic().unwrap().contains("server.shell('y')"),
        "{e:?}"
    );
}

#[test]
fn unknown_operation() {
    let e = err("from pyinfra.operations import files\nfiles.putt(src='a', dest='b')\n");
    assert_eq!(
        e.to_string(),
        "deploy.py:2:1: Object of type `namespace` has no attribute `putt`, did you mean `put`?"
    );
}

#[test]
fn unknown_operation_module() {
    let e = err("from pyinfra.operations import filez\n");
    assert_eq!(
        e.to_string(),
        "deploy.py:1:32: unknown operation module `filez`"
    );
    assert!(
        e.hint().unwrap().starts_with("did you mean `files`?"),
        "{:?}",
        e.hint()
    );
}

#[test]
fn unknown_argument_lists_valid_names() {
    let e = err("\n\nfiles.put(src='a', dset='/b')\n");
    assert_eq!(e.kind(), ErrorKind::Eval);
    assert_eq!(
        e.to_string(),
        "deploy.py:3:1: unknown argument `dset` for operation `files.put`"
    );
    assert_eq!(
        e.hint().unwrap(),
        "did you mean `dest`? arguments of `files.put`: src, dest, user, group, mode; plus the global arguments (`_sudo`, `_if`, `name`, ...)"
    );
}

#[test]
fn typo_of_global_argument() {
    let e = err("files.put(src='a', dest='/b', sudo=True)\n");
    assert!(
        e.hint().unwrap().starts_with("did you mean `_sudo`?"),
        "{:?}",
        e.hint()
    );
    let e = err("files.put(src='a', dest='/b', _sduo=True)\n");
    assert_eq!(
        e.to_string(),
        "deploy.py:1:1: unknown global argument `_sduo`"
    );
    assert!(e.hint().unwrap().starts_with("did you mean `_sudo`?"));
}

#[test]
fn missing_argument() {
    let e = err("files.put(src='a')\n");
    assert_eq!(
        e.to_string(),
        "deploy.py:1:1: missing required argument `dest` for operation `files.put`"
    );
}

#[test]
fn wrong_types() {
    let e = err("files.put(src='a', dest='/b', _sudo='yes')\n");
    assert_eq!(
        e.to_string(),
        "deploy.py:1:1: global argument `_sudo` must be a bool, got str \"yes\""
    );
    let e = err("def f():\n    pass\nfiles.put(src=f, dest='/b')\n");
    assert_eq!(e.location().unwrap().line, 3);
    assert!(
        e.message()
            .starts_with("argument `src` of `files.put`: a `function` value"),
        "{e}"
    );
    let e = err("x = 'a' + 1\n");
    assert_eq!(e.location().unwrap().line, 1);
    assert!(e.message().contains("not supported"), "{e}");
}

#[test]
fn undefined_data_key_names_key_and_host() {
    let e = err("x = 1\nserver.shell(str(host.data.prot))\n");
    assert_eq!(
        e.to_string(),
        "deploy.py:2:18: host `web1` has no data `prot`"
    );
    let hint = e.hint().unwrap();
    assert!(hint.starts_with("did you mean `port`?"), "{hint}");
    assert!(hint.contains("host.data.get(\"prot\", default)"), "{hint}");
    assert!(e
        .diagnostic()
        .unwrap()
        .contains("host `web1` has no data `prot`"));
}

#[test]
fn unsupported_python() {
    let e = err("class Foo:\n    pass\n");
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert_eq!(
        e.to_string(),
        "deploy.py:1:1: classes are not supported in deploy files"
    );
    let e = err("x = 1\ntry:\n    x = 2\nexcept Exception:\n    pass\n");
    assert_eq!(
        e.to_string(),
        "deploy.py:2:1: try/except is not supported in deploy files"
    );
    assert!(e.hint().unwrap().contains("host.data.get"));
    let e = err("import requests\n");
    assert_eq!(
        e.to_string(),
        "deploy.py:1:8: import of `requests` is not supported in deploy files"
    );
}

#[test]
fn unknown_fact_import() {
    let e = err("from pyinfra.facts.server import Nope\n");
    assert_eq!(e.to_string(), "deploy.py:1:34: unknown fact `server.Nope`");
}

#[test]
fn fact_errors_name_the_host() {
    let e = err("from pyinfra.facts.server import Hostname\nhost.get_fact(Hostname)\n");
    assert_eq!(
        e.to_string(),
        "deploy.py:2:1: [web1] could not load fact `server.Hostname`: no test value for server.Hostname {}"
    );
    let e = err("host.get_fact(files.File, nope='/x')\n");
    assert!(e.message().contains("unexpected argument `nope`"), "{e}");
}

#[test]
fn error_in_included_file_points_into_it() {
    let p = Project::new();
    p.file("tasks/bad.py", "x = 1\nfiles.put(src='a')\n");
    let e = p
        .run("local.include('tasks/bad.py')\n", &host("web1", json!({})))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "tasks/bad.py:2:1: missing required argument `dest` for operation `files.put`"
    );
    p.file("tasks/syntax.py", "x = (\n");
    let e = p
        .run(
            "local.include('tasks/syntax.py')\n",
            &host("web1", json!({})),
        )
        .unwrap_err();
    assert_eq!(e.location().unwrap().file, "tasks/syntax.py");
}

#[test]
fn fail_and_python_call() {
    let e = err("fail('stop here')\n");
    assert_eq!(e.location().unwrap().line, 1);
    assert!(e.message().contains("stop here"));
}

#[test]
fn if_with_operation_result() {
    let e = err("a = files.put(src='a', dest='/b')\nserver.shell('x', _if=a)\n");
    assert_eq!(
        e.to_string(),
        "deploy.py:2:1: `_if` got an operation result, not a condition"
    );
    assert_eq!(
        e.hint(),
        Some("write `_if=op.did_change` (or `did_not_change`, `did_succeed`, `did_error`)")
    );
}

#[test]
fn config_typo_in_deploy() {
    let e = err("config.SUDOO = True\n");
    assert_eq!(e.to_string(), "deploy.py:1:1: unknown config name `SUDOO`");
    assert_eq!(e.hint(), Some("did you mean `SUDO`?"));
}

#[test]
fn errors_inside_functions_and_fstrings() {
    let e = err("def f():\n    return host.data.prot\n\nx = f()\n");
    assert_eq!(
        e.to_string(),
        "deploy.py:2:12: host `web1` has no data `prot`"
    );
    // The diagnostic keeps Starlark's traceback through the call.
    let d = e.diagnostic().unwrap();
    assert!(d.contains("deploy.py:4"), "{d}");
    let e = err("server.shell(f\"port {host.data.prot}\")\n");
    assert!(
        e.message().starts_with("host `web1` has no data `prot`"),
        "{e}"
    );
    assert_eq!(e.location().unwrap().line, 1);
    let e = err("server.shell(undefined_name)\n");
    assert_eq!(
        e.to_string(),
        "deploy.py:1:14: Variable `undefined_name` not found"
    );
}

#[test]
fn pyinfra_deploy_fails_fixtures() {
    // pyinfra's tests/test_cli/deploy_fails/invalid_operation_arg.py
    let e = err("from pyinfra.operations import server\n\nserver.shell(invalid_arg=None)\n");
    assert_eq!(
        e.to_string(),
        "deploy.py:3:1: unknown argument `invalid_arg` for operation `server.shell`"
    );
    // .../invalid_argument_type.py (pyinfra rejects `_sudo=None`; rinfra-core reads None as
    // unset, so only a real type error is one here).
    let e = err(
        "from pyinfra.operations import server\n\nserver.shell(commands=\"uptime\", _sudo=1)\n",
    );
    assert_eq!(
        e.to_string(),
        "deploy.py:3:1: global argument `_sudo` must be a bool, got number 1"
    );
}

/// starlark-syntax panics resolving the span of an invalid escape in an f-string followed by a
/// non-ASCII character (it ends inside that character); found by the `deploy` fuzz target.
#[test]
fn invalid_escape_before_non_ascii_in_f_string_is_a_located_error() {
    let e = err("x = 1\ny = f\"\\uՏaaa\"\n");
    assert_eq!(e.kind(), ErrorKind::Syntax);
    let loc = e.location().unwrap();
    assert_eq!((loc.file.as_str(), loc.line), ("deploy.py", 2));
    assert!(e.message().contains("invalid string escape"), "{e:?}");
}

/// Source is read as UTF-8, as Python reads it; a byte that is not is located.
#[test]
fn a_file_that_is_not_utf8_is_a_located_error() {
    let p = Project::new();
    let path = p.path().join("latin1.py");
    std::fs::write(&path, b"x = 1\ny = \"caf\xe9\"\n").unwrap();
    let e = p.env().load_file(&path).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Syntax);
    let loc = e.location().unwrap();
    assert_eq!((loc.line, loc.column), (2, 9));
    assert_eq!(e.message(), "the file is not valid UTF-8 (byte 0xe9)");
    assert_eq!(e.hint(), Some("save the file as UTF-8"));
}
