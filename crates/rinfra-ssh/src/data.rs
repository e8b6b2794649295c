//! The `ssh_*` host data keys, as pyinfra's `@ssh` connector reads them.

use std::time::Duration;

use rinfra_connectors::{ConnectError, HostData, Secret};
use serde::{Deserialize, Deserializer};

/// pyinfra's `ssh_strict_host_key_checking`: what to do with a host key that is not known.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StrictHostKeyChecking {
    /// `yes` (also `ask`: nobody can answer a prompt mid-run): unknown keys are refused.
    Yes,
    /// `no`/`off`: unknown keys are accepted and not recorded (pyinfra's `WarningPolicy`).
    No,
    /// `accept-new` (the default): unknown keys are appended to the first known_hosts file.
    #[default]
    AcceptNew,
}

impl StrictHostKeyChecking {
    /// Parse a value as pyinfra and ssh_config write it (`yes`, `no`, `off`, `accept-new`,
    /// `ask`, `true`, `false`), case-insensitively.
    pub fn parse(value: &str) -> Option<Self> {
        match value.to_ascii_lowercase().as_str() {
            "yes" | "true" | "ask" => Some(Self::Yes),
            "no" | "off" | "false" => Some(Self::No),
            "accept-new" => Some(Self::AcceptNew),
            _ => None,
        }
    }
}

/// How files move (pyinfra's `ssh_file_transfer_protocol`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FileTransferProtocol {
    /// SFTP, falling back to `cat` over exec when the server has no SFTP subsystem.
    #[default]
    Sftp,
    /// pyinfra's `scp`: rinfra streams through `cat` over exec instead (no scp protocol).
    Scp,
}

/// The `@ssh` connector's host data (pyinfra's `ConnectorData` for `ssh`).
///
/// Every field is optional in the inventory; the defaults are pyinfra's. Numbers may be given as
/// numbers or strings, booleans as booleans or `yes`/`no` strings. Secrets are never printed:
/// `Debug` masks them.
#[derive(Clone, Deserialize)]
#[serde(default)]
pub struct SshData {
    /// Address or name to connect to; default: the inventory name.
    pub ssh_hostname: Option<String>,
    /// Port; default: ssh_config's `Port`, else 22.
    #[serde(deserialize_with = "lenient_opt_u64")]
    pub ssh_port: Option<u64>,
    /// Login user; default: ssh_config's `User`, else the local user.
    pub ssh_user: Option<String>,
    /// Private key file. When set, the agent and the default keys are not used (pyinfra).
    pub ssh_key: Option<String>,
    /// Passphrase of `ssh_key` (and of the other key files tried).
    #[serde(deserialize_with = "opt_secret")]
    pub ssh_key_password: Option<Secret>,
    /// Password for password (and keyboard-interactive) authentication.
    #[serde(deserialize_with = "opt_secret")]
    pub ssh_password: Option<Secret>,
    /// Use the ssh-agent (default true).
    #[serde(deserialize_with = "lenient_bool_true")]
    pub ssh_allow_agent: bool,
    /// Try the default key files in `~/.ssh` (default true).
    #[serde(deserialize_with = "lenient_bool_true")]
    pub ssh_look_for_keys: bool,
    /// Forward the local ssh-agent to the target.
    #[serde(deserialize_with = "lenient_opt_bool")]
    pub ssh_forward_agent: Option<bool>,
    /// ssh_config file to read instead of `~/.ssh/config`.
    pub ssh_config_file: Option<String>,
    /// known_hosts file to use instead of `~/.ssh/known_hosts`.
    pub ssh_known_hosts_file: Option<String>,
    /// `yes`, `no` or `accept-new` (default: ssh_config's setting, else `accept-new`).
    #[serde(deserialize_with = "strict_opt")]
    pub ssh_strict_host_key_checking: Option<StrictHostKeyChecking>,
    /// Jump hosts, `[user@]host[:port]` separated by commas (as `ssh -J`).
    pub ssh_proxy_jump: Option<String>,
    /// How many times to retry a failed connection (default 0).
    #[serde(deserialize_with = "lenient_u64")]
    pub ssh_connect_retries: u64,
    /// Shortest pause between connection attempts, in seconds (default 0.1).
    #[serde(deserialize_with = "lenient_f64")]
    pub ssh_connect_retry_min_delay: f64,
    /// Longest pause between connection attempts, in seconds (default 0.5).
    #[serde(deserialize_with = "lenient_f64")]
    pub ssh_connect_retry_max_delay: f64,
    /// Connect timeout in seconds; default: ssh_config's `ConnectTimeout`, else 10.
    #[serde(deserialize_with = "lenient_opt_f64")]
    pub ssh_connect_timeout: Option<f64>,
    /// `sftp` (default) or `scp` (streams through `cat` over exec).
    #[serde(deserialize_with = "protocol")]
    pub ssh_file_transfer_protocol: FileTransferProtocol,
}

impl Default for SshData {
    fn default() -> Self {
        Self {
            ssh_hostname: None,
            ssh_port: None,
            ssh_user: None,
            ssh_key: None,
            ssh_key_password: None,
            ssh_password: None,
            ssh_allow_agent: true,
            ssh_look_for_keys: true,
            ssh_forward_agent: None,
            ssh_config_file: None,
            ssh_known_hosts_file: None,
            ssh_strict_host_key_checking: None,
            ssh_proxy_jump: None,
            ssh_connect_retries: 0,
            ssh_connect_retry_min_delay: 0.1,
            ssh_connect_retry_max_delay: 0.5,
            ssh_connect_timeout: None,
            ssh_file_transfer_protocol: FileTransferProtocol::Sftp,
        }
    }
}

impl std::fmt::Debug for SshData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secret fields print `*MASKED*` through `Secret`'s own Debug.
        f.debug_struct("SshData")
            .field("ssh_hostname", &self.ssh_hostname)
            .field("ssh_port", &self.ssh_port)
            .field("ssh_user", &self.ssh_user)
            .field("ssh_key", &self.ssh_key)
            .field("ssh_key_password", &self.ssh_key_password)
            .field("ssh_password", &self.ssh_password)
            .field("ssh_proxy_jump", &self.ssh_proxy_jump)
            .finish_non_exhaustive()
    }
}

/// Every `ssh_*` key this connector reads: the fields of [`SshData`], taken from its
/// `Deserialize` implementation so the list cannot drift from the struct.
pub fn ssh_data_keys() -> &'static [&'static str] {
    struct Fields(Option<&'static [&'static str]>);
    #[derive(Debug)]
    struct Stop;
    impl std::fmt::Display for Stop {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("stop")
        }
    }
    impl std::error::Error for Stop {}
    impl serde::de::Error for Stop {
        fn custom<T: std::fmt::Display>(_: T) -> Self {
            Stop
        }
    }
    impl<'de> Deserializer<'de> for &mut Fields {
        type Error = Stop;
        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            self.0 = Some(fields);
            Err(Stop)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    static KEYS: std::sync::OnceLock<&'static [&'static str]> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let mut f = Fields(None);
        let _ = SshData::deserialize(&mut f);
        f.0.unwrap_or(&[])
    })
}

/// One sentence per `ssh_*` key in `data` that this connector does not read (a typo, or a
/// pyinfra key with no meaning here), with a suggestion when one is close.
pub fn unknown_key_notices(data: &HostData) -> Vec<String> {
    data.keys()
        .filter(|k| k.starts_with("ssh_") && !ssh_data_keys().contains(&k.as_str()))
        .map(|k| {
            if k == "ssh_paramiko_connect_kwargs" {
                return format!("host data `{k}` is paramiko-specific and ignored");
            }
            let closest = ssh_data_keys()
                .iter()
                .map(|known| (edit_distance(k, known), known))
                .min();
            match closest {
                Some((d, known)) if d <= 3 => {
                    format!("unknown host data `{k}` is ignored (did you mean `{known}`?)")
                }
                _ => format!("unknown host data `{k}` is ignored"),
            }
        })
        .collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

impl SshData {
    /// Read the `ssh_*` keys of a host's data; other keys are ignored.
    pub fn from_host_data(data: &HostData) -> Result<Self, ConnectError> {
        let ssh: serde_json::Map<String, serde_json::Value> = data
            .iter()
            .filter(|(k, _)| k.starts_with("ssh_"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let parsed: Self = serde_json::from_value(serde_json::Value::Object(ssh))
            .map_err(|e| ConnectError::new(format!("invalid ssh host data: {e}")))?;
        if let Some(port) = parsed.ssh_port {
            if port == 0 || port > u64::from(u16::MAX) {
                return Err(ConnectError::new(format!(
                    "invalid ssh host data: `ssh_port` {port} is not a TCP port"
                )));
            }
        }
        Ok(parsed)
    }

    /// `ssh_port` as a port number (validated by [`from_host_data`](Self::from_host_data)).
    pub fn port(&self) -> Option<u16> {
        self.ssh_port.and_then(|p| u16::try_from(p).ok())
    }

    /// The connect timeout from the data, if given.
    pub fn connect_timeout(&self) -> Option<Duration> {
        self.ssh_connect_timeout
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(Duration::from_secs_f64)
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Loose {
    Bool(bool),
    Int(u64),
    Float(f64),
    Str(String),
}

fn loose_f64(v: Loose) -> Result<f64, String> {
    match v {
        Loose::Int(i) => Ok(i as f64),
        Loose::Float(f) => Ok(f),
        Loose::Str(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("`{s}` is not a number")),
        Loose::Bool(b) => Err(format!("`{b}` is not a number")),
    }
}

fn loose_u64(v: Loose) -> Result<u64, String> {
    match v {
        Loose::Int(i) => Ok(i),
        Loose::Str(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("`{s}` is not a whole number")),
        Loose::Float(f) if f.fract() == 0.0 && f >= 0.0 => Ok(f as u64),
        Loose::Float(f) => Err(format!("`{f}` is not a whole number")),
        Loose::Bool(b) => Err(format!("`{b}` is not a number")),
    }
}

fn loose_bool(v: Loose) -> Result<bool, String> {
    match v {
        Loose::Bool(b) => Ok(b),
        Loose::Int(i) => Ok(i != 0),
        Loose::Str(s) => match s.to_ascii_lowercase().as_str() {
            "yes" | "true" | "on" | "1" => Ok(true),
            "no" | "false" | "off" | "0" => Ok(false),
            _ => Err(format!("`{s}` is not yes or no")),
        },
        Loose::Float(f) => Err(format!("`{f}` is not yes or no")),
    }
}

fn with<'de, D, T>(d: D, f: fn(Loose) -> Result<T, String>) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
{
    Option::<Loose>::deserialize(d)?
        .map(f)
        .transpose()
        .map_err(serde::de::Error::custom)
}

fn lenient_opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    with(d, loose_u64)
}

fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(with(d, loose_u64)?.unwrap_or(0))
}

fn lenient_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(with(d, loose_f64)?.unwrap_or(0.0))
}

fn lenient_opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    with(d, loose_f64)
}

fn lenient_bool_true<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(with(d, loose_bool)?.unwrap_or(true))
}

fn lenient_opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    with(d, loose_bool)
}

fn opt_secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    // Do not echo the value in errors: only say what was wrong.
    match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) if s.is_empty() => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(Secret::new(s))),
        Some(_) => Err(serde::de::Error::custom("a password must be a string")),
    }
}

fn strict_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<StrictHostKeyChecking>, D::Error> {
    match Option::<Loose>::deserialize(d)? {
        None => Ok(None),
        Some(Loose::Bool(true)) => Ok(Some(StrictHostKeyChecking::Yes)),
        Some(Loose::Bool(false)) => Ok(Some(StrictHostKeyChecking::No)),
        Some(Loose::Str(s)) => StrictHostKeyChecking::parse(&s).map(Some).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{s}` is not one of `yes`, `no`, `accept-new` for `ssh_strict_host_key_checking`"
            ))
        }),
        Some(_) => Err(serde::de::Error::custom(
            "`ssh_strict_host_key_checking` must be `yes`, `no` or `accept-new`",
        )),
    }
}

fn protocol<'de, D: Deserializer<'de>>(d: D) -> Result<FileTransferProtocol, D::Error> {
    match Option::<String>::deserialize(d)?.as_deref() {
        None | Some("sftp") => Ok(FileTransferProtocol::Sftp),
        Some("scp") => Ok(FileTransferProtocol::Scp),
        Some(other) => Err(serde::de::Error::custom(format!(
            "`{other}` is not `sftp` or `scp` for `ssh_file_transfer_protocol`"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> Result<SshData, ConnectError> {
        SshData::from_host_data(v.as_object().unwrap())
    }

    #[test]
    fn defaults_are_pyinfras() {
        let d = parse(json!({"other": 1})).unwrap();
        assert!(d.ssh_allow_agent && d.ssh_look_for_keys);
        assert_eq!(d.ssh_connect_retries, 0);
        assert_eq!(d.ssh_connect_retry_min_delay, 0.1);
        assert_eq!(d.ssh_connect_retry_max_delay, 0.5);
        assert_eq!(d.ssh_strict_host_key_checking, None);
        assert_eq!(d.ssh_file_transfer_protocol, FileTransferProtocol::Sftp);
    }

    #[test]
    fn lenient_values() {
        let d = parse(json!({
            "ssh_port": "2222", "ssh_connect_retries": 3, "ssh_forward_agent": "yes",
            "ssh_strict_host_key_checking": "accept-new", "ssh_connect_timeout": "2.5",
            "ssh_allow_agent": false, "ssh_password": null,
        }))
        .unwrap();
        assert_eq!(d.port(), Some(2222));
        assert_eq!(d.ssh_connect_retries, 3);
        assert_eq!(d.ssh_forward_agent, Some(true));
        assert_eq!(
            d.ssh_strict_host_key_checking,
            Some(StrictHostKeyChecking::AcceptNew)
        );
        assert_eq!(d.connect_timeout(), Some(Duration::from_millis(2500)));
        assert!(!d.ssh_allow_agent);
        assert!(d.ssh_password.is_none());
    }

    #[test]
    fn known_keys_come_from_the_struct() {
        let keys = ssh_data_keys();
        assert_eq!(keys.len(), 18, "{keys:?}");
        assert!(keys.contains(&"ssh_proxy_jump") && keys.contains(&"ssh_key_password"));
    }

    #[test]
    fn unknown_keys_are_noticed_with_a_suggestion() {
        let data = json!({"ssh_usr": "x", "ssh_user": "y", "other": 1,
                          "ssh_paramiko_connect_kwargs": {}, "ssh_zzzzzzzzzz": 1});
        let mut notices = unknown_key_notices(data.as_object().unwrap());
        notices.sort();
        assert_eq!(
            notices,
            [
                "host data `ssh_paramiko_connect_kwargs` is paramiko-specific and ignored",
                "unknown host data `ssh_usr` is ignored (did you mean `ssh_user`?)",
                "unknown host data `ssh_zzzzzzzzzz` is ignored",
            ]
        );
    }

    #[test]
    fn bad_values_are_named_and_secrets_never_echoed() {
        let e = parse(json!({"ssh_port": 70000})).unwrap_err();
        assert!(e.to_string().contains("ssh_port"), "{e}");
        let e = parse(json!({"ssh_strict_host_key_checking": "maybe"})).unwrap_err();
        assert!(e.to_string().contains("maybe"), "{e}");
        let d = parse(json!({"ssh_password": "hunter2", "ssh_key_password": "k3y"})).unwrap();
        let shown = format!("{d:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("k3y"),
            "{shown}"
        );
        let e = parse(json!({"ssh_password": ["hunter2"]})).unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
}
