//! The `.air` printer: a [`Graph`] as deterministic, MLIR-like text.
//!
//! Nodes print in `g.order`; values are renumbered densely (`%0`… graph inputs first, then
//! node results in order of definition), so arena ids never show. Attributes print in name
//! order, every one of them (defaults included). Floats print in Rust's shortest round-trip
//! form and always carry a `.` or an exponent; tensors print as `splat(v)` when all elements
//! are equal, inline when they have at most [`INLINE_LIMIT`] elements (or always with
//! [`PrintOptions::print_constants`]), and as a content hash otherwise. The grammar is
//! documented in `docs/ir.md`; [`crate::parse`] reads it back.
//!
//! Planned and Split graphs also print their side data: the phase after the input list
//! (`phase(planned)`), a value's quantization after its type (`f32[1,4] quant<u4, 0.5:3>`)
//! and a node's placement after its result types (`@edge`); see [`write_quant`].
//!
//! The printer never fails and never panics, even on a graph that does not verify: a value
//! used but never defined gets a fresh number after the defined ones (the parser then
//! rejects it as undefined), a dangling id prints as `%<invalid>`. It does not check
//! anything; that is the verifier's job.

use crate::attr::Attr;
use crate::graph::{Graph, NodeId, ValueId};
use crate::quant::{QuantParams, Scheme};
use crate::tensor::{Tensor, TensorData};
use crate::types::TensorType;
use std::collections::HashMap;
use std::fmt::{self, Write};

/// Tensors with at most this many elements print inline even without `print_constants`.
pub const INLINE_LIMIT: usize = 16;

/// Printer options.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct PrintOptions {
    /// Print every tensor's elements instead of a content hash for large ones.
    pub print_constants: bool,
}

/// Prints `g` in the `.air` text form.
pub fn print(g: &Graph, opts: &PrintOptions) -> String {
    let mut p = Printer { g, opts: *opts, numbers: number_values(g), out: String::new() };
    p.graph();
    p.out
}

impl fmt::Display for Graph {
    /// The `.air` text form with default [`PrintOptions`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&print(self, &PrintOptions::default()))
    }
}

/// Formats one attribute value as it appears in `.air` text (after `name = `).
pub fn format_attr(a: &Attr, opts: &PrintOptions) -> String {
    let mut s = String::new();
    write_attr(&mut s, a, opts);
    s
}

/// Dense numbering: graph inputs first, then node results in `order`. The first definition
/// of a value wins.
fn number_values(g: &Graph) -> HashMap<ValueId, usize> {
    let mut numbers = HashMap::new();
    let defs = g.inputs.iter().copied().chain(
        g.order.iter().filter_map(|&n| g.nodes.get(n)).flat_map(|d| d.outputs.iter().copied()),
    );
    for v in defs {
        let next = numbers.len();
        numbers.entry(v).or_insert(next);
    }
    numbers
}

struct Printer<'g> {
    g: &'g Graph,
    opts: PrintOptions,
    numbers: HashMap<ValueId, usize>,
    out: String,
}

impl Printer<'_> {
    /// `%N` for `v`, numbering a never-defined value on first use.
    fn value(&mut self, v: ValueId) {
        if self.g.values.get(v).is_none() {
            self.out.push_str("%<invalid>");
            return;
        }
        let next = self.numbers.len();
        let n = *self.numbers.entry(v).or_insert(next);
        let _ = write!(self.out, "%{n}");
    }

    fn value_name(&mut self, v: ValueId) {
        if let Some(name) = self.g.values.get(v).and_then(|d| d.name.as_deref()) {
            self.out.push(' ');
            write_string(&mut self.out, name);
        }
    }

    fn ty(&mut self, v: ValueId) {
        match self.g.values.get(v) {
            Some(d) => write_type(&mut self.out, &d.ty),
            None => self.out.push_str("<invalid>"),
        }
    }

    /// ` quant<...>` when `v` has a quantization annotation.
    fn quant(&mut self, v: ValueId) {
        if let Some(p) = self.g.quant.get(&v) {
            self.out.push(' ');
            write_quant(&mut self.out, p);
        }
    }

    fn graph(&mut self) {
        self.out.push_str("graph @");
        write_symbol(&mut self.out, &self.g.name);
        self.out.push('(');
        for (i, &v) in self.g.inputs.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.value(v);
            self.out.push_str(": ");
            self.ty(v);
            self.quant(v);
            self.value_name(v);
        }
        self.out.push(')');
        if let Some(phase) = self.g.phase.name() {
            let _ = write!(self.out, " phase({phase})");
        }
        self.out.push_str(" {\n");
        for &n in &self.g.order {
            self.node(n);
        }
        self.out.push_str("  return");
        for (i, &v) in self.g.outputs.iter().enumerate() {
            self.out.push_str(if i > 0 { ", " } else { " " });
            self.value(v);
            self.value_name(v);
        }
        self.out.push_str("\n}\n");
    }

    fn node(&mut self, n: NodeId) {
        let Some(node) = self.g.nodes.get(n) else {
            let _ = writeln!(self.out, "  ; <invalid node {}>", n.as_u32());
            return;
        };
        self.out.push_str("  ");
        for (i, &v) in node.outputs.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.value(v);
        }
        if !node.outputs.is_empty() {
            self.out.push_str(" = ");
        }
        self.out.push_str(node.op.mnemonic());
        if !node.inputs.is_empty() {
            self.out.push('(');
            for (i, &v) in node.inputs.iter().enumerate() {
                if i > 0 {
                    self.out.push_str(", ");
                }
                self.value(v);
            }
            self.out.push(')');
        }
        if !node.attrs.is_empty() {
            self.out.push_str(" {");
            for (i, (name, a)) in node.attrs.iter().enumerate() {
                self.out.push_str(if i > 0 { ", " } else { "" });
                self.out.push_str(name);
                self.out.push_str(" = ");
                write_attr(&mut self.out, a, &self.opts);
            }
            self.out.push('}');
        }
        for (i, &v) in node.outputs.iter().enumerate() {
            self.out.push_str(if i > 0 { ", " } else { " : " });
            self.ty(v);
            self.quant(v);
        }
        if let Some(p) = self.g.placement.get(&n) {
            self.out.push_str(" @");
            self.out.push_str(p.name());
        }
        self.out.push('\n');
    }
}

fn write_attr(out: &mut String, a: &Attr, opts: &PrintOptions) {
    match a {
        Attr::Int(v) => {
            let _ = write!(out, "{v}");
        }
        Attr::Float(v) => write_f32(out, *v),
        Attr::Ints(v) => write_list(out, v, |o, x| {
            let _ = write!(o, "{x}");
        }),
        Attr::Floats(v) => write_list(out, v, |o, x| write_f32(o, *x)),
        Attr::Str(s) => write_string(out, s),
        Attr::DType(d) => out.push_str(d.name()),
        Attr::Tensor(t) => write_tensor(out, t, opts),
        Attr::Elided { ty, hash } => {
            out.push_str("tensor<");
            write_type(out, ty);
            let _ = write!(out, ": hash({hash:#018x})>");
        }
    }
}

/// A quantization annotation, after MLIR's quant dialect: `quant<u4, 0.5:3>` (asymmetric
/// unsigned 4-bit codes, per tensor, scale 0.5, zero point 3), `quant<i8, 0.02>` (symmetric
/// signed, zero point 0 left out), `quant<i4:0, {0.1, 0.2}>` (per channel along axis 0).
/// `u`/`i` is the scheme (asymmetric unsigned / symmetric signed) and the number the bits.
pub fn write_quant(out: &mut String, p: &QuantParams) {
    let sign = match p.scheme {
        Scheme::Asymmetric => 'u',
        Scheme::Symmetric => 'i',
    };
    let _ = write!(out, "quant<{sign}{}", p.bits);
    if let Some(axis) = p.axis {
        let _ = write!(out, ":{axis}");
    }
    out.push_str(", ");
    let braces = p.axis.is_some() || p.scale.len() != 1;
    if braces {
        out.push('{');
    }
    for (i, &s) in p.scale.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_f32(out, s);
        let zp = p.zero_point.get(i).copied().unwrap_or(0);
        if p.scheme == Scheme::Asymmetric || zp != 0 {
            let _ = write!(out, ":{zp}");
        }
    }
    if braces {
        out.push('}');
    }
    out.push('>');
}

/// `f32[1,3,224,224]`.
fn write_type(out: &mut String, ty: &TensorType) {
    let _ = write!(out, "{ty}");
}

/// `tensor<TYPE: BODY>` with BODY `splat(v)`, `[..]` or `hash(0x..)`.
fn write_tensor(out: &mut String, t: &Tensor, opts: &PrintOptions) {
    out.push_str("tensor<");
    write_type(out, &t.ty());
    out.push_str(": ");
    let d = t.data();
    if d.is_splat() {
        out.push_str("splat(");
        write_elems(out, d, 1);
        out.push(')');
    } else if d.len() <= INLINE_LIMIT || opts.print_constants {
        out.push('[');
        write_elems(out, d, d.len());
        out.push(']');
    } else {
        let _ = write!(out, "hash({:#018x})", t.content_hash());
    }
    out.push('>');
}

/// The first `n` elements, comma-separated. Coded dtypes print their values: integers for
/// `i4`…`u2`, floats for the 8- and 4-bit floats.
fn write_elems(out: &mut String, d: &TensorData, n: usize) {
    fn ints<T: fmt::Display>(out: &mut String, v: &[T], n: usize) {
        write_seq(out, v.iter().take(n), |o, x| {
            let _ = write!(o, "{x}");
        });
    }
    match d {
        TensorData::F32(v) => write_seq(out, v.iter().take(n), |o, x| write_f32(o, *x)),
        TensorData::F64(v) => write_seq(out, v.iter().take(n), |o, x| write_f64(o, *x)),
        TensorData::F16(v) => write_seq(out, v.iter().take(n), |o, x| write_f32(o, x.to_f32())),
        TensorData::BF16(v) => write_seq(out, v.iter().take(n), |o, x| write_f32(o, x.to_f32())),
        TensorData::I64(v) => ints(out, v, n),
        TensorData::I32(v) => ints(out, v, n),
        TensorData::I16(v) => ints(out, v, n),
        TensorData::I8(v) => ints(out, v, n),
        TensorData::U64(v) => ints(out, v, n),
        TensorData::U32(v) => ints(out, v, n),
        TensorData::U16(v) => ints(out, v, n),
        TensorData::U8(v) => ints(out, v, n),
        TensorData::Bool(v) => ints(out, v, n),
        TensorData::Codes(c, v) if c.is_float() => {
            write_seq(out, v.iter().take(n), |o, &x| write_f64(o, c.to_f64(x)))
        }
        TensorData::Codes(c, v) => write_seq(out, v.iter().take(n), |o, &x| {
            let _ = write!(o, "{}", c.to_i64(x));
        }),
    }
}

fn write_seq<'a, T: 'a>(
    out: &mut String,
    items: impl Iterator<Item = &'a T>,
    mut f: impl FnMut(&mut String, &T),
) {
    for (i, x) in items.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        f(out, x);
    }
}

fn write_list<T>(out: &mut String, v: &[T], f: impl FnMut(&mut String, &T)) {
    out.push('[');
    write_seq(out, v.iter(), f);
    out.push(']');
}

/// Shortest round-trip form of `x` in its own width (`{:?}`), always with a `.` or an
/// exponent; `inf`, `-inf`, `nan`.
fn write_float<T: fmt::Debug + Copy + Into<f64>>(out: &mut String, x: T) {
    let wide: f64 = x.into();
    if wide.is_nan() {
        out.push_str("nan");
    } else if wide.is_infinite() {
        out.push_str(if wide > 0.0 { "inf" } else { "-inf" });
    } else {
        let _ = write!(out, "{x:?}");
    }
}

/// [`write_float`] for f32.
fn write_f32(out: &mut String, x: f32) {
    write_float(out, x)
}

/// [`write_float`] for f64.
fn write_f64(out: &mut String, x: f64) {
    write_float(out, x)
}

/// A string literal: `"`, `\` and control characters escaped.
pub(crate) fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// True for the characters of a bare `@symbol` or `%value` name.
pub(crate) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '$' | '-')
}

/// The graph name after `@`: bare when it is a non-empty run of name characters, else quoted.
fn write_symbol(out: &mut String, s: &str) {
    if !s.is_empty() && s.chars().all(is_name_char) {
        out.push_str(s);
    } else {
        write_string(out, s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_always_look_like_floats() {
        for x in [0.0f32, -0.0, 1.0, 100.0, 1e-5, 1e20, 3.4028235e38, 1.0e-45, 0.1] {
            let mut s = String::new();
            write_f32(&mut s, x);
            assert!(s.contains('.') || s.contains('e'), "{x} printed as {s}");
            assert_eq!(s.parse::<f32>().map(f32::to_bits), Ok(x.to_bits()), "{s}");
        }
    }

    #[test]
    fn strings_escape_quotes_backslashes_and_controls() {
        let mut s = String::new();
        write_string(&mut s, "a\"b\\c\nd\u{1}é");
        assert_eq!(s, r#""a\"b\\c\nd\u{1}é""#);
    }

    #[test]
    fn symbols_are_quoted_only_when_needed() {
        let mut s = String::new();
        write_symbol(&mut s, "torch-jit-export");
        s.push(' ');
        write_symbol(&mut s, "my model");
        s.push(' ');
        write_symbol(&mut s, "");
        assert_eq!(s, r#"torch-jit-export "my model" """#);
    }
}
