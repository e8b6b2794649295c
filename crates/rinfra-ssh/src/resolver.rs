//! [`SshConfigResolver`]: host data over `~/.ssh/config` (or `ssh_config_file`), as pyinfra's
//! `@ssh` connector combines them, into a [`ResolvedTarget`].
//!
//! Precedence, highest first: the host's `ssh_*` data, then ssh_config, then OpenSSH's and
//! pyinfra's defaults. The config is looked up under `ssh_hostname` (the inventory name by
//! default), so `Host` blocks and `HostName` apply as with `ssh NAME`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rinfra_connectors::ConnectError;
use rinfra_ssh_config::{
    default_identity_files, ForwardAgent, IdentityAgent, ParseOptions, ResolveContext,
    ResolvedHost, SshConfig,
};

use crate::data::{SshData, StrictHostKeyChecking};
use crate::target::{
    expand_tilde, parse_proxy_jump, AgentSource, AuthSettings, JumpSpec, Proxy, ResolvedTarget,
    Retries, TargetResolver, DEFAULT_CONNECT_TIMEOUT, DEFAULT_SERVER_ALIVE_COUNT_MAX,
    DEFAULT_SERVER_ALIVE_INTERVAL,
};

/// Which ssh_config files apply when the data names none.
#[derive(Clone, Debug, PartialEq, Eq)]
enum DefaultConfig {
    /// `~/.ssh/config` then `/etc/ssh/ssh_config`, as `ssh` reads them.
    System,
    /// None: host data and defaults only.
    Nothing,
}

/// Resolves targets from host data and ssh_config. Parsed config files are cached for the
/// life of the resolver (one parse for a thousand hosts).
pub struct SshConfigResolver {
    default: DefaultConfig,
    context: ResolveContext,
    cache: Mutex<HashMap<Option<PathBuf>, Arc<SshConfig>>>,
}

impl std::fmt::Debug for SshConfigResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshConfigResolver")
            .field("default", &self.default)
            .field("home", &self.context.home_dir)
            .finish_non_exhaustive()
    }
}

impl Default for SshConfigResolver {
    fn default() -> Self {
        Self::new()
    }
}

impl SshConfigResolver {
    /// Read `~/.ssh/config` and `/etc/ssh/ssh_config` (unless `ssh_config_file` names another
    /// file), with this process's user, home and environment.
    pub fn new() -> Self {
        Self::with_context(ResolveContext::from_env())
    }

    /// Like [`new`](Self::new) with an explicit local context (tests, embedding).
    pub fn with_context(context: ResolveContext) -> Self {
        Self {
            default: DefaultConfig::System,
            context,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Ignore the default ssh_config files: host data and defaults only (`ssh_config_file`
    /// is still honoured when a host sets it).
    pub fn without_default_config(mut self) -> Self {
        self.default = DefaultConfig::Nothing;
        self
    }

    fn config(&self, file: Option<&str>) -> Result<Arc<SshConfig>, ConnectError> {
        let home = &self.context.home_dir;
        let key = file.map(|f| expand_tilde(f, home));
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = cache.get(&key) {
            return Ok(c.clone());
        }
        let parsed = match (&key, &self.default) {
            (Some(path), _) => SshConfig::parse_file_with(path, &ParseOptions::user(home)),
            (None, DefaultConfig::System) => SshConfig::load_default(home),
            (None, DefaultConfig::Nothing) => Ok(SshConfig::default()),
        }
        .map_err(|e| ConnectError::new(format!("invalid ssh config: {e}")))?;
        let parsed = Arc::new(parsed);
        cache.insert(key, parsed.clone());
        Ok(parsed)
    }

    fn lookup(
        &self,
        config: &SshConfig,
        alias: &str,
        user: Option<&str>,
        port: Option<u16>,
    ) -> Result<ResolvedHost, ConnectError> {
        let mut ctx = self.context.clone();
        if let Some(u) = user {
            ctx = ctx.with_user(u);
        }
        if let Some(p) = port {
            ctx = ctx.with_port(p);
        }
        config
            .resolve(alias, &ctx)
            .map_err(|e| ConnectError::new(format!("invalid ssh config for `{alias}`: {e}")))
    }

    fn agent(&self, host: &ResolvedHost, data: &SshData) -> Option<AgentSource> {
        if !data.ssh_allow_agent {
            return None;
        }
        Some(match &host.identity_agent {
            None => AgentSource::Env,
            Some(IdentityAgent::Disabled) => return None,
            Some(IdentityAgent::Env(var)) if var == "SSH_AUTH_SOCK" => AgentSource::Env,
            Some(IdentityAgent::Env(var)) => {
                AgentSource::Path(PathBuf::from(self.context.env.get(var)?))
            }
            Some(IdentityAgent::Path(p)) => AgentSource::Path(p.clone()),
        })
    }

    /// The target's authentication: an explicit `ssh_key` alone (pyinfra), else the agent
    /// and the config's `IdentityFile`s (or OpenSSH's default files).
    fn auth(&self, host: &ResolvedHost, data: &SshData) -> AuthSettings {
        let home = &self.context.home_dir;
        let explicit_key = data.ssh_key.as_deref().map(|k| expand_tilde(k, home));
        let (agent, identity_files) = if explicit_key.is_some() {
            (None, Vec::new())
        } else {
            (self.agent(host, data), self.identity_files(host, data))
        };
        AuthSettings {
            explicit_key,
            key_password: data.ssh_key_password.clone(),
            password: data.ssh_password.clone(),
            identity_files,
            certificate_files: host.certificate_files.clone(),
            agent,
            identities_only: host.identities_only.unwrap_or(false),
        }
    }

    fn identity_files(&self, host: &ResolvedHost, data: &SshData) -> Vec<PathBuf> {
        if !host.identity_files.is_empty() {
            host.identity_files.clone()
        } else if data.ssh_look_for_keys {
            default_identity_files(&self.context.home_dir)
        } else {
            Vec::new()
        }
    }

    fn known_hosts_files(&self, host: &ResolvedHost, data: &SshData) -> Vec<PathBuf> {
        match data.ssh_known_hosts_file.as_deref() {
            Some(f) => vec![expand_tilde(f, &self.context.home_dir)],
            None => host.known_hosts_files(),
        }
    }

    /// A target (or jump host) from its config entry, without its proxy.
    fn base_target(
        &self,
        label: String,
        host: &ResolvedHost,
        data: &SshData,
        auth: AuthSettings,
    ) -> ResolvedTarget {
        let config_strict = host.strict_host_key_checking.map(|s| match s {
            rinfra_ssh_config::StrictHostKeyChecking::Yes
            | rinfra_ssh_config::StrictHostKeyChecking::Ask => StrictHostKeyChecking::Yes,
            rinfra_ssh_config::StrictHostKeyChecking::No => StrictHostKeyChecking::No,
            rinfra_ssh_config::StrictHostKeyChecking::AcceptNew => StrictHostKeyChecking::AcceptNew,
        });
        let server_alive_interval = match host.server_alive_interval {
            Some(d) if d.is_zero() => None,
            Some(d) => Some(d),
            None => Some(DEFAULT_SERVER_ALIVE_INTERVAL),
        };
        ResolvedTarget {
            label,
            hostname: host.hostname.clone(),
            port: host.port,
            user: host.user.clone(),
            host_key_alias: host.host_key_alias.clone(),
            auth,
            proxy: Proxy::Direct,
            connect_timeout: data
                .connect_timeout()
                .or(host.connect_timeout.filter(|d| !d.is_zero()))
                .unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            server_alive_interval,
            server_alive_count_max: host
                .server_alive_count_max
                .map_or(DEFAULT_SERVER_ALIVE_COUNT_MAX, |n| n.max(1) as usize),
            forward_agent: data.ssh_forward_agent.unwrap_or(matches!(
                host.forward_agent,
                Some(ForwardAgent::Yes | ForwardAgent::Socket(_))
            )),
            known_hosts_files: self.known_hosts_files(host, data),
            strict_host_key_checking: data
                .ssh_strict_host_key_checking
                .or(config_strict)
                .unwrap_or_default(),
            retries: Retries {
                count: u32::try_from(data.ssh_connect_retries).unwrap_or(u32::MAX),
                min_delay: secs(data.ssh_connect_retry_min_delay),
                max_delay: secs(data.ssh_connect_retry_max_delay),
            },
            file_transfer: data.ssh_file_transfer_protocol,
        }
    }

    /// A jump host: its own config entry (user, port, keys), plus the target's `ssh_key` as
    /// one more key to try; never the target's password or agent forwarding.
    fn jump(
        &self,
        host: &ResolvedHost,
        spec: &JumpSpec,
        data: &SshData,
    ) -> Result<ResolvedTarget, ConnectError> {
        let home = &self.context.home_dir;
        let mut identity_files: Vec<PathBuf> = data
            .ssh_key
            .as_deref()
            .map(|k| expand_tilde(k, home))
            .into_iter()
            .collect();
        for f in self.identity_files(host, data) {
            if !identity_files.contains(&f) {
                identity_files.push(f);
            }
        }
        let auth = AuthSettings {
            explicit_key: None,
            key_password: data.ssh_key_password.clone(),
            password: None,
            identity_files,
            certificate_files: host.certificate_files.clone(),
            agent: self.agent(host, data),
            identities_only: host.identities_only.unwrap_or(false),
        };
        let mut hop = self.base_target(format!("jump host {}", spec.host), host, data, auth);
        hop.forward_agent = false;
        Ok(hop)
    }

    /// The hops of a ProxyJump list, in connection order. As with OpenSSH, the *first* hop is
    /// reached through its own configured ProxyJump (recursively); the later hops are reached
    /// through the hops before them, so their own ProxyJump does not apply (pyinfra drops
    /// nested jumps, pyinfra-dev/pyinfra#1963).
    fn jump_chain(
        &self,
        config: &SshConfig,
        specs: &[JumpSpec],
        data: &SshData,
        depth: usize,
    ) -> Result<Vec<ResolvedTarget>, ConnectError> {
        if depth > MAX_JUMP_NESTING {
            return Err(ConnectError::new(format!(
                "ProxyJump nested more than {MAX_JUMP_NESTING} deep (a loop between jump hosts?)"
            )));
        }
        let mut chain = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            let host = self.lookup(config, &spec.host, spec.user.as_deref(), spec.port)?;
            if i == 0 && !host.proxy_jump.is_empty() {
                let nested = jump_specs(&host);
                chain.extend(self.jump_chain(config, &nested, data, depth + 1)?);
            }
            chain.push(self.jump(&host, spec, data)?);
        }
        Ok(chain)
    }
}

/// How deep jump hosts may be nested through their own ProxyJump.
const MAX_JUMP_NESTING: usize = 8;

fn jump_specs(host: &ResolvedHost) -> Vec<JumpSpec> {
    host.proxy_jump
        .iter()
        .map(|j| JumpSpec {
            user: j.user.clone(),
            host: j.host.clone(),
            port: j.port,
        })
        .collect()
}

fn secs(s: f64) -> Duration {
    if s.is_finite() && s > 0.0 {
        Duration::from_secs_f64(s)
    } else {
        Duration::ZERO
    }
}

impl TargetResolver for SshConfigResolver {
    fn resolve(&self, name: &str, data: &SshData) -> Result<ResolvedTarget, ConnectError> {
        let config = self.config(data.ssh_config_file.as_deref())?;
        let alias = data.ssh_hostname.as_deref().unwrap_or(name);
        let host = self.lookup(&config, alias, data.ssh_user.as_deref(), data.port())?;
        let auth = self.auth(&host, data);
        let mut target = self.base_target(name.to_string(), &host, data, auth);

        let jumps: Vec<JumpSpec> = match data.ssh_proxy_jump.as_deref() {
            Some(spec) => parse_proxy_jump(spec)?,
            None => jump_specs(&host),
        };
        if !jumps.is_empty() {
            target.proxy = Proxy::Jump(self.jump_chain(&config, &jumps, data, 0)?);
        } else if let Some(command) = &host.proxy_command {
            target.proxy = Proxy::Command(command.clone());
        }
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data(v: serde_json::Value) -> SshData {
        SshData::from_host_data(v.as_object().unwrap()).unwrap()
    }

    fn resolver(config: &str) -> (tempfile::TempDir, SshConfigResolver) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".ssh")).unwrap();
        std::fs::write(dir.path().join(".ssh/config"), config).unwrap();
        let ctx = ResolveContext::new("me", dir.path());
        let r = SshConfigResolver {
            default: DefaultConfig::Nothing,
            context: ctx,
            cache: Mutex::new(HashMap::new()),
        };
        (dir, r)
    }

    fn with_file(dir: &tempfile::TempDir, extra: serde_json::Value) -> SshData {
        let mut v = json!({"ssh_config_file": dir.path().join(".ssh/config").to_str().unwrap()});
        for (k, val) in extra.as_object().unwrap() {
            v[k] = val.clone();
        }
        data(v)
    }

    #[test]
    fn config_applies_under_data() {
        let (dir, r) = resolver(
            "Host web*\n  HostName %h.example.net\n  User deploy\n  Port 2200\n  \
             IdentityFile ~/.ssh/web_key\n  ProxyJump bob@bastion:2222\n  ConnectTimeout 3\n  \
             ServerAliveInterval 0\n  StrictHostKeyChecking yes\n  HostKeyAlias webalias\n\
             Host bastion\n  IdentityFile ~/.ssh/bastion_key\n",
        );
        let t = r
            .resolve("web1", &with_file(&dir, json!({"ssh_hostname": "web1"})))
            .unwrap();
        assert_eq!(t.display(), "deploy@web1.example.net:2200");
        assert_eq!(t.auth.identity_files, [dir.path().join(".ssh/web_key")]);
        assert_eq!(t.auth.agent, Some(AgentSource::Env));
        assert_eq!(t.connect_timeout, Duration::from_secs(3));
        assert_eq!(t.server_alive_interval, None);
        assert_eq!(t.strict_host_key_checking, StrictHostKeyChecking::Yes);
        assert_eq!(t.host_key_alias.as_deref(), Some("webalias"));
        let Proxy::Jump(hops) = &t.proxy else {
            panic!("{:?}", t.proxy)
        };
        assert_eq!(hops[0].display(), "bob@bastion:2222");
        assert_eq!(
            hops[0].auth.identity_files,
            [dir.path().join(".ssh/bastion_key")]
        );

        // Data beats config.
        let t = r
            .resolve(
                "web1",
                &with_file(
                    &dir,
                    json!({"ssh_user": "root", "ssh_port": 22, "ssh_key": "/k",
                           "ssh_proxy_jump": "none", "ssh_strict_host_key_checking": "no",
                           "ssh_connect_timeout": 1}),
                ),
            )
            .unwrap();
        assert_eq!(t.display(), "root@web1.example.net:22");
        assert_eq!(t.auth.explicit_key, Some(PathBuf::from("/k")));
        assert!(t.auth.identity_files.is_empty() && t.auth.agent.is_none());
        assert!(matches!(t.proxy, Proxy::Direct));
        assert_eq!(t.strict_host_key_checking, StrictHostKeyChecking::No);
        assert_eq!(t.connect_timeout, Duration::from_secs(1));
    }

    #[test]
    fn nested_proxy_jump_follows_the_first_hop() {
        let (dir, r) = resolver(
            "Host target\n  ProxyJump mid,last\nHost mid\n  ProxyJump outer\n\
             Host last\n  ProxyJump ignored\nHost outer\n  ProxyJump outermost\n\
             Host loop1\n  ProxyJump loop2\nHost loop2\n  ProxyJump loop1\n",
        );
        let t = r.resolve("target", &with_file(&dir, json!({}))).unwrap();
        let Proxy::Jump(hops) = &t.proxy else {
            panic!("{:?}", t.proxy)
        };
        let names: Vec<_> = hops.iter().map(|h| h.hostname.as_str()).collect();
        assert_eq!(names, ["outermost", "outer", "mid", "last"]);
        let e = r.resolve("loop1", &with_file(&dir, json!({}))).unwrap_err();
        assert!(e.to_string().contains("nested more than"), "{e}");
    }

    #[test]
    fn defaults_without_config() {
        let (dir, r) = resolver("");
        let t = r.resolve("10.0.0.1", &with_file(&dir, json!({}))).unwrap();
        assert_eq!(t.display(), "me@10.0.0.1:22");
        assert_eq!(
            t.auth.identity_files[0],
            dir.path().join(".ssh/id_rsa"),
            "OpenSSH's default keys"
        );
        assert_eq!(t.strict_host_key_checking, StrictHostKeyChecking::AcceptNew);
        assert_eq!(t.server_alive_interval, Some(DEFAULT_SERVER_ALIVE_INTERVAL));
        assert_eq!(t.known_hosts_files[0], dir.path().join(".ssh/known_hosts"));
        let t = r
            .resolve(
                "h",
                &with_file(
                    &dir,
                    json!({"ssh_look_for_keys": false, "ssh_allow_agent": false}),
                ),
            )
            .unwrap();
        assert!(t.auth.identity_files.is_empty() && t.auth.agent.is_none());
    }

    #[test]
    fn proxy_command_and_agent_settings() {
        let (dir, r) = resolver(
            "Host p\n  ProxyCommand nc %h %p\n  IdentityAgent none\n  ForwardAgent yes\n\
             Host q\n  IdentityAgent /run/agent.sock\n  IdentitiesOnly yes\n",
        );
        let t = r.resolve("p", &with_file(&dir, json!({}))).unwrap();
        assert!(
            matches!(&t.proxy, Proxy::Command(c) if c == "nc p 22"),
            "{:?}",
            t.proxy
        );
        assert_eq!(t.auth.agent, None);
        assert!(t.forward_agent);
        let t = r.resolve("q", &with_file(&dir, json!({}))).unwrap();
        assert_eq!(
            t.auth.agent,
            Some(AgentSource::Path("/run/agent.sock".into()))
        );
        assert!(t.auth.identities_only);
    }

    #[test]
    fn unsupported_config_is_an_error_naming_the_line() {
        let (dir, r) = resolver("Match exec \"true\"\n  User x\n");
        let e = r.resolve("h", &with_file(&dir, json!({}))).unwrap_err();
        assert!(e.to_string().contains("config:1"), "{e}");
        assert!(e.to_string().contains("Match exec"), "{e}");
    }
}
