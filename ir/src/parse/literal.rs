//! Attribute values and tensor literals of the `.air` parser.
//!
//! Values are read according to the kind the op table declares for the attribute; numbers
//! are checked against the type they must fit (i64 attributes, tensor dtypes) without
//! wrapping casts: an out-of-range literal is an error, never a truncated value. Float
//! literals are converted from their text straight to the target type, so printed values
//! read back bit-exactly. Coded dtypes take their values: integers in range for `i4`…`u2`;
//! floats for the 8- and 4-bit floats, rounded to the nearest code like a non-saturating
//! `cast` (a finite literal that would become ∞ or NaN, or change sign, is out of range).
//! Tensor bodies are `[...]` (flat, row-major), `splat(v)`, `random(seed = N, lo = A, hi =
//! B)` (float dtypes, coded ones included) and `hash(0x...)` (elided contents).

use super::{PResult, ParseErrorKind, Parser, Problem, Span, MAX_ELEMENTS};
use crate::attr::{Attr, AttrKind};
use crate::coded::{bf16_from_f64, f16_from_f64, CastOptions, CodedType, RoundMode};
use crate::ops::{AttrDef, OpDef};
use crate::parse::lex::Tok;
use crate::tensor::{seeded_uniform, Tensor, TensorData};
use crate::types::{DType, TensorType};
use half::f16;
use std::borrow::Cow;
use std::sync::Arc;

/// How a number token's text reads.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum NumClass {
    /// `-`? digits.
    Int,
    /// Has a `.` or an exponent and parses as a float.
    Float,
    /// `0x...`.
    Hex,
    /// Anything else (`1_000`, `12abc`, `1.2.3`).
    Bad,
}

/// Classifies by syntax alone: `-`? digits (`.` digits?)? ([eE] [+-]? digits)?, where a `.`
/// or an exponent makes a float (every such text parses as f32 and f64).
fn classify(text: &str) -> NumClass {
    let body = text.strip_prefix('-').unwrap_or(text).as_bytes();
    if body.starts_with(b"0x") || body.starts_with(b"0X") {
        return NumClass::Hex;
    }
    let digits = |from: usize| body.iter().skip(from).take_while(|b| b.is_ascii_digit()).count();
    let mut i = digits(0);
    if i == 0 {
        return NumClass::Bad;
    }
    let mut float = false;
    if body.get(i) == Some(&b'.') {
        float = true;
        i += 1;
        i += digits(i);
    }
    if matches!(body.get(i), Some(b'e' | b'E')) {
        float = true;
        i += 1;
        if matches!(body.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let n = digits(i);
        if n == 0 {
            return NumClass::Bad;
        }
        i += n;
    }
    match (i == body.len(), float) {
        (false, _) => NumClass::Bad,
        (true, true) => NumClass::Float,
        (true, false) => NumClass::Int,
    }
}

/// The kind of value a token starts, as far as one token tells, for kind-mismatch errors.
fn apparent_kind(p: &Parser, t: &super::Token) -> Option<&'static str> {
    let text = p.text(t);
    match &t.tok {
        Tok::Number => match classify(text) {
            NumClass::Int => Some("an int"),
            NumClass::Float => Some("a float"),
            _ => None,
        },
        Tok::Punct('[') => Some("a list"),
        Tok::Punct('-') => Some("a float"),
        Tok::Str(_) => Some("a string"),
        Tok::Ident if text == "tensor" => Some("a tensor"),
        Tok::Ident if text == "inf" || text == "nan" => Some("a float"),
        Tok::Ident if DType::from_name(text).is_some() => Some("a dtype"),
        _ => None,
    }
}

/// The apparent kinds a declared attribute kind accepts.
fn accepts(kind: AttrKind, apparent: &str) -> bool {
    match kind {
        AttrKind::Int => apparent == "an int",
        AttrKind::Float => apparent == "an int" || apparent == "a float",
        AttrKind::Ints | AttrKind::Floats => apparent == "a list",
        AttrKind::Str => apparent == "a string",
        AttrKind::Tensor => apparent == "a tensor",
        AttrKind::DType => apparent == "a dtype",
    }
}

fn kind_phrase(kind: AttrKind) -> &'static str {
    match kind {
        AttrKind::Int => "an int",
        AttrKind::Float => "a float",
        AttrKind::Ints => "a list of ints",
        AttrKind::Floats => "a list of floats",
        AttrKind::Str => "a string",
        AttrKind::Tensor => "a tensor",
        AttrKind::DType => "a dtype",
    }
}

impl<'a> Parser<'a> {
    /// The value of attribute `adef` of `def`, read as its declared kind.
    pub(super) fn attr_value(&mut self, def: &OpDef, adef: &AttrDef) -> PResult<Attr> {
        let t = self.peek().clone();
        if let Some(found) = apparent_kind(self, &t) {
            if !accepts(adef.kind, found) {
                let want = kind_phrase(adef.kind);
                return Err(Problem::new(
                    ParseErrorKind::AttrKind,
                    (t.start, t.end),
                    format!(
                        "attribute `{}` of `{}` is {want}, found {found} {}",
                        adef.name,
                        def.mnemonic,
                        self.describe(&t)
                    ),
                    format!("expected {want}"),
                )
                .help(format!("`{}` is declared {} in the op table", adef.name, adef.kind)));
            }
        }
        let ctx = format!("for attribute `{}`", adef.name);
        Ok(match adef.kind {
            AttrKind::Int => Attr::Int(self.int_lit(&ctx)?.0),
            AttrKind::Float => Attr::Float(self.f32_lit(&ctx)?),
            AttrKind::Ints => Attr::Ints(self.list(|p| Ok(p.int_lit(&ctx)?.0))?),
            AttrKind::Floats => Attr::Floats(self.list(|p| p.f32_lit(&ctx))?),
            AttrKind::Str => match self.peek().tok.clone() {
                Tok::Str(s) => {
                    self.bump();
                    Attr::Str(s)
                }
                _ => return Err(self.expected(&format!("a string {ctx}"))),
            },
            AttrKind::DType => Attr::DType(self.dtype_lit(&ctx)?),
            AttrKind::Tensor => self.tensor_lit()?,
        })
    }

    /// `[a, b, ...]` with elements read by `elem`.
    fn list<T>(&mut self, mut elem: impl FnMut(&mut Self) -> PResult<T>) -> PResult<Vec<T>> {
        self.expect_punct('[', "to open the list")?;
        let mut out = Vec::new();
        if self.eat_punct(']').is_some() {
            return Ok(out);
        }
        loop {
            out.push(elem(self)?);
            if self.eat_punct(',').is_some() {
                continue;
            }
            self.expect_punct(']', "or `,` after list element")?;
            return Ok(out);
        }
    }

    fn dtype_lit(&mut self, ctx: &str) -> PResult<DType> {
        let t = self.peek().clone();
        match DType::from_name(self.text(&t)).filter(|_| t.tok == Tok::Ident) {
            Some(d) => {
                self.bump();
                Ok(d)
            }
            None => Err(self.expected(&format!("an element type (f32, i64, ...) {ctx}"))),
        }
    }

    /// An integer literal as i64.
    pub(super) fn int_lit(&mut self, ctx: &str) -> PResult<(i64, Span)> {
        let t = self.peek();
        let (text, span) = (self.text(t), (t.start, t.end));
        if t.tok != Tok::Number || classify(text) != NumClass::Int {
            return Err(self.expected(&format!("an integer {ctx}")));
        }
        self.bump();
        let v = text.parse::<i64>().map_err(|_| out_of_range(text, "i64", span))?;
        Ok((v, span))
    }

    /// A float literal's text (`1.5`, `3`, `-inf`, `nan`) and span.
    fn float_text(&mut self, ctx: &str) -> PResult<(Cow<'a, str>, Span)> {
        let t = self.peek();
        let (text, span) = (self.text(t), (t.start, t.end));
        match t.tok {
            Tok::Number if matches!(classify(text), NumClass::Int | NumClass::Float) => {
                self.bump();
                Ok((Cow::Borrowed(text), span))
            }
            Tok::Ident if text == "inf" || text == "nan" => {
                self.bump();
                Ok((Cow::Borrowed(text), span))
            }
            Tok::Punct('-') => {
                let next = self.peek2().clone();
                let word = self.text(&next);
                if next.tok == Tok::Ident && (word == "inf" || word == "nan") {
                    self.bump();
                    self.bump();
                    return Ok((Cow::Owned(format!("-{word}")), (span.0, next.end)));
                }
                Err(self.expected(&format!("a number {ctx}")))
            }
            _ => Err(self.expected(&format!("a number {ctx}"))),
        }
    }

    pub(super) fn f32_lit(&mut self, ctx: &str) -> PResult<f32> {
        let (text, span) = self.float_text(ctx)?;
        let v = text.parse::<f32>().map_err(|_| out_of_range(&text, "f32", span))?;
        finite_unless_inf(v.is_infinite(), &text, "f32", span)?;
        Ok(v)
    }

    fn f64_lit(&mut self, ctx: &str) -> PResult<f64> {
        let (text, span) = self.float_text(ctx)?;
        let v = text.parse::<f64>().map_err(|_| out_of_range(&text, "f64", span))?;
        finite_unless_inf(v.is_infinite(), &text, "f64", span)?;
        Ok(v)
    }

    fn f16_lit(&mut self, ctx: &str) -> PResult<f16> {
        let (text, span) = self.float_text(ctx)?;
        let v =
            text.parse::<f64>().map(f16_from_f64).map_err(|_| out_of_range(&text, "f16", span))?;
        finite_unless_inf(v.is_infinite(), &text, "f16", span)?;
        Ok(v)
    }

    fn bf16_lit(&mut self, ctx: &str) -> PResult<half::bf16> {
        let (text, span) = self.float_text(ctx)?;
        let v = text.parse::<f64>().map(bf16_from_f64);
        let v = v.map_err(|_| out_of_range(&text, "bf16", span))?;
        finite_unless_inf(v.is_infinite(), &text, "bf16", span)?;
        Ok(v)
    }

    /// An integer literal of any width (up to i128) and its span.
    fn wide_int_lit(&mut self, dtype: DType) -> PResult<(i128, Span)> {
        let t = self.peek();
        let (text, span) = (self.text(t), (t.start, t.end));
        if t.tok != Tok::Number || classify(text) != NumClass::Int {
            return Err(self.expected(&format!("an integer for an element of type {dtype}")));
        }
        self.bump();
        let v = text.parse::<i128>().map_err(|_| out_of_range(text, dtype.name(), span))?;
        Ok((v, span))
    }

    /// An integer that must fit `T` (the element type `dtype`).
    fn typed_int<T: TryFrom<i128>>(&mut self, dtype: DType) -> PResult<T> {
        let (v, span) = self.wide_int_lit(dtype)?;
        T::try_from(v).map_err(|_| out_of_range(&v.to_string(), dtype.name(), span))
    }

    /// The code of an element of coded type `c`.
    fn coded_elem(&mut self, c: CodedType) -> PResult<u8> {
        let dtype = c.dtype();
        if let Some((lo, hi)) = c.int_range() {
            let (v, span) = self.wide_int_lit(dtype)?;
            if !(i128::from(lo)..=i128::from(hi)).contains(&v) {
                return Err(out_of_range(&v.to_string(), dtype.name(), span));
            }
            return Ok(c.from_i64(v as i64, CastOptions::default()));
        }
        let (text, span) = self.float_text(&format!("for an element of type {dtype}"))?;
        let v = text.parse::<f64>().map_err(|_| out_of_range(&text, dtype.name(), span))?;
        let nearest = CastOptions { saturate: false, round_mode: RoundMode::Nearest };
        let code = c.exact_code(v).unwrap_or_else(|| c.from_f64(v, nearest));
        let back = c.to_f64(code);
        let kept = (v.is_nan() && back.is_nan())
            || (v.is_infinite() && back == v)
            || (v.is_finite() && back.is_finite() && (back == 0.0 || (back < 0.0) == (v < 0.0)));
        if !kept {
            return Err(out_of_range(&text, dtype.name(), span));
        }
        Ok(code)
    }

    fn bool_lit(&mut self) -> PResult<bool> {
        let t = self.peek().clone();
        let v = match (t.tok == Tok::Ident, self.text(&t)) {
            (true, "true") => true,
            (true, "false") => false,
            _ => return Err(self.expected("`true` or `false` for an element of type bool")),
        };
        self.bump();
        Ok(v)
    }

    /// Reads one element of `data`'s dtype and appends it.
    fn push_elem(&mut self, data: &mut TensorData) -> PResult<()> {
        match data {
            TensorData::F32(v) => v.push(self.f32_lit("for an element of type f32")?),
            TensorData::F64(v) => v.push(self.f64_lit("for an element of type f64")?),
            TensorData::F16(v) => v.push(self.f16_lit("for an element of type f16")?),
            TensorData::BF16(v) => v.push(self.bf16_lit("for an element of type bf16")?),
            TensorData::I64(v) => v.push(self.typed_int(DType::I64)?),
            TensorData::I32(v) => v.push(self.typed_int(DType::I32)?),
            TensorData::I16(v) => v.push(self.typed_int(DType::I16)?),
            TensorData::I8(v) => v.push(self.typed_int(DType::I8)?),
            TensorData::U64(v) => v.push(self.typed_int(DType::U64)?),
            TensorData::U32(v) => v.push(self.typed_int(DType::U32)?),
            TensorData::U16(v) => v.push(self.typed_int(DType::U16)?),
            TensorData::U8(v) => v.push(self.typed_int(DType::U8)?),
            TensorData::Bool(v) => v.push(self.bool_lit()?),
            TensorData::Codes(c, v) => v.push(self.coded_elem(*c)?),
        }
        Ok(())
    }

    /// `tensor<TYPE: BODY>`
    fn tensor_lit(&mut self) -> PResult<Attr> {
        if !self.is_ident("tensor") {
            return Err(self.expected("a tensor literal `tensor<TYPE: BODY>`"));
        }
        self.bump();
        self.expect_punct('<', "after `tensor`")?;
        let (ty, ty_span) = self.ty()?;
        self.expect_punct(':', "after the tensor type")?;
        let t = self.peek().clone();
        let word = if t.tok == Tok::Ident { self.text(&t) } else { "" };
        let attr = match (&t.tok, word) {
            (Tok::Punct('['), _) => self.inline_body(&ty)?,
            (_, "splat") => self.splat_body(&ty, ty_span)?,
            (_, "random") => self.random_body(&ty, ty_span)?,
            (_, "hash") => self.hash_body(&ty)?,
            _ => {
                return Err(self.expected(
                    "a tensor body: `[...]`, `splat(v)`, `random(seed = N)` or `hash(0x...)`",
                ))
            }
        };
        self.expect_punct('>', "to close the tensor literal")?;
        Ok(attr)
    }

    /// `[e0, e1, ...]`, flat and row-major.
    fn inline_body(&mut self, ty: &TensorType) -> PResult<Attr> {
        let open = self.peek().start;
        let mut data = TensorData::empty(ty.dtype);
        self.expect_punct('[', "to open the elements")?;
        let close = match self.eat_punct(']') {
            Some(close) => close.end,
            None => loop {
                self.push_elem(&mut data)?;
                if self.eat_punct(',').is_some() {
                    continue;
                }
                break self.expect_punct(']', "or `,` after tensor element")?.end;
            },
        };
        let got = data.len();
        Tensor::new(ty.shape.clone(), data).map(|t| Attr::Tensor(Arc::new(t))).map_err(|_| {
            Problem::new(
                ParseErrorKind::TensorElements,
                (open, close),
                format!("`{ty}` has {} elements, the list has {got}", ty.numel()),
                "element count mismatch",
            )
            .help("inline tensor elements are listed flat, in row-major order")
        })
    }

    /// `splat(v)`
    fn splat_body(&mut self, ty: &TensorType, ty_span: Span) -> PResult<Attr> {
        let n = materialized_count(ty, ty_span)?;
        self.bump();
        self.expect_punct('(', "after `splat`")?;
        let mut one = TensorData::empty(ty.dtype);
        self.push_elem(&mut one)?;
        self.expect_punct(')', "after the splat value")?;
        tensor_attr(ty, one.repeated(n), ty_span)
    }

    /// `random(seed = N)` or `random(seed = N, lo = A, hi = B)`, in any order.
    fn random_body(&mut self, ty: &TensorType, ty_span: Span) -> PResult<Attr> {
        let n = materialized_count(ty, ty_span)?;
        if !ty.dtype.is_any_float() {
            return Err(Problem::new(
                ParseErrorKind::TensorElements,
                ty_span,
                format!("random tensors must have a float element type, found {}", ty.dtype),
                "not a float type",
            ));
        }
        let open = self.bump().start;
        self.expect_punct('(', "after `random`")?;
        let (mut seed, mut lo, mut hi) = (None, None, None);
        loop {
            let t = self.peek().clone();
            let key = self.text(&t);
            let slot_taken = match (t.tok == Tok::Ident, key) {
                (true, "seed") => seed.is_some(),
                (true, "lo") => lo.is_some(),
                (true, "hi") => hi.is_some(),
                _ => return Err(self.expected("`seed`, `lo` or `hi` in `random(...)`")),
            };
            if slot_taken {
                return Err(Problem::new(
                    ParseErrorKind::Syntax,
                    (t.start, t.end),
                    format!("`{key}` is given twice in `random(...)`"),
                    "given again here",
                ));
            }
            self.bump();
            self.expect_punct('=', &format!("after `{key}`"))?;
            match key {
                "seed" => seed = Some(self.seed_lit()?),
                "lo" => lo = Some(self.f32_lit("for `lo`")?),
                _ => hi = Some(self.f32_lit("for `hi`")?),
            }
            if self.eat_punct(',').is_none() {
                break;
            }
        }
        let close = self.expect_punct(')', "or `,` in `random(...)`")?;
        let span = (open, close.end);
        let Some(seed) = seed else {
            return Err(Problem::new(
                ParseErrorKind::Syntax,
                span,
                "`random(...)` needs a `seed = N`".into(),
                "no seed",
            ));
        };
        let (lo, hi) = (lo.unwrap_or(-1.0), hi.unwrap_or(1.0));
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return Err(Problem::new(
                ParseErrorKind::Number,
                span,
                format!(
                    "`random` needs finite bounds with lo < hi, found lo = {lo:?}, hi = {hi:?}"
                ),
                "bad bounds",
            ));
        }
        let data = TensorData::F32(seeded_uniform(seed, n, lo, hi)).cast(ty.dtype);
        tensor_attr(ty, data, ty_span)
    }

    fn seed_lit(&mut self) -> PResult<u64> {
        let t = self.peek().clone();
        let text = self.text(&t);
        if t.tok != Tok::Number || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.expected("a non-negative integer seed"));
        }
        self.bump();
        text.parse::<u64>().map_err(|_| out_of_range(text, "u64", (t.start, t.end)))
    }

    /// `hash(0x0123456789abcdef)`: elided contents.
    fn hash_body(&mut self, ty: &TensorType) -> PResult<Attr> {
        self.bump();
        self.expect_punct('(', "after `hash`")?;
        let t = self.peek().clone();
        let text = self.text(&t);
        let digits = text.strip_prefix("0x").filter(|d| {
            t.tok == Tok::Number
                && (1..=16).contains(&d.len())
                && d.bytes().all(|b| b.is_ascii_hexdigit())
        });
        let Some(hash) = digits.and_then(|d| u64::from_str_radix(d, 16).ok()) else {
            return Err(self.expected("a 64-bit content hash (`0x` and up to 16 hex digits)"));
        };
        self.bump();
        self.expect_punct(')', "after the hash")?;
        Ok(Attr::Elided { ty: ty.clone(), hash })
    }
}

fn out_of_range(text: &str, ty: &str, span: Span) -> Box<Problem> {
    let range = DType::from_name(ty).map(dtype_range).unwrap_or_else(|| "nothing".into());
    Problem::new(
        ParseErrorKind::Number,
        span,
        format!("`{text}` is out of range for {ty}"),
        format!("{ty} holds {range}"),
    )
}

/// What a dtype holds, for out-of-range messages.
fn dtype_range(d: DType) -> String {
    fn span<T: std::fmt::Display>(lo: T, hi: T) -> String {
        format!("{lo} to {hi}")
    }
    match d {
        DType::I64 => span(i64::MIN, i64::MAX),
        DType::I32 => span(i32::MIN, i32::MAX),
        DType::I16 => span(i16::MIN, i16::MAX),
        DType::I8 => span(i8::MIN, i8::MAX),
        DType::U64 => span(u64::MIN, u64::MAX),
        DType::U32 => span(u32::MIN, u32::MAX),
        DType::U16 => span(u16::MIN, u16::MAX),
        DType::U8 => span(u8::MIN, u8::MAX),
        DType::F16 => "±65504".to_string(),
        DType::BF16 => format!("±{:e}", half::bf16::MAX.to_f32()),
        DType::F32 => format!("±{:e}", f32::MAX),
        DType::F64 => format!("±{:e}", f64::MAX),
        DType::Bool => "true and false".to_string(),
        coded => match coded.coded() {
            Some(c) => match c.int_range() {
                Some((lo, hi)) => span(lo, hi),
                None if c == CodedType::F8E8M0 => "2^-127 to 2^127".to_string(),
                None => format!("±{}", c.max_finite()),
            },
            None => String::new(),
        },
    }
}

/// A literal that overflowed to infinity without being written `inf` is out of range.
fn finite_unless_inf(is_inf: bool, text: &str, ty: &str, span: Span) -> PResult<()> {
    if is_inf && !text.ends_with("inf") {
        return Err(out_of_range(text, ty, span));
    }
    Ok(())
}

/// The element count of `ty` if it may be materialized (see [`MAX_ELEMENTS`]).
fn materialized_count(ty: &TensorType, span: Span) -> PResult<usize> {
    let n = ty.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    match n {
        Some(n) if n <= MAX_ELEMENTS => Ok(n),
        _ => Err(Problem::new(
            ParseErrorKind::TooLarge,
            span,
            format!("`{ty}` is too large to materialize (the limit is {MAX_ELEMENTS} elements)"),
            "too many elements",
        )
        .help("write `hash(0x...)` for a tensor whose contents do not matter")),
    }
}

fn tensor_attr(ty: &TensorType, data: TensorData, span: Span) -> PResult<Attr> {
    Tensor::new(ty.shape.clone(), data).map(|t| Attr::Tensor(Arc::new(t))).map_err(|e| {
        Problem::new(ParseErrorKind::TensorElements, span, e.to_string(), "element count mismatch")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_classes() {
        assert_eq!(classify("12"), NumClass::Int);
        assert_eq!(classify("-12"), NumClass::Int);
        assert_eq!(classify("1.5"), NumClass::Float);
        assert_eq!(classify("1e-5"), NumClass::Float);
        assert_eq!(classify("0x1f"), NumClass::Hex);
        assert_eq!(classify("1_000"), NumClass::Bad);
        assert_eq!(classify("1.2.3"), NumClass::Bad);
        assert_eq!(classify("1e"), NumClass::Bad);
        assert_eq!(classify("1e+"), NumClass::Bad);
        assert_eq!(classify("1."), NumClass::Float);
        assert_eq!(classify("1.e5"), NumClass::Float);
        assert_eq!(classify("-"), NumClass::Bad);
        assert_eq!(classify("1ee5"), NumClass::Bad);
        for t in ["1.", "1.e5", "-0.5E-3", "12", "3e38"] {
            assert!(t.parse::<f32>().is_ok() && t.parse::<f64>().is_ok(), "{t}");
        }
    }
}
