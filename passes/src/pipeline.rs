//! Pipeline strings: `canonicalize,fuse{max-group=8},dce`, parsed against the registry and
//! printed back.
//!
//! Grammar (spaces allowed around every token):
//! ```text
//! pipeline := "" | entry ("," entry)*
//! entry    := pass-name ("{" option ("," option)* "}")?
//! option   := option-name "=" word          (word: no spaces, `,` `{` `}` `=`)
//! ```
//! Parsing checks pass names, option names and option value types, and reports the first
//! error with a labelled span (miette). Printing writes each pass with the options the text
//! gave, in the order given, values in canonical form, so `parse(print(p)) == p`. This file
//! does not run anything (see [`crate::manager`]).

use crate::options::{OptValue, PassOptions};
use crate::pass::{Pass, PassError, PassInfo};
use crate::registry;
use miette::{Diagnostic, NamedSource, SourceSpan};
use std::fmt;
use thiserror::Error;

/// One pass in a pipeline, with the options written for it.
#[derive(Clone, Debug, PartialEq)]
pub struct PipelineEntry {
    /// The pass.
    pub info: &'static PassInfo,
    /// Options given in the text, in order (defaults are not listed).
    pub options: Vec<(String, OptValue)>,
}

impl PipelineEntry {
    /// Builds the pass with the given options and the declared defaults.
    pub fn build(&self) -> Result<Box<dyn Pass>, PassError> {
        let opts = PassOptions::resolve(self.info.options, &self.options).map_err(|message| {
            PassError::failed(format!("pass `{}`: {message}", self.info.name))
        })?;
        (self.info.build)(&opts)
    }
}

/// A parsed pipeline.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pipeline {
    /// Passes in run order.
    pub entries: Vec<PipelineEntry>,
}

impl fmt::Display for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(e.info.name)?;
            if !e.options.is_empty() {
                let opts: Vec<String> = e.options.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(f, "{{{}}}", opts.join(","))?;
            }
        }
        Ok(())
    }
}

/// What kind of mistake a pipeline string has.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PipelineErrorKind {
    /// A `{` without `}` or a `}` without `{`.
    UnbalancedBrace,
    /// A pass name the registry does not know.
    UnknownPass,
    /// An option the pass does not declare.
    UnknownOption,
    /// An option value of the wrong type.
    BadValue,
    /// The same option twice for one pass.
    DuplicateOption,
    /// Anything else: an empty name, a missing `=`, stray characters.
    Syntax,
}

/// A malformed pipeline string, with the offending span (boxed, so results stay small).
#[derive(Debug, Error, Diagnostic)]
#[error(transparent)]
#[diagnostic(transparent)]
pub struct PipelineError(Box<Details>);

/// The contents of a [`PipelineError`].
#[derive(Debug, Error, Diagnostic)]
#[error("invalid pass pipeline: {message}")]
#[diagnostic(code(asplit::pipeline))]
struct Details {
    kind: PipelineErrorKind,
    message: String,
    #[source_code]
    src: NamedSource<String>,
    #[label("{label}")]
    span: SourceSpan,
    label: String,
    #[help]
    help: Option<String>,
}

impl PipelineError {
    /// The kind of mistake.
    pub fn kind(&self) -> PipelineErrorKind {
        self.0.kind
    }

    /// The message (without the "invalid pass pipeline" prefix).
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// Where in the pipeline string the problem is.
    pub fn span(&self) -> SourceSpan {
        self.0.span
    }

    /// The help line, if any.
    pub fn help_text(&self) -> Option<&str> {
        self.0.help.as_deref()
    }
}

/// Parses a pipeline string.
pub fn parse(text: &str) -> Result<Pipeline, PipelineError> {
    Parser { text, pos: 0 }.pipeline()
}

impl std::str::FromStr for Pipeline {
    type Err = PipelineError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

struct Parser<'t> {
    text: &'t str,
    pos: usize,
}

fn is_word_char(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, ',' | '{' | '}' | '=')
}

impl<'t> Parser<'t> {
    fn err(
        &self,
        kind: PipelineErrorKind,
        span: (usize, usize),
        message: String,
        label: &str,
        help: Option<String>,
    ) -> PipelineError {
        let (start, end) = span;
        let start = start.min(self.text.len());
        let end = end.clamp(start, self.text.len());
        PipelineError(Box::new(Details {
            kind,
            message,
            src: NamedSource::new("--passes", self.text.to_string()),
            span: SourceSpan::new(start.into(), end - start),
            label: label.to_string(),
            help,
        }))
    }

    fn skip_ws(&mut self) {
        let rest = &self.text[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn word(&mut self) -> (usize, &'t str) {
        self.skip_ws();
        let text: &'t str = self.text;
        let start = self.pos;
        let len = text[start..].find(|c| !is_word_char(c)).unwrap_or(text.len() - start);
        self.pos += len;
        (start, &text[start..start + len])
    }

    fn pipeline(&mut self) -> Result<Pipeline, PipelineError> {
        self.check_braces()?;
        let mut entries = Vec::new();
        self.skip_ws();
        if self.pos == self.text.len() {
            return Ok(Pipeline { entries });
        }
        loop {
            entries.push(self.entry()?);
            self.skip_ws();
            match self.peek() {
                None => return Ok(Pipeline { entries }),
                Some(',') => self.pos += 1,
                Some(c) => return Err(self.unexpected(c, "expected `,` or the end")),
            }
        }
    }

    fn unexpected(&self, c: char, label: &str) -> PipelineError {
        self.err(
            PipelineErrorKind::Syntax,
            (self.pos, self.pos + c.len_utf8()),
            format!("unexpected `{c}`"),
            label,
            None,
        )
    }

    /// Braces are checked first so that `a{b=1,c` reports the brace, not a later symptom.
    fn check_braces(&self) -> Result<(), PipelineError> {
        let mut open: Option<usize> = None;
        for (i, c) in self.text.char_indices() {
            match (c, open) {
                ('{', None) => open = Some(i),
                ('{', Some(_)) => {
                    let m = "nested `{`: options cannot contain braces".to_string();
                    return Err(self.brace_err((i, i + 1), m, "second `{`"));
                }
                ('}', Some(_)) => open = None,
                ('}', None) => {
                    let m = "`}` without a matching `{`".to_string();
                    return Err(self.brace_err((i, i + 1), m, "unmatched"));
                }
                _ => {}
            }
        }
        match open {
            Some(i) => Err(self.brace_err((i, i + 1), "`{` is never closed".into(), "opened here")),
            None => Ok(()),
        }
    }

    fn brace_err(&self, span: (usize, usize), message: String, label: &str) -> PipelineError {
        self.err(PipelineErrorKind::UnbalancedBrace, span, message, label, None)
    }

    fn entry(&mut self) -> Result<PipelineEntry, PipelineError> {
        let (start, name) = self.word();
        if name.is_empty() {
            let c = self.peek();
            let label = "expected a pass name";
            return Err(match c {
                Some(c) => self.unexpected(c, label),
                None => self.err(
                    PipelineErrorKind::Syntax,
                    (start.saturating_sub(1), start),
                    "the pipeline ends with `,`".into(),
                    "expected a pass name after this",
                    None,
                ),
            });
        }
        let Some(info) = registry::lookup(name) else {
            let names = registry::PASSES.iter().map(|p| p.name);
            let guess = registry::suggest(name, names)
                .map(|g| format!("did you mean `{g}`? "))
                .unwrap_or_default();
            return Err(self.err(
                PipelineErrorKind::UnknownPass,
                (start, start + name.len()),
                format!("unknown pass `{name}`"),
                "not a registered pass",
                Some(format!("{guess}the passes are: {}", registry::names())),
            ));
        };
        self.skip_ws();
        let mut options = Vec::new();
        if self.peek() == Some('{') {
            self.pos += 1;
            loop {
                self.option(info, &mut options)?;
                self.skip_ws();
                match self.peek() {
                    Some(',') => self.pos += 1,
                    Some('}') => {
                        self.pos += 1;
                        break;
                    }
                    Some(c) => return Err(self.unexpected(c, "expected `,` or `}`")),
                    None => return Err(self.unexpected(' ', "expected `}`")),
                }
            }
        }
        Ok(PipelineEntry { info, options })
    }

    fn option(
        &mut self,
        info: &'static PassInfo,
        options: &mut Vec<(String, OptValue)>,
    ) -> Result<(), PipelineError> {
        let (start, name) = self.word();
        let name_span = (start, start + name.len());
        if name.is_empty() {
            let c = self.peek().unwrap_or(' ');
            return Err(self.unexpected(c, "expected an option name"));
        }
        let Some(def) = info.option(name) else {
            let valid: Vec<&str> = info.options.iter().map(|o| o.name).collect();
            let guess = registry::suggest(name, valid.iter().copied())
                .map(|g| format!("did you mean `{g}`? "))
                .unwrap_or_default();
            let help = if valid.is_empty() {
                format!("`{}` takes no options", info.name)
            } else {
                format!("{guess}`{}` takes: {}", info.name, valid.join(", "))
            };
            return Err(self.err(
                PipelineErrorKind::UnknownOption,
                name_span,
                format!("pass `{}` has no option `{name}`", info.name),
                "unknown option",
                Some(help),
            ));
        };
        if options.iter().any(|(k, _)| k == name) {
            return Err(self.err(
                PipelineErrorKind::DuplicateOption,
                name_span,
                format!("option `{name}` of `{}` is given twice", info.name),
                "again here",
                None,
            ));
        }
        self.skip_ws();
        if self.peek() != Some('=') {
            let c = self.peek().unwrap_or(' ');
            return Err(self.unexpected(c, "expected `=` and a value"));
        }
        self.pos += 1;
        let (vstart, value) = self.word();
        let value_span = (vstart, vstart + value.len().max(1));
        let value = def.kind.parse(value).map_err(|m| {
            self.err(
                PipelineErrorKind::BadValue,
                value_span,
                format!("option `{name}` of `{}`: {m}", info.name),
                &format!("expected a {}", def.kind.name()),
                Some(format!("{}: {} (default {})", def.name, def.doc, def.default)),
            )
        })?;
        options.push((name.to_string(), value));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> PipelineErrorKind {
        parse(text).expect_err(text).kind()
    }

    #[test]
    fn round_trips() {
        for text in [
            "",
            "dce",
            "canonicalize,fold-constants,dce",
            "fold-constants{max-elements=16},dce",
            "canonicalize,fold-constants{max-elements=0},canonicalize",
        ] {
            let p = parse(text).expect(text);
            assert_eq!(p.to_string(), text);
            assert_eq!(parse(&p.to_string()).expect("reparses"), p);
        }
    }

    #[test]
    fn spaces_are_allowed_and_printing_is_canonical() {
        let p = parse(" canonicalize , fold-constants { max-elements = 16 } ,dce ").unwrap();
        assert_eq!(p.to_string(), "canonicalize,fold-constants{max-elements=16},dce");
        assert_eq!(p.entries.len(), 3);
    }

    #[test]
    fn unbalanced_braces() {
        assert_eq!(kind("fold-constants{max-elements=1"), PipelineErrorKind::UnbalancedBrace);
        assert_eq!(kind("dce}"), PipelineErrorKind::UnbalancedBrace);
        assert_eq!(kind("dce{{}}"), PipelineErrorKind::UnbalancedBrace);
        let e = parse("dce,fold-constants{max-elements=1").unwrap_err();
        assert_eq!(e.span().offset(), 18);
    }

    #[test]
    fn unknown_pass_lists_valid_ones_and_suggests() {
        let e = parse("canonicalise,dce").unwrap_err();
        assert_eq!(e.kind(), PipelineErrorKind::UnknownPass);
        let help = e.help_text().unwrap();
        assert!(help.starts_with("did you mean `canonicalize`?"), "{help}");
        assert!(help.contains("dce") && help.contains("fold-constants"), "{help}");
        let e = parse("dce,frobnicate").unwrap_err();
        assert!(!e.help_text().unwrap().contains("did you mean"));
        assert_eq!((e.span().offset(), e.span().len()), (4, 10));
    }

    #[test]
    fn unknown_and_ill_typed_options() {
        assert_eq!(kind("dce{max-elements=3}"), PipelineErrorKind::UnknownOption);
        let e = parse("fold-constants{max-element=3}").unwrap_err();
        assert_eq!(e.kind(), PipelineErrorKind::UnknownOption);
        assert!(e.help_text().unwrap().contains("did you mean `max-elements`"));
        assert_eq!(kind("fold-constants{max-elements=lots}"), PipelineErrorKind::BadValue);
        assert_eq!(kind("fold-constants{max-elements=-1}"), PipelineErrorKind::BadValue);
        assert_eq!(kind("fold-constants{max-elements=}"), PipelineErrorKind::BadValue);
        assert_eq!(
            kind("fold-constants{max-elements=1,max-elements=2}"),
            PipelineErrorKind::DuplicateOption
        );
    }

    /// Every string over a small alphabet (non-ASCII and separators included) up to length 4
    /// parses or fails cleanly, and whatever parses prints back to itself canonically.
    #[test]
    fn never_panics_on_garbage() {
        let alphabet =
            ["dce", "ü", ",", "{", "}", "=", " ", "x", "fold-constants", "8", "max-elements"];
        let mut texts = vec![String::new()];
        for _ in 0..4 {
            let prev = std::mem::take(&mut texts);
            for t in &prev {
                for a in alphabet {
                    texts.push(format!("{t}{a}"));
                }
            }
            texts.extend(prev);
        }
        for t in &texts {
            if let Ok(p) = parse(t) {
                assert_eq!(parse(&p.to_string()).expect("reparses"), p, "{t:?}");
            }
        }
    }

    #[test]
    fn syntax_errors() {
        for text in ["dce,", ",dce", "dce,,dce", "dce dce", "fold-constants{max-elements}", "dce{}"]
        {
            assert_eq!(kind(text), PipelineErrorKind::Syntax, "{text}");
        }
    }
}
