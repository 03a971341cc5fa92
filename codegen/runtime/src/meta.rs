//! The model description embedded in every compiled program: graph name, 128-bit
//! fingerprint, scratch-arena size, and the name, dtype and shape of each input and output.
//!
//! The compiler writes it as a NUL-terminated text constant (`asplit_model_info`); the
//! runtime parses it back to check tensor files and size buffers. The text is line based:
//!
//! ```text
//! asplit-model 1
//! name <graph name, escaped>
//! fingerprint <32 hex digits>
//! scratch <bytes>
//! input <dtype> <d0,d1,…> <name, escaped>
//! output <dtype> <d0,d1,…> <name, escaped>
//! ```
//!
//! Names escape `\`, newline, tab and NUL as `\\`, `\n`, `\t`, `\0`; a scalar's shape is `-`.
//! This file neither reads files nor computes the fingerprint's input (the compiler does).

use asplit_ir::{DType, TensorType};
use std::fmt::Write as _;
use thiserror::Error;

/// One input or output of a compiled model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    /// Source name (ONNX tensor name), or `input_<i>`/`output_<i>` when it had none.
    pub name: String,
    /// Static type.
    pub ty: TensorType,
}

/// What a compiled program knows about its model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelInfo {
    /// Graph name.
    pub name: String,
    /// 128-bit fingerprint of the compiled graph and options.
    pub fingerprint: u128,
    /// Bytes of the scratch arena `forward` needs.
    pub scratch_bytes: u64,
    /// Graph inputs, in binding order.
    pub inputs: Vec<TensorInfo>,
    /// Graph outputs, in order.
    pub outputs: Vec<TensorInfo>,
}

/// A malformed description (only a corrupted program gives one).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("malformed model description, line {line}: {msg}")]
pub struct MetaError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub msg: String,
}

const MAGIC: &str = "asplit-model 1";

impl ModelInfo {
    /// The text form.
    pub fn to_text(&self) -> String {
        let mut s = format!("{MAGIC}\nname {}\n", escape(&self.name));
        let _ = writeln!(s, "fingerprint {:032x}", self.fingerprint);
        let _ = writeln!(s, "scratch {}", self.scratch_bytes);
        for (kind, list) in [("input", &self.inputs), ("output", &self.outputs)] {
            for t in list {
                let _ =
                    writeln!(s, "{kind} {} {} {}", t.ty.dtype, dims(&t.ty.shape), escape(&t.name));
            }
        }
        s
    }

    /// Parses [`ModelInfo::to_text`]'s output.
    pub fn parse(text: &str) -> Result<ModelInfo, MetaError> {
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, MAGIC)) => {}
            _ => return Err(MetaError { line: 1, msg: format!("expected `{MAGIC}`") }),
        }
        let mut info = ModelInfo {
            name: String::new(),
            fingerprint: 0,
            scratch_bytes: 0,
            inputs: Vec::new(),
            outputs: Vec::new(),
        };
        for (i, line) in lines {
            let err = |msg: &str| MetaError { line: i + 1, msg: msg.to_string() };
            let (key, rest) = line.split_once(' ').unwrap_or((line, ""));
            match key {
                "name" => info.name = unescape(rest),
                "fingerprint" => {
                    info.fingerprint =
                        u128::from_str_radix(rest, 16).map_err(|_| err("bad fingerprint"))?
                }
                "scratch" => info.scratch_bytes = rest.parse().map_err(|_| err("bad size"))?,
                "input" | "output" => {
                    let t = parse_tensor(rest).ok_or_else(|| err("bad tensor line"))?;
                    if key == "input" { &mut info.inputs } else { &mut info.outputs }.push(t);
                }
                _ => return Err(err("unknown key")),
            }
        }
        Ok(info)
    }
}

fn parse_tensor(rest: &str) -> Option<TensorInfo> {
    let mut parts = rest.splitn(3, ' ');
    let dtype = DType::from_name(parts.next()?)?;
    let shape = match parts.next()? {
        "-" => Vec::new(),
        d => d.split(',').map(|x| x.parse().ok()).collect::<Option<Vec<usize>>>()?,
    };
    let name = unescape(parts.next()?);
    Some(TensorInfo { name, ty: TensorType::new(dtype, shape) })
}

fn dims(shape: &[usize]) -> String {
    if shape.is_empty() {
        return "-".into();
    }
    shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(",")
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('0') => out.push('\0'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// FNV-1a over 128 bits: the fingerprint hash (stable across builds and platforms).
pub fn fnv1a_128(bytes: &[u8]) -> u128 {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    bytes.iter().fold(OFFSET, |h, &b| (h ^ u128::from(b)).wrapping_mul(PRIME))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_with_odd_names_and_scalars() {
        let info = ModelInfo {
            name: "m\\odel\nx".into(),
            fingerprint: 0x0123_4567_89ab_cdef_0011_2233_4455_6677,
            scratch_bytes: 4096,
            inputs: vec![TensorInfo {
                name: "in 0\t".into(),
                ty: TensorType::new(DType::F32, [1, 3]),
            }],
            outputs: vec![TensorInfo { name: "y".into(), ty: TensorType::new(DType::I64, []) }],
        };
        let text = info.to_text();
        assert_eq!(ModelInfo::parse(&text), Ok(info));
    }

    #[test]
    fn malformed_text_is_an_error() {
        assert!(ModelInfo::parse("nope").is_err());
        let e = ModelInfo::parse("asplit-model 1\ninput f32 1,x a").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(ModelInfo::parse("asplit-model 1\nscratch -1").is_err());
    }

    #[test]
    fn fingerprint_depends_on_every_byte() {
        assert_ne!(fnv1a_128(b"ab"), fnv1a_128(b"ba"));
        assert_ne!(fnv1a_128(b""), fnv1a_128(b"\0"));
    }
}
