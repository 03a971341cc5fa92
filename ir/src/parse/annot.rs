//! Planning annotations in `.air` text: the graph's `phase(planned|split)`, a value's
//! `quant<...>` after its type, and a node's `@edge` / `@cloud` after its result types
//! (the syntax [`crate::print::write_quant`] prints; grammar in `docs/ir.md`).
//!
//! Only the syntax is checked here (bits in 1..=16, numbers that fit); whether the
//! parameters suit the value's shape, and whether placements are consistent, is the
//! verifier's job.

use super::lex::Tok;
use super::{PResult, ParseErrorKind, Parser, Problem};
use crate::graph::{Phase, Placement};
use crate::quant::{QuantParams, Scheme};

impl Parser<'_> {
    /// `phase(planned)` or `phase(split)` if present.
    pub(super) fn opt_phase(&mut self) -> PResult<Option<Phase>> {
        if !self.is_ident("phase") {
            return Ok(None);
        }
        self.bump();
        self.expect_punct('(', "after `phase`")?;
        let t = self.peek().clone();
        let phase = (t.tok == Tok::Ident).then(|| Phase::from_name(self.text(&t))).flatten();
        let Some(phase) = phase else {
            return Err(self.expected("`planned` or `split` in `phase(...)`"));
        };
        self.bump();
        self.expect_punct(')', "after the phase")?;
        Ok(Some(phase))
    }

    /// `@edge` or `@cloud` if present.
    pub(super) fn opt_placement(&mut self) -> PResult<Option<Placement>> {
        let t = self.peek().clone();
        let Tok::Symbol(name) = &t.tok else {
            return Ok(None);
        };
        match Placement::from_name(name) {
            Some(p) => {
                self.bump();
                Ok(Some(p))
            }
            None => Err(Problem::new(
                ParseErrorKind::Syntax,
                (t.start, t.end),
                format!("unknown placement `@{name}`"),
                "expected `@edge` or `@cloud`",
            )),
        }
    }

    /// `quant<u4, 0.5:3>`, `quant<i8, 0.02>` or `quant<i4:0, {0.1, 0.2}>` if present.
    pub(super) fn opt_quant(&mut self) -> PResult<Option<QuantParams>> {
        if !(self.is_ident("quant") && self.peek2().tok == Tok::Punct('<')) {
            return Ok(None);
        }
        self.bump();
        self.bump();
        let (scheme, bits) = self.quant_kind()?;
        let axis = match self.eat_punct(':') {
            None => None,
            Some(_) => Some(self.quant_axis()?),
        };
        self.expect_punct(',', "after the quantized type")?;
        let (mut scale, mut zero_point) = (Vec::new(), Vec::new());
        if self.eat_punct('{').is_some() {
            loop {
                let (s, z) = self.scale_entry()?;
                scale.push(s);
                zero_point.push(z);
                if self.eat_punct(',').is_none() {
                    break;
                }
            }
            self.expect_punct('}', "or `,` after a scale")?;
        } else {
            let (s, z) = self.scale_entry()?;
            scale.push(s);
            zero_point.push(z);
        }
        self.expect_punct('>', "to close `quant<...>`")?;
        Ok(Some(QuantParams { bits, scheme, scale, zero_point, axis }))
    }

    /// `u4` (asymmetric unsigned) or `i4` (symmetric signed), bits 1..=16.
    fn quant_kind(&mut self) -> PResult<(Scheme, u8)> {
        let t = self.peek().clone();
        let word = self.text(&t);
        let scheme = match word.chars().next() {
            Some('u') => Some(Scheme::Asymmetric),
            Some('i') => Some(Scheme::Symmetric),
            _ => None,
        };
        let bits =
            word.get(1..).and_then(|b| b.parse::<u8>().ok()).filter(|b| (1..=16).contains(b));
        match (t.tok == Tok::Ident, scheme, bits) {
            (true, Some(scheme), Some(bits)) => {
                self.bump();
                Ok((scheme, bits))
            }
            _ => Err(self
                .expected("a quantized type `u<bits>` or `i<bits>` (bits 1..=16)")
                .help("`u` is asymmetric unsigned (activations), `i` symmetric signed (weights)")),
        }
    }

    /// The channel axis after `:`.
    fn quant_axis(&mut self) -> PResult<usize> {
        let (a, span) = self.int_lit("as the channel axis")?;
        usize::try_from(a).map_err(|_| {
            Problem::new(
                ParseErrorKind::Number,
                span,
                format!("channel axis {a} is negative"),
                "expected an axis ≥ 0",
            )
        })
    }

    /// `scale` or `scale:zero_point`.
    fn scale_entry(&mut self) -> PResult<(f32, i32)> {
        let s = self.f32_lit("as a scale")?;
        if self.eat_punct(':').is_none() {
            return Ok((s, 0));
        }
        let (z, span) = self.int_lit("as a zero point")?;
        let z = i32::try_from(z).map_err(|_| {
            Problem::new(
                ParseErrorKind::Number,
                span,
                format!("zero point {z} does not fit in i32"),
                "out of range",
            )
        })?;
        Ok((s, z))
    }
}
