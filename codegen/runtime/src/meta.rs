//! The model description embedded in every compiled program: graph name, 128-bit
//! fingerprint, scratch-arena size, the program's role in a split (edge or cloud), the name,
//! dtype and shape of each `forward` input and output, the model's outputs, and the boundary
//! tensors that cross the wire (with their quantization), plus a human description of the
//! split and the edge's weight bytes.
//!
//! The compiler writes it as a NUL-terminated text constant (`asplit_model_info`); the
//! runtime parses it back to check tensor files, size buffers and check wire frames. The
//! text is line based:
//!
//! ```text
//! asplit-model 2
//! name <graph name, escaped>
//! fingerprint <32 hex digits>
//! scratch <bytes>
//! role edge|cloud
//! split <description, escaped>
//! edge-weights <bytes>
//! input <dtype> <d0,d1,…> <name, escaped>
//! output <dtype> <d0,d1,…> <name, escaped>
//! model-output <dtype> <d0,d1,…> <name, escaped>
//! boundary <d0,d1,…> <payload bytes> raw <dtype> <name, escaped>
//! boundary <d0,d1,…> <payload bytes> quant <bits> asym|sym <axis|-> <s0,s1,…> <z0,z1,…> <name>
//! ```
//!
//! Names escape `\`, newline, carriage return, tab and NUL as `\\`, `\n`, `\r`, `\t`, `\0`;
//! a scalar's shape is `-`; scales are written in Rust's shortest round-trip `f32` form.
//! Parsing checks the whole description for consistency (payload sizes, quantization
//! parameters, the buffers of each role against the boundary) and bounds every size, so a
//! corrupted description is an error, never a panic or a huge allocation. This file neither
//! reads files nor computes the fingerprint's input (the compiler does), and knows nothing of
//! the wire format (`wire.rs`).

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

/// Which half of a split a program is.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Role {
    /// Runs on the device: model inputs in, boundary payloads (or the model outputs) out.
    #[default]
    Edge,
    /// Runs on the server: boundary payloads in, model outputs out.
    Cloud,
}

/// Quantization scheme of a boundary tensor (DESIGN.md §8).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum QScheme {
    /// Unsigned codes `0..=2^b-1` with zero points.
    Asym,
    /// Signed codes `-(2^(b-1)-1)..=2^(b-1)-1`, zero point 0.
    Sym,
}

/// How a boundary tensor travels.
#[derive(Clone, Debug, PartialEq)]
pub enum Encoding {
    /// The tensor's bytes, little-endian, one element per `dtype.size_bytes()`.
    Raw(DType),
    /// `bits`-bit codes packed LSB-first, dense.
    Quant {
        /// Code width, 1 to 16.
        bits: u8,
        /// Signed or unsigned codes.
        scheme: QScheme,
        /// Per-channel axis, `None` for one scale for the whole tensor.
        axis: Option<usize>,
        /// One scale per channel (one without an axis); finite and positive.
        scales: Vec<f32>,
        /// One zero point per scale (all 0 for [`QScheme::Sym`]).
        zero_points: Vec<i32>,
    },
}

/// One tensor crossing the wire from edge to cloud.
#[derive(Clone, Debug, PartialEq)]
pub struct BoundaryTensor {
    /// Name of the tensor in the model (for `--info` and error messages).
    pub name: String,
    /// Logical shape (of the float tensor before quantization).
    pub shape: Vec<usize>,
    /// How its payload encodes it.
    pub encoding: Encoding,
    /// Bytes of its payload on the wire.
    pub payload_bytes: u64,
}

/// What a compiled program knows about its model.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ModelInfo {
    /// Graph name.
    pub name: String,
    /// 128-bit fingerprint of the compilation: the edge and cloud programs of one compilation
    /// carry the same value, and the wire refuses any other.
    pub fingerprint: u128,
    /// Bytes of the scratch arena `forward` needs.
    pub scratch_bytes: u64,
    /// Edge or cloud.
    pub role: Role,
    /// `forward`'s inputs (edge: model inputs; cloud: one payload buffer per boundary slot).
    pub inputs: Vec<TensorInfo>,
    /// `forward`'s outputs (edge: one payload buffer per boundary slot, or the model outputs
    /// when the boundary is empty; cloud: the model outputs).
    pub outputs: Vec<TensorInfo>,
    /// The model's outputs (what the edge writes after the cloud answers).
    pub model_outputs: Vec<TensorInfo>,
    /// Wire tensors edge → cloud, in slot order; empty for an edge-only plan.
    pub boundary: Vec<BoundaryTensor>,
    /// Human description of the split (for `--info`).
    pub split: String,
    /// Bytes of (packed) weights in the edge program.
    pub edge_weight_bytes: u64,
}

/// A malformed description (only a corrupted program gives one).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("malformed model description, {}: {msg}", at_line(*.line))]
pub struct MetaError {
    /// 1-based line; 0 when the description as a whole is inconsistent.
    pub line: usize,
    /// What is wrong.
    pub msg: String,
}

fn at_line(line: usize) -> String {
    match line {
        0 => "as a whole".into(),
        n => format!("line {n}"),
    }
}

const MAGIC: &str = "asplit-model 2";

/// Most tensors in any one list of a description.
pub const MAX_TENSORS: usize = 4096;
/// Highest rank of a described tensor.
pub const MAX_RANK: usize = 16;
/// Most quantization parameters (scales) of one boundary tensor.
pub const MAX_PARAMS: usize = 1 << 20;
/// Largest buffer a description may ask for (16 GiB): inputs, outputs, scratch, payloads.
pub const MAX_BUFFER_BYTES: u64 = 1 << 34;

impl ModelInfo {
    /// An edge-only description (no boundary, no cloud): the model outputs are `forward`'s.
    pub fn edge_only(
        name: String,
        fingerprint: u128,
        scratch_bytes: u64,
        inputs: Vec<TensorInfo>,
        outputs: Vec<TensorInfo>,
    ) -> ModelInfo {
        ModelInfo {
            name,
            fingerprint,
            scratch_bytes,
            role: Role::Edge,
            model_outputs: outputs.clone(),
            inputs,
            outputs,
            boundary: Vec::new(),
            split: "edge-only".into(),
            edge_weight_bytes: 0,
        }
    }

    /// True for an edge program with nothing to send (an edge-only plan).
    pub fn is_edge_only(&self) -> bool {
        self.role == Role::Edge && self.boundary.is_empty()
    }

    /// Sum of the boundary payload bytes (one request's payload).
    pub fn boundary_payload_bytes(&self) -> u64 {
        self.boundary.iter().map(|b| b.payload_bytes).fold(0, u64::saturating_add)
    }

    /// The text form.
    pub fn to_text(&self) -> String {
        let mut s = format!("{MAGIC}\nname {}\n", escape(&self.name));
        let _ = writeln!(s, "fingerprint {:032x}", self.fingerprint);
        let _ = writeln!(s, "scratch {}", self.scratch_bytes);
        let _ = writeln!(s, "role {}", role_name(self.role));
        let _ = writeln!(s, "split {}", escape(&self.split));
        let _ = writeln!(s, "edge-weights {}", self.edge_weight_bytes);
        let lists = [
            ("input", &self.inputs),
            ("output", &self.outputs),
            ("model-output", &self.model_outputs),
        ];
        for (kind, list) in lists {
            for t in list {
                let _ =
                    writeln!(s, "{kind} {} {} {}", t.ty.dtype, dims(&t.ty.shape), escape(&t.name));
            }
        }
        for b in &self.boundary {
            let _ =
                writeln!(s, "boundary {} {} {}", dims(&b.shape), b.payload_bytes, encoding_text(b));
        }
        s
    }

    /// Parses [`ModelInfo::to_text`]'s output and checks it (see [`ModelInfo::check`]).
    pub fn parse(text: &str) -> Result<ModelInfo, MetaError> {
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, MAGIC)) => {}
            _ => return Err(MetaError { line: 1, msg: format!("expected `{MAGIC}`") }),
        }
        let mut info = ModelInfo::default();
        for (i, line) in lines {
            parse_line(&mut info, line).map_err(|msg| MetaError { line: i + 1, msg })?;
        }
        info.check().map_err(|msg| MetaError { line: 0, msg })?;
        Ok(info)
    }

    /// Checks sizes and consistency: every buffer within [`MAX_BUFFER_BYTES`], each boundary
    /// tensor's payload size and quantization parameters, and the `forward` buffers of the
    /// role against the boundary and the model outputs.
    pub fn check(&self) -> Result<(), String> {
        if self.scratch_bytes > MAX_BUFFER_BYTES {
            return Err(format!("scratch of {} bytes is over the limit", self.scratch_bytes));
        }
        for t in self.inputs.iter().chain(&self.outputs).chain(&self.model_outputs) {
            tensor_bytes(&t.ty).map_err(|e| format!("tensor `{}`: {e}", t.name))?;
        }
        for b in &self.boundary {
            check_boundary(b).map_err(|e| format!("boundary tensor `{}`: {e}", b.name))?;
        }
        match self.role {
            Role::Edge if self.boundary.is_empty() => {
                same_types("output", &self.outputs, &self.model_outputs)
            }
            Role::Edge => slots_match("output", &self.outputs, &self.boundary),
            Role::Cloud if self.boundary.is_empty() => {
                Err("a cloud program needs boundary tensors".into())
            }
            Role::Cloud => {
                slots_match("input", &self.inputs, &self.boundary)?;
                same_types("output", &self.outputs, &self.model_outputs)
            }
        }
    }
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Edge => "edge",
        Role::Cloud => "cloud",
    }
}

fn scheme_name(s: QScheme) -> &'static str {
    match s {
        QScheme::Asym => "asym",
        QScheme::Sym => "sym",
    }
}

fn encoding_text(b: &BoundaryTensor) -> String {
    match &b.encoding {
        Encoding::Raw(d) => format!("raw {d} {}", escape(&b.name)),
        Encoding::Quant { bits, scheme, axis, scales, zero_points } => format!(
            "quant {bits} {} {} {} {} {}",
            scheme_name(*scheme),
            axis.map_or("-".to_string(), |a| a.to_string()),
            join(scales),
            join(zero_points),
            escape(&b.name)
        ),
    }
}

fn join<T: ToString>(xs: &[T]) -> String {
    xs.iter().map(T::to_string).collect::<Vec<_>>().join(",")
}

fn parse_line(info: &mut ModelInfo, line: &str) -> Result<(), String> {
    let (key, rest) = line.split_once(' ').unwrap_or((line, ""));
    let num = |what: &str| rest.parse::<u64>().map_err(|_| format!("bad {what}"));
    match key {
        "name" => info.name = unescape(rest),
        "fingerprint" => {
            info.fingerprint = u128::from_str_radix(rest, 16)
                .ok()
                .filter(|_| rest.len() == 32)
                .ok_or("bad fingerprint")?
        }
        "scratch" => info.scratch_bytes = num("size")?,
        "edge-weights" => info.edge_weight_bytes = num("size")?,
        "split" => info.split = unescape(rest),
        "role" => {
            info.role = match rest {
                "edge" => Role::Edge,
                "cloud" => Role::Cloud,
                _ => return Err("role must be `edge` or `cloud`".into()),
            }
        }
        "input" | "output" | "model-output" => {
            let list = match key {
                "input" => &mut info.inputs,
                "output" => &mut info.outputs,
                _ => &mut info.model_outputs,
            };
            push_bounded(list, parse_tensor(rest).ok_or("bad tensor line")?)?;
        }
        "boundary" => push_bounded(&mut info.boundary, parse_boundary(rest)?)?,
        _ => return Err("unknown key".into()),
    }
    Ok(())
}

fn push_bounded<T>(list: &mut Vec<T>, x: T) -> Result<(), String> {
    if list.len() >= MAX_TENSORS {
        return Err(format!("more than {MAX_TENSORS} tensors"));
    }
    list.push(x);
    Ok(())
}

fn parse_tensor(rest: &str) -> Option<TensorInfo> {
    let mut parts = rest.splitn(3, ' ');
    let dtype = DType::from_name(parts.next()?)?;
    let shape = parse_dims(parts.next()?)?;
    let name = unescape(parts.next()?);
    Some(TensorInfo { name, ty: TensorType::new(dtype, shape) })
}

fn parse_dims(d: &str) -> Option<Vec<usize>> {
    if d == "-" {
        return Some(Vec::new());
    }
    if d.split(',').count() > MAX_RANK {
        return None;
    }
    d.split(',').map(|x| x.parse().ok()).collect()
}

fn parse_boundary(rest: &str) -> Result<BoundaryTensor, String> {
    let mut parts = rest.splitn(4, ' ');
    let mut next = |what: &str| parts.next().ok_or(format!("missing {what}"));
    let shape = parse_dims(next("shape")?).ok_or("bad shape")?;
    let payload_bytes = next("payload size")?.parse().map_err(|_| "bad payload size")?;
    let kind = next("encoding")?;
    let rest = next("encoding fields")?;
    let (encoding, name) = match kind {
        "raw" => {
            let (d, name) = rest.split_once(' ').ok_or("missing name")?;
            (Encoding::Raw(DType::from_name(d).ok_or("bad dtype")?), name)
        }
        "quant" => parse_quant(rest)?,
        _ => return Err("encoding must be `raw` or `quant`".into()),
    };
    Ok(BoundaryTensor { name: unescape(name), shape, encoding, payload_bytes })
}

fn parse_quant(rest: &str) -> Result<(Encoding, &str), String> {
    let mut parts = rest.splitn(6, ' ');
    let mut next = |what: &str| parts.next().ok_or(format!("missing {what}"));
    let bits = next("bits")?.parse().map_err(|_| "bad bits")?;
    let scheme = match next("scheme")? {
        "asym" => QScheme::Asym,
        "sym" => QScheme::Sym,
        _ => return Err("scheme must be `asym` or `sym`".into()),
    };
    let axis = match next("axis")? {
        "-" => None,
        a => Some(a.parse().map_err(|_| "bad axis")?),
    };
    let scales = parse_list(next("scales")?).ok_or("bad scales")?;
    let zero_points = parse_list(next("zero points")?).ok_or("bad zero points")?;
    let name = next("name")?;
    Ok((Encoding::Quant { bits, scheme, axis, scales, zero_points }, name))
}

fn parse_list<T: std::str::FromStr>(s: &str) -> Option<Vec<T>> {
    if s.split(',').count() > MAX_PARAMS {
        return None;
    }
    s.split(',').map(|x| x.parse().ok()).collect()
}

/// Bytes of a dense buffer of `ty`, or why it is too big.
fn tensor_bytes(ty: &TensorType) -> Result<u64, String> {
    let n = checked_numel(&ty.shape)?;
    n.checked_mul(ty.dtype.size_bytes() as u64)
        .filter(|&b| b <= MAX_BUFFER_BYTES)
        .ok_or_else(|| format!("{ty} is over the {MAX_BUFFER_BYTES}-byte limit"))
}

/// Element count of `shape`, or an error when it overflows the buffer limit.
pub fn checked_numel(shape: &[usize]) -> Result<u64, String> {
    shape
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d as u64).filter(|&n| n <= MAX_BUFFER_BYTES))
        .ok_or_else(|| format!("shape {shape:?} is too large"))
}

/// Payload bytes of `numel` codes of `bits` bits packed densely.
pub fn packed_bytes(numel: u64, bits: u8) -> u64 {
    (numel.saturating_mul(u64::from(bits))).div_ceil(8)
}

fn check_boundary(b: &BoundaryTensor) -> Result<(), String> {
    let numel = checked_numel(&b.shape)?;
    let want = match &b.encoding {
        Encoding::Raw(d) => tensor_bytes(&TensorType::new(*d, b.shape.clone()))?,
        Encoding::Quant { bits, scheme, axis, scales, zero_points } => {
            if !(1..=16).contains(bits) {
                return Err(format!("{bits}-bit codes (1 to 16 are supported)"));
            }
            check_params(&b.shape, *bits, *scheme, *axis, scales, zero_points)?;
            packed_bytes(numel, *bits)
        }
    };
    if b.payload_bytes != want {
        return Err(format!("payload of {} bytes, its encoding needs {want}", b.payload_bytes));
    }
    Ok(())
}

fn check_params(
    shape: &[usize],
    bits: u8,
    scheme: QScheme,
    axis: Option<usize>,
    scales: &[f32],
    zero_points: &[i32],
) -> Result<(), String> {
    let channels = match axis {
        None => 1,
        Some(a) => {
            *shape.get(a).ok_or_else(|| format!("axis {a} of a rank-{} tensor", shape.len()))?
        }
    };
    if scales.len() != channels || zero_points.len() != channels {
        return Err(format!(
            "{} scale(s) and {} zero point(s) for {channels} channel(s)",
            scales.len(),
            zero_points.len()
        ));
    }
    if let Some(s) = scales.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(format!("scale {s} is not finite and positive"));
    }
    let (lo, hi) = match scheme {
        QScheme::Asym => (0, (1i64 << bits) - 1),
        QScheme::Sym => (0, 0),
    };
    match zero_points.iter().find(|&&z| i64::from(z) < lo || i64::from(z) > hi) {
        Some(z) => Err(format!("zero point {z} outside {lo}..={hi}")),
        None => Ok(()),
    }
}

fn same_types(kind: &str, a: &[TensorInfo], b: &[TensorInfo]) -> Result<(), String> {
    if a.len() != b.len() {
        return Err(format!("{} {kind}(s) but {} model output(s)", a.len(), b.len()));
    }
    match a.iter().zip(b).position(|(x, y)| x.ty != y.ty) {
        Some(i) => Err(format!("{kind} {i} is not of the model output's type")),
        None => Ok(()),
    }
}

fn slots_match(kind: &str, bufs: &[TensorInfo], boundary: &[BoundaryTensor]) -> Result<(), String> {
    if bufs.len() != boundary.len() {
        return Err(format!("{} {kind}(s) for {} boundary tensor(s)", bufs.len(), boundary.len()));
    }
    for (i, (t, b)) in bufs.iter().zip(boundary).enumerate() {
        if t.ty.size_bytes() as u64 != b.payload_bytes {
            return Err(format!(
                "{kind} {i} ({}) is not the {} payload bytes of boundary tensor `{}`",
                t.ty, b.payload_bytes, b.name
            ));
        }
    }
    Ok(())
}

fn dims(shape: &[usize]) -> String {
    if shape.is_empty() {
        return "-".into();
    }
    join(shape)
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
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
            Some('r') => out.push('\r'),
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

    fn t(name: &str, dtype: DType, shape: &[usize]) -> TensorInfo {
        TensorInfo { name: name.into(), ty: TensorType::new(dtype, shape.to_vec()) }
    }

    /// A cloud program behind a two-tensor boundary: 4-bit per-channel codes and a raw i64.
    pub(crate) fn split_cloud() -> ModelInfo {
        let quant = BoundaryTensor {
            name: "conv 3\tout".into(),
            shape: vec![1, 2, 3],
            encoding: Encoding::Quant {
                bits: 4,
                scheme: QScheme::Asym,
                axis: Some(1),
                scales: vec![0.1, 1.0e-7],
                zero_points: vec![0, 15],
            },
            payload_bytes: 3,
        };
        let raw = BoundaryTensor {
            name: "ids".into(),
            shape: vec![2],
            encoding: Encoding::Raw(DType::I64),
            payload_bytes: 16,
        };
        let y = t("y", DType::F32, &[]);
        ModelInfo {
            name: "m\\odel\nx\r".into(),
            fingerprint: 0x0123_4567_89ab_cdef_0011_2233_4455_6677,
            scratch_bytes: 4096,
            role: Role::Cloud,
            inputs: vec![t("p0", DType::U8, &[3]), t("p1", DType::I64, &[2])],
            outputs: vec![y.clone()],
            model_outputs: vec![y],
            boundary: vec![quant, raw],
            split: "after conv 3 (4 bits)".into(),
            edge_weight_bytes: 1234,
        }
    }

    #[test]
    fn text_round_trips_with_odd_names_scalars_and_boundaries() {
        let info = split_cloud();
        assert_eq!(ModelInfo::parse(&info.to_text()), Ok(info));
        let edge = ModelInfo::edge_only(
            "e".into(),
            1,
            64,
            vec![t("in 0\t", DType::F32, &[1, 3])],
            vec![t("y", DType::I64, &[])],
        );
        assert_eq!(ModelInfo::parse(&edge.to_text()), Ok(edge));
    }

    #[test]
    fn malformed_text_is_an_error() {
        assert!(ModelInfo::parse("nope").is_err());
        assert!(ModelInfo::parse("asplit-model 1\n").is_err());
        let e = ModelInfo::parse("asplit-model 2\ninput f32 1,x a").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(ModelInfo::parse("asplit-model 2\nscratch -1").is_err());
        assert!(ModelInfo::parse("asplit-model 2\nrole fog").is_err());
        assert!(ModelInfo::parse("asplit-model 2\nboundary 2 1 quant 4 asym - 0.1").is_err());
        let deep = format!("asplit-model 2\ninput f32 {} x", vec!["1"; 40].join(","));
        assert!(ModelInfo::parse(&deep).is_err());
    }

    #[test]
    fn inconsistent_descriptions_are_errors() {
        let text = split_cloud().to_text();
        let bad = [
            ("boundary 1,2,3 3 ", "boundary 1,2,3 4 "),
            ("0.1,0.0000001", "0.1,-1"),
            ("0,15 conv", "0,16 conv"),
            ("quant 4 asym 1", "quant 4 asym 3"),
            ("quant 4 asym", "quant 17 asym"),
            ("input u8 3 p0", "input u8 4 p0"),
            ("model-output f32 - y", "model-output f64 - y"),
            ("scratch 4096", "scratch 99999999999999"),
            ("input i64 2 p1", "input i64 99999999999,99999999999 p1"),
        ];
        for (from, to) in bad {
            assert!(text.contains(from), "{from}");
            let e = ModelInfo::parse(&text.replace(from, to));
            assert!(e.is_err(), "{to} accepted");
        }
        let no_boundary: String =
            text.lines().filter(|l| !l.starts_with("boundary")).map(|l| format!("{l}\n")).collect();
        assert!(ModelInfo::parse(&no_boundary).is_err());
    }

    #[test]
    fn packed_sizes_round_up() {
        assert_eq!(packed_bytes(6, 4), 3);
        assert_eq!(packed_bytes(5, 3), 2);
        assert_eq!(packed_bytes(0, 8), 0);
        assert!(checked_numel(&[usize::MAX, 2]).is_err());
    }

    #[test]
    fn fingerprint_depends_on_every_byte() {
        assert_ne!(fnv1a_128(b"ab"), fnv1a_128(b"ba"));
        assert_ne!(fnv1a_128(b""), fnv1a_128(b"\0"));
    }
}
