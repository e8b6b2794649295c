//! The pyinfra compatibility pass: a source rewrite run before Starlark parses a file.
//!
//! pyinfra files are Python; Starlark reserves Python keywords it does not implement (`from`,
//! `import`, `is`, `class`, `try`, ...), so a typical `deploy.py` does not parse as is. This pass
//! rewrites the few Python-only forms pyinfra files use, keeping every line where it was
//! (errors and the operation order use line numbers), and rejects everything else with
//! `file:line:col` and what to write instead.
//!
//! | Python | becomes |
//! |---|---|
//! | `from pyinfra import host`, `from pyinfra.operations import files`, `from pyinfra.facts.server import LinuxName`, `import os`, ... | a blank line; the names are predeclared (fact imports are recorded in [`CompatOutput::fact_imports`]) |
//! | `x is None` / `x is not None` | `x == None` / `x !=     None` (same width) |
//! | `@deploy("Name", data_defaults=...)` on `def f(...)` | `f = deploy("Name", ...)(lambda *a, **k: __rinfra_f(*a, **k))` and `def __rinfra_f(...)` |
//! | `@operation()` on `def f(...)` | the same with `operation()`; `yield cmd` in its body becomes `__Y__(cmd)` (same width) |
//!
//! Only the decorator and `def` lines of decorated functions change width.

mod lexer;

use lexer::{Lexed, Lexer, Stmt, Tok, TokKind};

use crate::error::{ErrorKind, LangError, Location};

/// The rewritten source and what its import lines asked for.
#[derive(Debug, Default)]
pub struct CompatOutput {
    /// The source to give Starlark: same lines as the input.
    pub source: String,
    /// `from pyinfra.facts.<module> import <Name>`: `(Name, "<module>.<Name>")`.
    pub fact_imports: Vec<(String, String)>,
    /// `from pyinfra.operations import <module>`: `(module, line)`.
    pub op_module_imports: Vec<(String, usize)>,
    /// Every name bound by an import line (group_data files leave them out of the data).
    pub imported_names: Vec<String>,
    /// `from <module> import ...` of a local helper file: `(module, line)`.
    pub local_imports: Vec<(String, usize)>,
}

/// Python keywords Starlark reserves, with what to write instead.
fn unsupported_keyword(word: &str) -> Option<(&'static str, &'static str)> {
    Some(match word {
        "class" => (
            "classes are not supported in deploy files",
            "use a dict, or functions that take and return dicts",
        ),
        "try" | "except" | "finally" => (
            "try/except is not supported in deploy files",
            "check the condition first (`if x != None:`), use `host.data.get(\"key\", default)` for optional data, or `fail(\"message\")` to stop",
        ),
        "with" => (
            "`with` blocks are not supported in deploy files",
            "read local files with `local.read_file(path)`; `with host.when(...):` and `with host.arguments(...):` are supported",
        ),
        "while" => (
            "`while` loops are not supported in deploy files",
            "use `for i in range(n):` (Starlark loops are bounded)",
        ),
        "global" | "nonlocal" => (
            "`global`/`nonlocal` are not supported in deploy files",
            "return the value from the function, or keep state in a dict or list you mutate",
        ),
        "raise" => (
            "`raise` is not supported in deploy files",
            "use `fail(\"message\")`",
        ),
        "assert" => (
            "`assert` is not supported in deploy files",
            "use `if not condition: fail(\"message\")`",
        ),
        "del" => (
            "`del` is not supported in deploy files",
            "use `d.pop(key)` or build a new value",
        ),
        "async" | "await" => (
            "async code is not supported in deploy files",
            "call functions directly",
        ),
        "yield" => (
            "`yield` is only supported in functions decorated with `@operation()`",
            "decorate the function with `@operation()` or return a list",
        ),
        "as" => (
            "`as` is not supported in deploy files",
            "bind the value with an assignment (`name = value`)",
        ),
        "import" | "from" => (
            "imports are only supported at the start of a line",
            "write `from pyinfra.operations import files` on its own line",
        ),
        _ => return None,
    })
}

/// Python's limit on bracket nesting (CPython's tokenizer says "too many nested
/// parentheses"). Starlark's parser recurses for every level, so a file nested thousands deep
/// would overflow the stack.
const MAX_NESTING: usize = 200;

/// The most tokens on the path from a statement to one of its parts: the tokens of the
/// comma-separated part, plus those of the parts around it in the enclosing brackets. Each
/// token can add a level to the syntax tree that Starlark parses, compiles and drops
/// recursively (`- - - 1`, `a + b + c`, `x.y.z`, `lambda: lambda: 1`), so this bounds its depth;
/// long lists and calls are separated by commas and stay far below it.
const MAX_EXPRESSION: usize = 1000;

/// Python's limit on nested blocks (CPython's "too many levels of indentation").
const MAX_BLOCKS: usize = 100;

/// Which limit a statement is over.
enum TooDeep {
    Brackets,
    Expression,
    Blocks,
}

/// The deepest bracket nesting in an f-string token, and the bytes of its longest `{...}`
/// expression (Starlark parses each with the same recursive parser). Brackets inside nested
/// quotes count too: over-estimates, only ever compared with the limits above.
fn f_string_expressions(text: &str) -> (usize, usize) {
    let prefix = text.bytes().take_while(|b| b.is_ascii_alphabetic());
    if !prefix.clone().any(|b| b.eq_ignore_ascii_case(&b'f')) {
        return (0, 0);
    }
    let (mut depth, mut max_depth) = (0usize, 0usize);
    let (mut length, mut max_length) = (0usize, 0usize);
    for b in text.bytes() {
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                max_depth = max_depth.max(depth);
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    length = 0;
                }
            }
            _ if depth > 0 => {
                length += 1;
                max_length = max_length.max(length);
            }
            _ => {}
        }
    }
    (max_depth, max_length)
}

/// Python keywords that can precede `(` without it being a call.
fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "in" | "not"
            | "and"
            | "or"
            | "if"
            | "else"
            | "return"
            | "for"
            | "lambda"
            | "yield"
            | "elif"
            | "while"
            | "assert"
            | "is"
    )
}

/// Modules whose import lines are accepted (names predeclared).
fn allowed_import(module: &str) -> bool {
    matches!(
        module,
        "pyinfra"
            | "pyinfra.operations"
            | "pyinfra.operations.util"
            | "pyinfra.api"
            | "pyinfra.api.deploy"
            | "pyinfra.api.operation"
            | "pyinfra.api.facts"
            | "pyinfra.facts"
            | "pyinfra.local"
            | "os"
            | "os.path"
            | "__future__"
    ) || module.starts_with("pyinfra.facts.")
}

struct Rewriter<'a> {
    file: &'a str,
    src: &'a str,
    out: Vec<u8>,
    /// Text to insert before the byte at a position, applied last (positions in `src`).
    inserts: Vec<(usize, String)>,
    result: CompatOutput,
}

impl Rewriter<'_> {
    fn loc(&self, tok: &Tok) -> Location {
        Location {
            file: self.file.to_string(),
            line: tok.line + 1,
            column: tok.col + 1,
        }
    }

    fn text(&self, tok: &Tok) -> &str {
        &self.src[tok.start..tok.end]
    }

    fn unsupported(&self, tok: &Tok, message: &str, hint: &str) -> LangError {
        let width = self
            .text(tok)
            .lines()
            .next()
            .map_or(1, |l| l.chars().count());
        LangError::new(ErrorKind::Unsupported, message)
            .at(self.loc(tok))
            .with_hint(hint)
            .with_source(self.src, width)
    }

    /// Replace every byte of the statement's lines by spaces (newlines kept).
    fn blank(&mut self, stmt: &Stmt) {
        let start = self.src[..stmt.toks[0].start]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let last = &stmt.toks[stmt.toks.len() - 1];
        let end = self.src[last.end..]
            .find('\n')
            .map_or(self.src.len(), |i| last.end + i);
        for b in &mut self.out[start..end] {
            if !matches!(*b, b'\n' | b'\r' | b'\t') {
                *b = b' ';
            }
        }
    }

    fn replace(&mut self, start: usize, end: usize, with: &str) {
        debug_assert_eq!(with.len(), end - start);
        self.out[start..end].copy_from_slice(with.as_bytes());
    }

    /// Replace the statement by `text` on its first line (the other lines are blanked).
    fn replace_stmt(&mut self, stmt: &Stmt, text: String) {
        self.blank(stmt);
        if !text.is_empty() {
            self.inserts.push((stmt.toks[0].start, text));
        }
    }

    /// `import os`, `import os.path`, `import os as o`.
    fn import_stmt(&mut self, stmt: &Stmt) -> Result<(), LangError> {
        // (module, alias)
        let mut modules: Vec<(String, Option<String>)> = vec![(String::new(), None)];
        let mut toks = stmt.toks[1..].iter().peekable();
        while let Some(tok) = toks.next() {
            let t = self.text(tok);
            let cur = modules.last_mut().expect("never empty");
            match (tok.kind, t) {
                (TokKind::Name, "as") => match toks.next() {
                    Some(alias) if alias.kind == TokKind::Name => {
                        cur.1 = Some(self.text(alias).to_string());
                    }
                    _ => {
                        return Err(self.unsupported(
                            tok,
                            "`as` needs a name",
                            "write `import os as o`",
                        ))
                    }
                },
                (TokKind::Name, _) | (TokKind::Punct, ".") => cur.0.push_str(t),
                (TokKind::Punct, ",") => modules.push((String::new(), None)),
                _ => {
                    return Err(self.unsupported(
                        tok,
                        "unexpected token in import line",
                        "write `import os`",
                    ))
                }
            }
        }
        let mut assignments = Vec::new();
        // A bare `import` has no token after the keyword.
        let at = stmt.toks.get(1).unwrap_or(&stmt.toks[0]);
        for (m, alias) in &modules {
            if m.is_empty() {
                return Err(self.unsupported(
                    at,
                    "`import` needs a module name",
                    "write `import os`",
                ));
            }
            if !matches!(m.as_str(), "os" | "os.path") {
                return Err(self.unsupported(
                    at,
                    &format!("import of `{m}` is not supported in deploy files"),
                    "`import` works for `os` and `os.path` (read-only shims); use `from pyinfra.operations import files` for pyinfra, `from helpers import f` for your own `.py` files; Starlark has `json.encode`/`json.decode` built in",
                ));
            }
            match alias {
                Some(a) => {
                    assignments.push(format!("{a} = {m}"));
                    self.result.imported_names.push(a.clone());
                }
                None => self.result.imported_names.push("os".into()),
            }
        }
        self.replace_stmt(stmt, assignments.join("; "));
        Ok(())
    }

    /// `from pyinfra.operations import files, server`, `from os import path`,
    /// `from helpers import f as g`.
    fn import_from_stmt(&mut self, stmt: &Stmt) -> Result<(), LangError> {
        let toks = &stmt.toks;
        let mut i = 1;
        let mut module = String::new();
        while i < toks.len() && self.text(&toks[i]) != "import" {
            module.push_str(self.text(&toks[i]));
            i += 1;
        }
        if i == toks.len() {
            return Err(self.unsupported(
                &toks[0],
                "`from` line without `import`",
                "write `from pyinfra.operations import files`",
            ));
        }
        let local = !allowed_import(&module);
        if local && (module.starts_with("pyinfra") || module.starts_with('.')) {
            return Err(self.unsupported(
                &toks[1],
                &format!("import from `{module}` is not supported in deploy files"),
                "pyinfra's `pyinfra`, `pyinfra.operations`, `pyinfra.facts.<module>` and `pyinfra.api` can be imported (their names are predeclared), as can `os`, `os.path` and your own `.py` files next to the deploy",
            ));
        }
        // (name, alias, line)
        let mut names: Vec<(String, Option<String>, usize)> = Vec::new();
        let mut rest = toks[i + 1..].iter();
        while let Some(tok) = rest.next() {
            let t = self.text(tok);
            match (tok.kind, t) {
                (TokKind::Name, "as") => match (rest.next(), names.last_mut()) {
                    (Some(alias), Some(last)) if alias.kind == TokKind::Name => {
                        last.1 = Some(self.text(alias).to_string());
                    }
                    _ => {
                        return Err(self.unsupported(
                            tok,
                            "`as` needs a name",
                            "write `from os import path as p`",
                        ))
                    }
                },
                (TokKind::Name, _) => names.push((t.to_string(), None, tok.line)),
                (TokKind::Punct, "(" | ")" | ",") => {}
                (TokKind::Punct, "*") => {
                    return Err(self.unsupported(
                        tok,
                        "`import *` is not supported in deploy files",
                        "import the names you use",
                    ))
                }
                _ => {
                    return Err(self.unsupported(
                        tok,
                        "unexpected token in import line",
                        "write `from pyinfra.operations import files`",
                    ))
                }
            }
        }
        let bound =
            |(n, a, _): &(String, Option<String>, usize)| a.clone().unwrap_or_else(|| n.clone());
        if local {
            // `from utils import f` -> `load("utils.py", "f")`, a local helper file (see
            // `DeployEnv`).
            let file = format!("{}.py", module.replace('.', "/"));
            let mut t = format!("load({file:?}");
            for (n, a, _) in &names {
                match a {
                    Some(a) => t.push_str(&format!(", {a}={n:?}")),
                    None => t.push_str(&format!(", {n:?}")),
                }
            }
            t.push(')');
            self.result
                .local_imports
                .push((module.clone(), toks[0].line + 1));
            for n in &names {
                self.result.imported_names.push(bound(n));
            }
            self.replace_stmt(stmt, t);
            return Ok(());
        }
        let mut assignments = Vec::new();
        for entry in &names {
            let (name, alias, line) = entry;
            let target = bound(entry);
            if let Some(fact_module) = module.strip_prefix("pyinfra.facts.") {
                self.result
                    .fact_imports
                    .push((target.clone(), format!("{fact_module}.{name}")));
            } else if module == "os" || module == "os.path" {
                assignments.push(format!("{target} = {module}.{name}"));
            } else {
                if module == "pyinfra.operations" {
                    self.result.op_module_imports.push((name.clone(), line + 1));
                }
                // Predeclared names; an alias is an assignment.
                if alias.is_some() && module != "__future__" {
                    assignments.push(format!("{target} = {name}"));
                }
            }
            self.result.imported_names.push(target);
        }
        self.replace_stmt(stmt, assignments.join("; "));
        Ok(())
    }

    /// `@deploy(...)` / `@operation(...)` on the next statement, a `def`.
    fn decorator(&mut self, stmt: &Stmt, next: Option<&Stmt>) -> Result<Option<String>, LangError> {
        let at = &stmt.toks[0];
        let Some(name_tok) = stmt.toks.get(1) else {
            return Err(self.unsupported(at, "empty decorator", "remove the `@` line"));
        };
        let deco = self.text(name_tok).to_string();
        if !matches!(deco.as_str(), "deploy" | "operation")
            || stmt.toks.len() > 2 && self.text(&stmt.toks[2]) == "."
        {
            return Err(self.unsupported(
                name_tok,
                &format!("decorator `@{deco}` is not supported in deploy files"),
                "only `@deploy(\"name\")` and `@operation()` are supported",
            ));
        }
        let Some(def) = next.filter(|d| self.text(&d.toks[0]) == "def" && d.toks.len() > 2) else {
            return Err(self.unsupported(
                at,
                &format!("`@{deco}` must be followed by a `def`"),
                "put the decorator on the line just above `def name(...):`",
            ));
        };
        let fname_tok = def.toks[1].clone();
        let fname = self.text(&fname_tok).to_string();
        // `@deploy` without arguments is taken as `@deploy()`.
        let call = if stmt.toks.len() == 2 { "()" } else { "" };
        // Decorator line: `NAME = lambda *a, **k: __rinfra_decorated(deploy(...), "NAME",
        // __rinfra_NAME, a, k)`: the wrapper looks the renamed function up when called.
        self.out[at.start] = b' ';
        self.inserts.push((
            at.start,
            format!("{fname} = lambda *a, **k: __rinfra_decorated("),
        ));
        let last = &stmt.toks[stmt.toks.len() - 1];
        self.inserts.push((
            last.end,
            format!("{call}, \"{fname}\", __rinfra_{fname}, a, k)"),
        ));
        // `def NAME(` becomes `def __rinfra_NAME(`.
        self.inserts.push((fname_tok.start, "__rinfra_".into()));
        Ok(Some(deco))
    }

    /// `with host.when(...):` / `with host.arguments(...):` (without `as`).
    fn is_host_context(&self, stmt: &Stmt) -> bool {
        let t: Vec<&str> = stmt.toks.iter().take(4).map(|t| self.text(t)).collect();
        t.len() == 4
            && t[1] == "host"
            && t[2] == "."
            && matches!(t[3], "when" | "arguments")
            && !stmt.toks.iter().any(|t| self.text(t) == "as")
    }

    /// `with X:` becomes `for _ in X:`, a one-pass loop whose iteration pushes and pops the
    /// context (see `host.when`).
    fn with_stmt(&mut self, stmt: &Stmt) {
        let w = &stmt.toks[0];
        let (s, e) = (w.start, w.end);
        self.replace(s, e, "for ");
        self.inserts.push((e, "_ in".into()));
    }

    /// `yield EXPR` inside an `@operation()` function: `__Y__(EXPR)`, same width.
    fn yield_stmt(&mut self, stmt: &Stmt) -> Result<(), LangError> {
        let y = &stmt.toks[0];
        if stmt.toks.get(1).is_some_and(|t| self.text(t) == "from") {
            return Err(self.unsupported(
                y,
                "`yield from` is not supported in deploy files",
                "return or yield the commands themselves",
            ));
        }
        if stmt.toks.len() == 1 {
            return Err(self.unsupported(
                y,
                "`yield` needs a command",
                "write `yield \"command\"`",
            ));
        }
        // `yield ` is 6 bytes, like `__Y__(`; the space after `yield` may be missing (`yield(`).
        let next = &stmt.toks[1];
        if next.start == y.end + 1 && self.src.as_bytes()[y.end] == b' ' {
            self.replace(y.start, y.end + 1, "__Y__(");
        } else {
            self.replace(y.start, y.end, "__Y__");
            self.inserts.push((y.end, "(".into()));
        }
        let last = &stmt.toks[stmt.toks.len() - 1];
        self.inserts.push((last.end, ")".into()));
        Ok(())
    }

    /// For every `(` of `stmt`, in order: its index, its matching closer's and whether a `for`
    /// sits directly inside it. One pass with a stack: a scan per `(` is quadratic in the
    /// nesting. Also where the statement is deeper than Starlark's recursive parser and
    /// compiler can take ([`MAX_NESTING`], [`MAX_EXPRESSION`]): an error here, as in Python.
    fn parens(&self, stmt: &Stmt) -> Result<Vec<(usize, usize, bool)>, LangError> {
        // (index of the opener, is it `(`, `for` directly inside, tokens before it in its
        // comma-separated part)
        let mut open: Vec<(usize, bool, bool, usize)> = Vec::new();
        let mut found = Vec::new();
        // Tokens of the current comma-separated part, and on the whole path to it: every
        // token can add a level to the syntax tree (`- - 1`, `a + b + c`, `x.y.z`, `lambda:`).
        let (mut part, mut path) = (0usize, 0usize);
        for (j, t) in stmt.toks.iter().enumerate() {
            let text = self.text(t);
            match text {
                "(" | "[" | "{" => {
                    open.push((j, text == "(", false, part + 1));
                    path += 1;
                    part = 0;
                    if open.len() > MAX_NESTING {
                        return Err(self.too_deep(t, TooDeep::Brackets));
                    }
                }
                ")" | "]" | "}" => {
                    // An unmatched closer is Starlark's to report.
                    if let Some((i, is_paren, has_for, outer)) = open.pop() {
                        if is_paren {
                            found.push((i, j, has_for));
                        }
                        path -= part;
                        part = outer;
                    }
                }
                "," | ";" => {
                    path -= part;
                    part = 0;
                }
                _ => {
                    if text == "for" && t.kind == TokKind::Name {
                        if let Some(top) = open.last_mut() {
                            top.2 = true;
                        }
                    }
                    let inner = if t.kind == TokKind::Str {
                        let (depth, length) = f_string_expressions(text);
                        if depth > MAX_NESTING {
                            return Err(self.too_deep(t, TooDeep::Brackets));
                        }
                        length
                    } else {
                        0
                    };
                    part += 1;
                    path += 1;
                    if path + inner > MAX_EXPRESSION {
                        return Err(self.too_deep(t, TooDeep::Expression));
                    }
                }
            }
        }
        found.sort_unstable_by_key(|&(i, _, _)| i);
        Ok(found)
    }

    fn too_deep(&self, tok: &Tok, what: TooDeep) -> LangError {
        let message = match what {
            TooDeep::Brackets => format!("too many nested parentheses (more than {MAX_NESTING})"),
            TooDeep::Expression => format!(
                "expression too deeply nested (more than {MAX_EXPRESSION} tokens in one \
                 comma-separated part, counting the parts around it)"
            ),
            TooDeep::Blocks => format!("too many levels of indentation (more than {MAX_BLOCKS})"),
        };
        LangError::new(ErrorKind::Syntax, message)
            .at(self.loc(tok))
            .with_hint("give the inner parts names (`part = ...`) and combine those")
            .with_source(self.src, 1)
    }

    /// Generator expressions (Starlark has only list comprehensions): `f(x for x in y)` becomes
    /// `f([x for x in y])` and a bare `(x for x in y)` becomes `tuple([x for x in y])`.
    fn generators(&mut self, stmt: &Stmt) -> Result<(), LangError> {
        let toks = &stmt.toks;
        for (i, close, has_for) in self.parens(stmt)? {
            if !has_for {
                continue;
            }
            let (open, close) = (&toks[i], &toks[close]);
            let is_call = i > 0 && {
                let prev = &toks[i - 1];
                let p = self.text(prev);
                matches!(prev.kind, TokKind::Name | TokKind::Str) && !is_keyword(p)
                    || matches!(p, ")" | "]")
            };
            if is_call {
                self.inserts.push((open.end, "[".into()));
                self.inserts.push((close.start, "]".into()));
            } else {
                let (os, oe, cs, ce) = (open.start, open.end, close.start, close.end);
                self.replace(os, oe, "[");
                self.replace(cs, ce, "]");
                self.inserts.push((os, "tuple(".into()));
                self.inserts.push((ce, ")".into()));
            }
        }
        Ok(())
    }

    /// Keywords anywhere in a statement: `is`/`is not`, and the unsupported ones.
    fn expressions(&mut self, stmt: &Stmt, skip_first: bool) -> Result<(), LangError> {
        self.generators(stmt)?;
        let toks = &stmt.toks;
        let mut i = usize::from(skip_first);
        while i < toks.len() {
            let tok = &toks[i];
            if tok.kind == TokKind::Name {
                let prev_dot = i > 0 && self.text(&toks[i - 1]) == ".";
                let t = self.text(tok);
                if t == "is" && !prev_dot {
                    if let Some(n) = toks.get(i + 1).filter(|n| self.text(n) == "not") {
                        // `is not` (and whatever spacing) -> `!=` padded to the same width.
                        let width = n.end - tok.start;
                        let with = format!("!={}", " ".repeat(width - 2));
                        let (s, e) = (tok.start, n.end);
                        self.replace(s, e, &with);
                        i += 2;
                        continue;
                    }
                    let (s, e) = (tok.start, tok.end);
                    self.replace(s, e, "==");
                } else if !prev_dot {
                    if let Some((message, hint)) = unsupported_keyword(t) {
                        return Err(self.unsupported(tok, message, hint));
                    }
                }
            }
            i += 1;
        }
        Ok(())
    }
}

/// Rewrite a pyinfra (Python) file into the deploy-language dialect. `file` names it in errors.
pub fn rewrite(file: &str, source: &str) -> Result<CompatOutput, LangError> {
    // A byte-order mark (Windows editors write one) is not part of the code, as in Python.
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let Lexed { stmts, blanks } = Lexer::new(source, file).statements()?;
    let mut rw = Rewriter {
        file,
        src: source,
        out: source.as_bytes().to_vec(),
        inserts: Vec::new(),
        result: CompatOutput::default(),
    };
    // Tabs and form feeds become spaces, byte for byte: columns stay where they were, and
    // indentation keeps the structure Python 3 gives it (it rejects files whose blocks would
    // differ with a tab counted as one column or as eight).
    for pos in blanks {
        rw.out[pos] = b' ';
    }
    // Indentation of the `def` of the `@operation()` function we are inside, if any.
    let mut op_def_indent: Option<usize> = None;
    let mut pending_op = false;
    // Indentations of the enclosing blocks and this one.
    let mut blocks: Vec<usize> = vec![0];
    let mut i = 0;
    while i < stmts.len() {
        let stmt = &stmts[i];
        while blocks.len() > 1 && blocks[blocks.len() - 1] > stmt.indent {
            blocks.pop();
        }
        if blocks[blocks.len() - 1] < stmt.indent {
            blocks.push(stmt.indent);
            if blocks.len() > MAX_BLOCKS + 1 {
                return Err(rw.too_deep(&stmt.toks[0], TooDeep::Blocks));
            }
        }
        if let Some(ind) = op_def_indent {
            if stmt.indent <= ind {
                op_def_indent = None;
            }
        }
        let first = &stmt.toks[0];
        let word = rw.text(first).to_string();
        match (first.kind, word.as_str()) {
            (TokKind::Name, "import") => rw.import_stmt(stmt)?,
            (TokKind::Name, "with") if rw.is_host_context(stmt) => {
                rw.with_stmt(stmt);
                rw.expressions(stmt, true)?;
            }
            (TokKind::Name, "from") => rw.import_from_stmt(stmt)?,
            (TokKind::Punct, "@") => {
                let deco = rw.decorator(stmt, stmts.get(i + 1))?;
                pending_op = deco.as_deref() == Some("operation");
                rw.expressions(stmt, true)?;
            }
            (TokKind::Name, "def") => {
                if pending_op {
                    op_def_indent = Some(stmt.indent);
                    pending_op = false;
                }
                rw.expressions(stmt, true)?;
            }
            (TokKind::Name, "yield") if op_def_indent.is_some() => {
                rw.yield_stmt(stmt)?;
                rw.expressions(stmt, true)?;
            }
            _ => rw.expressions(stmt, false)?,
        }
        i += 1;
    }
    // Apply insertions from the end so earlier positions stay valid.
    let mut out = rw.out;
    let mut inserts = rw.inserts;
    inserts.sort_by_key(|(pos, _)| *pos);
    for (pos, text) in inserts.into_iter().rev() {
        out.splice(pos..pos, text.into_bytes());
    }
    let mut result = rw.result;
    result.source = String::from_utf8(out).map_err(|_| {
        LangError::new(ErrorKind::Syntax, "the file is not valid UTF-8").at(Location {
            file: file.to_string(),
            line: 1,
            column: 1,
        })
    })?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(src: &str) -> String {
        rewrite("deploy.py", src).unwrap().source
    }

    fn err(src: &str) -> LangError {
        rewrite("deploy.py", src).unwrap_err()
    }

    #[test]
    fn imports_are_blanked_and_recorded() {
        let src = "from pyinfra import host, inventory\nfrom pyinfra.operations import files, server\nfrom pyinfra.facts.server import LinuxName\nimport os\nimport os.path\nfiles.put(src='a', dest='b')\n";
        let out = rewrite("deploy.py", src).unwrap();
        let lines: Vec<&str> = out.source.lines().collect();
        assert_eq!(lines.len(), 6);
        assert!(lines[..5].iter().all(|l| l.trim().is_empty()));
        assert_eq!(lines[5], "files.put(src='a', dest='b')");
        assert_eq!(
            out.fact_imports,
            vec![("LinuxName".to_string(), "server.LinuxName".to_string())]
        );
        assert_eq!(
            out.op_module_imports,
            vec![("files".to_string(), 2), ("server".to_string(), 2)]
        );
        assert!(out.imported_names.contains(&"host".to_string()));
    }

    #[test]
    fn multi_line_import() {
        let src = "from pyinfra.operations import (\n    files,\n    server,\n)\nx = 1\n";
        let out = ok(src);
        assert_eq!(out.lines().count(), 5);
        assert_eq!(out.lines().nth(4), Some("x = 1"));
        assert!(out.lines().take(4).all(|l| l.trim().is_empty()));
    }

    #[test]
    fn is_none_keeps_columns() {
        assert_eq!(ok("if x is None: pass\n"), "if x == None: pass\n");
        assert_eq!(
            ok("if x is not None and y: pass\n"),
            "if x !=     None and y: pass\n"
        );
        // Not inside strings or comments.
        assert_eq!(
            ok("s = 'x is None'  # y is not None\n"),
            "s = 'x is None'  # y is not None\n"
        );
        assert_eq!(
            ok("s = \"\"\"\nx is None\n\"\"\"\n"),
            "s = \"\"\"\nx is None\n\"\"\"\n"
        );
    }

    #[test]
    fn deploy_decorator() {
        let src =
            "@deploy(\"Install\")\ndef install(version=1):\n    files.put(src='a', dest='b')\n";
        assert_eq!(
            ok(src),
            "install = lambda *a, **k: __rinfra_decorated( deploy(\"Install\"), \"install\", __rinfra_install, a, k)\ndef __rinfra_install(version=1):\n    files.put(src='a', dest='b')\n"
        );
        let src = "@deploy\ndef install():\n    pass\n";
        assert!(ok(src)
            .starts_with("install = lambda *a, **k: __rinfra_decorated( deploy(), \"install\""));
    }

    #[test]
    fn operation_yield() {
        let src = "@operation()\ndef touch(path):\n    yield f\"touch {path}\"\n    yield(\"x\")\nx = 1\n";
        assert_eq!(
            ok(src),
            "touch = lambda *a, **k: __rinfra_decorated( operation(), \"touch\", __rinfra_touch, a, k)\ndef __rinfra_touch(path):\n    __Y__(f\"touch {path}\")\n    __Y__((\"x\"))\nx = 1\n"
        );
    }

    #[test]
    fn yield_outside_operation() {
        let e = err("def f():\n    yield 1\n");
        assert_eq!(
            e.to_string(),
            "deploy.py:2:5: `yield` is only supported in functions decorated with `@operation()`"
        );
    }

    #[test]
    fn unsupported_python() {
        let e = err("x = 1\nclass Foo:\n    pass\n");
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert_eq!(
            e.to_string(),
            "deploy.py:2:1: classes are not supported in deploy files"
        );
        assert!(e.hint().unwrap().contains("dict"));
        assert_eq!(
            e.diagnostic().unwrap(),
            "error: classes are not supported in deploy files\n --> deploy.py:2:1\n  |\n2 | class Foo:\n  | ^^^^^\n  |\nhint: use a dict, or functions that take and return dicts\n"
        );
        let e = err("try:\n    x = 1\nexcept KeyError:\n    pass\n");
        assert_eq!(
            e.to_string(),
            "deploy.py:1:1: try/except is not supported in deploy files"
        );
        let e = err("with open('x') as f:\n    pass\n");
        assert!(e.hint().unwrap().contains("local.read_file"));
        let e = err("import json\n");
        assert_eq!(
            e.to_string(),
            "deploy.py:1:8: import of `json` is not supported in deploy files"
        );
        let e = err("from pyinfra.api.state import State\n");
        assert!(e
            .to_string()
            .contains("import from `pyinfra.api.state` is not supported"));
        let e = err("def f():\n    global x\n");
        assert_eq!(e.location().unwrap().line, 2);
        assert_eq!(
            ok("from pyinfra.operations import files as f, server\n").trim_end(),
            "f = files"
        );
        assert_eq!(ok("import os as o\n").trim_end(), "o = os");
        assert_eq!(
            ok("from os.path import join as path_join\n").trim_end(),
            "path_join = os.path.join"
        );
        assert_eq!(
            ok("from helpers import f as g, h\n").trim_end(),
            "load(\"helpers.py\", g=\"f\", \"h\")"
        );
        let e = err("@functools.cache\ndef f():\n    pass\n");
        assert!(e.to_string().contains("decorator `@functools`"));
    }

    #[test]
    fn os_and_local_imports() {
        let out = rewrite(
            "deploy.py",
            "from os import path\nfrom os.path import join, dirname\nfrom utils import (\n    helper,\n    other,\n)\nx = 1\n",
        )
        .unwrap();
        let lines: Vec<&str> = out.source.lines().collect();
        assert_eq!(lines[0].trim_end(), "path = os.path");
        assert_eq!(
            lines[1].trim_end(),
            "join = os.path.join; dirname = os.path.dirname"
        );
        assert_eq!(
            lines[2].trim_end(),
            "load(\"utils.py\", \"helper\", \"other\")"
        );
        assert!(lines[3..6].iter().all(|l| l.trim().is_empty()));
        assert_eq!(lines[6], "x = 1");
        assert_eq!(out.local_imports, vec![("utils".to_string(), 3)]);
        assert!(ok("from lib.helpers import f\n").starts_with("load(\"lib/helpers.py\", \"f\")"));
    }

    #[test]
    fn with_host_contexts() {
        assert_eq!(
            ok("with host.when(lambda: x):\n    pass\n"),
            "for _ in host.when(lambda: x):\n    pass\n"
        );
        assert_eq!(
            ok("with host.arguments(_sudo=True):\n    pass\n"),
            "for _ in host.arguments(_sudo=True):\n    pass\n"
        );
        let e = err("with host.when(x) as y:\n    pass\n");
        assert!(e.to_string().contains("`with` blocks are not supported"));
    }

    #[test]
    fn generator_expressions() {
        assert_eq!(
            ok("x = sum(n for n in range(3))\n"),
            "x = sum([n for n in range(3)])\n"
        );
        assert_eq!(
            ok("x = \",\".join(str(n) for n in ns)\n"),
            "x = \",\".join([str(n) for n in ns])\n"
        );
        assert_eq!(
            ok("g = (h for h in (\"a\", \"b\"))\n"),
            "g = tuple([h for h in (\"a\", \"b\")])\n"
        );
        // List comprehensions and calls without generators are left alone.
        assert_eq!(
            ok("x = f([n for n in y], (1, 2))\n"),
            "x = f([n for n in y], (1, 2))\n"
        );
        // A generator directly inside the innermost of many parentheses.
        let deep = format!(
            "x = {}f(n for n in y){}\n",
            "(".repeat(150),
            ")".repeat(150)
        );
        let want = format!(
            "x = {}f([n for n in y]){}\n",
            "(".repeat(150),
            ")".repeat(150)
        );
        assert_eq!(ok(&deep), want);
    }

    /// Python takes tabs and form feeds as whitespace and ignores a byte-order mark;
    /// Starlark rejects all three.
    #[test]
    fn tabs_form_feeds_and_a_byte_order_mark() {
        assert_eq!(
            ok("if x:\n\tif y:\n\t\tz =\t[\n\t1]\x0c\n"),
            "if x:\n if y:\n  z = [\n 1] \n"
        );
        // Tabs in strings and comments are left alone.
        assert_eq!(ok("s = \"a\tb\"  # c\td\n"), "s = \"a\tb\"  # c\td\n");
        assert_eq!(
            ok("\u{feff}from pyinfra import host\nx = 1\n"),
            "                        \nx = 1\n"
        );
    }

    #[test]
    fn nesting_is_limited_as_in_python() {
        let parens = |n: usize| format!("x = {}1{}\n", "(".repeat(n), ")".repeat(n));
        ok(&parens(MAX_NESTING));
        let e = err(&parens(MAX_NESTING + 1));
        assert!(e.message().contains("too many nested parentheses"), "{e:?}");
        // Located at the first bracket over the limit.
        assert_eq!(e.location().map(|l| (l.line, l.column)), Some((1, 205)));
        // Unclosed brackets count too (and cost linear time, however many).
        let e = err(&format!("x = {}\n", "[".repeat(100_000)));
        assert!(e.message().contains("too many nested parentheses"), "{e:?}");
        let fstring = |n: usize| format!("x = f\"{{{}1{}}}\"\n", "(".repeat(n), ")".repeat(n));
        ok(&fstring(MAX_NESTING - 1));
        assert!(err(&fstring(MAX_NESTING + 1))
            .message()
            .contains("too many nested parentheses"));

        let blocks = |n: usize| {
            (0..n)
                .map(|i| format!("{}if True:\n", "  ".repeat(i)))
                .chain([format!("{}x = 1\n", "  ".repeat(n))])
                .collect::<String>()
        };
        ok(&blocks(MAX_BLOCKS));
        let e = err(&blocks(MAX_BLOCKS + 1));
        assert!(
            e.message().contains("too many levels of indentation"),
            "{e:?}"
        );
        // The statement 101 blocks deep, on the line after the 101st `if`.
        assert_eq!(e.location().map(|l| l.line), Some(MAX_BLOCKS + 2));
    }

    #[test]
    fn long_expressions_are_limited_but_long_lists_are_not() {
        // Every `-` is a level of Starlark's syntax tree.
        let unary = |n: usize| format!("x = {}1\n", "-".repeat(n));
        ok(&unary(MAX_EXPRESSION - 3));
        let e = err(&unary(MAX_EXPRESSION));
        assert!(e.message().contains("too deeply nested"), "{e:?}");
        // The tokens of the parts around a bracket count.
        let chain = format!("x = f({}, 1)\n", vec!["a"; MAX_EXPRESSION / 2].join(" + "));
        assert!(err(&chain).message().contains("too deeply nested"));
        let fstring = format!("x = f\"{{{}1}}\"\n", "-".repeat(MAX_EXPRESSION));
        assert!(err(&fstring).message().contains("too deeply nested"));
        // Many short placeholders are fine: each `{...}` is parsed on its own.
        let placeholders = format!("x = f\"{}\"\n", "{host.data.port} ".repeat(500));
        ok(&placeholders);
        // A 100,000-element list on one line is flat: fine (and linear in its length).
        let hosts: Vec<String> = (0..100_000).map(|i| format!("\"web{i}\"")).collect();
        let list = format!("hosts = [{}]\n", hosts.join(", "));
        assert_eq!(ok(&list), list);
        let dict = format!(
            "d = {{{}}}\n",
            hosts
                .iter()
                .map(|h| format!("{h}: 1"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        ok(&dict);
    }

    #[test]
    fn attribute_named_like_keyword_is_fine() {
        assert_eq!(ok("x = a.is_dir\n"), "x = a.is_dir\n");
    }

    /// Found by `fuzz/fuzz_targets/inventory.rs`: a bare `import` indexed past its tokens.
    #[test]
    fn bare_import_is_an_error() {
        for src in ["import ", "import\n", "import os,\n"] {
            let e = err(src);
            assert!(
                e.to_string().contains("`import` needs a module name"),
                "{src:?}: {e}"
            );
        }
    }
}
