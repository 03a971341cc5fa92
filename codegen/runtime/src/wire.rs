//! The wire format between the edge and cloud programs, implemented once (docs/wire.md
//! documents it byte by byte): frame kinds request (edge → cloud: the boundary tensors),
//! response (cloud → edge: the model outputs, raw) and error (code + UTF-8 message).
//!
//! A frame is a 48-byte header (magic `ASPW`, version, kind, 128-bit fingerprint, request id,
//! tensor count, body length), a body (per tensor: encoding, dtype, bits, scheme, rank, axis,
//! scales, zero points, dims, payload length, payload) and a CRC-32C of everything before it.
//! All integers are little-endian and fixed-width.
//!
//! Reading checks the header against the expected [`FrameSpec`] (magic, version, kind,
//! fingerprint, tensor count, body length) before allocating anything, so the only
//! allocation is the exact size the spec allows; then the CRC; then every tensor header field
//! by field. Every failure is a typed [`WireError`] naming the field. This file knows nothing
//! of sockets, timeouts or models beyond [`ModelInfo`] (see `transport.rs`).

use crate::crc32c::Crc32c;
use crate::meta::{BoundaryTensor, Encoding, ModelInfo, QScheme};
use crate::proto::{dtype_from_onnx, dtype_to_onnx};
use asplit_ir::DType;
use std::io::{self, Read};
use thiserror::Error;

/// First four bytes of every frame.
pub const MAGIC: [u8; 4] = *b"ASPW";
/// The wire version this runtime speaks.
pub const VERSION: u16 = 1;
/// Bytes of the fixed frame header.
pub const HEADER_BYTES: usize = 48;
/// Bytes of the closing CRC-32C.
pub const CRC_BYTES: usize = 4;
/// Longest error message carried by an error frame (longer ones are cut).
pub const MAX_ERROR_MESSAGE: usize = 4096;
/// Fixed bytes at the start of each tensor entry (before scales, zero points, dims).
pub const TENSOR_FIXED_BYTES: u64 = 16;

/// Error code: the frame was malformed or did not match the model.
pub const ERR_BAD_FRAME: u32 = 1;
/// Error code: the model could not be run on a well-formed request.
pub const ERR_HANDLER: u32 = 2;

/// What a frame carries.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// Edge → cloud: the boundary tensors.
    Request,
    /// Cloud → edge: the model outputs.
    Response,
    /// Either way: a code and a message.
    Error,
}

impl FrameKind {
    /// The byte at offset 6.
    pub fn code(self) -> u8 {
        match self {
            FrameKind::Request => 1,
            FrameKind::Response => 2,
            FrameKind::Error => 3,
        }
    }

    fn from_code(c: u8) -> Option<FrameKind> {
        [FrameKind::Request, FrameKind::Response, FrameKind::Error]
            .into_iter()
            .find(|k| k.code() == c)
    }
}

/// What a request or response frame of one model must hold.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameSpec {
    /// Request or response.
    pub kind: FrameKind,
    /// The compilation's fingerprint.
    pub fingerprint: u128,
    /// The tensors, in order (a response's are [`Encoding::Raw`]).
    pub tensors: Vec<BoundaryTensor>,
}

impl FrameSpec {
    /// Requests of `info`'s model: its boundary tensors.
    pub fn request(info: &ModelInfo) -> FrameSpec {
        FrameSpec {
            kind: FrameKind::Request,
            fingerprint: info.fingerprint,
            tensors: info.boundary.clone(),
        }
    }

    /// Responses of `info`'s model: its outputs, raw.
    pub fn response(info: &ModelInfo) -> FrameSpec {
        let tensors = info
            .model_outputs
            .iter()
            .map(|t| BoundaryTensor {
                name: t.name.clone(),
                shape: t.ty.shape.clone(),
                encoding: Encoding::Raw(t.ty.dtype),
                payload_bytes: t.ty.size_bytes() as u64,
            })
            .collect();
        FrameSpec { kind: FrameKind::Response, fingerprint: info.fingerprint, tensors }
    }

    /// Bytes of the body (between header and CRC).
    pub fn body_bytes(&self) -> u64 {
        self.tensors.iter().map(entry_bytes).fold(0, u64::saturating_add)
    }

    /// Bytes of a whole frame: header, body and CRC.
    pub fn frame_bytes(&self) -> u64 {
        self.body_bytes().saturating_add((HEADER_BYTES + CRC_BYTES) as u64)
    }
}

fn params(t: &BoundaryTensor) -> usize {
    match &t.encoding {
        Encoding::Raw(_) => 0,
        Encoding::Quant { scales, .. } => scales.len(),
    }
}

/// Bytes of one tensor entry, payload included.
fn entry_bytes(t: &BoundaryTensor) -> u64 {
    let fields = TENSOR_FIXED_BYTES + 8 * params(t) as u64 + 8 * t.shape.len() as u64 + 8;
    fields.saturating_add(t.payload_bytes)
}

/// A frame read off the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A request or response (the kind the reader expected).
    Data {
        /// Request id.
        id: u64,
        /// One payload per tensor, in order, each of the spec's length.
        payloads: Vec<Vec<u8>>,
    },
    /// An error frame.
    Error {
        /// Request id it answers (0 when the request could not be read).
        id: u64,
        /// [`ERR_BAD_FRAME`], [`ERR_HANDLER`] or another code.
        code: u32,
        /// What went wrong, in words.
        message: String,
    },
}

/// Why a frame could not be read or written.
#[derive(Debug, Error)]
pub enum WireError {
    /// The stream ended cleanly before a new frame began.
    #[error("the peer closed the connection")]
    Closed,
    /// The stream ended inside a frame.
    #[error("truncated frame: the stream ended inside the {0}")]
    Truncated(&'static str),
    /// No bytes arrived within the I/O timeout.
    #[error("timed out waiting for the {0}")]
    Timeout(&'static str),
    /// Not an asplit frame.
    #[error("bad magic {found:02x?}: not an asplit frame")]
    BadMagic {
        /// The first four bytes.
        found: [u8; 4],
    },
    /// Another wire version.
    #[error("wire version {found}, this program speaks version {VERSION}")]
    Version {
        /// The frame's version.
        found: u16,
    },
    /// A kind byte that is not the one expected (or no kind at all).
    #[error("frame kind {found}, expected a {expected:?} (code {})", expected.code())]
    Kind {
        /// The kind byte.
        found: u8,
        /// The kind the reader waited for.
        expected: FrameKind,
    },
    /// The frame belongs to another compilation.
    #[error(
        "fingerprint mismatch: the frame is for model {found:032x}, this program is \
         {expected:032x} (edge and cloud must come from the same compilation)"
    )]
    Fingerprint {
        /// The frame's fingerprint.
        found: u128,
        /// This program's.
        expected: u128,
    },
    /// Wrong number of tensors.
    #[error("tensor count {found}, expected {expected}")]
    TensorCount {
        /// The frame's count.
        found: u64,
        /// The spec's.
        expected: u64,
    },
    /// A header field other than the above is wrong (reserved bytes, error-message length).
    #[error("header field `{field}` is {found}, expected {expected}")]
    Header {
        /// The field.
        field: &'static str,
        /// Its value.
        found: u64,
        /// What it must be.
        expected: u64,
    },
    /// The body length is not the spec's (or over the bound for error frames).
    #[error("frame body of {found} bytes, expected {expected}")]
    Length {
        /// The frame's body length.
        found: u64,
        /// The spec's (the maximum, for error frames).
        expected: u64,
    },
    /// The checksum does not match the bytes.
    #[error("CRC-32C mismatch: the frame says {found:08x}, its bytes give {computed:08x}")]
    Crc {
        /// The frame's CRC.
        found: u32,
        /// The CRC of the bytes received.
        computed: u32,
    },
    /// A tensor entry's field differs from the spec.
    #[error("tensor {index} (`{name}`): {field} is {found}, expected {expected}")]
    TensorHeader {
        /// Slot.
        index: usize,
        /// Its name in the spec.
        name: String,
        /// Which field.
        field: &'static str,
        /// Its value in the frame.
        found: String,
        /// The spec's.
        expected: String,
    },
    /// Payloads given to the encoder do not match the spec (a caller's bug).
    #[error("payload {index}: {found} bytes, the spec says {expected}")]
    Payload {
        /// Slot (the count when the number of payloads is wrong).
        index: usize,
        /// Bytes given.
        found: u64,
        /// Bytes expected.
        expected: u64,
    },
    /// Another I/O failure.
    #[error("I/O error: {0}")]
    Io(io::Error),
}

impl WireError {
    fn from_io(e: io::Error, what: &'static str) -> WireError {
        match e.kind() {
            io::ErrorKind::UnexpectedEof => WireError::Truncated(what),
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => WireError::Timeout(what),
            _ => WireError::Io(e),
        }
    }

    /// True for failures that say the peer sent a bad frame (rather than vanishing).
    pub fn is_bad_frame(&self) -> bool {
        !matches!(self, WireError::Closed | WireError::Io(_))
    }
}

/// Encodes a request or response frame of `spec` with request id `id`.
pub fn encode(spec: &FrameSpec, id: u64, payloads: &[&[u8]]) -> Result<Vec<u8>, WireError> {
    if payloads.len() != spec.tensors.len() {
        return Err(WireError::Payload {
            index: payloads.len(),
            found: payloads.len() as u64,
            expected: spec.tensors.len() as u64,
        });
    }
    for (index, (p, t)) in payloads.iter().zip(&spec.tensors).enumerate() {
        if p.len() as u64 != t.payload_bytes {
            return Err(WireError::Payload {
                index,
                found: p.len() as u64,
                expected: t.payload_bytes,
            });
        }
    }
    let body = usize::try_from(spec.body_bytes()).unwrap_or(0);
    let mut out = Vec::with_capacity(HEADER_BYTES + body + CRC_BYTES);
    header(&mut out, spec.kind, spec.fingerprint, id, spec.tensors.len() as u32, spec.body_bytes());
    for (t, p) in spec.tensors.iter().zip(payloads) {
        entry_header(&mut out, t);
        out.extend_from_slice(p);
    }
    seal(&mut out);
    Ok(out)
}

/// Encodes an error frame (the message is cut to [`MAX_ERROR_MESSAGE`] bytes).
pub fn encode_error(fingerprint: u128, id: u64, code: u32, message: &str) -> Vec<u8> {
    let mut end = message.len().min(MAX_ERROR_MESSAGE);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    let msg = message.as_bytes().get(..end).unwrap_or_default();
    let mut out = Vec::with_capacity(HEADER_BYTES + 8 + msg.len() + CRC_BYTES);
    header(&mut out, FrameKind::Error, fingerprint, id, 0, 8 + msg.len() as u64);
    out.extend_from_slice(&code.to_le_bytes());
    out.extend_from_slice(&(msg.len() as u32).to_le_bytes());
    out.extend_from_slice(msg);
    seal(&mut out);
    out
}

fn header(out: &mut Vec<u8>, kind: FrameKind, fp: u128, id: u64, count: u32, body: u64) {
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.push(kind.code());
    out.push(0);
    out.extend_from_slice(&fp.to_le_bytes());
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&body.to_le_bytes());
}

/// The fields of one tensor entry, as the spec says they must be.
struct EntryFields {
    encoding: u8,
    dtype: u8,
    bits: u8,
    scheme: u8,
    axis: i32,
    scales: Vec<f32>,
    zero_points: Vec<i32>,
}

fn entry_fields(t: &BoundaryTensor) -> EntryFields {
    match &t.encoding {
        Encoding::Raw(d) => EntryFields {
            encoding: 0,
            dtype: dtype_to_onnx(*d) as u8,
            bits: 0,
            scheme: 0,
            axis: -1,
            scales: Vec::new(),
            zero_points: Vec::new(),
        },
        Encoding::Quant { bits, scheme, axis, scales, zero_points } => EntryFields {
            encoding: 1,
            dtype: dtype_to_onnx(DType::U8) as u8,
            bits: *bits,
            scheme: match scheme {
                QScheme::Asym => 0,
                QScheme::Sym => 1,
            },
            axis: axis.map_or(-1, |a| a as i32),
            scales: scales.clone(),
            zero_points: zero_points.clone(),
        },
    }
}

fn entry_header(out: &mut Vec<u8>, t: &BoundaryTensor) {
    let f = entry_fields(t);
    out.extend_from_slice(&[f.encoding, f.dtype, f.bits, f.scheme, t.shape.len() as u8, 0, 0, 0]);
    out.extend_from_slice(&f.axis.to_le_bytes());
    out.extend_from_slice(&(f.scales.len() as u32).to_le_bytes());
    f.scales.iter().for_each(|s| out.extend_from_slice(&s.to_le_bytes()));
    f.zero_points.iter().for_each(|z| out.extend_from_slice(&z.to_le_bytes()));
    t.shape.iter().for_each(|&d| out.extend_from_slice(&(d as u64).to_le_bytes()));
    out.extend_from_slice(&t.payload_bytes.to_le_bytes());
}

fn seal(out: &mut Vec<u8>) {
    let mut c = Crc32c::new();
    c.update(out);
    let crc = c.finish();
    out.extend_from_slice(&crc.to_le_bytes());
}

/// Reads one frame of the kind `spec` describes (or an error frame) from `r`.
///
/// A data frame must match `spec` exactly; an error frame is accepted from any
/// fingerprint (it says why the peer refused us). Nothing is allocated before the header has
/// been checked, and then only the spec's body size (or the error-frame bound).
pub fn read_frame(r: &mut impl Read, spec: &FrameSpec) -> Result<Frame, WireError> {
    let mut h = [0u8; HEADER_BYTES];
    read_header(r, &mut h)?;
    let (kind, id, count, body_len) = check_header(&h, spec)?;
    if kind == FrameKind::Error {
        return read_error_body(r, &h, id, count, body_len);
    }
    let expected = spec.body_bytes();
    if body_len != expected {
        return Err(WireError::Length { found: body_len, expected });
    }
    let body = read_checked_body(r, &h, expected)?;
    let payloads = parse_entries(&body, spec)?;
    Ok(Frame::Data { id, payloads })
}

fn read_header(r: &mut impl Read, h: &mut [u8; HEADER_BYTES]) -> Result<(), WireError> {
    let mut got = 0;
    while got < h.len() {
        match r.read(&mut h[got..]) {
            Ok(0) if got == 0 => return Err(WireError::Closed),
            Ok(0) => return Err(WireError::Truncated("header")),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if got == 0 => return Err(WireError::from_io(e, "next frame")),
            Err(e) => return Err(WireError::from_io(e, "header")),
        }
    }
    Ok(())
}

fn le<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(s) = b.get(at..at + N) {
        out.copy_from_slice(s);
    }
    out
}

/// Checks magic, version, kind, reserved bytes, fingerprint and tensor count; returns the
/// kind, request id, tensor count and body length.
fn check_header(h: &[u8], spec: &FrameSpec) -> Result<(FrameKind, u64, u32, u64), WireError> {
    let magic: [u8; 4] = le(h, 0);
    if magic != MAGIC {
        return Err(WireError::BadMagic { found: magic });
    }
    let version = u16::from_le_bytes(le(h, 4));
    if version != VERSION {
        return Err(WireError::Version { found: version });
    }
    let code = h.get(6).copied().unwrap_or(0);
    let kind = FrameKind::from_code(code)
        .filter(|&k| k == spec.kind || k == FrameKind::Error)
        .ok_or(WireError::Kind { found: code, expected: spec.kind })?;
    let reserved = [
        ("flags", u64::from(h.get(7).copied().unwrap_or(0))),
        ("reserved", u64::from(u32::from_le_bytes(le(h, 36)))),
    ];
    if let Some(&(field, found)) = reserved.iter().find(|(_, v)| *v != 0) {
        return Err(WireError::Header { field, found, expected: 0 });
    }
    let fingerprint = u128::from_le_bytes(le(h, 8));
    if kind != FrameKind::Error && fingerprint != spec.fingerprint {
        return Err(WireError::Fingerprint { found: fingerprint, expected: spec.fingerprint });
    }
    let id = u64::from_le_bytes(le(h, 24));
    let count = u32::from_le_bytes(le(h, 32));
    let want = if kind == FrameKind::Error { 0 } else { spec.tensors.len() as u64 };
    if u64::from(count) != want {
        return Err(WireError::TensorCount { found: count.into(), expected: want });
    }
    Ok((kind, id, count, u64::from_le_bytes(le(h, 40))))
}

/// Reads `len` body bytes and the CRC, checks the CRC over header and body, returns the body.
fn read_checked_body(r: &mut impl Read, h: &[u8], len: u64) -> Result<Vec<u8>, WireError> {
    let n = usize::try_from(len).map_err(|_| WireError::Length { found: len, expected: 0 })?;
    let mut body = vec![0u8; n];
    r.read_exact(&mut body).map_err(|e| WireError::from_io(e, "body"))?;
    let mut crc = [0u8; CRC_BYTES];
    r.read_exact(&mut crc).map_err(|e| WireError::from_io(e, "CRC"))?;
    let found = u32::from_le_bytes(crc);
    let mut c = Crc32c::new();
    c.update(h);
    c.update(&body);
    let computed = c.finish();
    if found != computed {
        return Err(WireError::Crc { found, computed });
    }
    Ok(body)
}

fn read_error_body(
    r: &mut impl Read,
    h: &[u8],
    id: u64,
    _count: u32,
    len: u64,
) -> Result<Frame, WireError> {
    let max = 8 + MAX_ERROR_MESSAGE as u64;
    if !(8..=max).contains(&len) {
        return Err(WireError::Length { found: len, expected: max });
    }
    let body = read_checked_body(r, h, len)?;
    let code = u32::from_le_bytes(le(&body, 0));
    let msg_len = u64::from(u32::from_le_bytes(le(&body, 4)));
    if msg_len != len - 8 {
        return Err(WireError::Header {
            field: "error message length",
            found: msg_len,
            expected: len - 8,
        });
    }
    let message = String::from_utf8_lossy(body.get(8..).unwrap_or_default()).into_owned();
    Ok(Frame::Error { id, code, message })
}

/// A cursor over a checked body.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let s = end.and_then(|e| self.buf.get(self.pos..e)).ok_or(WireError::Truncated("body"))?;
        self.pos += n;
        Ok(s)
    }

    fn u64(&mut self) -> Result<u64, WireError> {
        Ok(u64::from_le_bytes(le(self.take(8)?, 0)))
    }

    fn u32(&mut self) -> Result<u32, WireError> {
        Ok(u32::from_le_bytes(le(self.take(4)?, 0)))
    }
}

fn parse_entries(body: &[u8], spec: &FrameSpec) -> Result<Vec<Vec<u8>>, WireError> {
    let mut c = Cursor { buf: body, pos: 0 };
    let mut payloads = Vec::with_capacity(spec.tensors.len());
    for (index, t) in spec.tensors.iter().enumerate() {
        let mismatch = |field: &'static str, found: String, expected: String| {
            WireError::TensorHeader { index, name: t.name.clone(), field, found, expected }
        };
        let want = entry_fields(t);
        let fixed = c.take(TENSOR_FIXED_BYTES as usize)?;
        let bytes: [u8; 8] = le(fixed, 0);
        let dtype_name = |code: u8| match dtype_from_onnx(i32::from(code)) {
            Ok(d) => d.to_string(),
            Err(name) => name,
        };
        let checks = [
            ("encoding", bytes[0], want.encoding, encoding_name as fn(u8) -> String),
            ("dtype", bytes[1], want.dtype, dtype_name as fn(u8) -> String),
            ("bits", bytes[2], want.bits, u8_text as fn(u8) -> String),
            ("scheme", bytes[3], want.scheme, scheme_text as fn(u8) -> String),
            ("rank", bytes[4], t.shape.len() as u8, u8_text as fn(u8) -> String),
        ];
        for (field, found, expected, show) in checks {
            if found != expected {
                return Err(mismatch(field, show(found), show(expected)));
            }
        }
        if bytes[5..] != [0, 0, 0] {
            return Err(mismatch("reserved", format!("{:?}", &bytes[5..]), "[0, 0, 0]".into()));
        }
        let axis = i32::from_le_bytes(le(fixed, 8));
        if axis != want.axis {
            return Err(mismatch("axis", axis.to_string(), want.axis.to_string()));
        }
        let p = u32::from_le_bytes(le(fixed, 12));
        if p as usize != want.scales.len() {
            return Err(mismatch("scale count", p.to_string(), want.scales.len().to_string()));
        }
        for (i, s) in want.scales.iter().enumerate() {
            let found = f32::from_le_bytes(le(c.take(4)?, 0));
            if found.to_bits() != s.to_bits() {
                return Err(mismatch("scale", format!("[{i}] {found:e}"), format!("{s:e}")));
            }
        }
        for (i, z) in want.zero_points.iter().enumerate() {
            let found = c.u32()? as i32;
            if found != *z {
                return Err(mismatch("zero point", format!("[{i}] {found}"), z.to_string()));
            }
        }
        for (i, &d) in t.shape.iter().enumerate() {
            let found = c.u64()?;
            if found != d as u64 {
                return Err(mismatch("dimension", format!("[{i}] {found}"), d.to_string()));
            }
        }
        let len = c.u64()?;
        if len != t.payload_bytes {
            return Err(mismatch("payload length", len.to_string(), t.payload_bytes.to_string()));
        }
        payloads.push(c.take(len as usize)?.to_vec());
    }
    Ok(payloads)
}

fn u8_text(b: u8) -> String {
    b.to_string()
}

fn encoding_name(b: u8) -> String {
    match b {
        0 => "raw".into(),
        1 => "quant".into(),
        n => format!("unknown ({n})"),
    }
}

fn scheme_text(b: u8) -> String {
    match b {
        0 => "0 (asym, or raw)".into(),
        1 => "1 (sym)".into(),
        n => format!("unknown ({n})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::TensorInfo;
    use asplit_ir::TensorType;

    /// A 4-bit per-channel boundary tensor and a raw i64 one; one f32 output.
    pub(crate) fn info() -> ModelInfo {
        let q = BoundaryTensor {
            name: "act".into(),
            shape: vec![1, 2, 3],
            encoding: Encoding::Quant {
                bits: 4,
                scheme: QScheme::Asym,
                axis: Some(1),
                scales: vec![0.5, 0.25],
                zero_points: vec![8, 3],
            },
            payload_bytes: 3,
        };
        let raw = BoundaryTensor {
            name: "ids".into(),
            shape: vec![2],
            encoding: Encoding::Raw(DType::I64),
            payload_bytes: 16,
        };
        let y = TensorInfo { name: "y".into(), ty: TensorType::new(DType::F32, [2]) };
        let edge_out =
            |n: usize| TensorInfo { name: "p".into(), ty: TensorType::new(DType::U8, [n]) };
        ModelInfo {
            fingerprint: 0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10,
            boundary: vec![q, raw],
            outputs: vec![edge_out(3), edge_out(16)],
            model_outputs: vec![y],
            ..ModelInfo::default()
        }
    }

    fn request() -> (FrameSpec, Vec<u8>) {
        let spec = FrameSpec::request(&info());
        let ids: Vec<u8> = [7i64, -1].iter().flat_map(|v| v.to_le_bytes()).collect();
        let frame = encode(&spec, 42, &[&[0x21, 0x43, 0x65], &ids]).expect("encodes");
        (spec, frame)
    }

    /// Recomputes the CRC after a deliberate edit, so the edited field itself is checked.
    fn reseal(frame: &mut Vec<u8>) {
        frame.truncate(frame.len() - CRC_BYTES);
        seal(frame);
    }

    fn read(spec: &FrameSpec, bytes: &[u8]) -> Result<Frame, WireError> {
        read_frame(&mut &bytes[..], spec)
    }

    #[test]
    fn frames_round_trip() {
        let (spec, frame) = request();
        assert_eq!(frame.len() as u64, spec.frame_bytes());
        let Frame::Data { id, payloads } = read(&spec, &frame).expect("reads") else {
            panic!("not data")
        };
        assert_eq!(id, 42);
        assert_eq!(payloads[0], vec![0x21, 0x43, 0x65]);
        assert_eq!(payloads[1].len(), 16);
        let resp = FrameSpec::response(&info());
        let y: Vec<u8> = [1.5f32, -2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let frame = encode(&resp, 9, &[&y]).expect("encodes");
        assert_eq!(read(&resp, &frame).expect("reads"), Frame::Data { id: 9, payloads: vec![y] });
        let err = encode_error(5, 9, ERR_HANDLER, "boom ü");
        let want = Frame::Error { id: 9, code: ERR_HANDLER, message: "boom ü".into() };
        assert_eq!(read(&resp, &err).expect("reads"), want);
        let long = encode_error(5, 0, 1, &"é".repeat(MAX_ERROR_MESSAGE));
        assert!(matches!(read(&resp, &long), Ok(Frame::Error { message, .. })
                if message.len() <= MAX_ERROR_MESSAGE));
    }

    #[test]
    fn encoder_checks_payloads() {
        let spec = FrameSpec::request(&info());
        assert!(matches!(encode(&spec, 1, &[&[0; 3]]), Err(WireError::Payload { .. })));
        assert!(matches!(
            encode(&spec, 1, &[&[0; 2], &[0; 16]]),
            Err(WireError::Payload { index: 0, .. })
        ));
    }

    #[test]
    fn header_errors_name_the_field() {
        let (spec, good) = request();
        let edit = |at: usize, bytes: &[u8], reseal_it: bool| {
            let mut f = good.clone();
            f[at..at + bytes.len()].copy_from_slice(bytes);
            if reseal_it {
                reseal(&mut f);
            }
            read(&spec, &f)
        };
        assert!(matches!(edit(0, b"GET ", false), Err(WireError::BadMagic { .. })));
        assert!(matches!(edit(4, &[2, 0], false), Err(WireError::Version { found: 2 })));
        assert!(matches!(edit(6, &[2], false), Err(WireError::Kind { found: 2, .. })));
        assert!(matches!(edit(6, &[9], false), Err(WireError::Kind { found: 9, .. })));
        assert!(matches!(edit(7, &[1], false), Err(WireError::Header { field: "flags", .. })));
        assert!(matches!(edit(8, &[0xff], false), Err(WireError::Fingerprint { .. })));
        assert!(matches!(
            edit(32, &[3], false),
            Err(WireError::TensorCount { found: 3, expected: 2 })
        ));
        assert!(matches!(
            edit(40, &[0xff; 8], false),
            Err(WireError::Length { found: u64::MAX, .. })
        ));
        let mut f = good.clone();
        f[HEADER_BYTES + 30] ^= 1;
        assert!(matches!(read(&spec, &f), Err(WireError::Crc { .. })));
        assert!(matches!(read(&spec, &[]), Err(WireError::Closed)));
        assert!(matches!(read(&spec, &good[..20]), Err(WireError::Truncated("header"))));
        assert!(matches!(read(&spec, &good[..60]), Err(WireError::Truncated("body"))));
        assert!(matches!(read(&spec, &good[..good.len() - 1]), Err(WireError::Truncated("CRC"))));
    }

    #[test]
    fn tensor_fields_are_checked_one_by_one() {
        let (spec, good) = request();
        let t0 = HEADER_BYTES;
        // Offsets of the first entry: fixed part, 2 scales, 2 zero points, 3 dims, length.
        let cases: [(usize, &[u8], &str); 10] = [
            (t0, &[0], "encoding"),
            (t0 + 1, &[1], "dtype"),
            (t0 + 2, &[8], "bits"),
            (t0 + 3, &[1], "scheme"),
            (t0 + 4, &[4], "rank"),
            (t0 + 8, &[0xff, 0xff, 0xff, 0xff], "axis"),
            (t0 + 12, &[3], "scale count"),
            (t0 + 16, &[0, 0, 0x80, 0x3f], "scale"),
            (t0 + 24, &[9], "zero point"),
            (t0 + 32 + 8, &[3], "dimension"),
        ];
        for (at, bytes, field) in cases {
            let mut f = good.clone();
            f[at..at + bytes.len()].copy_from_slice(bytes);
            reseal(&mut f);
            match read(&spec, &f) {
                Err(WireError::TensorHeader { field: got, index: 0, .. }) => assert_eq!(got, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        let mut f = good.clone();
        f[t0 + 56] = 4;
        reseal(&mut f);
        assert!(matches!(
            read(&spec, &f),
            Err(WireError::TensorHeader { field: "payload length", .. })
        ));
    }

    #[test]
    fn error_frames_are_bounded_and_checked() {
        let spec = FrameSpec::response(&info());
        let mut f = encode_error(1, 2, 3, "x");
        f[40..48].copy_from_slice(&(1u64 << 40).to_le_bytes());
        assert!(matches!(read(&spec, &f), Err(WireError::Length { .. })));
        let mut f = encode_error(1, 2, 3, "xy");
        f[HEADER_BYTES + 4] = 1;
        reseal(&mut f);
        assert!(matches!(
            read(&spec, &f),
            Err(WireError::Header { field: "error message length", .. })
        ));
    }

    /// The hex example of docs/wire.md is this encoder's output.
    #[test]
    fn docs_hex_example_is_current() {
        let y = BoundaryTensor {
            name: "y".into(),
            shape: vec![4],
            encoding: Encoding::Quant {
                bits: 2,
                scheme: QScheme::Asym,
                axis: None,
                scales: vec![0.5],
                zero_points: vec![1],
            },
            payload_bytes: 1,
        };
        let spec = FrameSpec { kind: FrameKind::Request, fingerprint: 0x1234, tensors: vec![y] };
        let frame = encode(&spec, 7, &[&[0b1110_0100]]).expect("encodes");
        let hex: Vec<String> = frame
            .chunks(16)
            .enumerate()
            .map(|(i, c)| {
                let bytes: Vec<String> = c.iter().map(|b| format!("{b:02x}")).collect();
                format!("{:04x}: {}", i * 16, bytes.join(" "))
            })
            .collect();
        let doc =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/wire.md"))
                .expect("docs/wire.md");
        assert!(doc.contains(&hex.join("\n")), "docs/wire.md should show:\n{}", hex.join("\n"));
    }
}
