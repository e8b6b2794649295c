//! Walking parsed entries for one host and building a [`ResolvedHost`].

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use super::expand::{
    expand_env, expand_hostname, expand_tilde, sha1_hex, Tokens, PATH_TOKENS, PROXY_TOKENS,
};
use super::parse::{ConfigFile, Criterion, CriterionKind, Directive, Entry};
use super::resolved::{IdentityAgent, RawOption, ResolvedHost};
use super::values::{self, is_accumulating, is_typed};
use super::{ConfigError, ResolveContext};
use crate::pattern::{match_comma_list, wildcard_match, ListMatch};

struct State<'a> {
    alias: &'a str,
    ctx: &'a ResolveContext,
    /// First obtained value of each first-wins option.
    first: HashMap<&'a str, &'a Directive>,
    /// Every occurrence of the accumulating options, in order.
    multi: Vec<&'a Directive>,
}

pub(crate) fn resolve(
    files: &[ConfigFile],
    alias: &str,
    ctx: &ResolveContext,
) -> Result<ResolvedHost, ConfigError> {
    let mut state = State {
        alias,
        ctx,
        first: HashMap::new(),
        multi: Vec::new(),
    };
    for file in files {
        // Each top-level file starts active.
        let mut active = true;
        state.walk(&file.entries, &mut active, false)?;
    }
    state.build()
}

fn invalid(d: &Directive, message: impl Into<String>) -> ConfigError {
    ConfigError::InvalidValue {
        location: d.location.clone(),
        keyword: d.written.clone(),
        message: message.into(),
    }
}

/// `Host` line semantics: any positive match activates, any negated match vetoes.
fn host_line_matches(patterns: &[String], alias: &str) -> bool {
    let mut matched = false;
    for p in patterns {
        match p.strip_prefix('!') {
            Some(neg) if wildcard_match(neg, alias) => return false,
            Some(_) => {}
            None => matched |= wildcard_match(p, alias),
        }
    }
    matched
}

impl<'a> State<'a> {
    fn walk(
        &mut self,
        entries: &'a [Entry],
        active: &mut bool,
        never_match: bool,
    ) -> Result<(), ConfigError> {
        for entry in entries {
            match entry {
                Entry::Host { patterns } => {
                    *active = !never_match && host_line_matches(patterns, self.alias);
                }
                Entry::Match { criteria, location } => {
                    *active = !never_match && self.eval_match(criteria, location)?;
                }
                Entry::Option(d) => {
                    if *active {
                        self.apply(d);
                    }
                }
                Entry::Include { files } => {
                    let saved = *active;
                    for f in files {
                        // Each included file starts with the including block's
                        // state; if that block is inactive nothing in it may
                        // ever match (OpenSSH's SSHCONF_NEVERMATCH).
                        let mut inner = saved;
                        self.walk(&f.entries, &mut inner, never_match || !saved)?;
                    }
                    *active = saved;
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, d: &'a Directive) {
        let k = d.keyword.as_str();
        if is_accumulating(k) {
            self.multi.push(d);
            return;
        }
        // ProxyJump and ProxyCommand compete: the first obtained disables the other.
        if (k == "proxyjump" && self.first.contains_key("proxycommand"))
            || (k == "proxycommand" && self.first.contains_key("proxyjump"))
        {
            return;
        }
        self.first.entry(k).or_insert(d);
    }

    /// The target host name as known at this point (for `Match host`).
    fn current_hostname(&self) -> Result<String, ConfigError> {
        match self.first.get("hostname") {
            Some(d) => expand_hostname(&d.args[0], self.alias).map_err(|m| invalid(d, m)),
            None => Ok(self.alias.to_string()),
        }
    }

    /// The remote user as known at this point (for `Match user`).
    fn current_user(&self) -> &str {
        if let Some(u) = &self.ctx.user_override {
            return u;
        }
        match self.first.get("user") {
            Some(d) => &d.args[0],
            None => &self.ctx.local_user,
        }
    }

    fn eval_match(
        &self,
        criteria: &[Criterion],
        location: &super::Location,
    ) -> Result<bool, ConfigError> {
        for c in criteria {
            let hit = match &c.kind {
                CriterionKind::All => true,
                CriterionKind::Host(list) => {
                    match_comma_list(&self.current_hostname()?, list, true) == ListMatch::Match
                }
                CriterionKind::OriginalHost(list) => {
                    match_comma_list(self.alias, list, true) == ListMatch::Match
                }
                CriterionKind::User(list) => {
                    match_comma_list(self.current_user(), list, false) == ListMatch::Match
                }
                CriterionKind::LocalUser(list) => {
                    match_comma_list(&self.ctx.local_user, list, false) == ListMatch::Match
                }
                CriterionKind::Unsupported(name) => {
                    return Err(ConfigError::Unsupported {
                        location: location.clone(),
                        criterion: name.clone(),
                    })
                }
            };
            if hit == c.negated {
                // This criterion failed: the line does not match, and later
                // criteria (possibly unsupported ones) are not reached.
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn build(self) -> Result<ResolvedHost, ConfigError> {
        let ctx = self.ctx;
        let first = |k: &str| self.first.get(k).copied();
        let arg0 = |k: &str| first(k).map(|d| d.args[0].as_str());

        let hostname = self.current_hostname()?.to_lowercase();
        let user = self.current_user().to_string();
        let port = match (ctx.port_override, first("port")) {
            (Some(p), _) => p,
            (None, Some(d)) => values::parse_port(&d.args[0]).map_err(|m| invalid(d, m))?,
            (None, None) => 22,
        };
        let host_key_alias = arg0("hostkeyalias").map(str::to_lowercase);

        let mut tokens = Tokens::default();
        let home = ctx.home_dir.to_string_lossy().into_owned();
        let port_s = port.to_string();
        tokens.set('d', home);
        tokens.set('h', hostname.clone());
        tokens.set('n', self.alias);
        tokens.set('p', port_s.clone());
        tokens.set('r', user.clone());
        tokens.set('u', ctx.local_user.clone());
        tokens.set('l', ctx.local_hostname.clone());
        let short = ctx.local_hostname.split('.').next().unwrap_or_default();
        tokens.set('L', short);
        tokens.set(
            'k',
            host_key_alias
                .clone()
                .unwrap_or_else(|| self.alias.to_string()),
        );
        tokens.set(
            'C',
            sha1_hex(&format!(
                "{}{}{}{}",
                ctx.local_hostname, hostname, port_s, user
            )),
        );
        if let Some(uid) = ctx.local_uid {
            tokens.set('i', uid.to_string());
        }

        // ~, ${VAR}, then %tokens, as OpenSSH does for path-like options.
        let expand_path = |d: &Directive, s: &str| -> Result<PathBuf, ConfigError> {
            let s =
                expand_tilde(s, &ctx.home_dir, Some(&ctx.local_user)).map_err(|m| invalid(d, m))?;
            let s = expand_env(&s, &ctx.env).map_err(|m| invalid(d, m))?;
            let s = tokens.expand(&s, PATH_TOKENS).map_err(|m| invalid(d, m))?;
            Ok(PathBuf::from(s))
        };
        let expand_proxy =
            |d: &Directive, s: &str| tokens.expand(s, PROXY_TOKENS).map_err(|m| invalid(d, m));

        let mut identity_files: Vec<PathBuf> = Vec::new();
        let mut certificate_files: Vec<PathBuf> = Vec::new();
        let mut other: BTreeMap<String, Vec<RawOption>> = BTreeMap::new();
        for d in &self.multi {
            let list = match d.keyword.as_str() {
                "identityfile" => &mut identity_files,
                "certificatefile" => &mut certificate_files,
                _ => {
                    other.entry(d.keyword.clone()).or_default().push(raw(d));
                    continue;
                }
            };
            let p = expand_path(d, &d.args[0])?;
            if !list.contains(&p) {
                list.push(p);
            }
        }
        for (k, d) in &self.first {
            if !is_typed(k) {
                other.insert(k.to_string(), vec![raw(d)]);
            }
        }

        let identity_agent = match first("identityagent") {
            None => None,
            Some(d) => Some(match d.args[0].as_str() {
                "none" => IdentityAgent::Disabled,
                "SSH_AUTH_SOCK" => IdentityAgent::Env("SSH_AUTH_SOCK".to_string()),
                s if s.starts_with('$') && !s.starts_with("${") => {
                    IdentityAgent::Env(s[1..].to_string())
                }
                s => IdentityAgent::Path(expand_path(d, s)?),
            }),
        };

        let proxy_jump = match first("proxyjump") {
            None => Vec::new(),
            Some(d) => {
                let s = expand_proxy(d, &d.args[0])?;
                values::parse_jump_list(&s).map_err(|m| invalid(d, m))?
            }
        };
        let proxy_command = match first("proxycommand") {
            Some(d) if d.args != ["none"] => Some(expand_proxy(d, &d.rest)?),
            _ => None,
        };

        let known_hosts =
            |k: &str, defaults: &[&str], tokens_ok: bool| -> Result<Vec<PathBuf>, ConfigError> {
                let Some(d) = first(k) else {
                    return defaults
                        .iter()
                        .map(|s| {
                            Ok(PathBuf::from(
                                expand_tilde(s, &ctx.home_dir, None).unwrap_or_default(),
                            ))
                        })
                        .collect();
                };
                if d.args.len() == 1 && d.args[0] == "none" {
                    return Ok(Vec::new());
                }
                d.args
                    .iter()
                    .map(|a| {
                        if tokens_ok {
                            expand_path(d, a)
                        } else {
                            expand_tilde(a, &ctx.home_dir, Some(&ctx.local_user))
                                .map(PathBuf::from)
                                .map_err(|m| invalid(d, m))
                        }
                    })
                    .collect()
            };
        let user_known_hosts_files = known_hosts(
            "userknownhostsfile",
            &["~/.ssh/known_hosts", "~/.ssh/known_hosts2"],
            true,
        )?;
        let global_known_hosts_files = known_hosts(
            "globalknownhostsfile",
            &["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"],
            false,
        )?;

        Ok(ResolvedHost {
            original_host: self.alias.to_string(),
            hostname,
            user,
            port,
            identity_files,
            identities_only: typed(first("identitiesonly"), values::parse_bool)?,
            identity_agent,
            certificate_files,
            proxy_jump,
            proxy_command,
            connect_timeout: typed(first("connecttimeout"), values::parse_time)?,
            server_alive_interval: typed(first("serveraliveinterval"), values::parse_time)?,
            server_alive_count_max: typed(first("serveralivecountmax"), |s| {
                s.parse::<u32>().map_err(|e| e.to_string())
            })?,
            strict_host_key_checking: typed(first("stricthostkeychecking"), values::parse_strict)?,
            user_known_hosts_files,
            global_known_hosts_files,
            host_key_alias,
            forward_agent: typed(first("forwardagent"), values::parse_forward_agent)?,
            other,
        })
    }
}

/// Convert the first argument of an optional directive.
fn typed<T>(
    d: Option<&Directive>,
    f: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<T>, ConfigError> {
    d.map(|d| f(&d.args[0]).map_err(|m| invalid(d, m)))
        .transpose()
}

fn raw(d: &Directive) -> RawOption {
    RawOption {
        args: d.args.clone(),
        raw: d.rest.clone(),
        location: d.location.clone(),
    }
}
