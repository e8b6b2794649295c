//! `config.py` files and the `config` object of deploy code.
//!
//! pyinfra's config is a set of uppercase names (`SUDO = True`, `PARALLEL = 10`,
//! `FAIL_PERCENT = 20`); many are the defaults of global arguments ([`CONFIG_ARGUMENTS`]).
//! In deploy code `config.SUDO = True` changes the config for the rest of that file.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use allocative::Allocative;
use serde_json::{Map, Value as Json};
use starlark::starlark_simple_value;
use starlark::values::{
    starlark_value, Heap, NoSerialize, ProvidesStaticType, StarlarkValue, Value,
};

use crate::context::lock;
use crate::convert::to_json;
use crate::error::{native_error, native_error_hint, ErrorKind, LangError};
use crate::simple_eval::eval_data_file;

/// A config: pyinfra's names (`SUDO`, `PARALLEL`, ...) to JSON values.
pub type ConfigMap = Map<String, Json>;

/// Config names that are defaults of global arguments, and the argument each sets.
pub const CONFIG_ARGUMENTS: &[(&str, &str)] = &[
    ("SUDO", "_sudo"),
    ("SUDO_USER", "_sudo_user"),
    ("USE_SUDO_LOGIN", "_use_sudo_login"),
    ("SUDO_PASSWORD", "_sudo_password"),
    ("PRESERVE_SUDO_ENV", "_preserve_sudo_env"),
    ("SU_USER", "_su_user"),
    ("USE_SU_LOGIN", "_use_su_login"),
    ("PRESERVE_SU_ENV", "_preserve_su_env"),
    ("SU_SHELL", "_su_shell"),
    ("SU_PASSWORD", "_su_password"),
    ("DOAS", "_doas"),
    ("DOAS_USER", "_doas_user"),
    ("DZDO", "_dzdo"),
    ("DZDO_USER", "_dzdo_user"),
    ("SHELL", "_shell_executable"),
    ("ENV", "_env"),
    ("TEMP_DIR", "_temp_dir"),
    ("IGNORE_ERRORS", "_ignore_errors"),
    ("RETRY", "_retries"),
    ("RETRY_DELAY", "_retry_delay"),
    ("PARALLEL", "_parallel"),
];

/// Every config name pyinfra 3.10 knows (`ConfigDefaults`), for checking typos.
pub const CONFIG_NAMES: &[&str] = &[
    "FAIL_PERCENT",
    "CONNECT_TIMEOUT",
    "TEMP_DIR",
    "DEFAULT_TEMP_DIR",
    "PARALLEL",
    "REQUIRE_PYINFRA_VERSION",
    "REQUIRE_PACKAGES",
    "SU_USER",
    "USE_SU_LOGIN",
    "SU_SHELL",
    "PRESERVE_SU_ENV",
    "SU_PASSWORD",
    "SUDO",
    "SUDO_USER",
    "PRESERVE_SUDO_ENV",
    "USE_SUDO_LOGIN",
    "SUDO_PASSWORD",
    "USE_SUDO_PASSWORD",
    "DOAS",
    "DOAS_USER",
    "DZDO",
    "DZDO_USER",
    "IGNORE_ERRORS",
    "SHELL",
    "DIFF",
    "RETRY",
    "RETRY_DELAY",
    "INHERIT_ENV",
    "ENV",
];

/// The global argument a config name is the default of (`SUDO` → `_sudo`).
pub fn config_argument(name: &str) -> Option<&'static str> {
    CONFIG_ARGUMENTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, a)| *a)
}

/// The config as global-argument defaults: the lowest layer of
/// `rinfra_core::GlobalArguments::resolve`. `ENV` is merged over the `INHERIT_ENV` variables of
/// the local environment (pyinfra's `generate_env`); `PARALLEL = 0` means unset.
pub fn config_to_global_args(config: &ConfigMap) -> Map<String, Json> {
    let mut out = Map::new();
    for (name, arg) in CONFIG_ARGUMENTS {
        if let Some(v) = config.get(*name) {
            if *name == "PARALLEL" && v.as_u64() == Some(0) {
                continue;
            }
            if *name != "ENV" {
                out.insert((*arg).to_string(), v.clone());
            }
        }
    }
    let mut env = Map::new();
    if let Some(Json::Array(names)) = config.get("INHERIT_ENV") {
        for n in names.iter().filter_map(Json::as_str) {
            if let Ok(v) = std::env::var(n) {
                env.insert(n.to_string(), Json::String(v));
            }
        }
    }
    if let Some(Json::Object(m)) = config.get("ENV") {
        env.extend(m.clone());
    }
    if !env.is_empty() {
        out.insert("_env".into(), Json::Object(env));
    }
    out
}

/// Evaluate a `config.py`: every uppercase top-level name is a config value. Names pyinfra does
/// not know are kept (plugins read their own) but a close typo of a known name is an error.
pub fn load_config_file(path: &Path) -> Result<ConfigMap, LangError> {
    let source = LangError::read_source(path)?;
    eval_config_source(&path.display().to_string(), &source)
}

/// [`load_config_file`] on source text; `file` names it in errors.
pub fn eval_config_source(file: &str, source: &str) -> Result<ConfigMap, LangError> {
    let vars = eval_data_file(file, source)?;
    let mut out = ConfigMap::new();
    for (name, (value, line)) in vars.values {
        if name != name.to_uppercase() {
            continue;
        }
        if !CONFIG_NAMES.contains(&name.as_str()) {
            if let Some(best) = crate::operations::did_you_mean(&name, CONFIG_NAMES.iter().copied())
            {
                return Err(LangError::new(
                    ErrorKind::Invalid,
                    format!("unknown config name `{name}`"),
                )
                .at(crate::error::Location {
                    file: file.to_string(),
                    line,
                    column: 1,
                })
                .with_hint(format!("did you mean `{best}`?"))
                .with_source(source, name.chars().count()));
            }
        }
        out.insert(name, value);
    }
    Ok(out)
}

/// `config` in deploy code: read and set config names for the rest of the file.
#[derive(Debug, ProvidesStaticType, NoSerialize, Allocative)]
pub(crate) struct ConfigValue {
    #[allocative(skip)]
    pub(crate) config: Arc<Mutex<ConfigMap>>,
}
starlark_simple_value!(ConfigValue);

impl fmt::Display for ConfigValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<config>")
    }
}

#[starlark_value(type = "Config")]
impl<'v> StarlarkValue<'v> for ConfigValue {
    fn get_attr(&self, attribute: &str, heap: Heap<'v>) -> Option<Value<'v>> {
        if let Some(v) = lock(&self.config).get(attribute) {
            return Some(heap.alloc(v.clone()));
        }
        CONFIG_NAMES
            .contains(&attribute)
            .then(|| heap.alloc(config_default(attribute)))
    }

    fn has_attr(&self, attribute: &str, _heap: Heap<'v>) -> bool {
        CONFIG_NAMES.contains(&attribute) || lock(&self.config).contains_key(attribute)
    }

    fn dir_attr(&self) -> Vec<String> {
        CONFIG_NAMES.iter().map(|s| s.to_string()).collect()
    }

    fn set_attr(&self, attribute: &str, new_value: Value<'v>) -> starlark::Result<()> {
        if !CONFIG_NAMES.contains(&attribute) {
            let hint =
                match crate::operations::did_you_mean(attribute, CONFIG_NAMES.iter().copied()) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => format!("config names: {}", CONFIG_NAMES.join(", ")),
                };
            return Err(native_error_hint(
                &format!("unknown config name `{attribute}`"),
                &hint,
            ));
        }
        let v = to_json(new_value).map_err(|e| native_error(format!("config.{attribute}: {e}")))?;
        lock(&self.config).insert(attribute.to_string(), v);
        Ok(())
    }
}

/// pyinfra's `ConfigDefaults`.
pub fn config_default(name: &str) -> Json {
    match name {
        "CONNECT_TIMEOUT" => Json::from(10),
        "DEFAULT_TEMP_DIR" => Json::from("/tmp"),
        "PARALLEL" | "RETRY" => Json::from(0),
        "RETRY_DELAY" => Json::from(5),
        "SHELL" => Json::from("sh"),
        "USE_SU_LOGIN" | "SU_SHELL" | "PRESERVE_SU_ENV" | "SUDO" | "PRESERVE_SUDO_ENV"
        | "USE_SUDO_LOGIN" | "DOAS" | "DZDO" | "IGNORE_ERRORS" | "DIFF" | "USE_SUDO_PASSWORD" => {
            Json::Bool(false)
        }
        "INHERIT_ENV" => Json::Array(Vec::new()),
        "ENV" => Json::Object(Map::new()),
        _ => Json::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn config_file() {
        let c = eval_config_source(
            "config.py",
            "from pyinfra import config\nSUDO = True\nPARALLEL = 10\nFAIL_PERCENT = 20\n_private = 1\nlower = 2\nENV = {'A': 'b'}\n",
        )
        .unwrap();
        assert_eq!(
            serde_json::Value::Object(c.clone()),
            json!({"SUDO": true, "PARALLEL": 10, "FAIL_PERCENT": 20, "ENV": {"A": "b"}})
        );
        let g = config_to_global_args(&c);
        assert_eq!(
            serde_json::Value::Object(g),
            json!({"_sudo": true, "_parallel": 10, "_env": {"A": "b"}})
        );
    }

    #[test]
    fn config_typo() {
        let e = eval_config_source("config.py", "x = 1\nSUDOO = True\n").unwrap_err();
        assert_eq!(e.to_string(), "config.py:2:1: unknown config name `SUDOO`");
        assert_eq!(e.hint(), Some("did you mean `SUDO`?"));
    }

    #[test]
    fn argument_mapping() {
        assert_eq!(config_argument("SUDO"), Some("_sudo"));
        assert_eq!(config_argument("SHELL"), Some("_shell_executable"));
        assert_eq!(config_argument("RETRY"), Some("_retries"));
        assert_eq!(config_argument("FAIL_PERCENT"), None);
        for (_, arg) in CONFIG_ARGUMENTS {
            assert!(rinfra_core::is_global_argument(arg), "{arg}");
        }
    }
}
