//! Turning configuration text into entries, reading `Include`d files.

use std::path::{Path, PathBuf};

use super::expand::expand_tilde;
use super::lexer::{split_line, LexError};
use super::values::{canonical_keyword, validate};
use super::{ConfigError, Location, ParseOptions};

/// Maximum `Include` nesting (OpenSSH's READCONF_MAX_DEPTH).
pub(crate) const MAX_INCLUDE_DEPTH: usize = 16;

/// One parsed file.
#[derive(Debug, Clone)]
pub(crate) struct ConfigFile {
    pub(crate) path: PathBuf,
    pub(crate) entries: Vec<Entry>,
}

impl ConfigFile {
    pub(crate) fn collect_paths<'a>(&'a self, out: &mut Vec<&'a Path>) {
        out.push(&self.path);
        for e in &self.entries {
            if let Entry::Include { files, .. } = e {
                for f in files {
                    f.collect_paths(out);
                }
            }
        }
    }
}

/// One meaningful line.
#[derive(Debug, Clone)]
pub(crate) enum Entry {
    Host {
        patterns: Vec<String>,
    },
    Match {
        criteria: Vec<Criterion>,
        location: Location,
    },
    Option(Directive),
    Include {
        files: Vec<ConfigFile>,
    },
}

/// An option line.
#[derive(Debug, Clone)]
pub(crate) struct Directive {
    /// Canonical lowercase keyword.
    pub(crate) keyword: String,
    /// Keyword as written (for messages).
    pub(crate) written: String,
    pub(crate) args: Vec<String>,
    pub(crate) rest: String,
    pub(crate) location: Location,
}

/// One `Match` criterion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Criterion {
    pub(crate) negated: bool,
    pub(crate) kind: CriterionKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CriterionKind {
    All,
    Host(String),
    OriginalHost(String),
    User(String),
    LocalUser(String),
    /// Known to OpenSSH but not evaluated by rinfra (`exec`, `canonical`…).
    Unsupported(String),
}

pub(crate) struct Parser<'a> {
    options: &'a ParseOptions,
    /// Canonical paths of the files being read (include loop detection).
    stack: Vec<PathBuf>,
}

fn syntax(location: &Location, message: impl Into<String>) -> ConfigError {
    ConfigError::Syntax {
        location: location.clone(),
        message: message.into(),
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })
}

impl<'a> Parser<'a> {
    pub(crate) fn new(options: &'a ParseOptions) -> Self {
        Parser {
            options,
            stack: Vec::new(),
        }
    }

    pub(crate) fn parse_top_file(&mut self, path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = read(path)?;
        self.stack.push(canonical(path));
        let entries = self.parse_text(&text, path, 0)?;
        self.stack.pop();
        Ok(ConfigFile {
            path: path.to_path_buf(),
            entries,
        })
    }

    pub(crate) fn parse_top_text(
        &mut self,
        text: &str,
        origin: &Path,
    ) -> Result<ConfigFile, ConfigError> {
        let entries = self.parse_text(text, origin, 0)?;
        Ok(ConfigFile {
            path: origin.to_path_buf(),
            entries,
        })
    }

    fn parse_text(
        &mut self,
        text: &str,
        origin: &Path,
        depth: usize,
    ) -> Result<Vec<Entry>, ConfigError> {
        let mut entries = Vec::new();
        for (idx, raw) in text.lines().enumerate() {
            let location = Location {
                file: origin.to_path_buf(),
                line: idx + 1,
            };
            let line = match split_line(raw) {
                Ok(Some(line)) => line,
                Ok(None) => continue,
                Err(LexError::NoArgument(k)) => {
                    return Err(syntax(
                        &location,
                        format!("no argument after keyword `{k}`"),
                    ))
                }
                Err(LexError::UnterminatedQuote) => {
                    return Err(syntax(&location, "unterminated quote"))
                }
            };
            let keyword = canonical_keyword(&line.keyword);
            let entry = match keyword.as_str() {
                "host" => {
                    if line.args.iter().any(String::is_empty) {
                        return Err(syntax(&location, "empty Host pattern"));
                    }
                    Entry::Host {
                        patterns: line.args,
                    }
                }
                "match" => Entry::Match {
                    criteria: parse_match(&line.args, &location)?,
                    location,
                },
                "include" => Entry::Include {
                    files: self.include(&line.args, &location, depth)?,
                },
                _ => {
                    validate(&keyword, &line.args).map_err(|message| {
                        ConfigError::InvalidValue {
                            location: location.clone(),
                            keyword: line.keyword.clone(),
                            message,
                        }
                    })?;
                    Entry::Option(Directive {
                        keyword,
                        written: line.keyword,
                        args: line.args,
                        rest: line.rest,
                        location,
                    })
                }
            };
            entries.push(entry);
        }
        Ok(entries)
    }

    fn include(
        &mut self,
        args: &[String],
        location: &Location,
        depth: usize,
    ) -> Result<Vec<ConfigFile>, ConfigError> {
        if depth + 1 > MAX_INCLUDE_DEPTH {
            return Err(ConfigError::IncludeDepth {
                location: location.clone(),
                max: MAX_INCLUDE_DEPTH,
            });
        }
        let mut files = Vec::new();
        for arg in args {
            // Directories we prepend are literal text, not glob patterns.
            let escape = |p: &Path| glob::Pattern::escape(&p.to_string_lossy());
            let pattern = if self.options.expand_tilde && arg.starts_with('~') {
                let (head, tail) = arg.split_at(arg.find('/').unwrap_or(arg.len()));
                let base = expand_tilde(head, &self.options.home_dir, None)
                    .map_err(|m| syntax(location, format!("Include: {m}")))?;
                format!("{}{tail}", escape(Path::new(&base)))
            } else if Path::new(arg).is_relative() {
                let dir = escape(&self.options.include_dir);
                format!("{}/{arg}", dir.trim_end_matches('/'))
            } else {
                arg.clone()
            };
            let paths = glob::glob(&pattern)
                .map_err(|e| syntax(location, format!("Include: bad pattern `{arg}`: {e}")))?;
            let mut matched: Vec<PathBuf> = Vec::new();
            for p in paths {
                let p = p.map_err(|e| ConfigError::Io {
                    path: e.path().to_path_buf(),
                    source: e.into(),
                })?;
                if !p.is_dir() {
                    matched.push(p);
                }
            }
            // glob(7) order: lexical.
            matched.sort();
            for p in matched {
                let canon = canonical(&p);
                if self.stack.contains(&canon) {
                    return Err(ConfigError::IncludeLoop {
                        location: location.clone(),
                        path: p,
                    });
                }
                let text = read(&p)?;
                self.stack.push(canon);
                let entries = self.parse_text(&text, &p, depth + 1);
                self.stack.pop();
                files.push(ConfigFile {
                    path: p,
                    entries: entries?,
                });
            }
        }
        Ok(files)
    }
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Parse the criteria of a `Match` line.
pub(crate) fn parse_match(
    args: &[String],
    location: &Location,
) -> Result<Vec<Criterion>, ConfigError> {
    if args.is_empty() {
        return Err(syntax(location, "Match needs at least one criterion"));
    }
    let mut criteria = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let (negated, name) = match args[i].strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, args[i].as_str()),
        };
        let lname = name.to_ascii_lowercase();
        i += 1;
        let mut take_arg = |what: &str| -> Result<String, ConfigError> {
            let arg = args
                .get(i)
                .ok_or_else(|| syntax(location, format!("Match {what} needs an argument")))?;
            i += 1;
            Ok(arg.clone())
        };
        let kind = match lname.as_str() {
            "all" => {
                let only_prefixes = criteria
                    .iter()
                    .all(|c: &Criterion| matches!(&c.kind, CriterionKind::Unsupported(n) if n == "canonical" || n == "final"));
                if !only_prefixes || i < args.len() {
                    return Err(syntax(
                        location,
                        "Match all cannot be combined with other criteria",
                    ));
                }
                CriterionKind::All
            }
            "canonical" | "final" => CriterionKind::Unsupported(lname.clone()),
            "host" => CriterionKind::Host(take_arg(name)?),
            "originalhost" => CriterionKind::OriginalHost(take_arg(name)?),
            "user" => CriterionKind::User(take_arg(name)?),
            "localuser" => CriterionKind::LocalUser(take_arg(name)?),
            "exec" | "localnetwork" | "tagged" | "version" | "sessiontype" | "command" => {
                take_arg(name)?;
                CriterionKind::Unsupported(lname.clone())
            }
            _ => {
                return Err(syntax(
                    location,
                    format!("unknown Match criterion `{name}`"),
                ))
            }
        };
        criteria.push(Criterion { negated, kind });
    }
    Ok(criteria)
}
