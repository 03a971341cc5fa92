//! The `.air` parser: text to [`Graph`], by a hand-written lexer ([`lex`]) and recursive
//! descent over the grammar in `docs/ir.md`.
//!
//! The op table drives it: attribute values are read according to the kind the table
//! declares, omitted attributes get the table's default, and operand and result counts are
//! checked against the table. Every problem is a [`ParseError`] pointing at the offending
//! text: syntax, unknown ops (with close mnemonics suggested), unknown, duplicate,
//! mistyped or missing attributes, undefined or redefined values, result and type count
//! mismatches, numbers that do not fit their dtype, and tensors too large to materialize.
//!
//! Planning annotations (`phase(...)`, `quant<...>`, `@edge`/`@cloud`) are read by
//! [`annot`] into the graph's side maps.
//!
//! The parser does not run shape rules (result types are taken as written; the verifier
//! checks them) and never panics, whatever the input.

mod annot;
mod lex;
mod literal;

use crate::attr::Attrs;
use crate::graph::{Graph, ValueId};
use crate::ops::{AttrDefault, OpDef, OpKind, OPS};
use crate::quant::QuantParams;
use crate::types::{DType, TensorType};
use lex::{Lexer, Tok, Token};
use miette::{Diagnostic, NamedSource, SourceSpan};
use std::collections::HashMap;
use thiserror::Error;

/// The most elements a `splat(..)` or `random(..)` tensor may expand to (1 GiB of f32).
pub const MAX_ELEMENTS: usize = 1 << 28;

/// What kind of problem a [`ParseError`] reports.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// Malformed text: an unexpected token or character.
    Syntax,
    /// A number that is malformed or does not fit the type it must have.
    Number,
    /// An op mnemonic that is not in the op table.
    UnknownOp,
    /// Too few or too many operands for the op.
    OperandCount,
    /// An attribute the op does not declare.
    UnknownAttr,
    /// An attribute written twice.
    DuplicateAttr,
    /// An attribute value of another kind than the op table declares.
    AttrKind,
    /// A required attribute that is not written.
    MissingAttr,
    /// A value used but never defined above.
    UndefinedValue,
    /// A value name defined twice.
    RedefinedValue,
    /// A graph output given two different names.
    ConflictingName,
    /// The number of result names differs from the op's result count.
    ResultCount,
    /// The number of result types differs from the number of results.
    TypeCount,
    /// A tensor literal whose elements do not match its type.
    TensorElements,
    /// A tensor too large to materialize (see [`MAX_ELEMENTS`]).
    TooLarge,
}

/// A parse error, with the source text and a labelled span for rendering with miette.
/// (Boxed, so `Result<Graph, ParseError>` stays small.)
#[derive(Debug, Error, Diagnostic)]
#[error(transparent)]
#[diagnostic(transparent)]
pub struct ParseError(Box<Details>);

/// The contents of a [`ParseError`].
#[derive(Debug, Error, Diagnostic)]
#[error("{message}")]
#[diagnostic(code(air::parse))]
struct Details {
    kind: ParseErrorKind,
    message: String,
    #[source_code]
    src: NamedSource<String>,
    #[label("{label}")]
    span: SourceSpan,
    label: String,
    #[label("{related_label}")]
    related: Option<SourceSpan>,
    related_label: String,
    #[help]
    help: Option<String>,
}

impl ParseError {
    /// The kind of problem.
    pub fn kind(&self) -> ParseErrorKind {
        self.0.kind
    }

    /// The one-line message (also the `Display` form).
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// Where in the source the problem is (byte offset and length).
    pub fn span(&self) -> SourceSpan {
        self.0.span
    }

    /// A hint on how to fix it, if there is one.
    pub fn help_text(&self) -> Option<&str> {
        self.0.help.as_deref()
    }
}

/// Parses one graph in the `.air` text form; errors name the source `<input>`.
pub fn parse(text: &str) -> Result<Graph, ParseError> {
    parse_named("<input>", text)
}

/// Parses one graph; `name` (a file name) is shown in rendered errors.
pub fn parse_named(name: &str, text: &str) -> Result<Graph, ParseError> {
    Parser::new(text).file().map_err(|p| (*p).into_error(name, text))
}

/// A byte range `start..end` of the source.
type Span = (usize, usize);

/// A parse error before it is attached to its source.
#[derive(Debug)]
struct Problem {
    kind: ParseErrorKind,
    span: Span,
    message: String,
    label: String,
    related: Option<(Span, String)>,
    help: Option<String>,
}

impl Problem {
    fn new(
        kind: ParseErrorKind,
        span: Span,
        message: String,
        label: impl Into<String>,
    ) -> Box<Self> {
        Box::new(Problem { kind, span, message, label: label.into(), related: None, help: None })
    }

    fn help(mut self: Box<Self>, help: impl Into<String>) -> Box<Self> {
        self.help = Some(help.into());
        self
    }

    fn related(mut self: Box<Self>, span: Span, label: impl Into<String>) -> Box<Self> {
        self.related = Some((span, label.into()));
        self
    }

    fn into_error(self, name: &str, text: &str) -> ParseError {
        let to_span = |(s, e): Span| {
            let s = s.min(text.len());
            SourceSpan::new(s.into(), e.clamp(s, text.len()) - s)
        };
        let (related, related_label) = match self.related {
            Some((span, label)) => (Some(to_span(span)), label),
            None => (None, String::new()),
        };
        ParseError(Box::new(Details {
            kind: self.kind,
            message: self.message,
            src: NamedSource::new(name, text.to_string()),
            span: to_span(self.span),
            label: self.label,
            related,
            related_label,
            help: self.help,
        }))
    }
}

type PResult<T> = Result<T, Box<Problem>>;

struct Parser<'a> {
    src: &'a str,
    lx: Lexer<'a>,
    /// The next token.
    cur: Token,
    /// The one after it.
    nxt: Token,
    g: Graph,
    values: HashMap<String, (ValueId, Span)>,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        let mut lx = Lexer::new(src);
        let cur = lx.next_token();
        let nxt = lx.next_token();
        Parser { src, lx, cur, nxt, g: Graph::new(""), values: HashMap::new() }
    }

    // ---- token helpers -------------------------------------------------------------------

    fn peek(&self) -> &Token {
        &self.cur
    }

    /// The token after the next one.
    fn peek2(&self) -> &Token {
        &self.nxt
    }

    /// Consumes the next token and returns it (at the end, keeps returning `Eof`).
    fn bump(&mut self) -> Token {
        let after = self.lx.next_token();
        let nxt = std::mem::replace(&mut self.nxt, after);
        std::mem::replace(&mut self.cur, nxt)
    }

    fn text(&self, t: &Token) -> &'a str {
        self.src.get(t.start..t.end).unwrap_or("")
    }

    fn is_punct(&self, c: char) -> bool {
        self.peek().tok == Tok::Punct(c)
    }

    fn is_ident(&self, word: &str) -> bool {
        let t = self.peek();
        t.tok == Tok::Ident && self.text(t) == word
    }

    fn eat_punct(&mut self, c: char) -> Option<Token> {
        self.is_punct(c).then(|| self.bump())
    }

    /// How a token reads in a message: `` `}` ``, `end of input`, `a string`.
    fn describe(&self, t: &Token) -> String {
        match &t.tok {
            Tok::Eof => "end of input".to_string(),
            Tok::Error(_) => "a malformed token".to_string(),
            Tok::Str(_) => "a string".to_string(),
            _ => {
                let text = self.text(t);
                match text.char_indices().nth(40) {
                    Some((cut, _)) => format!("`{}…`", &text[..cut]),
                    None => format!("`{text}`"),
                }
            }
        }
    }

    /// "expected {what}, found {next token}", pointing at the next token; or, when the next
    /// token is malformed, what is wrong with it.
    fn expected(&self, what: &str) -> Box<Problem> {
        let t = self.peek();
        if let Tok::Error(e) = &t.tok {
            let e = e.as_ref().clone();
            return Problem::new(ParseErrorKind::Syntax, (e.start, e.end), e.message, e.label);
        }
        Problem::new(
            ParseErrorKind::Syntax,
            (t.start, t.end),
            format!("expected {what}, found {}", self.describe(t)),
            format!("expected {what}"),
        )
    }

    fn expect_punct(&mut self, c: char, context: &str) -> PResult<Token> {
        self.eat_punct(c).ok_or_else(|| self.expected(&format!("`{c}` {context}")))
    }

    // ---- graph structure -----------------------------------------------------------------

    fn file(mut self) -> PResult<Graph> {
        self.header()?;
        self.body()?;
        if self.peek().tok != Tok::Eof {
            return Err(self.expected("end of input after the graph's closing `}`"));
        }
        Ok(self.g)
    }

    /// `graph @name(%0: TYPE "name", ...) {`
    fn header(&mut self) -> PResult<()> {
        if !self.is_ident("graph") {
            return Err(self
                .expected("`graph` at the start of the text")
                .help("an .air file holds one graph: `graph @name(%0: f32[1,3]) { ... }`"));
        }
        self.bump();
        match self.peek().tok.clone() {
            Tok::Symbol(name) => {
                self.bump();
                self.g.name = name;
            }
            _ => return Err(self.expected("the graph name (`@name`) after `graph`")),
        }
        self.expect_punct('(', "after the graph name")?;
        if self.eat_punct(')').is_none() {
            loop {
                self.graph_input()?;
                if self.eat_punct(',').is_some() {
                    continue;
                }
                if self.eat_punct(')').is_some() {
                    break;
                }
                return Err(self.expected("`,` or `)` after graph input"));
            }
        }
        if let Some(phase) = self.opt_phase()? {
            self.g.phase = phase;
        }
        self.expect_punct('{', "to open the graph body")?;
        Ok(())
    }

    /// `%0: f32[1,3] "name"`
    fn graph_input(&mut self) -> PResult<()> {
        let (name, span) = self.value_def("for a graph input")?;
        self.expect_punct(':', &format!("after graph input `%{name}`"))?;
        let (ty, _) = self.ty()?;
        let quant = self.opt_quant()?;
        let vname = match self.peek().tok.clone() {
            Tok::Str(s) => {
                self.bump();
                Some(s)
            }
            _ => None,
        };
        let v = self.g.add_input(vname, ty);
        if let Some(p) = quant {
            self.g.quant.insert(v, p);
        }
        self.values.insert(name, (v, span));
        Ok(())
    }

    /// Nodes, then `return ... }`.
    fn body(&mut self) -> PResult<()> {
        loop {
            let t = self.peek();
            match t.tok {
                Tok::Ident if self.text(t) == "return" => return self.ret(),
                Tok::Value(_) | Tok::Ident => self.node()?,
                _ => {
                    return Err(self
                        .expected("a node (`%N = op(...) : TYPE`) or `return`")
                        .help("a graph body is a list of nodes ending with `return %a, %b`"))
                }
            }
        }
    }

    /// `return %a "name", %b }`
    fn ret(&mut self) -> PResult<()> {
        self.bump();
        if !matches!(self.peek().tok, Tok::Value(_)) {
            self.expect_punct('}', "or a value after `return`")?;
            return Ok(());
        }
        loop {
            let (v, span) = self.value_use("to return")?;
            if let Tok::Str(s) = self.peek().tok.clone() {
                let t = self.bump();
                self.name_output(v, s, span, (t.start, t.end))?;
            }
            self.g.outputs.push(v);
            if self.eat_punct(',').is_none() {
                break;
            }
        }
        self.expect_punct('}', "or `,` after return value")?;
        Ok(())
    }

    /// Gives output `v` the name `s`, unless it already has another one.
    fn name_output(&mut self, v: ValueId, s: String, vspan: Span, span: Span) -> PResult<()> {
        let Some(data) = self.g.values.get_mut(v) else {
            return Ok(());
        };
        match &data.name {
            Some(old) if *old != s => {
                let mut shown = String::new();
                crate::print::write_string(&mut shown, old);
                Err(Problem::new(
                    ParseErrorKind::ConflictingName,
                    span,
                    format!("value `{}` is already named {shown}", self.text_of(vspan)),
                    "a second, different name",
                )
                .help("a value has at most one name; graph inputs are named at their definition"))
            }
            _ => {
                data.name = Some(s);
                Ok(())
            }
        }
    }

    fn text_of(&self, (s, e): Span) -> &'a str {
        self.src.get(s..e).unwrap_or("")
    }

    /// `%a, %b = op(%x, %y) {attrs} : T1, T2`
    fn node(&mut self) -> PResult<()> {
        let results = self.node_results()?;
        let (op, op_span) = self.mnemonic()?;
        let def = op.def();
        let (inputs, operands_span) = self.operands(op_span)?;
        check_operand_count(def, inputs.len(), operands_span)?;
        let attrs = self.attr_dict(def, op_span)?;
        let expected = def.num_results(&attrs);
        let lhs_span = match (results.first(), results.last()) {
            (Some(f), Some(l)) => (f.1 .0, l.1 .1),
            _ => op_span,
        };
        if results.len() != expected {
            return Err(result_count_problem(def, expected, results.len(), lhs_span));
        }
        let (types, quants): (Vec<TensorType>, Vec<_>) =
            self.result_types(results.len())?.into_iter().unzip();
        let placement = self.opt_placement()?;
        let n = self.g.add_node_typed(op, attrs, inputs, types);
        if let Some(p) = placement {
            self.g.placement.insert(n, p);
        }
        let outputs = self.g.nodes.get(n).map(|d| d.outputs.clone()).unwrap_or_default();
        for (((name, span), v), q) in results.into_iter().zip(outputs).zip(quants) {
            self.values.insert(name, (v, span));
            if let Some(q) = q {
                self.g.quant.insert(v, q);
            }
        }
        Ok(())
    }

    /// `%a, %b =` (possibly nothing).
    fn node_results(&mut self) -> PResult<Vec<(String, Span)>> {
        let mut results: Vec<(String, Span)> = Vec::new();
        if !matches!(self.peek().tok, Tok::Value(_)) {
            return Ok(results);
        }
        loop {
            let (name, span) = self.value_def("for a result")?;
            if let Some((_, prev)) = results.iter().find(|(n, _)| *n == name) {
                return Err(redefined(&name, span, *prev));
            }
            results.push((name, span));
            if self.eat_punct(',').is_none() {
                break;
            }
        }
        if self.eat_punct('=').is_none() {
            return Err(self.expected("`=` or `,` after the node's results"));
        }
        Ok(results)
    }

    /// `: T1, T2` when there are results, each type possibly followed by `quant<...>`.
    fn result_types(&mut self, count: usize) -> PResult<Vec<(TensorType, Option<QuantParams>)>> {
        if self.eat_punct(':').is_none() {
            if count == 0 {
                return Ok(Vec::new());
            }
            return Err(self.expected("`:` and the result types"));
        }
        let mut types = Vec::new();
        let mut span = (self.peek().start, self.peek().start);
        loop {
            let (ty, s) = self.ty()?;
            span.1 = s.1;
            types.push((ty, self.opt_quant()?));
            if self.eat_punct(',').is_none() {
                break;
            }
        }
        if types.len() != count {
            return Err(Problem::new(
                ParseErrorKind::TypeCount,
                span,
                format!("{} result types for {count} result{}", types.len(), plural(count)),
                "one type per result",
            ));
        }
        Ok(types)
    }

    /// An op mnemonic.
    fn mnemonic(&mut self) -> PResult<(OpKind, Span)> {
        let t = self.peek().clone();
        if t.tok != Tok::Ident {
            return Err(self.expected("an op name"));
        }
        self.bump();
        let word = self.text(&t);
        let span = (t.start, t.end);
        match OpKind::from_mnemonic(word) {
            Some(op) => Ok((op, span)),
            None => {
                let close = suggest(word, OPS.iter().map(|d| d.mnemonic));
                let help = match close.as_slice() {
                    [] => "the ops are listed in docs/ops.md".to_string(),
                    c => format!("did you mean {}?", backticked(c, ", ")),
                };
                Err(Problem::new(
                    ParseErrorKind::UnknownOp,
                    span,
                    format!("unknown op `{word}`"),
                    "not in the op table",
                )
                .help(help))
            }
        }
    }

    /// `(%a, %b)` or nothing; returns the operands and the span of the list (or `at`).
    fn operands(&mut self, at: Span) -> PResult<(Vec<ValueId>, Span)> {
        let Some(open) = self.eat_punct('(') else {
            return Ok((Vec::new(), at));
        };
        let mut inputs = Vec::new();
        if let Some(close) = self.eat_punct(')') {
            return Ok((inputs, (open.start, close.end)));
        }
        loop {
            inputs.push(self.value_use("as an operand")?.0);
            if self.eat_punct(',').is_some() {
                continue;
            }
            match self.eat_punct(')') {
                Some(close) => return Ok((inputs, (open.start, close.end))),
                None => return Err(self.expected("`,` or `)` after operand")),
            }
        }
    }

    /// A value being defined; rejects names already defined.
    fn value_def(&mut self, context: &str) -> PResult<(String, Span)> {
        let t = self.peek().clone();
        let Tok::Value(name) = t.tok else {
            return Err(self.expected(&format!("a value name (`%N`) {context}")));
        };
        self.bump();
        let span = (t.start, t.end);
        if let Some((_, prev)) = self.values.get(&name) {
            return Err(redefined(&name, span, *prev));
        }
        Ok((name, span))
    }

    /// A value being used; it must be defined above.
    fn value_use(&mut self, context: &str) -> PResult<(ValueId, Span)> {
        let t = self.peek().clone();
        let Tok::Value(name) = t.tok else {
            return Err(self.expected(&format!("a value (`%N`) {context}")));
        };
        self.bump();
        let span = (t.start, t.end);
        match self.values.get(&name) {
            Some(&(v, _)) => Ok((v, span)),
            None => Err(Problem::new(
                ParseErrorKind::UndefinedValue,
                span,
                format!("undefined value `%{name}`"),
                "not defined above this use",
            )
            .help("a value is defined by a graph input or an earlier node before it is used")),
        }
    }

    /// `f32[1,3,224,224]`; returns the type and its span.
    fn ty(&mut self) -> PResult<(TensorType, Span)> {
        let t = self.peek().clone();
        if t.tok != Tok::Ident {
            return Err(self.expected("a tensor type like `f32[1,3]`"));
        }
        let word = self.text(&t);
        let Some(dtype) = DType::from_name(word) else {
            return Err(Problem::new(
                ParseErrorKind::Syntax,
                (t.start, t.end),
                format!("unknown element type `{word}`"),
                "not an element type",
            )
            .help(format!("element types: {}", backticked(&DType::ALL.map(|d| d.name()), ", "))));
        };
        self.bump();
        self.expect_punct('[', &format!("after element type `{word}`"))?;
        let mut shape = Vec::new();
        let end = loop {
            if let Some(close) = self.eat_punct(']') {
                if shape.is_empty() {
                    break close.end;
                }
                return Err(Problem::new(
                    ParseErrorKind::Syntax,
                    (close.start, close.end),
                    "expected a dimension after `,`, found `]`".into(),
                    "expected a dimension",
                ));
            }
            shape.push(self.dim()?);
            if self.eat_punct(',').is_some() {
                continue;
            }
            match self.eat_punct(']') {
                Some(close) => break close.end,
                None => return Err(self.expected("`,` or `]` after dimension")),
            }
        };
        Ok((TensorType::new(dtype, shape), (t.start, end)))
    }

    /// One dimension: a non-negative integer.
    fn dim(&mut self) -> PResult<usize> {
        let t = self.peek().clone();
        let text = self.text(&t);
        if t.tok != Tok::Number || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.expected("a dimension (a non-negative integer)"));
        }
        self.bump();
        text.parse::<usize>().map_err(|_| {
            Problem::new(
                ParseErrorKind::Number,
                (t.start, t.end),
                format!("dimension `{text}` is too large"),
                "does not fit in usize",
            )
        })
    }

    // ---- attributes ----------------------------------------------------------------------

    /// `{name = value, ...}` (possibly absent), then the op table's defaults.
    fn attr_dict(&mut self, def: &OpDef, op_span: Span) -> PResult<Attrs> {
        let mut attrs = Attrs::new();
        let mut seen: HashMap<&'static str, Span> = HashMap::new();
        let mut end = op_span.1;
        if self.eat_punct('{').is_some() {
            end = loop {
                if let Some(close) = self.eat_punct('}') {
                    if seen.is_empty() {
                        break close.end;
                    }
                    return Err(self.expected("an attribute name after `,`"));
                }
                self.attr(def, &mut attrs, &mut seen)?;
                if self.eat_punct(',').is_some() {
                    continue;
                }
                match self.eat_punct('}') {
                    Some(close) => break close.end,
                    None => return Err(self.expected("`,` or `}` after attribute")),
                }
            };
        }
        let mut missing = Vec::new();
        for a in def.attrs {
            if attrs.get(a.name).is_none() {
                match a.default.value() {
                    Some(v) => attrs.set(a.name, v),
                    None if a.default == AttrDefault::Absent => {}
                    None => missing.push(a),
                }
            }
        }
        if missing.is_empty() {
            return Ok(attrs);
        }
        let names: Vec<&str> = missing.iter().map(|a| a.name).collect();
        let kinds: Vec<String> =
            missing.iter().map(|a| format!("`{}` ({})", a.name, a.kind)).collect();
        Err(Problem::new(
            ParseErrorKind::MissingAttr,
            (op_span.0, end),
            format!(
                "`{}` is missing required attribute{} {}",
                def.mnemonic,
                plural(missing.len()),
                backticked(&names, ", ")
            ),
            "on this node",
        )
        .help(format!("write {} in `{{...}}` after the operands", kinds.join(", "))))
    }

    /// `name = value`
    fn attr(
        &mut self,
        def: &OpDef,
        attrs: &mut Attrs,
        seen: &mut HashMap<&'static str, Span>,
    ) -> PResult<()> {
        let t = self.peek().clone();
        if t.tok != Tok::Ident {
            return Err(self.expected("an attribute name"));
        }
        self.bump();
        let word = self.text(&t);
        let span = (t.start, t.end);
        let Some(adef) = def.attr(word) else {
            return Err(unknown_attr(def, word, span));
        };
        if let Some(prev) = seen.get(adef.name) {
            return Err(Problem::new(
                ParseErrorKind::DuplicateAttr,
                span,
                format!("attribute `{word}` is written twice"),
                "written again here",
            )
            .related(*prev, "first written here"));
        }
        seen.insert(adef.name, span);
        self.expect_punct('=', &format!("after attribute name `{word}`"))?;
        let value = self.attr_value(def, adef)?;
        attrs.set(adef.name, value);
        Ok(())
    }
}

/// Errors for a name defined twice.
fn redefined(name: &str, span: Span, prev: Span) -> Box<Problem> {
    Problem::new(
        ParseErrorKind::RedefinedValue,
        span,
        format!("value `%{name}` is defined twice"),
        "defined again here",
    )
    .related(prev, "first defined here")
}

fn unknown_attr(def: &OpDef, word: &str, span: Span) -> Box<Problem> {
    let names: Vec<&str> = def.attrs.iter().map(|a| a.name).collect();
    let takes = if names.is_empty() {
        format!("`{}` takes no attributes", def.mnemonic)
    } else {
        format!("`{}` takes {}", def.mnemonic, backticked(&names, ", "))
    };
    let help = match suggest(word, names.iter().copied()).first() {
        Some(close) => format!("did you mean `{close}`? {takes}"),
        None => takes,
    };
    Problem::new(
        ParseErrorKind::UnknownAttr,
        span,
        format!("`{}` has no attribute `{word}`", def.mnemonic),
        "unknown attribute",
    )
    .help(help)
}

fn check_operand_count(def: &OpDef, count: usize, span: Span) -> PResult<()> {
    let (min, max) = (def.min_operands(), def.max_operands());
    if count >= min && max.is_none_or(|m| count <= m) {
        return Ok(());
    }
    let want = match max {
        None => format!("at least {min}"),
        Some(m) if m == min => format!("{m}"),
        Some(m) => format!("{min} to {m}"),
    };
    Err(Problem::new(
        ParseErrorKind::OperandCount,
        span,
        format!("`{}` takes {want} operand{}, found {count}", def.mnemonic, plural_s(&want)),
        format!("{count} operand{}", plural(count)),
    )
    .help(format!("operands of `{}`: {}", def.mnemonic, crate::opdoc::operand_list(def))))
}

fn result_count_problem(def: &OpDef, expected: usize, found: usize, span: Span) -> Box<Problem> {
    let why = match def.results {
        crate::ops::Results::One => String::new(),
        crate::ops::Results::PerSplit => " (one per entry of `split`)".to_string(),
        crate::ops::Results::OneOrTwo { flag } => format!(" (2 when `{flag}` = 1)"),
    };
    Problem::new(
        ParseErrorKind::ResultCount,
        span,
        format!(
            "`{}` gives {expected} result{}{why}, but {found} {} named",
            def.mnemonic,
            plural(expected),
            if found == 1 { "is" } else { "are" }
        ),
        format!("{found} result{}", plural(found)),
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// "s" unless the count text is "1" or "at least 1".
fn plural_s(count_text: &str) -> &'static str {
    if count_text == "1" || count_text == "at least 1" {
        ""
    } else {
        "s"
    }
}

/// `` `a`, `b` ``
fn backticked(items: &[&str], sep: &str) -> String {
    items.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(sep)
}

/// Up to three candidates close to `word` (edit distance after lower-casing and dropping
/// `_`, or containment), closest first.
fn suggest<'c>(word: &str, candidates: impl Iterator<Item = &'c str>) -> Vec<&'c str> {
    let norm = |s: &str| -> Vec<char> {
        s.chars().filter(|&c| c != '_').flat_map(char::to_lowercase).collect()
    };
    let w = norm(word);
    let limit = (w.len() / 3).max(1);
    let mut scored: Vec<(usize, &str)> = candidates
        .filter_map(|c| {
            let n = norm(c);
            let d = levenshtein(&w, &n);
            let contains = w.len() >= 3 && n.len() >= 3 && (is_sub(&w, &n) || is_sub(&n, &w));
            (d <= limit || contains).then_some((d, c))
        })
        .collect();
    scored.sort();
    // An exact match up to case and `_` makes the others noise.
    let exact = scored.first().is_some_and(|&(d, _)| d == 0);
    scored.into_iter().take_while(|&(d, _)| !exact || d == 0).take(3).map(|(_, c)| c).collect()
}

/// True when `needle` occurs in `hay`.
fn is_sub(needle: &[char], hay: &[char]) -> bool {
    hay.windows(needle.len().max(1)).any(|w| w == needle)
}

fn levenshtein(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.get(j).copied().unwrap_or(0) + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_are_close_mnemonics() {
        let ops = || OPS.iter().map(|d| d.mnemonic);
        assert_eq!(suggest("Conv", ops()).first(), Some(&"conv"));
        assert_eq!(suggest("maxpool", ops()).first(), Some(&"max_pool"));
        assert!(suggest("BatchNormalization", ops()).contains(&"batch_norm"));
        assert!(suggest("zzzzzzzz", ops()).is_empty());
    }

    #[test]
    fn levenshtein_counts_edits() {
        let c = |s: &str| s.chars().collect::<Vec<_>>();
        assert_eq!(levenshtein(&c("kitten"), &c("sitting")), 3);
        assert_eq!(levenshtein(&c(""), &c("abc")), 3);
        assert_eq!(levenshtein(&c("abc"), &c("abc")), 0);
    }
}
