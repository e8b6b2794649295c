//! `files.template`: render a Jinja2 template (minijinja with Python compatibility) and upload
//! the result like `files.put`.

use std::sync::{Arc, Mutex, Weak};

use rinfra_core::{OpArgs, OpHost, OperationError};
use serde_json::{Map, Value};

use crate::operations::files::put::{put_source, Source};
use crate::operations::{define_op, Args, Out};

/// Parameters of `files.template` that are not template data.
const OWN_PARAMS: &[&str] = &[
    "src",
    "dest",
    "user",
    "group",
    "mode",
    "create_remote_dir",
    "jinja_env_kwargs",
];

/// Render `source` with pyinfra's Jinja2 settings: strict undefined, trailing newline kept.
/// Errors name the template, the line, and the offending expression.
pub(crate) fn render(
    name: &str,
    source: &str,
    context: &Map<String, Value>,
    inventory: Option<&Arc<Value>>,
) -> Result<String, OperationError> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .keep_trailing_newline(true)
        .build()
        .map_err(|e| OperationError::Other(e.to_string()))?;
    env.set_syntax(syntax);
    minijinja_contrib::add_to_environment(&mut env);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    let vars = minijinja::Value::from(minijinja::value::Serde(PlainMap(context)));
    // The last map wins: the host's data and the call's arguments over `inventory`.
    let ctx = match inventory {
        Some(inventory) => minijinja::value::merge_maps([
            minijinja::context! { inventory => inventory_value(inventory) },
            vars,
        ]),
        None => vars,
    };
    // minijinja parses and renders recursively (`{{ - - - … 1 }}` overflowed a tokio worker).
    let result = rinfra_core::with_deep_stack(|| {
        env.template_from_named_str(name, source)
            .and_then(|t| t.render(ctx))
    });
    result.map_err(|e| template_error(name, source, &e))
}

/// The run's inventory as a template value, converted once and then shared by every render
/// (converting it per render made each host's render cost grow with the number of hosts).
fn inventory_value(inventory: &Arc<Value>) -> minijinja::Value {
    type Converted = Option<(Weak<Value>, minijinja::Value)>;
    static LAST: Mutex<Converted> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    // The `Weak` keeps the allocation, so an equal address is the same inventory.
    if let Some((seen, value)) = last.as_ref() {
        if std::ptr::eq(seen.as_ptr(), Arc::as_ptr(inventory)) {
            return value.clone();
        }
    }
    let value = minijinja::Value::from(minijinja::value::Serde(PlainJson(inventory)));
    *last = Some((Arc::downgrade(inventory), value.clone()));
    value
}

/// A JSON map serialized as [`PlainJson`] does.
struct PlainMap<'a>(&'a Map<String, Value>);

impl serde::Serialize for PlainMap<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, &PlainJson(v))?;
        }
        map.end()
    }
}

/// Serializes JSON with plain numbers. Should a dependency turn on serde_json's
/// `arbitrary_precision` (starlark did), then `Number` serializes as a private map that minijinja would
/// show as `{'$serde_json::private::Number': '80'}`; maps keep their (Python dict) order.
struct PlainJson<'a>(&'a Value);

impl serde::Serialize for PlainJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        match self.0 {
            Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => s.serialize_i64(i),
                (_, Some(u)) => s.serialize_u64(u),
                _ => s.serialize_f64(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for v in a {
                    seq.serialize_element(&PlainJson(v))?;
                }
                seq.end()
            }
            Value::Object(m) => PlainMap(m).serialize(s),
            other => other.serialize(s),
        }
    }
}

fn template_error(name: &str, source: &str, e: &minijinja::Error) -> OperationError {
    let line = e.line().unwrap_or(1);
    let lines: Vec<&str> = source.lines().map(str::trim).collect();
    let start = line.saturating_sub(2);
    let end = (line + 1).min(lines.len());
    let context = lines
        .get(start..end)
        .map(|l| l.join("\n"))
        .unwrap_or_default();
    let mut what = e
        .detail()
        .map(String::from)
        .unwrap_or_else(|| e.kind().to_string());
    if e.kind() == minijinja::ErrorKind::UndefinedError {
        if let Some(expr) = e.range().and_then(|r| source.get(r)) {
            what = format!("undefined variable in `{}`", expr.trim());
        }
    }
    OperationError::Other(format!(
        "Error in template: {name} (L{line}): {what}\n...\n{context}\n..."
    ))
}

define_op! {
    /// Render a Jinja2 template with the host's data plus the call's extra keyword arguments,
    /// and upload the result.
    ///
    /// Deploy example: `files.template(src="templates/app.conf.j2", dest="/etc/app.conf", port=8080)`
    Template = "files.template";
    params: [required "src" = "the local Jinja2 template (relative to the deploy directory)",
             required "dest" = "where the rendered file goes on the host",
             optional "user" = "owner (user name)",
             optional "group" = "group (group name)",
             optional "mode" = "permissions, octal (`644`, `'0644'`) or symbolic (`u+x`)",
             optional "create_remote_dir" = "create the parent directory when missing",
             optional "jinja_env_kwargs" = "Jinja2 environment options (`trim_blocks`, ...)"];
    extra_kwargs: true;
    touches: "dest";
    generate: template;
}

/// The template's data: the host's context, then the call's extra arguments.
pub(crate) fn template_data(
    a_args: &OpArgs,
    host: &dyn OpHost,
    own: &[&str],
) -> Map<String, Value> {
    let mut data = host.template_context();
    for (k, v) in a_args {
        if !own.contains(&k.as_str()) {
            data.insert(k.clone(), v.clone());
        }
    }
    data
}

/// Read and render the template named by the `src` argument.
pub(crate) fn render_src(
    a: &Args<'_>,
    host: &dyn OpHost,
    data: &Map<String, Value>,
) -> Result<String, OperationError> {
    let (name, source) = match a.get("src") {
        Some(Value::Object(o)) if o.contains_key("content") => (
            "<string>".to_string(),
            crate::python::python_str(&o["content"]),
        ),
        Some(v) => {
            let shown = crate::python::python_str(v);
            let path = host.local_path(&shown);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                OperationError::Other(format!("cannot read template `{}`: {e}", path.display()))
            })?;
            let shown = if shown.starts_with('/') {
                shown
            } else {
                format!("/{shown}")
            };
            (shown, text)
        }
        None => return Err(a.invalid("src", "missing required argument")),
    };
    render(&name, &source, data, host.inventory_context().as_ref())
}

async fn template(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let data = template_data(a.raw(), host, OWN_PARAMS);
    let rendered = render_src(a, host, &data)?;
    let mut args = OpArgs::new();
    for k in ["dest", "user", "group", "mode", "create_remote_dir"] {
        if let Some(v) = a.get(k) {
            args.insert(k.to_string(), v.clone());
        }
    }
    args.insert("add_deploy_dir".into(), Value::Bool(false));
    let inner = Args::new(a.op, &args);
    put_source(&inner, host, out, Source::Content(rendered.into_bytes())).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn numbers_render_as_numbers() {
        let out = render(
            "t",
            "{{ port }} {{ port + 1 }} {{ ratio }} {{ list[0] }}",
            &ctx(json!({"port": 80, "ratio": 0.5, "list": [7]})),
            None,
        )
        .unwrap();
        assert_eq!(out, "80 81 0.5 7");
    }

    #[test]
    fn renders_like_jinja2() {
        let out = render(
            "t",
            "{{ x.upper() }} {{ d.items()|list|length }}\n",
            &ctx(json!({"x": "a", "d": {"k": 1}})),
            None,
        )
        .unwrap();
        assert_eq!(out, "A 1\n");
    }

    /// minijinja recurses per unary operator; a test thread's 2 MB stack overflowed at a few
    /// thousand before renders got a stack of their own.
    #[test]
    fn deeply_nested_expressions_render() {
        let source = format!("{{{{ {}1 }}}}", "-".repeat(5000));
        assert_eq!(render("t", &source, &ctx(json!({})), None).unwrap(), "1");
    }

    #[test]
    fn undefined_names_file_line_and_variable() {
        let err = render("/t.j2", "ok\n{{ missing_var }}\n", &ctx(json!({})), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("/t.j2 (L2)"), "{err}");
        assert!(err.contains("missing_var"), "{err}");
    }

    /// `inventory` comes from the run's shared value, behind the host's data and the call's
    /// arguments of the same name; each run's inventory is its own, not the last one seen.
    #[test]
    fn inventory_is_shared_and_loses_to_own_names() {
        let first = Arc::new(json!({"hosts": ["a", "b"], "groups": {"web": ["a"]}}));
        let template = "{{ inventory.hosts|join(',') }} {{ inventory.groups.web[0] }} {{ x }}";
        let out = render("t", template, &ctx(json!({"x": 1})), Some(&first)).unwrap();
        assert_eq!(out, "a,b a 1");
        let second = Arc::new(json!({"hosts": ["c"], "groups": {"web": ["c"]}}));
        let out = render("t", template, &ctx(json!({"x": 2})), Some(&second)).unwrap();
        assert_eq!(out, "c c 2");
        let own = ctx(json!({"x": 3, "inventory": {"hosts": ["mine"], "groups": {"web": ["m"]}}}));
        let out = render("t", template, &own, Some(&first)).unwrap();
        assert_eq!(out, "mine m 3");
        let out = render(
            "t",
            "{% for h in inventory.hosts %}{{ h }}{% endfor %}",
            &ctx(json!({})),
            Some(&first),
        );
        assert_eq!(out.unwrap(), "ab");
    }
}
