//! The `.air` lexer: text to tokens with byte spans.
//!
//! Tokens are identifiers (`conv`, `f32`, `true`), value names (`%3`, `%x`), symbols
//! (`@resnet50`, `@"my model"`), string literals (decoded), numbers (kept as text, checked
//! by the parser against the type they must fit), and the punctuation `( ) { } [ ] < > , :
//! = -`. `;` starts a comment that runs to the end of the line. Tokens are produced on
//! demand. The lexer does not know the grammar and never panics; a malformed token becomes
//! [`Tok::Error`] and ends the stream.

use crate::print::is_name_char;

/// What a token is.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Tok {
    /// `[A-Za-z_][A-Za-z0-9_]*`; its text is the source slice.
    Ident,
    /// `%name`; the name without `%`.
    Value(String),
    /// `@name` or `@"..."`; the decoded name.
    Symbol(String),
    /// A string literal, decoded.
    Str(String),
    /// A number: `-`? digit, then letters, digits, `_`, `.`, and a sign after an exponent.
    Number,
    /// One punctuation character.
    Punct(char),
    /// End of input.
    Eof,
    /// A malformed token; the lexer stops after it.
    Error(Box<LexError>),
}

/// A token and its byte span in the source.
#[derive(Clone, Debug)]
pub(super) struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

/// A malformed token.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct LexError {
    pub start: usize,
    pub end: usize,
    pub message: String,
    pub label: String,
}

/// An on-demand lexer: the parser pulls tokens one at a time, so memory does not grow with
/// the size of the text (a model printed with all its constants can be hundreds of MB).
pub(super) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `src` (after a byte-order mark, if any).
    pub(super) fn new(src: &'a str) -> Self {
        Lexer { src, pos: if src.starts_with('\u{feff}') { 3 } else { 0 } }
    }

    /// The next token; [`Tok::Eof`] at the end, and forever after a [`Tok::Error`].
    pub(super) fn next_token(&mut self) -> Token {
        match self.lex_one() {
            Ok(t) => t,
            Err(e) => {
                let (start, end) = (e.start, e.end);
                self.pos = self.src.len();
                Token { tok: Tok::Error(Box::new(e)), start, end }
            }
        }
    }

    fn peek(&self) -> Option<char> {
        self.src.get(self.pos..).and_then(|s| s.chars().next())
    }

    fn peek2(&self) -> Option<char> {
        let mut it = self.src.get(self.pos..)?.chars();
        it.next();
        it.next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat_while(&mut self, f: impl Fn(char) -> bool) {
        while self.peek().is_some_and(&f) {
            self.bump();
        }
    }

    fn token(&self, tok: Tok, start: usize) -> Result<Token, LexError> {
        Ok(Token { tok, start, end: self.pos })
    }

    fn error(&self, start: usize, end: usize, message: String, label: &str) -> LexError {
        LexError { start, end, message, label: label.to_string() }
    }

    /// Skips whitespace and comments, then reads one token.
    fn lex_one(&mut self) -> Result<Token, LexError> {
        loop {
            match self.src.as_bytes().get(self.pos) {
                Some(b' ' | b'\n' | b'\t' | b'\r') => self.pos += 1,
                Some(b';') => self.eat_while(|c| c != '\n'),
                Some(&b) if b >= 0x80 && self.peek().is_some_and(char::is_whitespace) => {
                    self.bump();
                }
                _ => break,
            }
        }
        let start = self.pos;
        let Some(c) = self.peek() else {
            return self.token(Tok::Eof, start);
        };
        match c {
            c if c.is_ascii_alphabetic() || c == '_' => {
                self.eat_while(|c| c.is_ascii_alphanumeric() || c == '_');
                self.token(Tok::Ident, start)
            }
            c if c.is_ascii_digit() => self.number(start),
            '-' if self.peek2().is_some_and(|c| c.is_ascii_digit()) => self.number(start),
            '%' => {
                self.bump();
                let name = self.name(start, "value name", "`%`")?;
                self.token(Tok::Value(name), start)
            }
            '@' => {
                self.bump();
                let name = if self.peek() == Some('"') {
                    self.string()?
                } else {
                    self.name(start, "graph name", "`@`")?
                };
                self.token(Tok::Symbol(name), start)
            }
            '"' => {
                let s = self.string()?;
                self.token(Tok::Str(s), start)
            }
            '(' | ')' | '{' | '}' | '[' | ']' | '<' | '>' | ',' | ':' | '=' | '-' => {
                self.bump();
                self.token(Tok::Punct(c), start)
            }
            c => Err(self.error(
                start,
                start + c.len_utf8(),
                format!("unexpected character `{}`", c.escape_debug()),
                "not part of the .air syntax",
            )),
        }
    }

    /// A name after `%` or `@`.
    fn name(&mut self, start: usize, what: &str, after: &str) -> Result<String, LexError> {
        let from = self.pos;
        self.eat_while(is_name_char);
        match self.src.get(from..self.pos) {
            Some(s) if !s.is_empty() => Ok(s.to_string()),
            _ => Err(self.error(
                start,
                self.pos.max(start + 1),
                format!("expected a {what} after {after}"),
                "name missing here",
            )),
        }
    }

    /// A number token; its validity is checked by the parser against the expected type.
    fn number(&mut self, start: usize) -> Result<Token, LexError> {
        // Number characters are ASCII, so this scans bytes (any non-ASCII byte stops it,
        // leaving `pos` on a character boundary).
        let bytes = self.src.as_bytes();
        let body = if bytes.get(start) == Some(&b'-') { start + 1 } else { start };
        let hex =
            bytes.get(body) == Some(&b'0') && matches!(bytes.get(body + 1), Some(b'x' | b'X'));
        let mut i = start + 1;
        while let Some(&b) = bytes.get(i) {
            let exp_sign =
                !hex && matches!(b, b'+' | b'-') && matches!(bytes.get(i - 1), Some(b'e' | b'E'));
            if !(b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || exp_sign) {
                break;
            }
            i += 1;
        }
        self.pos = i;
        self.token(Tok::Number, start)
    }

    /// A string literal starting at the current `"`; returns the decoded text.
    fn string(&mut self) -> Result<String, LexError> {
        let open = self.pos;
        self.bump();
        let mut s = String::new();
        loop {
            let at = self.pos;
            match self.bump() {
                None => {
                    return Err(self.error(
                        open,
                        open + 1,
                        "unterminated string literal".into(),
                        "this string is never closed",
                    ))
                }
                Some('"') => return Ok(s),
                Some('\n') => {
                    return Err(self.error(
                        open,
                        at,
                        "unterminated string literal (a newline inside a string is written `\\n`)"
                            .into(),
                        "this string is not closed on its line",
                    ))
                }
                Some('\\') => s.push(self.escape(at)?),
                Some(c) => s.push(c),
            }
        }
    }

    /// The character of an escape whose `\` is at `at`.
    fn escape(&mut self, at: usize) -> Result<char, LexError> {
        let c = match self.bump() {
            Some('n') => '\n',
            Some('t') => '\t',
            Some('r') => '\r',
            Some('"') => '"',
            Some('\\') => '\\',
            Some('u') => return self.unicode_escape(at),
            _ => {
                return Err(self.error(
                    at,
                    self.pos,
                    "unknown escape in string literal".into(),
                    "expected one of \\n \\t \\r \\\" \\\\ \\u{...}",
                ))
            }
        };
        Ok(c)
    }

    /// The rest of `\u{hex}`.
    fn unicode_escape(&mut self, at: usize) -> Result<char, LexError> {
        let bad = |lx: &Self| {
            lx.error(
                at,
                lx.pos,
                "malformed unicode escape".into(),
                "expected \\u{1 to 6 hex digits} naming a character",
            )
        };
        if self.peek() != Some('{') {
            return Err(bad(self));
        }
        self.bump();
        let from = self.pos;
        self.eat_while(|c| c.is_ascii_hexdigit());
        let digits = self.src.get(from..self.pos).unwrap_or("");
        if self.peek() != Some('}') || digits.is_empty() || digits.len() > 6 {
            return Err(bad(self));
        }
        self.bump();
        u32::from_str_radix(digits, 16).ok().and_then(char::from_u32).ok_or_else(|| bad(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every token up to the end, or the first error.
    fn lex(src: &str) -> Result<Vec<Token>, LexError> {
        let mut lx = Lexer::new(src);
        let mut out = Vec::new();
        loop {
            let t = lx.next_token();
            match t.tok {
                Tok::Error(e) => return Err(*e),
                Tok::Eof => {
                    out.push(t);
                    return Ok(out);
                }
                _ => out.push(t),
            }
        }
    }

    fn kinds(src: &str) -> Vec<Tok> {
        lex(src).map(|t| t.into_iter().map(|t| t.tok).collect()).unwrap_or_default()
    }

    #[test]
    fn numbers_keep_exponent_signs_but_stop_at_commas() {
        let src = "[1e-5, -2.5E+3, 0x1f, -7]";
        let toks = lex(src).unwrap_or_default();
        let texts: Vec<&str> =
            toks.iter().filter(|t| t.tok == Tok::Number).map(|t| &src[t.start..t.end]).collect();
        assert_eq!(texts, ["1e-5", "-2.5E+3", "0x1f", "-7"]);
    }

    #[test]
    fn minus_before_a_letter_is_punctuation() {
        assert_eq!(kinds("-inf"), [Tok::Punct('-'), Tok::Ident, Tok::Eof]);
    }

    #[test]
    fn comments_run_to_end_of_line() {
        assert_eq!(kinds("; RUN: x\n%a ; more\n"), [Tok::Value("a".into()), Tok::Eof]);
        assert_eq!(kinds("\u{feff}%a"), [Tok::Value("a".into()), Tok::Eof]);
    }

    #[test]
    fn strings_decode_escapes() {
        assert_eq!(kinds(r#""a\"\\\n\u{e9}""#), [Tok::Str("a\"\\\né".into()), Tok::Eof]);
        assert_eq!(kinds(r#"@"my model""#), [Tok::Symbol("my model".into()), Tok::Eof]);
    }

    #[test]
    fn malformed_tokens_are_errors() {
        for bad in ["\"abc", "\"a\nb\"", r#""\q""#, r#""\u{110000}""#, "%", "@ x", "#", "é"] {
            assert!(lex(bad).is_err(), "{bad:?} lexed");
        }
    }
}
