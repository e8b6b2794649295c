//! Keyword names and value syntax of the options rinfra types.

use std::time::Duration;

use super::resolved::{ForwardAgent, JumpHost, StrictHostKeyChecking};

/// Lowercase a keyword and map OpenSSH's aliases to the canonical name.
pub(crate) fn canonical_keyword(keyword: &str) -> String {
    let k = keyword.to_ascii_lowercase();
    match k.as_str() {
        // Debian compatibility aliases.
        "protocolkeepalives" | "setuptimeout" => "serveraliveinterval".to_string(),
        "pubkeyacceptedkeytypes" => "pubkeyacceptedalgorithms".to_string(),
        "hostbasedkeytypes" | "hostbasedacceptedkeytypes" => {
            "hostbasedacceptedalgorithms".to_string()
        }
        "challengeresponseauthentication" => "kbdinteractiveauthentication".to_string(),
        "dsaauthentication" => "pubkeyauthentication".to_string(),
        _ => k,
    }
}

/// Options that accumulate instead of "first obtained value wins".
pub(crate) fn is_accumulating(keyword: &str) -> bool {
    matches!(
        keyword,
        "identityfile"
            | "certificatefile"
            | "localforward"
            | "remoteforward"
            | "dynamicforward"
            | "sendenv"
    )
}

/// Options mapped to typed fields of `ResolvedHost` (all others go to `other`).
pub(crate) fn is_typed(keyword: &str) -> bool {
    matches!(
        keyword,
        "hostname"
            | "user"
            | "port"
            | "identityfile"
            | "identitiesonly"
            | "identityagent"
            | "certificatefile"
            | "proxyjump"
            | "proxycommand"
            | "connecttimeout"
            | "serveraliveinterval"
            | "serveralivecountmax"
            | "stricthostkeychecking"
            | "userknownhostsfile"
            | "globalknownhostsfile"
            | "hostkeyalias"
            | "forwardagent"
    )
}

/// Check a typed option's arguments at parse time (OpenSSH validates values
/// even inside blocks that do not apply).
pub(crate) fn validate(keyword: &str, args: &[String]) -> Result<(), String> {
    let single = || -> Result<&str, String> {
        match args {
            [one] => Ok(one.as_str()),
            _ => Err(format!("expected one argument, got {}", args.len())),
        }
    };
    match keyword {
        "port" => parse_port(single()?).map(drop),
        "connecttimeout" | "serveraliveinterval" => parse_time(single()?).map(drop),
        "serveralivecountmax" => single()?
            .parse::<u32>()
            .map(drop)
            .map_err(|_| "expected a non-negative integer".to_string()),
        "stricthostkeychecking" => parse_strict(single()?).map(drop),
        "identitiesonly" => parse_bool(single()?).map(drop),
        "forwardagent" => parse_forward_agent(single()?).map(drop),
        "proxyjump" => parse_jump_list(single()?).map(drop),
        "hostname" | "user" | "hostkeyalias" | "identityfile" | "certificatefile"
        | "identityagent" => single().map(drop),
        _ => Ok(()),
    }
}

/// A TCP port, 1–65535.
pub(crate) fn parse_port(s: &str) -> Result<u16, String> {
    match s.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!("`{s}` is not a port number (1-65535)")),
    }
}

/// `yes`/`true` or `no`/`false` (case-insensitive).
pub(crate) fn parse_bool(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "true" => Ok(true),
        "no" | "false" => Ok(false),
        _ => Err(format!("`{s}` is not yes/no")),
    }
}

/// A time in the sshd_config TIME FORMATS: `30`, `30s`, `1m30s`, `2h`, `1d`, `1w`.
pub(crate) fn parse_time(s: &str) -> Result<Duration, String> {
    let err = || format!("`{s}` is not a time (e.g. 30, 30s, 1m30s)");
    if s.is_empty() {
        return Err(err());
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            digits.push(c);
            if chars.peek().is_some() {
                continue;
            }
            // Trailing number without unit: seconds.
            let n: u64 = digits.parse().map_err(|_| err())?;
            total = total.checked_add(n).ok_or_else(err)?;
            digits.clear();
            continue;
        }
        let mult: u64 = match c {
            's' | 'S' => 1,
            'm' | 'M' => 60,
            'h' | 'H' => 3600,
            'd' | 'D' => 86400,
            'w' | 'W' => 604800,
            _ => return Err(err()),
        };
        if digits.is_empty() {
            return Err(err());
        }
        let n: u64 = digits.parse().map_err(|_| err())?;
        total = n
            .checked_mul(mult)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(err)?;
        digits.clear();
    }
    Ok(Duration::from_secs(total))
}

/// `StrictHostKeyChecking` values.
pub(crate) fn parse_strict(s: &str) -> Result<StrictHostKeyChecking, String> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "true" => Ok(StrictHostKeyChecking::Yes),
        "no" | "false" | "off" => Ok(StrictHostKeyChecking::No),
        "accept-new" => Ok(StrictHostKeyChecking::AcceptNew),
        "ask" => Ok(StrictHostKeyChecking::Ask),
        _ => Err(format!("`{s}` is not yes, no, off, accept-new or ask")),
    }
}

/// `ForwardAgent` values: yes/no, a socket path, or `$VAR`.
pub(crate) fn parse_forward_agent(s: &str) -> Result<ForwardAgent, String> {
    match parse_bool(s) {
        Ok(true) => Ok(ForwardAgent::Yes),
        Ok(false) => Ok(ForwardAgent::No),
        Err(_) if s.is_empty() => Err("empty value".to_string()),
        Err(_) => Ok(ForwardAgent::Socket(s.to_string())),
    }
}

/// A `ProxyJump` value: `none` or a comma-separated list of
/// `[user@]host[:port]` / `ssh://[user@]host[:port]` hops.
pub(crate) fn parse_jump_list(s: &str) -> Result<Vec<JumpHost>, String> {
    if s.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    s.split(',').map(parse_jump).collect()
}

fn parse_jump(hop: &str) -> Result<JumpHost, String> {
    let bad = |why: &str| format!("bad ProxyJump hop `{hop}`: {why}");
    let body = match hop.strip_prefix("ssh://") {
        Some(rest) => rest.strip_suffix('/').unwrap_or(rest),
        None => hop,
    };
    if body.is_empty() {
        return Err(bad("empty"));
    }
    let (user, hostport) = match body.rfind('@') {
        Some(i) => (Some(&body[..i]), &body[i + 1..]),
        None => (None, body),
    };
    if user == Some("") {
        return Err(bad("empty user"));
    }
    let (host, port) = if let Some(inner) = hostport.strip_prefix('[') {
        let close = inner.find(']').ok_or_else(|| bad("missing `]`"))?;
        let host = &inner[..close];
        match &inner[close + 1..] {
            "" => (host, None),
            tail => match tail.strip_prefix(':') {
                Some(p) => (host, Some(p)),
                None => return Err(bad("garbage after `]`")),
            },
        }
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err(bad("empty host"));
    }
    let port = port.map(parse_port).transpose().map_err(|e| bad(&e))?;
    Ok(JumpHost {
        user: user.map(str::to_string),
        host: host.to_string(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_time("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_time("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_time("2H").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_time("1w1d").unwrap(), Duration::from_secs(691200));
        assert_eq!(parse_time("0").unwrap(), Duration::ZERO);
        for bad in ["", "s", "1x", "-1", "1.5"] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ports_and_bools() {
        assert_eq!(parse_port("2222").unwrap(), 2222);
        assert!(parse_port("0").is_err());
        assert!(parse_port("65536").is_err());
        assert!(parse_port("ssh").is_err());
        assert!(parse_bool("YES").unwrap());
        assert!(!parse_bool("false").unwrap());
        assert!(parse_bool("maybe").is_err());
    }

    #[test]
    fn strict() {
        assert_eq!(
            parse_strict("accept-new").unwrap(),
            StrictHostKeyChecking::AcceptNew
        );
        assert_eq!(parse_strict("off").unwrap(), StrictHostKeyChecking::No);
        assert_eq!(parse_strict("Yes").unwrap(), StrictHostKeyChecking::Yes);
        assert_eq!(parse_strict("ask").unwrap(), StrictHostKeyChecking::Ask);
        assert!(parse_strict("sometimes").is_err());
    }

    #[test]
    fn jumps() {
        let hops = parse_jump_list("u@j1:2200,ssh://j2:33,[::1]:44,j3,a@b@c").unwrap();
        assert_eq!(hops.len(), 5);
        assert_eq!(hops[0], JumpHost::new(Some("u"), "j1", Some(2200)));
        assert_eq!(hops[1], JumpHost::new(None, "j2", Some(33)));
        assert_eq!(hops[2], JumpHost::new(None, "::1", Some(44)));
        assert_eq!(hops[3], JumpHost::new(None, "j3", None));
        assert_eq!(hops[4], JumpHost::new(Some("a@b"), "c", None));
        assert_eq!(parse_jump_list("none").unwrap(), vec![]);
        assert_eq!(parse_jump_list("NONE").unwrap(), vec![]);
        for bad in ["", "a,,b", "@h", "h:0", "h:x", "[::1", "[::1]x", "u@"] {
            assert!(parse_jump_list(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn aliases() {
        assert_eq!(canonical_keyword("SetupTimeOut"), "serveraliveinterval");
        assert_eq!(canonical_keyword("HostName"), "hostname");
    }
}
