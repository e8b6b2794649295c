//! Which operation and fact arguments hold secrets, and how they are shown.
//!
//! pyinfra prints every argument of an operation in its label (`mysql.user (user=app,
//! password=...)`) unless the deploy wraps the value in a `HiddenValue`. Database passwords
//! reach operations and facts as plain keyword arguments (`mysql_password`, `psql_password`,
//! the `password` of `mysql.user` and `postgres.role`), so rinfra masks them by name wherever
//! arguments are shown: operation labels, `--json`, the `Loaded fact` lines.

use rinfra_connectors::MASKED;
use serde_json::{Map, Value};

/// Whether an argument called `name` is a secret: its name ends with `password`
/// (`password`, `mysql_password`, `psql_password`, `_sudo_password`, `ssh_password`, ...).
pub fn is_secret_argument(name: &str) -> bool {
    name.ends_with("password")
}

/// `value` as it may be shown for the argument `name`: secrets (when set) become `*MASKED*`.
pub fn shown_argument(name: &str, value: &Value) -> Value {
    if is_secret_argument(name) && !value.is_null() {
        Value::String(MASKED.into())
    } else {
        value.clone()
    }
}

/// Arguments as JSON text for logs, with secret values masked.
pub fn shown_arguments_json(args: &Map<String, Value>) -> String {
    let shown: Map<String, Value> = args
        .iter()
        .map(|(k, v)| (k.clone(), shown_argument(k, v)))
        .collect();
    serde_json::to_string(&shown).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn password_arguments_are_masked_and_others_kept() {
        let args =
            json!({"mysql_user": "app", "mysql_password": "s3cret", "password": None::<String>});
        let text = shown_arguments_json(args.as_object().unwrap());
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("\"mysql_password\":\"*MASKED*\""), "{text}");
        assert!(text.contains("\"mysql_user\":\"app\""), "{text}");
        assert!(text.contains("\"password\":null"), "{text}");
        assert_eq!(shown_argument("psql_password", &json!("x")), json!(MASKED));
        assert_eq!(shown_argument("user", &json!("x")), json!("x"));
    }
}
