//! Reading and writing NumPy `.npy` files (format versions 1.0, 2.0 and 3.0).
//!
//! Supports little-endian (or byte-order-free) `f4 f8 f2 i8 i4 i2 i1 u8 u4 u2 u1 b1` arrays in
//! C order. Fortran order, big-endian data, object arrays and structured dtypes are rejected
//! with an error that says which. The payload length is checked against the header's shape
//! before any tensor is built. Pickled arrays are never executed (there is no unpickler
//! here). NumPy itself has no bf16, float8, 4- or 2-bit dtypes, so tensors of those cannot
//! be written as `.npy` (the error says to use `.pb`).

use asplit_ir::{DType, Tensor, TensorData};
use half::{bf16, f16};
use thiserror::Error;

/// Why a `.npy` byte string could not be read.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum NpyError {
    /// Not an `.npy` file.
    #[error("not a .npy file (the magic string \\x93NUMPY is missing)")]
    Magic,
    /// The file ends early.
    #[error("the file is truncated: {0}")]
    Truncated(String),
    /// The header dictionary is malformed.
    #[error("malformed .npy header: {0}")]
    Header(String),
    /// The dtype is not one asplitc reads.
    #[error(
        "unsupported .npy dtype `{0}` (supported: <f4 <f8 <f2 <i8 <i4 <i2 |i1 <u8 <u4 <u2 |u1 |b1)"
    )]
    DType(String),
    /// The tensor's dtype has no NumPy equivalent.
    #[error("NumPy has no {0} dtype, so the tensor cannot be written as .npy; write a .pb file")]
    NoNumpyDType(DType),
    /// Fortran-ordered array.
    #[error("Fortran-ordered arrays are not supported; save with np.ascontiguousarray")]
    FortranOrder,
}

const MAGIC: &[u8] = b"\x93NUMPY";

/// Parses a whole `.npy` file.
pub fn read_npy(bytes: &[u8]) -> Result<Tensor, NpyError> {
    if bytes.len() < 8 || &bytes[..6] != MAGIC {
        return Err(NpyError::Magic);
    }
    let (header_len, header_start): (usize, usize) = match bytes[6] {
        1 => (u16::from_le_bytes([byte(bytes, 8)?, byte(bytes, 9)?]) as usize, 10),
        2 | 3 => {
            let b = bytes.get(8..12).ok_or_else(|| NpyError::Truncated("header length".into()))?;
            (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 12)
        }
        v => return Err(NpyError::Header(format!("unknown format version {v}"))),
    };
    let header_end = header_start
        .checked_add(header_len)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| NpyError::Truncated("header".into()))?;
    let header = std::str::from_utf8(&bytes[header_start..header_end])
        .map_err(|_| NpyError::Header("header is not UTF-8".into()))?;
    let (descr, fortran, shape) = parse_header(header)?;
    if fortran {
        return Err(NpyError::FortranOrder);
    }
    decode_payload(&descr, shape, &bytes[header_end..])
}

fn byte(bytes: &[u8], i: usize) -> Result<u8, NpyError> {
    bytes.get(i).copied().ok_or_else(|| NpyError::Truncated("header length".into()))
}

/// Extracts `descr`, `fortran_order` and `shape` from the Python-literal header dict.
fn parse_header(h: &str) -> Result<(String, bool, Vec<usize>), NpyError> {
    let descr = dict_value(h, "descr")?;
    let descr = descr.trim().trim_matches(|c| c == '\'' || c == '"').to_string();
    let fortran = match dict_value(h, "fortran_order")?.trim() {
        "False" => false,
        "True" => true,
        other => return Err(NpyError::Header(format!("fortran_order is `{other}`"))),
    };
    let shape_text = dict_value(h, "shape")?;
    let inner = shape_text
        .trim()
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| NpyError::Header(format!("shape is `{shape_text}`, not a tuple")))?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| NpyError::Header(format!("bad dimension `{s}`"))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((descr, fortran, shape))
}

/// The text of `'key': VALUE` up to the next top-level comma or the closing brace.
fn dict_value<'a>(h: &'a str, key: &str) -> Result<&'a str, NpyError> {
    let pat_sq = format!("'{key}':");
    let pat_dq = format!("\"{key}\":");
    let start = h
        .find(&pat_sq)
        .map(|i| i + pat_sq.len())
        .or_else(|| h.find(&pat_dq).map(|i| i + pat_dq.len()))
        .ok_or_else(|| NpyError::Header(format!("no `{key}` entry")))?;
    let rest = &h[start..];
    let mut depth = 0i32;
    for (i, c) in rest.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' | '}' if depth == 0 => return Ok(&rest[..i]),
            _ => {}
        }
    }
    Err(NpyError::Header(format!("unterminated `{key}` entry")))
}

fn decode_payload(descr: &str, shape: Vec<usize>, data: &[u8]) -> Result<Tensor, NpyError> {
    let dtype = match descr {
        "<f4" | "f4" => DType::F32,
        "<f8" | "f8" => DType::F64,
        "<f2" | "f2" => DType::F16,
        "<i8" | "i8" => DType::I64,
        "<i4" | "i4" => DType::I32,
        "<i2" | "i2" => DType::I16,
        "|i1" | "i1" => DType::I8,
        "<u8" | "u8" => DType::U64,
        "<u4" | "u4" => DType::U32,
        "<u2" | "u2" => DType::U16,
        "|u1" | "u1" => DType::U8,
        "|b1" | "b1" => DType::Bool,
        other => return Err(NpyError::DType(other.to_string())),
    };
    let numel = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| NpyError::Header("shape overflows".into()))?;
    let need = numel
        .checked_mul(dtype.size_bytes())
        .ok_or_else(|| NpyError::Header("shape overflows".into()))?;
    if data.len() < need {
        return Err(NpyError::Truncated(format!(
            "shape {shape:?} of {dtype} needs {need} bytes of data, the file has {}",
            data.len()
        )));
    }
    let data = &data[..need];
    let td = decode_le(dtype, data);
    Tensor::new(shape, td).map_err(|e| NpyError::Header(e.to_string()))
}

/// Decodes little-endian elements, one element per [`DType::size_bytes`] bytes (coded
/// dtypes: one code per byte, bits beyond the type's width cleared); `data.len()` is a
/// multiple of the element size.
pub fn decode_le(dtype: DType, data: &[u8]) -> TensorData {
    fn chunks<const N: usize, T>(d: &[u8], f: impl Fn([u8; N]) -> T) -> Vec<T> {
        d.chunks_exact(N).map(|c| f(c.try_into().unwrap_or([0; N]))).collect()
    }
    match dtype {
        DType::F32 => TensorData::F32(chunks(data, f32::from_le_bytes)),
        DType::F64 => TensorData::F64(chunks(data, f64::from_le_bytes)),
        DType::F16 => TensorData::F16(chunks(data, |b: [u8; 2]| f16::from_le_bytes(b))),
        DType::BF16 => TensorData::BF16(chunks(data, |b: [u8; 2]| bf16::from_le_bytes(b))),
        DType::I64 => TensorData::I64(chunks(data, i64::from_le_bytes)),
        DType::I32 => TensorData::I32(chunks(data, i32::from_le_bytes)),
        DType::I16 => TensorData::I16(chunks(data, i16::from_le_bytes)),
        DType::I8 => TensorData::I8(data.iter().map(|&b| b as i8).collect()),
        DType::U64 => TensorData::U64(chunks(data, u64::from_le_bytes)),
        DType::U32 => TensorData::U32(chunks(data, u32::from_le_bytes)),
        DType::U16 => TensorData::U16(chunks(data, u16::from_le_bytes)),
        DType::U8 => TensorData::U8(data.to_vec()),
        DType::Bool => TensorData::Bool(data.iter().map(|&b| b != 0).collect()),
        coded => match coded.coded() {
            Some(c) => TensorData::Codes(c, data.iter().map(|&b| b & c.mask()).collect()),
            None => TensorData::U8(data.to_vec()),
        },
    }
}

/// The `.npy` `descr` of a dtype, if NumPy has one.
fn descr(d: DType) -> Option<&'static str> {
    Some(match d {
        DType::F32 => "<f4",
        DType::F64 => "<f8",
        DType::F16 => "<f2",
        DType::I64 => "<i8",
        DType::I32 => "<i4",
        DType::I16 => "<i2",
        DType::I8 => "|i1",
        DType::U64 => "<u8",
        DType::U32 => "<u4",
        DType::U16 => "<u2",
        DType::U8 => "|u1",
        DType::Bool => "|b1",
        _ => return None,
    })
}

/// Serializes a tensor as a version 1.0 `.npy` file; fails for dtypes NumPy lacks (bf16,
/// the coded types).
pub fn write_npy(t: &Tensor) -> Result<Vec<u8>, NpyError> {
    let descr = descr(t.dtype()).ok_or(NpyError::NoNumpyDType(t.dtype()))?;
    let dims: Vec<String> = t.shape().iter().map(|d| d.to_string()).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + t.numel() * t.dtype().size_bytes());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    encode_le(t.data(), &mut out);
    Ok(out)
}

/// Appends the elements little-endian (coded dtypes: one code per byte).
pub fn encode_le(d: &TensorData, out: &mut Vec<u8>) {
    fn each<T, const N: usize>(out: &mut Vec<u8>, v: &[T], f: impl Fn(&T) -> [u8; N]) {
        out.reserve(v.len().saturating_mul(N));
        v.iter().for_each(|x| out.extend_from_slice(&f(x)));
    }
    match d {
        TensorData::F32(v) => each(out, v, |x| x.to_le_bytes()),
        TensorData::F64(v) => each(out, v, |x| x.to_le_bytes()),
        TensorData::F16(v) => each(out, v, |x| x.to_le_bytes()),
        TensorData::BF16(v) => each(out, v, |x| x.to_le_bytes()),
        TensorData::I64(v) => each(out, v, |x| x.to_le_bytes()),
        TensorData::I32(v) => each(out, v, |x| x.to_le_bytes()),
        TensorData::I16(v) => each(out, v, |x| x.to_le_bytes()),
        TensorData::I8(v) => each(out, v, |x| x.to_le_bytes()),
        TensorData::U64(v) => each(out, v, |x| x.to_le_bytes()),
        TensorData::U32(v) => each(out, v, |x| x.to_le_bytes()),
        TensorData::U16(v) => each(out, v, |x| x.to_le_bytes()),
        TensorData::U8(v) | TensorData::Codes(_, v) => out.extend_from_slice(v),
        TensorData::Bool(v) => each(out, v, |&x| [x as u8]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_dtype() {
        let base = Tensor::from_f32([2, 3], vec![1.5, -2.0, 0.0, 3.25, 7.0, -0.5]).unwrap();
        for d in DType::ALL {
            let t = base.cast(d);
            match write_npy(&t) {
                Ok(bytes) => assert_eq!(read_npy(&bytes).unwrap(), t, "{d}"),
                Err(e) => {
                    assert!(d == DType::BF16 || d.coded().is_some(), "{d}: {e}");
                    assert_eq!(e, NpyError::NoNumpyDType(d));
                }
            }
        }
        let scalar = Tensor::from_f32([], vec![4.0]).unwrap();
        assert_eq!(read_npy(&write_npy(&scalar).unwrap()).unwrap(), scalar);
    }

    #[test]
    fn reads_what_numpy_writes_for_the_wide_integers() {
        let t = Tensor::new([2], TensorData::U64(vec![u64::MAX, 3])).unwrap();
        let bytes = write_npy(&t).unwrap();
        assert!(bytes.windows(5).any(|w| w == b"'<u8'"));
        assert_eq!(read_npy(&bytes).unwrap(), t);
        let t = Tensor::new([1], TensorData::I16(vec![-300])).unwrap();
        assert!(write_npy(&t).unwrap().windows(5).any(|w| w == b"'<i2'"));
    }

    #[test]
    fn rejects_bad_files() {
        assert_eq!(read_npy(b""), Err(NpyError::Magic));
        assert_eq!(read_npy(b"hello world"), Err(NpyError::Magic));
        let good = write_npy(&Tensor::from_f32([4], vec![1.0; 4]).unwrap()).unwrap();
        for cut in [7, 9, 20, good.len() - 1] {
            assert!(read_npy(&good[..cut]).is_err(), "cut at {cut}");
        }
        let big_endian = replace(&good, b"<f4", b">f4");
        assert!(matches!(read_npy(&big_endian), Err(NpyError::DType(_))));
        let fortran = replace(&good, b"'fortran_order': False", b"'fortran_order': True ");
        assert_eq!(read_npy(&fortran), Err(NpyError::FortranOrder));
    }

    fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
        let i = bytes.windows(from.len()).position(|w| w == from).expect("pattern present");
        [&bytes[..i], to, &bytes[i + from.len()..]].concat()
    }
}
