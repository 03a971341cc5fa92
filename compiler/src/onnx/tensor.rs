//! ONNX `TensorProto` ⇄ IR [`Tensor`], and ONNX element types ⇄ [`DType`].
//!
//! Reading accepts every storage form ONNX writes: little-endian `raw_data`, the typed
//! fields (`float_data`, `int32_data` — which also holds int8/uint8/bool/float16 bits —,
//! `int64_data`, `double_data`) and external data (`location`/`offset`/`length`, resolved
//! relative to the model's directory and not allowed to leave it). Sizes are checked
//! against the bytes actually present before anything is allocated, so a lying header can
//! not make the importer allocate more than the file holds. Element types the IR lacks
//! (string, complex, bfloat16, float8, 16-bit and unsigned 32/64-bit integers…) are
//! [`ImportError::UnsupportedDtype`]. Writing always uses `raw_data`.

use super::error::ImportError;
use asplit_ir::{DType, Tensor, TensorData};
use half::f16;
use onnx_protobuf::{tensor_proto::DataLocation, Message, TensorProto};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};

/// ONNX `TensorProto.DataType` codes the IR supports.
const FLOAT: i32 = 1;
const UINT8: i32 = 2;
const INT8: i32 = 3;
const INT32: i32 = 6;
const INT64: i32 = 7;
const BOOL: i32 = 9;
const FLOAT16: i32 = 10;
const DOUBLE: i32 = 11;

/// The IR dtype of an ONNX element type code; `Err` carries the ONNX type's name.
pub fn dtype_from_onnx(code: i32) -> Result<DType, String> {
    match code {
        FLOAT => Ok(DType::F32),
        UINT8 => Ok(DType::U8),
        INT8 => Ok(DType::I8),
        INT32 => Ok(DType::I32),
        INT64 => Ok(DType::I64),
        BOOL => Ok(DType::Bool),
        FLOAT16 => Ok(DType::F16),
        DOUBLE => Ok(DType::F64),
        other => Err(onnx_dtype_name(other)),
    }
}

/// The ONNX element type code of an IR dtype.
pub fn dtype_to_onnx(d: DType) -> i32 {
    match d {
        DType::F32 => FLOAT,
        DType::U8 => UINT8,
        DType::I8 => INT8,
        DType::I32 => INT32,
        DType::I64 => INT64,
        DType::Bool => BOOL,
        DType::F16 => FLOAT16,
        DType::F64 => DOUBLE,
    }
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
pub fn tensor_from_proto(t: &TensorProto, base_dir: Option<&Path>) -> Result<Tensor, ImportError> {
    let what =
        if t.name.is_empty() { "tensor".to_string() } else { format!("tensor `{}`", t.name) };
    tensor_from_proto_as(t, base_dir, &what)
}

/// Like [`tensor_from_proto`], with `what` naming the tensor in errors.
pub(crate) fn tensor_from_proto_as(
    t: &TensorProto,
    base_dir: Option<&Path>,
    what: &str,
) -> Result<Tensor, ImportError> {
    let dtype = dtype_from_onnx(t.data_type)
        .map_err(|dtype| ImportError::UnsupportedDtype { what: what.to_string(), dtype })?;
    let shape = proto_shape(t, what)?;
    let numel = numel(&shape)
        .ok_or_else(|| data_err(what, format!("the element count of shape {shape:?} overflows")))?;
    let data = if t.data_location.value() == DataLocation::EXTERNAL as i32 {
        let bytes = read_external(t, base_dir, what, byte_len(numel, dtype, what)?)?;
        decode_raw(&bytes, dtype)
    } else if !t.raw_data.is_empty() {
        let want = byte_len(numel, dtype, what)?;
        if t.raw_data.len() != want {
            let msg = format!(
                "raw_data holds {} bytes, but {dtype}{shape:?} needs {want}",
                t.raw_data.len()
            );
            return Err(data_err(what, msg));
        }
        decode_raw(&t.raw_data, dtype)
    } else {
        decode_typed(t, dtype, numel, what)?
    };
    Tensor::new(shape, data).map_err(|e| data_err(what, e.to_string()))
}

fn data_err(what: &str, message: String) -> ImportError {
    ImportError::TensorData { what: what.to_string(), message }
}

fn proto_shape(t: &TensorProto, what: &str) -> Result<Vec<usize>, ImportError> {
    t.dims
        .iter()
        .map(|&d| {
            usize::try_from(d)
                .map_err(|_| data_err(what, format!("dimension {d} in {:?} is negative", t.dims)))
        })
        .collect()
}

/// Number of elements of `shape`, `None` on overflow.
pub(crate) fn numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

fn byte_len(numel: usize, dtype: DType, what: &str) -> Result<usize, ImportError> {
    numel
        .checked_mul(dtype.size_bytes())
        .ok_or_else(|| data_err(what, format!("{numel} elements of {dtype} overflow a byte count")))
}

/// Decodes little-endian bytes whose length is a multiple of the element size.
fn decode_raw(b: &[u8], dtype: DType) -> TensorData {
    fn le<const N: usize, T>(b: &[u8], f: impl Fn([u8; N]) -> T) -> Vec<T> {
        b.chunks_exact(N)
            .map(|c| {
                let mut a = [0u8; N];
                a.copy_from_slice(c);
                f(a)
            })
            .collect()
    }
    match dtype {
        DType::F32 => TensorData::F32(le(b, f32::from_le_bytes)),
        DType::F64 => TensorData::F64(le(b, f64::from_le_bytes)),
        DType::F16 => TensorData::F16(le(b, |a| f16::from_bits(u16::from_le_bytes(a)))),
        DType::I64 => TensorData::I64(le(b, i64::from_le_bytes)),
        DType::I32 => TensorData::I32(le(b, i32::from_le_bytes)),
        DType::I8 => TensorData::I8(b.iter().map(|&x| x as i8).collect()),
        DType::U8 => TensorData::U8(b.to_vec()),
        DType::Bool => TensorData::Bool(b.iter().map(|&x| x != 0).collect()),
    }
}

/// Decodes the typed repeated field that holds `dtype`, checking its length first.
fn decode_typed(
    t: &TensorProto,
    dtype: DType,
    numel: usize,
    what: &str,
) -> Result<TensorData, ImportError> {
    let (field, len) = match dtype {
        DType::F32 => ("float_data", t.float_data.len()),
        DType::F64 => ("double_data", t.double_data.len()),
        DType::I64 => ("int64_data", t.int64_data.len()),
        _ => ("int32_data", t.int32_data.len()),
    };
    if len != numel {
        let msg = format!(
            "{field} holds {len} values, but shape {:?} needs {numel} (and raw_data is empty)",
            t.dims
        );
        return Err(data_err(what, msg));
    }
    let ints = &t.int32_data;
    Ok(match dtype {
        DType::F32 => TensorData::F32(t.float_data.clone()),
        DType::F64 => TensorData::F64(t.double_data.clone()),
        DType::I64 => TensorData::I64(t.int64_data.clone()),
        DType::I32 => TensorData::I32(ints.clone()),
        DType::F16 => TensorData::F16(ints.iter().map(|&x| f16::from_bits(x as u16)).collect()),
        DType::I8 => TensorData::I8(ints.iter().map(|&x| x as i8).collect()),
        DType::U8 => TensorData::U8(ints.iter().map(|&x| x as u8).collect()),
        DType::Bool => TensorData::Bool(ints.iter().map(|&x| x != 0).collect()),
    })
}

/// The `external_data` entries of a tensor.
struct External<'a> {
    location: &'a str,
    offset: u64,
    length: Option<u64>,
}

fn external_entries<'a>(t: &'a TensorProto, what: &str) -> Result<External<'a>, ImportError> {
    let ext_err = |message: String| ImportError::ExternalData { what: what.into(), message };
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
fn external_path(base: &Path, location: &str, what: &str) -> Result<PathBuf, ImportError> {
    let rel = Path::new(location);
    let escapes = rel.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
    if escapes {
        return Err(ImportError::ExternalData {
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
) -> Result<Vec<u8>, ImportError> {
    let ext_err = |message: String| ImportError::ExternalData { what: what.into(), message };
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

fn encode_raw(d: &TensorData) -> Vec<u8> {
    match d {
        TensorData::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        TensorData::F64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        TensorData::F16(v) => v.iter().flat_map(|x| x.to_bits().to_le_bytes()).collect(),
        TensorData::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        TensorData::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        TensorData::I8(v) => v.iter().map(|&x| x as u8).collect(),
        TensorData::U8(v) => v.clone(),
        TensorData::Bool(v) => v.iter().map(|&x| x as u8).collect(),
    }
}

/// Reads a file holding one serialized `TensorProto` (the ONNX test-data `.pb` layout);
/// external data is resolved relative to the file's directory.
pub fn read_tensor_pb(path: &Path) -> Result<Tensor, ImportError> {
    let bytes =
        std::fs::read(path).map_err(|error| ImportError::Io { path: path.to_path_buf(), error })?;
    let proto = TensorProto::parse_from_bytes(&bytes)
        .map_err(|e| ImportError::Parse { what: "tensor", message: e.to_string() })?;
    tensor_from_proto(&proto, path.parent())
}

#[cfg(test)]
mod tests {
    use super::*;
    use onnx_protobuf::StringStringEntryProto;

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
        ];
        for t in tensors {
            let back = tensor_from_proto(&tensor_to_proto(&t, "x"), None).unwrap();
            assert_eq!(back, t);
        }
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
    }

    #[test]
    fn size_mismatches_are_errors_not_allocations() {
        let mut p = proto(FLOAT, &[1 << 40, 1 << 20]);
        p.raw_data = vec![0; 8];
        let e = tensor_from_proto(&p, None).unwrap_err();
        assert!(matches!(e, ImportError::TensorData { .. }), "{e}");
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
            (16, "BFLOAT16"),
            (14, "COMPLEX64"),
            (17, "FLOAT8E4M3FN"),
            (5, "INT16"),
            (99, "unknown (99)"),
        ] {
            let e = tensor_from_proto(&proto(code, &[1]), None).unwrap_err();
            match e {
                ImportError::UnsupportedDtype { dtype, .. } => assert_eq!(dtype, name),
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
            assert!(matches!(e, ImportError::ExternalData { .. }), "{e}");
            assert!(e.to_string().contains("leaves the model's directory"), "{e}");
        }

        let mut p = proto(FLOAT, &[2]);
        external(&mut p, &[("location", "w.bin")]);
        assert!(tensor_from_proto(&p, None).unwrap_err().to_string().contains("not loaded"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
