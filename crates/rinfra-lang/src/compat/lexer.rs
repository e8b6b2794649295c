//! A small Python tokenizer: enough to find statements, names, strings and brackets without
//! being fooled by keywords inside strings, comments or multi-line brackets.

use crate::error::{ErrorKind, LangError, Location};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TokKind {
    Name,
    Punct,
    Str,
    Number,
}

#[derive(Clone, Debug)]
pub(super) struct Tok {
    pub(super) kind: TokKind,
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) line: usize,
    pub(super) col: usize,
}

#[derive(Debug)]
pub(super) struct Stmt {
    pub(super) toks: Vec<Tok>,
    /// Indentation (column of the first token).
    pub(super) indent: usize,
}

pub(super) struct Lexer<'a> {
    src: &'a [u8],
    file: &'a str,
    pos: usize,
    line: usize,
    /// A position on the current line and its column: columns are counted from here, so a
    /// long line costs linear time, not quadratic (a generated one-line inventory list).
    col_mark: (usize, usize),
    /// Tabs and form feeds in code (not in strings or comments): Python allows them as
    /// whitespace, Starlark does not.
    blanks: Vec<usize>,
}

/// A file's statements, and where its code has whitespace Starlark rejects.
pub(super) struct Lexed {
    pub(super) stmts: Vec<Stmt>,
    /// Byte positions of tabs and form feeds outside strings and comments.
    pub(super) blanks: Vec<usize>,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_char(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit()
}

impl<'a> Lexer<'a> {
    pub(super) fn new(src: &'a str, file: &'a str) -> Self {
        Self {
            src: src.as_bytes(),
            file,
            pos: 0,
            line: 0,
            col_mark: (0, 0),
            blanks: Vec::new(),
        }
    }

    /// The column of byte `at` (not before the column mark) of the current line, in
    /// characters as Starlark counts them: the source is UTF-8, so every byte but a
    /// continuation byte starts a character.
    fn col(&self, at: usize) -> usize {
        let (mark, col) = self.col_mark;
        col + self.src[mark..at]
            .iter()
            .filter(|&&b| b & 0xC0 != 0x80)
            .count()
    }

    fn error(&self, message: &str) -> LangError {
        LangError::new(ErrorKind::Syntax, message).at(Location {
            file: self.file.to_string(),
            line: self.line + 1,
            column: self.col(self.pos.min(self.src.len())) + 1,
        })
    }

    fn newline(&mut self) {
        self.line += 1;
        self.col_mark = (self.pos, 0);
    }

    /// Skip a string starting at the quote at `self.pos`.
    fn skip_string(&mut self) -> Result<(), LangError> {
        let q = self.src[self.pos];
        let triple =
            self.src.get(self.pos + 1) == Some(&q) && self.src.get(self.pos + 2) == Some(&q);
        let start_line = self.line;
        self.pos += if triple { 3 } else { 1 };
        loop {
            let Some(&b) = self.src.get(self.pos) else {
                self.line = start_line;
                return Err(self.error("unterminated string"));
            };
            match b {
                b'\\' => {
                    self.pos += 1;
                    if self.src.get(self.pos) == Some(&b'\n') {
                        self.pos += 1;
                        self.newline();
                    } else {
                        self.pos += 1;
                    }
                }
                b'\n' => {
                    if !triple {
                        // Let Starlark report it with its own message.
                        return Ok(());
                    }
                    self.pos += 1;
                    self.newline();
                }
                _ if b == q => {
                    if !triple {
                        self.pos += 1;
                        return Ok(());
                    }
                    if self.src.get(self.pos + 1) == Some(&q)
                        && self.src.get(self.pos + 2) == Some(&q)
                    {
                        self.pos += 3;
                        return Ok(());
                    }
                    self.pos += 1;
                }
                _ => self.pos += 1,
            }
        }
    }

    pub(super) fn statements(mut self) -> Result<Lexed, LangError> {
        let mut stmts = Vec::new();
        let mut cur: Vec<Tok> = Vec::new();
        let mut depth: i32 = 0;
        while self.pos < self.src.len() {
            let b = self.src[self.pos];
            let start = self.pos;
            let col = self.col(start);
            self.col_mark = (start, col);
            match b {
                b'#' => {
                    while self.pos < self.src.len() && self.src[self.pos] != b'\n' {
                        self.pos += 1;
                    }
                }
                b'\n' => {
                    self.pos += 1;
                    self.newline();
                    if depth <= 0 && !cur.is_empty() {
                        let indent = cur[0].col;
                        stmts.push(Stmt {
                            toks: std::mem::take(&mut cur),
                            indent,
                        });
                        depth = 0;
                    }
                }
                b'\\' if self.src.get(self.pos + 1) == Some(&b'\n') => {
                    self.pos += 2;
                    self.newline();
                }
                b'\\'
                    if self.src.get(self.pos + 1) == Some(&b'\r')
                        && self.src.get(self.pos + 2) == Some(&b'\n') =>
                {
                    self.pos += 3;
                    self.newline();
                }
                b' ' | b'\r' => self.pos += 1,
                b'\t' | b'\x0c' => {
                    self.blanks.push(self.pos);
                    self.pos += 1;
                }
                b'"' | b'\'' => {
                    let line = self.line;
                    self.skip_string()?;
                    cur.push(Tok {
                        kind: TokKind::Str,
                        start,
                        end: self.pos,
                        line,
                        col,
                    });
                }
                _ if is_ident_start(b) => {
                    while self.pos < self.src.len() && is_ident_char(self.src[self.pos]) {
                        self.pos += 1;
                    }
                    let word = &self.src[start..self.pos];
                    let is_prefix = word.len() <= 2
                        && word
                            .iter()
                            .all(|c| matches!(c.to_ascii_lowercase(), b'r' | b'b' | b'f' | b'u'));
                    if is_prefix && matches!(self.src.get(self.pos), Some(b'"' | b'\'')) {
                        let line = self.line;
                        self.skip_string()?;
                        cur.push(Tok {
                            kind: TokKind::Str,
                            start,
                            end: self.pos,
                            line,
                            col,
                        });
                    } else {
                        cur.push(Tok {
                            kind: TokKind::Name,
                            start,
                            end: self.pos,
                            line: self.line,
                            col,
                        });
                    }
                }
                _ if b.is_ascii_digit() => {
                    while self.pos < self.src.len()
                        && (self.src[self.pos].is_ascii_alphanumeric()
                            || self.src[self.pos] == b'.')
                    {
                        self.pos += 1;
                    }
                    cur.push(Tok {
                        kind: TokKind::Number,
                        start,
                        end: self.pos,
                        line: self.line,
                        col,
                    });
                }
                _ => {
                    match b {
                        b'(' | b'[' | b'{' => depth += 1,
                        b')' | b']' | b'}' => depth -= 1,
                        _ => {}
                    }
                    self.pos += 1;
                    cur.push(Tok {
                        kind: TokKind::Punct,
                        start,
                        end: self.pos,
                        line: self.line,
                        col,
                    });
                }
            }
        }
        if !cur.is_empty() {
            let indent = cur[0].col;
            stmts.push(Stmt { toks: cur, indent });
        }
        Ok(Lexed {
            stmts,
            blanks: self.blanks,
        })
    }
}
