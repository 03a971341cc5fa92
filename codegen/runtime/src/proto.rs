//! ONNX `TensorProto` ⇄ IR [`Tensor`], and ONNX element types ⇄ [`DType`].
//!
//! Reading accepts every storage form ONNX writes: little-endian `raw_data`, the typed
//! fields (`float_data`, `int32_data` — which also holds the 8- and 16-bit integers, bool,
//! and the bits of float16/bfloat16/float8 —, `int64_data`, `uint64_data` for uint32/uint64,
//! `double_data`) and external data (`location`/`offset`/`length`, resolved relative to the
//! model's directory and not allowed to leave it). The 4- and 2-bit types (int4, uint4,
//! float4e2m1, int2, uint2) are packed LSB-first, two or four to a byte, in `raw_data` and
//! external data, and one packed byte per `int32_data` entry, as the ONNX spec says; in the
//! IR they are unpacked to one code per byte ([`asplit_ir::coded`]). Sizes are checked
//! against the bytes actually present before anything is allocated, so a lying header can
//! not make the importer allocate more than the file holds. Element types the IR lacks
//! (string, complex, float6…) are [`ProtoError::UnsupportedDtype`]. Writing always uses
//! `raw_data`.
//!
//! Shared by the ONNX importer (asplitc re-exports it as `asplitc::onnx::tensor`), `asplitc
//! run` and the compiled programs' runtime, so all read tensor files the same way.

use asplit_ir::coded::{pack, packed_len, unpack};
use asplit_ir::{DType, Tensor, TensorData};
use half::{bf16, f16};
use onnx_protobuf::{tensor_proto::DataLocation, Message, TensorProto};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};
use thiserror::Error;

/// Why a `TensorProto` could not be converted.
#[derive(Debug, Error)]
pub enum ProtoError {
    /// The element type has no IR dtype.
    #[error("{what}: element type {dtype} is not supported")]
    UnsupportedDtype {
        /// The tensor, input or attribute.
        what: String,
        /// The ONNX element type.
        dtype: String,
    },
    /// The payload is inconsistent with the declared shape and type.
    #[error("{what}: {message}")]
    TensorData {
        /// The tensor.
        what: String,
        /// What is wrong.
        message: String,
    },
    /// The external data cannot be used.
    #[error("{what}: external data: {message}")]
    ExternalData {
        /// The tensor.
        what: String,
        /// What is wrong.
        message: String,
    },
    /// A file could not be read.
    #[error("cannot read `{path}`: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// The bytes are not a serialized `TensorProto`.
    #[error("{what}: not a serialized ONNX protobuf message ({message})")]
    Parse {
        /// "tensor".
        what: &'static str,
        /// The protobuf decoder's complaint.
        message: String,
    },
}

/// ONNX `TensorProto.DataType` codes of the IR's dtypes, in code order.
const CODES: [(i32, DType); 23] = [
    (1, DType::F32),
    (2, DType::U8),
    (3, DType::I8),
    (4, DType::U16),
    (5, DType::I16),
    (6, DType::I32),
    (7, DType::I64),
    (9, DType::Bool),
    (10, DType::F16),
    (11, DType::F64),
    (12, DType::U32),
    (13, DType::U64),
    (16, DType::BF16),
    (17, DType::F8E4M3FN),
    (18, DType::F8E4M3FNUZ),
    (19, DType::F8E5M2),
    (20, DType::F8E5M2FNUZ),
    (21, DType::U4),
    (22, DType::I4),
    (23, DType::F4E2M1),
    (24, DType::F8E8M0),
    (25, DType::U2),
    (26, DType::I2),
];

/// The IR dtype of an ONNX element type code; `Err` carries the ONNX type's name.
pub fn dtype_from_onnx(code: i32) -> Result<DType, String> {
    CODES.iter().find(|(c, _)| *c == code).map(|&(_, d)| d).ok_or_else(|| onnx_dtype_name(code))
}

/// The ONNX element type code of an IR dtype.
pub fn dtype_to_onnx(d: DType) -> i32 {
    CODES.iter().find(|(_, t)| *t == d).map_or(0, |&(c, _)| c)
}

/// The ONNX spelling of an element type code (`BFLOAT16`, `STRING`, `unknown (99)`).
pub fn onnx_dtype_name(code: i32) -> String {
    const NAMES: &[&str] = &[
        "UNDEFINED",
        "FLOAT",
        "UINT8",
        "INT8",
        "UINT16",
        "INT16",
        "INT32",
        "INT64",
        "STRING",
        "BOOL",
        "FLOAT16",
        "DOUBLE",
        "UINT32",
        "UINT64",
        "COMPLEX64",
        "COMPLEX128",
        "BFLOAT16",
        "FLOAT8E4M3FN",
        "FLOAT8E4M3FNUZ",
        "FLOAT8E5M2",
        "FLOAT8E5M2FNUZ",
        "UINT4",
        "INT4",
        "FLOAT4E2M1",
        "FLOAT8E8M0",
        "UINT2",
        "INT2",
    ];
    usize::try_from(code)
        .ok()
        .and_then(|i| NAMES.get(i))
        .map(|s| s.to_string())
        .unwrap_or_else(|| format!("unknown ({code})"))
}

/// Converts a `TensorProto` to a tensor; external data is resolved relative to `base_dir`.
pub fn tensor_from_proto(t: &TensorProto, base_dir: Option<&Path>) -> Result<Tensor, ProtoError> {
    let what =
        if t.name.is_empty() { "tensor".to_string() } else { format!("tensor `{}`", t.name) };
    tensor_from_proto_as(t, base_dir, &what)
}

/// Like [`tensor_from_proto`], with `what` naming the tensor in errors.
pub fn tensor_from_proto_as(
    t: &TensorProto,
    base_dir: Option<&Path>,
    what: &str,
) -> Result<Tensor, ProtoError> {
    let dtype = dtype_from_onnx(t.data_type)
        .map_err(|dtype| ProtoError::UnsupportedDtype { what: what.to_string(), dtype })?;
    let shape = proto_shape(t, what)?;
    let numel = numel(&shape)
        .ok_or_else(|| data_err(what, format!("the element count of shape {shape:?} overflows")))?;
    let data = if t.data_location.value() == DataLocation::EXTERNAL as i32 {
        let bytes = read_external(t, base_dir, what, byte_len(numel, dtype, what)?)?;
        decode_raw(&bytes, dtype, numel, what)?
    } else if !t.raw_data.is_empty() {
        let want = byte_len(numel, dtype, what)?;
        if t.raw_data.len() != want {
            let msg = format!(
                "raw_data holds {} bytes, but {dtype}{shape:?} needs {want}",
                t.raw_data.len()
            );
            return Err(data_err(what, msg));
        }
        decode_raw(&t.raw_data, dtype, numel, what)?
    } else {
        decode_typed(t, dtype, numel, what)?
    };
    Tensor::new(shape, data).map_err(|e| data_err(what, e.to_string()))
}

fn data_err(what: &str, message: String) -> ProtoError {
    ProtoError::TensorData { what: what.to_string(), message }
}

fn proto_shape(t: &TensorProto, what: &str) -> Result<Vec<usize>, ProtoError> {
    t.dims
        .iter()
        .map(|&d| {
            usize::try_from(d)
                .map_err(|_| data_err(what, format!("dimension {d} in {:?} is negative", t.dims)))
        })
        .collect()
}

/// Number of elements of `shape`, `None` on overflow.
pub fn numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

/// Bytes `numel` elements of `dtype` take in `raw_data` (the 4- and 2-bit types packed).
fn byte_len(numel: usize, dtype: DType, what: &str) -> Result<usize, ProtoError> {
    let len = match dtype.coded() {
        Some(c) => packed_len(numel, c.bits()),
        None => numel.checked_mul(dtype.size_bytes()),
    };
    len.ok_or_else(|| data_err(what, format!("{numel} elements of {dtype} overflow a byte count")))
}

/// Decodes `raw_data` bytes, whose length [`byte_len`] has checked.
fn decode_raw(b: &[u8], dtype: DType, numel: usize, what: &str) -> Result<TensorData, ProtoError> {
    match dtype.coded() {
        Some(c) if c.bits() < 8 => {
            let codes = unpack(b, c.bits(), numel).ok_or_else(|| {
                data_err(what, format!("{} packed bytes for {numel} elements", b.len()))
            })?;
            Ok(TensorData::Codes(c, codes))
        }
        _ => Ok(crate::npy::decode_le(dtype, b)),
    }
}

/// The typed repeated field that holds `dtype` and how many entries `numel` elements take.
fn typed_field(
    t: &TensorProto,
    dtype: DType,
    numel: usize,
) -> (&'static str, usize, Option<usize>) {
    match dtype {
        DType::F32 => ("float_data", t.float_data.len(), Some(numel)),
        DType::F64 => ("double_data", t.double_data.len(), Some(numel)),
        DType::I64 => ("int64_data", t.int64_data.len(), Some(numel)),
        DType::U32 | DType::U64 => ("uint64_data", t.uint64_data.len(), Some(numel)),
        d => {
            let want = match d.coded() {
                Some(c) => packed_len(numel, c.bits()),
                None => Some(numel),
            };
            ("int32_data", t.int32_data.len(), want)
        }
    }
}

/// Decodes the typed repeated field that holds `dtype`, checking its length first.
fn decode_typed(
    t: &TensorProto,
    dtype: DType,
    numel: usize,
    what: &str,
) -> Result<TensorData, ProtoError> {
    let (field, len, want) = typed_field(t, dtype, numel);
    if Some(len) != want {
        let want = want.map_or_else(|| "more than can be counted".to_string(), |w| w.to_string());
        let msg = format!(
            "{field} holds {len} values, but {dtype}{:?} needs {want} (and raw_data is empty)",
            t.dims
        );
        return Err(data_err(what, msg));
    }
    let ints = &t.int32_data;
    let bits16 = |x: &i32| *x as u16;
    Ok(match dtype {
        DType::F32 => TensorData::F32(t.float_data.clone()),
        DType::F64 => TensorData::F64(t.double_data.clone()),
        DType::I64 => TensorData::I64(t.int64_data.clone()),
        DType::U64 => TensorData::U64(t.uint64_data.clone()),
        DType::U32 => TensorData::U32(t.uint64_data.iter().map(|&x| x as u32).collect()),
        DType::I32 => TensorData::I32(ints.clone()),
        DType::F16 => TensorData::F16(ints.iter().map(|x| f16::from_bits(bits16(x))).collect()),
        DType::BF16 => TensorData::BF16(ints.iter().map(|x| bf16::from_bits(bits16(x))).collect()),
        DType::I16 => TensorData::I16(ints.iter().map(|&x| x as i16).collect()),
        DType::U16 => TensorData::U16(ints.iter().map(bits16).collect()),
        DType::I8 => TensorData::I8(ints.iter().map(|&x| x as i8).collect()),
        DType::U8 => TensorData::U8(ints.iter().map(|&x| x as u8).collect()),
        DType::Bool => TensorData::Bool(ints.iter().map(|&x| x != 0).collect()),
        coded => {
            let bytes: Vec<u8> = ints.iter().map(|&x| x as u8).collect();
            decode_raw(&bytes, coded, numel, what)?
        }
    })
}

/// The `external_data` entries of a tensor.
struct External<'a> {
    location: &'a str,
    offset: u64,
    length: Option<u64>,
}

fn external_entries<'a>(t: &'a TensorProto, what: &str) -> Result<External<'a>, ProtoError> {
    let ext_err = |message: String| ProtoError::ExternalData { what: what.into(), message };
    let mut e = External { location: "", offset: 0, length: None };
    for kv in &t.external_data {
        let num = || {
            kv.value.trim().parse::<u64>().map_err(|_| {
                ext_err(format!("`{}` is `{}`, not a non-negative integer", kv.key, kv.value))
            })
        };
        match kv.key.as_str() {
            "location" => e.location = &kv.value,
            "offset" => e.offset = num()?,
            "length" => e.length = Some(num()?),
            _ => {}
        }
    }
    if e.location.is_empty() {
        return Err(ext_err("no `location` entry".into()));
    }
    Ok(e)
}

/// Resolves `location` under `base`, refusing absolute paths and `..`.
fn external_path(base: &Path, location: &str, what: &str) -> Result<PathBuf, ProtoError> {
    let rel = Path::new(location);
    let escapes = rel.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
    if escapes {
        return Err(ProtoError::ExternalData {
            what: what.into(),
            message: format!(
                "location `{location}` is absolute or leaves the model's directory (`..`)"
            ),
        });
    }
    Ok(base.join(rel))
}

/// Reads exactly `want` bytes of external data, after checking the file is long enough.
fn read_external(
    t: &TensorProto,
    base_dir: Option<&Path>,
    what: &str,
    want: usize,
) -> Result<Vec<u8>, ProtoError> {
    let ext_err = |message: String| ProtoError::ExternalData { what: what.into(), message };
    let e = external_entries(t, what)?;
    let base = base_dir.ok_or_else(|| {
        ext_err(format!(
            "`{}` cannot be resolved: the model was not loaded from a file",
            e.location
        ))
    })?;
    let path = external_path(base, e.location, what)?;
    if let Some(len) = e.length {
        if len != want as u64 {
            return Err(ext_err(format!("length is {len} bytes, but the tensor needs {want}")));
        }
    }
    let mut f = std::fs::File::open(&path)
        .map_err(|err| ext_err(format!("cannot open `{}`: {err}", e.location)))?;
    let size =
        f.metadata().map_err(|err| ext_err(format!("cannot stat `{}`: {err}", e.location)))?.len();
    let end = e.offset.checked_add(want as u64);
    if end.is_none_or(|end| end > size) {
        return Err(ext_err(format!(
            "`{}` has {size} bytes, too short for {want} bytes at offset {}",
            e.location, e.offset
        )));
    }
    let mut buf = vec![0u8; want];
    f.seek(SeekFrom::Start(e.offset))
        .and_then(|_| f.read_exact(&mut buf))
        .map_err(|err| ext_err(format!("cannot read `{}`: {err}", e.location)))?;
    Ok(buf)
}

/// Converts a tensor to a `TensorProto` named `name` (payload in little-endian `raw_data`).
pub fn tensor_to_proto(t: &Tensor, name: &str) -> TensorProto {
    let mut p = TensorProto::new();
    p.name = name.to_string();
    p.dims = t.shape().iter().map(|&d| d as i64).collect();
    p.data_type = dtype_to_onnx(t.dtype());
    p.raw_data = encode_raw(t.data());
    p
}

/// Little-endian elements, the 4- and 2-bit types packed.
fn encode_raw(d: &TensorData) -> Vec<u8> {
    match d {
        TensorData::Codes(c, v) if c.bits() < 8 => pack(v, c.bits()),
        other => {
            let mut out = Vec::new();
            crate::npy::encode_le(other, &mut out);
            out
        }
    }
}

/// Reads a file holding one serialized `TensorProto` (the ONNX test-data `.pb` layout);
/// external data is resolved relative to the file's directory.
pub fn read_tensor_pb(path: &Path) -> Result<Tensor, ProtoError> {
    let bytes =
        std::fs::read(path).map_err(|error| ProtoError::Io { path: path.to_path_buf(), error })?;
    let proto = TensorProto::parse_from_bytes(&bytes)
        .map_err(|e| ProtoError::Parse { what: "tensor", message: e.to_string() })?;
    tensor_from_proto(&proto, path.parent())
}

#[cfg(test)]
mod tests {
    use super::*;
    use asplit_ir::CodedType;
    use onnx_protobuf::StringStringEntryProto;

    const FLOAT: i32 = 1;
    const UINT8: i32 = 2;
    const INT64: i32 = 7;
    const BOOL: i32 = 9;
    const FLOAT16: i32 = 10;
    const DOUBLE: i32 = 11;
    const UINT32: i32 = 12;
    const BFLOAT16: i32 = 16;
    const FLOAT8E5M2: i32 = 19;
    const INT4: i32 = 22;
    const UINT2: i32 = 25;

    fn proto(dtype: i32, dims: &[i64]) -> TensorProto {
        let mut p = TensorProto::new();
        p.name = "t".into();
        p.data_type = dtype;
        p.dims = dims.to_vec();
        p
    }

    #[test]
    fn every_dtype_round_trips_through_raw_data() {
        let tensors = [
            Tensor::from_f32([2], vec![1.5, -2.0]).unwrap(),
            Tensor::new([2], TensorData::F64(vec![1.25, 3.0])).unwrap(),
            Tensor::new([1], TensorData::F16(vec![f16::from_f32(0.5)])).unwrap(),
            Tensor::from_i64([2, 1], vec![-7, 1 << 40]).unwrap(),
            Tensor::new([3], TensorData::I32(vec![-1, 0, 7])).unwrap(),
            Tensor::new([2], TensorData::I8(vec![-128, 127])).unwrap(),
            Tensor::new([2], TensorData::U8(vec![0, 255])).unwrap(),
            Tensor::new([2], TensorData::Bool(vec![true, false])).unwrap(),
            Tensor::from_f32([], vec![4.0]).unwrap(),
            Tensor::from_f32([0, 3], vec![]).unwrap(),
            Tensor::new([2], TensorData::U64(vec![u64::MAX, 1])).unwrap(),
            Tensor::new([1], TensorData::U32(vec![u32::MAX])).unwrap(),
            Tensor::new([2], TensorData::I16(vec![-300, 7])).unwrap(),
            Tensor::new([1], TensorData::U16(vec![65535])).unwrap(),
        ];
        for t in tensors {
            let back = tensor_from_proto(&tensor_to_proto(&t, "x"), None).unwrap();
            assert_eq!(back, t);
        }
        let values = Tensor::from_f32([5], vec![1.5, -2.0, 0.0, 3.0, 0.5]).unwrap();
        for d in DType::ALL {
            let t = values.cast(d);
            let p = tensor_to_proto(&t, "x");
            assert_eq!(Some(p.raw_data.len()), packed_len(5, d.bits()), "{d}");
            assert_eq!(tensor_from_proto(&p, None).unwrap(), t, "{d}");
        }
    }

    #[test]
    fn low_bit_types_are_packed_as_onnx_does() {
        let t = Tensor::from_f32([3], vec![1.0, -1.0, 7.0]).unwrap().cast(DType::I4);
        assert_eq!(tensor_to_proto(&t, "x").raw_data, vec![0xf1, 0x07]);
        let mut p = proto(INT4, &[3]);
        p.int32_data = vec![0xf1, 0x07];
        assert_eq!(tensor_from_proto(&p, None).unwrap(), t);
        let mut p = proto(UINT2, &[5]);
        p.raw_data = vec![0b11_10_01_00, 0b10];
        let want = TensorData::Codes(CodedType::U2, vec![0, 1, 2, 3, 2]);
        assert_eq!(tensor_from_proto(&p, None).unwrap().data(), &want);
        p.raw_data = vec![0];
        let e = tensor_from_proto(&p, None).unwrap_err().to_string();
        assert!(e.contains("raw_data holds 1 bytes") && e.contains("needs 2"), "{e}");
        let mut p = proto(INT4, &[3]);
        p.int32_data = vec![0x11, 0x11, 0x11];
        let e = tensor_from_proto(&p, None).unwrap_err().to_string();
        assert!(e.contains("int32_data holds 3 values") && e.contains("needs 2"), "{e}");
    }

    #[test]
    fn typed_fields_are_read() {
        let mut p = proto(FLOAT16, &[2]);
        p.int32_data =
            vec![f16::from_f32(1.0).to_bits() as i32, f16::from_f32(-2.0).to_bits() as i32];
        let t = tensor_from_proto(&p, None).unwrap();
        assert_eq!(t.data(), &TensorData::F16(vec![f16::from_f32(1.0), f16::from_f32(-2.0)]));
        let mut p = proto(BOOL, &[3]);
        p.int32_data = vec![1, 0, 1];
        let t = tensor_from_proto(&p, None).unwrap();
        assert_eq!(t.data(), &TensorData::Bool(vec![true, false, true]));
        let mut p = proto(INT64, &[]);
        p.int64_data = vec![42];
        assert_eq!(tensor_from_proto(&p, None).unwrap().data(), &TensorData::I64(vec![42]));
        let mut p = proto(DOUBLE, &[1]);
        p.double_data = vec![0.5];
        assert_eq!(tensor_from_proto(&p, None).unwrap().data(), &TensorData::F64(vec![0.5]));
        let mut p = proto(UINT8, &[2]);
        p.int32_data = vec![200, 3];
        assert_eq!(tensor_from_proto(&p, None).unwrap().data(), &TensorData::U8(vec![200, 3]));
        let mut p = proto(UINT32, &[2]);
        p.uint64_data = vec![4_000_000_000, 1];
        let want = TensorData::U32(vec![4_000_000_000, 1]);
        assert_eq!(tensor_from_proto(&p, None).unwrap().data(), &want);
        let mut p = proto(BFLOAT16, &[1]);
        p.int32_data = vec![0x3fc0];
        let want = TensorData::BF16(vec![bf16::from_f32(1.5)]);
        assert_eq!(tensor_from_proto(&p, None).unwrap().data(), &want);
        let mut p = proto(FLOAT8E5M2, &[2]);
        p.int32_data = vec![0x3c, 0xfc];
        let t = tensor_from_proto(&p, None).unwrap();
        assert_eq!(t.data().to_f64_vec(), vec![1.0, f64::NEG_INFINITY]);
    }

    #[test]
    fn size_mismatches_are_errors_not_allocations() {
        let mut p = proto(FLOAT, &[1 << 40, 1 << 20]);
        p.raw_data = vec![0; 8];
        let e = tensor_from_proto(&p, None).unwrap_err();
        assert!(matches!(e, ProtoError::TensorData { .. }), "{e}");
        let mut p = proto(FLOAT, &[3]);
        p.float_data = vec![1.0, 2.0];
        let e = tensor_from_proto(&p, None).unwrap_err().to_string();
        assert!(e.contains("float_data holds 2 values") && e.contains("needs 3"), "{e}");
        let p = proto(FLOAT, &[-1]);
        assert!(tensor_from_proto(&p, None).unwrap_err().to_string().contains("negative"));
        let p = proto(FLOAT, &[i64::MAX, i64::MAX]);
        assert!(tensor_from_proto(&p, None).unwrap_err().to_string().contains("overflow"));
    }

    #[test]
    fn unsupported_dtypes_are_named() {
        for (code, name) in [
            (8, "STRING"),
            (14, "COMPLEX64"),
            (15, "COMPLEX128"),
            (0, "UNDEFINED"),
            (99, "unknown (99)"),
        ] {
            let e = tensor_from_proto(&proto(code, &[1]), None).unwrap_err();
            match e {
                ProtoError::UnsupportedDtype { dtype, .. } => assert_eq!(dtype, name),
                other => panic!("{other}"),
            }
        }
    }

    fn external(p: &mut TensorProto, entries: &[(&str, &str)]) {
        p.data_location = DataLocation::EXTERNAL.into();
        for (k, v) in entries {
            let mut kv = StringStringEntryProto::new();
            kv.key = k.to_string();
            kv.value = v.to_string();
            p.external_data.push(kv);
        }
    }

    #[test]
    fn external_data_is_read_and_checked() {
        let dir = std::env::temp_dir().join(format!("asplitc-ext-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let payload: Vec<u8> = [7.0f32, 8.0].iter().flat_map(|x| x.to_le_bytes()).collect();
        let mut file = vec![0u8; 4];
        file.extend_from_slice(&payload);
        std::fs::write(dir.join("w.bin"), &file).unwrap();

        let mut p = proto(FLOAT, &[2]);
        external(&mut p, &[("location", "w.bin"), ("offset", "4"), ("length", "8")]);
        let t = tensor_from_proto(&p, Some(&dir)).unwrap();
        assert_eq!(t.as_f32(), Some(&[7.0, 8.0][..]));

        let mut p = proto(FLOAT, &[3]);
        external(&mut p, &[("location", "w.bin"), ("offset", "4")]);
        let e = tensor_from_proto(&p, Some(&dir)).unwrap_err().to_string();
        assert!(e.contains("too short"), "{e}");

        let mut p = proto(FLOAT, &[2]);
        external(&mut p, &[("location", "missing.bin")]);
        let e = tensor_from_proto(&p, Some(&dir)).unwrap_err().to_string();
        assert!(e.contains("cannot open `missing.bin`"), "{e}");

        for bad in ["../w.bin", "/etc/passwd", "a/../../w.bin"] {
            let mut p = proto(FLOAT, &[2]);
            external(&mut p, &[("location", bad)]);
            let e = tensor_from_proto(&p, Some(&dir)).unwrap_err();
            assert!(matches!(e, ProtoError::ExternalData { .. }), "{e}");
            assert!(e.to_string().contains("leaves the model's directory"), "{e}");
        }

        let mut p = proto(FLOAT, &[2]);
        external(&mut p, &[("location", "w.bin")]);
        assert!(tensor_from_proto(&p, None).unwrap_err().to_string().contains("not loaded"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
