//! pyinfra's config names (`SUDO = True`, `PARALLEL = 10`, `FAIL_PERCENT = 20`): which exist,
//! their defaults, and the global arguments many of them are the defaults of. `config.py` is
//! read by [`crate::load_config_file`]; in deploy code `config.X = ...` changes the config for
//! the rest of that host's deploy.

use serde_json::{Map, Value as Json};

/// A config: pyinfra's names (`SUDO`, `PARALLEL`, ...) to JSON values.
pub type ConfigMap = Map<String, Json>;

/// `(config name, global argument)` for the config names that are defaults of global arguments
/// (`SUDO` → `_sudo`), from rinfra's one global-argument table.
pub fn config_arguments() -> impl Iterator<Item = (&'static str, &'static str)> {
    rinfra_core::GLOBAL_ARGUMENTS
        .iter()
        .filter_map(|a| a.config.map(|c| (c, a.name)))
}

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
    config_arguments().find(|(n, _)| *n == name).map(|(_, a)| a)
}

/// The config as global-argument defaults: the lowest layer of
/// `rinfra_core::GlobalArguments::resolve`. `ENV` is merged over the `INHERIT_ENV` variables of
/// the local environment (pyinfra's `generate_env`); `PARALLEL = 0` means unset.
pub fn config_to_global_args(config: &ConfigMap) -> Map<String, Json> {
    let mut out = Map::new();
    for (name, arg) in config_arguments() {
        if let Some(v) = config.get(name) {
            if name == "PARALLEL" && v.as_u64() == Some(0) {
                continue;
            }
            if name != "ENV" {
                out.insert(arg.to_string(), v.clone());
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
    // DEFAULT_TEMP_DIR: the temp directory when TEMP_DIR is not set. (pyinfra looks at the
    // host's TMPDIR in between; rinfra does not, so it is the `_temp_dir` default.)
    if out.get("_temp_dir").is_none_or(Json::is_null) {
        if let Some(Json::String(d)) = config.get("DEFAULT_TEMP_DIR") {
            if d.as_str() != rinfra_connectors::DEFAULT_TEMP_DIR {
                out.insert("_temp_dir".into(), Json::String(d.clone()));
            }
        }
    }
    out
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
    fn global_argument_defaults() {
        let c: ConfigMap = serde_json::from_value(
            json!({"SUDO": true, "PARALLEL": 10, "FAIL_PERCENT": 20, "ENV": {"A": "b"}}),
        )
        .unwrap();
        let g = config_to_global_args(&c);
        assert_eq!(
            serde_json::Value::Object(g),
            json!({"_sudo": true, "_parallel": 10, "_env": {"A": "b"}})
        );
    }

    #[test]
    fn default_temp_dir_when_temp_dir_is_unset() {
        let c = |v: serde_json::Value| config_to_global_args(&serde_json::from_value(v).unwrap());
        assert_eq!(
            c(json!({"DEFAULT_TEMP_DIR": "/var/tmp"}))["_temp_dir"],
            json!("/var/tmp")
        );
        assert_eq!(
            c(json!({"DEFAULT_TEMP_DIR": "/var/tmp", "TEMP_DIR": "/srv/t"}))["_temp_dir"],
            json!("/srv/t")
        );
        assert_eq!(
            c(json!({"DEFAULT_TEMP_DIR": "/var/tmp", "TEMP_DIR": null}))["_temp_dir"],
            json!("/var/tmp")
        );
        assert!(c(json!({"DEFAULT_TEMP_DIR": "/tmp"}))
            .get("_temp_dir")
            .is_none());
    }

    #[test]
    fn argument_mapping() {
        assert_eq!(config_argument("SUDO"), Some("_sudo"));
        assert_eq!(config_argument("SHELL"), Some("_shell_executable"));
        assert_eq!(config_argument("RETRY"), Some("_retries"));
        assert_eq!(config_argument("FAIL_PERCENT"), None);
        assert_eq!(config_argument("DEFAULT_TEMP_DIR"), None);
        for (config, _) in config_arguments() {
            assert!(CONFIG_NAMES.contains(&config), "{config}");
        }
    }
}
