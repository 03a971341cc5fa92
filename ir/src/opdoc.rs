//! Generates `docs/ops.md` from the op table ([`crate::ops::OPS`]).
//!
//! The page lists every op with its operands (optional and repeated ones marked), result
//! count, attributes with their kinds and defaults (spelled as in `.air` text) and the
//! table's doc line. A test in `ir/tests/text_format.rs` checks that the committed page is
//! what this module generates (`ASPLIT_BLESS=1` rewrites it). This file only formats; the
//! facts all come from the table.

use crate::ops::{AttrDefault, OpDef, Results, OPS};
use crate::print::{format_attr, PrintOptions};
use std::fmt::Write;

/// The operand list of `def`: `x, w, b?` (`?` optional, `...` repeated).
pub fn operand_list(def: &OpDef) -> String {
    let n = def.operands.len();
    let marked: Vec<String> = def
        .operands
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut s = name.to_string();
            if i + def.optional >= n {
                s.push('?');
            }
            if def.variadic && i + 1 == n {
                s.push_str("...");
            }
            s
        })
        .collect();
    marked.join(", ")
}

/// `conv(x, w, b?)`.
pub fn signature(def: &OpDef) -> String {
    format!("{}({})", def.mnemonic, operand_list(def))
}

fn results_text(def: &OpDef) -> String {
    match def.results {
        Results::One => "1".to_string(),
        Results::PerSplit => "one per `split` entry".to_string(),
        Results::OneOrTwo { flag } => format!("1, or 2 with `{flag} = 1`"),
    }
}

fn default_text(d: AttrDefault) -> String {
    match d.value() {
        Some(v) => format!("`{}`", format_attr(&v, &PrintOptions::default())),
        None if d == AttrDefault::Absent => "absent".to_string(),
        None => "required".to_string(),
    }
}

/// Escapes `|` for a markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// The whole `docs/ops.md` page.
pub fn ops_markdown() -> String {
    let mut out = String::new();
    out.push_str(HEADER);
    out.push_str("| op | operands | results | description |\n|---|---|---|---|\n");
    for def in OPS {
        let _ = writeln!(
            out,
            "| [`{m}`](#{m}) | `{}` | {} | {} |",
            signature(def),
            results_text(def),
            cell(def.doc),
            m = def.mnemonic,
        );
    }
    for def in OPS {
        op_section(&mut out, def);
    }
    out
}

fn op_section(out: &mut String, def: &OpDef) {
    let _ = write!(out, "\n## `{}`\n\n{}\n\n", def.mnemonic, def.doc);
    let _ = writeln!(out, "- signature: `{}`", signature(def));
    let _ = writeln!(out, "- results: {}", results_text(def));
    if def.attrs.is_empty() {
        out.push_str("- attributes: none\n");
        return;
    }
    out.push_str("\n| attribute | kind | default |\n|---|---|---|\n");
    for a in def.attrs {
        let _ = writeln!(out, "| `{}` | {} | {} |", a.name, a.kind, cell(&default_text(a.default)));
    }
}

const HEADER: &str = "\
# Ops

<!-- Generated from the op table (ir/src/ops.rs) by asplit_ir::opdoc::ops_markdown. Do not
     edit by hand: run `ASPLIT_BLESS=1 cargo test -p asplit-ir --test text_format`. -->

Every op of the IR, as declared in the op table. In operand lists, `name?` marks a trailing
operand that may be omitted and `name...` one that repeats (one or more). An attribute whose
default reads *required* must be written in `.air` text; the parser fills in the default of
any other omitted attribute, and the printer always prints every attribute. Attribute kinds
and how their values are spelled are described in [ir.md](ir.md).

";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::OpKind;

    #[test]
    fn operand_marks() {
        assert_eq!(signature(OpKind::Conv.def()), "conv(x, w, b?, skip?)");
        assert_eq!(signature(OpKind::Concat.def()), "concat(x...)");
        assert_eq!(signature(OpKind::Const.def()), "const()");
    }

    #[test]
    fn every_op_and_attribute_is_documented() {
        let md = ops_markdown();
        for def in OPS {
            assert!(md.contains(&format!("\n## `{}`\n", def.mnemonic)), "{}", def.mnemonic);
            for a in def.attrs {
                assert!(md.contains(&format!("| `{}` | {} |", a.name, a.kind)), "{}", a.name);
            }
        }
    }
}
