//! Device profiles: what the latency model knows about an edge device or a cloud server.
//!
//! A profile is a small TOML file (schema in docs/profiles.md): peak multiply-accumulates per
//! second per precision, sustained memory bandwidth, the fraction of peak each kind of layer
//! reaches, a fixed per-layer overhead, and optionally measured per-layer times that replace
//! the model. Four profiles are built in (`rpi4`, `npu-edge`, `server-cpu`, `gpu-cloud`; the
//! TOML files sit next to this one); [`resolve_profile`] takes a built-in name or a path.
//!
//! Parsing rejects unknown keys and out-of-range values, naming the file and the key. Peaks
//! are looked up by precision class (int2, int4, int8, f16, f32): a class the profile does not
//! list runs at the next wider class that it does, and a class never runs slower than a wider
//! one (a narrower operand can always be widened), so predicted time never grows as bits
//! shrink. This file computes no latency (that is `latency.rs`) and measures nothing (that is
//! `asplitc profile`).

use miette::Diagnostic;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use thiserror::Error;

/// The numeric precision a layer's operands are stored and multiplied at.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Precision {
    /// 32-bit float (the cloud's default, and the edge's float fallback).
    F32,
    /// 16-bit float.
    F16,
    /// A `b`-bit integer code (the edge's quantized tensors, b ∈ 2..=8 in practice).
    Int(u8),
}

impl Precision {
    /// Bits per element (an `Int(0)` counts as 1 bit so sizes stay meaningful).
    pub fn bits(self) -> u32 {
        match self {
            Precision::F32 => 32,
            Precision::F16 => 16,
            Precision::Int(b) => u32::from(b.max(1)),
        }
    }

    /// The wider of two precisions (more bits; a float wins a tie against an integer).
    pub fn wider(self, other: Precision) -> Precision {
        let key = |p: Precision| (p.bits(), !matches!(p, Precision::Int(_)));
        if key(other) > key(self) {
            other
        } else {
            self
        }
    }

    /// The planner's per-layer bits: `Some(b)` is a `b`-bit integer, `None` is float (f32).
    pub fn from_bits(bits: Option<u8>) -> Precision {
        bits.map_or(Precision::F32, Precision::Int)
    }

    /// The peak class this precision runs in: integers up to 2, 4 and 8 bits run on int2,
    /// int4 and int8 units, wider integers on f16 (≤ 16 bits) or f32 units.
    pub fn class(self) -> PeakClass {
        match self {
            Precision::F32 => PeakClass::F32,
            Precision::F16 => PeakClass::F16,
            Precision::Int(b) if b <= 2 => PeakClass::Int2,
            Precision::Int(b) if b <= 4 => PeakClass::Int4,
            Precision::Int(b) if b <= 8 => PeakClass::Int8,
            Precision::Int(b) if b <= 16 => PeakClass::F16,
            Precision::Int(_) => PeakClass::F32,
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Precision::F32 => write!(f, "f32"),
            Precision::F16 => write!(f, "f16"),
            Precision::Int(b) => write!(f, "int{b}"),
        }
    }
}

/// The precision classes a profile may give a peak for, narrowest first.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PeakClass {
    /// 2-bit integer MACs.
    Int2,
    /// 4-bit integer MACs.
    Int4,
    /// 8-bit integer MACs.
    Int8,
    /// 16-bit float MACs.
    F16,
    /// 32-bit float MACs.
    F32,
}

impl PeakClass {
    /// Every class, narrowest first.
    pub const ALL: [PeakClass; 5] =
        [PeakClass::Int2, PeakClass::Int4, PeakClass::Int8, PeakClass::F16, PeakClass::F32];

    /// The TOML key of this class in `[peak_macs_per_s]`.
    pub fn key(self) -> &'static str {
        match self {
            PeakClass::Int2 => "int2",
            PeakClass::Int4 => "int4",
            PeakClass::Int8 => "int8",
            PeakClass::F16 => "f16",
            PeakClass::F32 => "f32",
        }
    }
}

/// Peak multiply-accumulates per second per precision class (`[peak_macs_per_s]`). Only f32
/// is required; a missing class runs at the next wider one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeakMacs {
    /// 32-bit float MAC/s.
    pub f32: f64,
    /// 16-bit float MAC/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub f16: Option<f64>,
    /// 8-bit integer MAC/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int8: Option<f64>,
    /// 4-bit integer MAC/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int4: Option<f64>,
    /// 2-bit integer MAC/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int2: Option<f64>,
}

impl PeakMacs {
    /// The peak the profile lists for exactly this class, if any.
    pub fn listed(&self, class: PeakClass) -> Option<f64> {
        match class {
            PeakClass::Int2 => self.int2,
            PeakClass::Int4 => self.int4,
            PeakClass::Int8 => self.int8,
            PeakClass::F16 => self.f16,
            PeakClass::F32 => Some(self.f32),
        }
    }

    /// The MAC/s a precision runs at: the best listed peak among its class and every wider
    /// class (narrow operands can always be widened, so they never run slower).
    pub fn effective(&self, p: Precision) -> f64 {
        let class = p.class();
        PeakClass::ALL
            .iter()
            .filter(|&&c| c >= class)
            .filter_map(|&c| self.listed(c))
            .fold(self.f32, f64::max)
    }
}

/// Fraction of peak each kind of layer reaches (`[efficiency]`), each in (0, 1].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Efficiency {
    /// Dense and grouped convolutions (and conv_transpose), of peak MAC/s.
    pub conv: f64,
    /// Depthwise convolutions (group == input channels), of peak MAC/s.
    pub depthwise: f64,
    /// Gemm and matmul, of peak MAC/s.
    pub gemm: f64,
    /// Memory-bound work (the elementwise, pooling and data-movement ops merged into a
    /// layer), of the memory bandwidth.
    pub elementwise: f64,
}

/// One device: the numbers the roofline latency model needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceProfile {
    /// Short name (`rpi4`, `host`, …), shown in plans.
    pub name: String,
    /// One line on what the profile models and where its numbers come from.
    #[serde(default)]
    pub description: String,
    /// Sustained memory bandwidth, bytes per second.
    pub memory_bytes_per_s: f64,
    /// Fixed cost of running one layer (dispatch, synchronisation, kernel launch), seconds.
    pub layer_overhead_s: f64,
    /// Peak MAC/s per precision class.
    pub peak_macs_per_s: PeakMacs,
    /// Fraction of peak reached per kind of layer.
    pub efficiency: Efficiency,
    /// Measured seconds per layer name; a listed layer takes exactly this time.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub measured_s: BTreeMap<String, f64>,
}

/// A profile that cannot be loaded.
#[derive(Debug, Error, Diagnostic)]
pub enum ProfileError {
    /// Neither a built-in name nor an existing file.
    #[error("unknown device profile `{name}`: not a built-in profile and no such file")]
    #[diagnostic(
        code(asplitc::profile::unknown),
        help("built-in profiles: {builtins}; or give a path to a TOML profile (docs/profiles.md)")
    )]
    Unknown {
        /// What was asked for.
        name: String,
        /// The built-in names, comma-separated.
        builtins: String,
    },
    /// The file could not be read.
    #[error("cannot read device profile `{path}`: {error}")]
    #[diagnostic(code(asplitc::profile::io))]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        error: std::io::Error,
    },
    /// Not valid TOML, an unknown key, a missing key or a value of the wrong type.
    #[error("device profile `{source_name}`: {message}")]
    #[diagnostic(code(asplitc::profile::parse), help("the schema is in docs/profiles.md"))]
    Parse {
        /// The file (or `builtin:<name>`).
        source_name: String,
        /// The TOML parser's message (it names the key and the line).
        message: String,
    },
    /// A value out of range.
    #[error("device profile `{source_name}`: `{key}` {message}")]
    #[diagnostic(code(asplitc::profile::invalid), help("the schema is in docs/profiles.md"))]
    Invalid {
        /// The file (or `builtin:<name>`).
        source_name: String,
        /// The offending key, dotted (`peak_macs_per_s.int8`).
        key: String,
        /// What is wrong with it.
        message: String,
    },
}

/// The built-in profiles: name and TOML text.
const BUILTINS: [(&str, &str); 4] = [
    ("rpi4", include_str!("profiles/rpi4.toml")),
    ("npu-edge", include_str!("profiles/npu-edge.toml")),
    ("server-cpu", include_str!("profiles/server-cpu.toml")),
    ("gpu-cloud", include_str!("profiles/gpu-cloud.toml")),
];

const BUILTIN_NAMES: [&str; 4] = ["rpi4", "npu-edge", "server-cpu", "gpu-cloud"];

/// The names of the built-in profiles.
pub fn builtin_names() -> &'static [&'static str] {
    &BUILTIN_NAMES
}

/// The TOML text of a built-in profile.
pub fn builtin_toml(name: &str) -> Option<&'static str> {
    BUILTINS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// A built-in profile by name, or the TOML file at `name_or_path`. A name that is not
/// built in is read as a path.
pub fn resolve_profile(name_or_path: &str) -> Result<DeviceProfile, ProfileError> {
    if let Some(text) = builtin_toml(name_or_path) {
        return DeviceProfile::from_toml(text, &format!("builtin:{name_or_path}"));
    }
    let path = Path::new(name_or_path);
    let looks_like_path = name_or_path.contains(std::path::MAIN_SEPARATOR)
        || name_or_path.contains('/')
        || path.extension().is_some();
    if !looks_like_path && !path.exists() {
        return Err(ProfileError::Unknown {
            name: name_or_path.to_string(),
            builtins: builtin_names().join(", "),
        });
    }
    DeviceProfile::load(path)
}

impl DeviceProfile {
    /// Reads and validates a TOML profile file.
    pub fn load(path: &Path) -> Result<DeviceProfile, ProfileError> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| ProfileError::Io { path: path.display().to_string(), error })?;
        DeviceProfile::from_toml(&text, &path.display().to_string())
    }

    /// Parses and validates TOML text; `source_name` names it in errors.
    pub fn from_toml(text: &str, source_name: &str) -> Result<DeviceProfile, ProfileError> {
        let p: DeviceProfile = toml::from_str(text).map_err(|e| ProfileError::Parse {
            source_name: source_name.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        p.validate(source_name)?;
        Ok(p)
    }

    /// The profile as TOML text (what `from_toml` reads back to an equal profile).
    pub fn to_toml(&self) -> String {
        // Serialising plain structs of strings, floats and a string map cannot fail; fall
        // back to an explanatory comment rather than panicking if the crate ever disagrees.
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot serialise profile: {e}\n"))
    }

    /// Checks every value's range.
    pub fn validate(&self, source_name: &str) -> Result<(), ProfileError> {
        let bad = |key: String, message: String| ProfileError::Invalid {
            source_name: source_name.to_string(),
            key,
            message,
        };
        if self.name.trim().is_empty() {
            return Err(bad("name".into(), "must not be empty".into()));
        }
        positive("memory_bytes_per_s", self.memory_bytes_per_s).map_err(|m| bad(m.0, m.1))?;
        non_negative("layer_overhead_s", self.layer_overhead_s).map_err(|m| bad(m.0, m.1))?;
        for class in PeakClass::ALL {
            if let Some(v) = self.peak_macs_per_s.listed(class) {
                positive(&format!("peak_macs_per_s.{}", class.key()), v)
                    .map_err(|m| bad(m.0, m.1))?;
            }
        }
        let e = &self.efficiency;
        for (key, v) in [
            ("conv", e.conv),
            ("depthwise", e.depthwise),
            ("gemm", e.gemm),
            ("elementwise", e.elementwise),
        ] {
            fraction(&format!("efficiency.{key}"), v).map_err(|m| bad(m.0, m.1))?;
        }
        for (layer, &s) in &self.measured_s {
            non_negative(&format!("measured_s.{layer}"), s).map_err(|m| bad(m.0, m.1))?;
        }
        Ok(())
    }
}

/// A range violation: the key and the message.
struct RangeError(String, String);

fn positive(key: &str, v: f64) -> Result<(), RangeError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(RangeError(key.to_string(), format!("must be a positive finite number, got {v}")))
    }
}

fn non_negative(key: &str, v: f64) -> Result<(), RangeError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(RangeError(key.to_string(), format!("must be a finite number ≥ 0, got {v}")))
    }
}

fn fraction(key: &str, v: f64) -> Result<(), RangeError> {
    if v.is_finite() && v > 0.0 && v <= 1.0 {
        Ok(())
    } else {
        Err(RangeError(key.to_string(), format!("must be a fraction in (0, 1], got {v}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
name = "t"
memory_bytes_per_s = 1e9
layer_overhead_s = 0
[peak_macs_per_s]
f32 = 10000000000
int8 = 4e10
[efficiency]
conv = 0.5
depthwise = 0.1
gemm = 0.5
elementwise = 0.5
"#;

    fn err(text: &str) -> String {
        DeviceProfile::from_toml(text, "t.toml").unwrap_err().to_string()
    }

    #[test]
    fn every_builtin_loads_under_its_own_name() {
        assert_eq!(builtin_names().len(), BUILTINS.len());
        for &name in builtin_names() {
            let p = resolve_profile(name).unwrap();
            assert_eq!(p.name, name);
            assert!(!p.description.is_empty(), "{name} has no description");
        }
    }

    #[test]
    fn integers_are_accepted_for_floats() {
        let p = DeviceProfile::from_toml(MINIMAL, "t.toml").unwrap();
        assert_eq!(p.peak_macs_per_s.f32, 1e10);
        assert_eq!(p.layer_overhead_s, 0.0);
        assert_eq!(p.peak_macs_per_s.int4, None);
    }

    #[test]
    fn unknown_keys_name_the_file_and_the_key() {
        let e = err(&MINIMAL.replace("name = \"t\"", "name = \"t\"\nbogus = 1"));
        assert!(e.contains("t.toml") && e.contains("bogus"), "{e}");
        let e = err(&MINIMAL.replace("int8 = 4e10", "int8 = 4e10\nint3 = 1e9"));
        assert!(e.contains("t.toml") && e.contains("int3"), "{e}");
    }

    #[test]
    fn missing_keys_are_errors() {
        let e = err(&MINIMAL.replace("gemm = 0.5\n", ""));
        assert!(e.contains("gemm"), "{e}");
    }

    #[test]
    fn bad_values_name_the_key() {
        let e = err(&MINIMAL.replace("f32 = 10000000000", "f32 = 0"));
        assert!(e.contains("`peak_macs_per_s.f32`") && e.contains("positive"), "{e}");
        let e = err(&MINIMAL.replace("int8 = 4e10", "int8 = -4e10"));
        assert!(e.contains("`peak_macs_per_s.int8`"), "{e}");
        let e = err(&MINIMAL.replace("conv = 0.5", "conv = 1.5"));
        assert!(e.contains("`efficiency.conv`"), "{e}");
        let e = err(&MINIMAL.replace("layer_overhead_s = 0", "layer_overhead_s = -1e-6"));
        assert!(e.contains("`layer_overhead_s`"), "{e}");
        let e = err(&MINIMAL.replace("memory_bytes_per_s = 1e9", "memory_bytes_per_s = nan"));
        assert!(e.contains("`memory_bytes_per_s`"), "{e}");
        let e = err(&format!("{MINIMAL}[measured_s]\nconv1 = -0.5\n"));
        assert!(e.contains("`measured_s.conv1`"), "{e}");
        let e = err(&MINIMAL.replace("name = \"t\"", "name = \" \""));
        assert!(e.contains("`name`"), "{e}");
    }

    #[test]
    fn missing_classes_fall_back_to_the_next_wider_one() {
        let p = DeviceProfile::from_toml(MINIMAL, "t.toml").unwrap().peak_macs_per_s;
        assert_eq!(p.effective(Precision::F32), 1e10);
        assert_eq!(p.effective(Precision::F16), 1e10, "no f16: runs at f32");
        assert_eq!(p.effective(Precision::Int(8)), 4e10);
        assert_eq!(p.effective(Precision::Int(4)), 4e10, "no int4: runs at int8");
        assert_eq!(p.effective(Precision::Int(2)), 4e10);
        assert_eq!(p.effective(Precision::Int(12)), 1e10, "int12 runs on f16, i.e. f32");
    }

    #[test]
    fn a_narrow_class_never_runs_slower_than_a_wider_one() {
        let mut p = DeviceProfile::from_toml(MINIMAL, "t.toml").unwrap().peak_macs_per_s;
        p.int4 = Some(1e9);
        p.f16 = Some(5e9);
        assert_eq!(p.effective(Precision::Int(4)), 4e10);
        assert_eq!(p.effective(Precision::F16), 1e10);
        p.int2 = Some(1e11);
        assert_eq!(p.effective(Precision::Int(2)), 1e11);
        assert_eq!(p.effective(Precision::Int(3)), 4e10);
    }

    #[test]
    fn precision_order() {
        assert_eq!(Precision::Int(4).wider(Precision::Int(8)), Precision::Int(8));
        assert_eq!(Precision::Int(8).wider(Precision::F32), Precision::F32);
        assert_eq!(Precision::Int(16).wider(Precision::F16), Precision::F16);
        assert_eq!(Precision::F16.wider(Precision::Int(16)), Precision::F16);
        assert_eq!(Precision::from_bits(None), Precision::F32);
        assert_eq!(Precision::from_bits(Some(3)).to_string(), "int3");
    }

    #[test]
    fn toml_round_trips() {
        for &name in builtin_names() {
            let p = resolve_profile(name).unwrap();
            let back = DeviceProfile::from_toml(&p.to_toml(), "again").unwrap();
            assert_eq!(back, p);
        }
        let mut p = DeviceProfile::from_toml(MINIMAL, "t.toml").unwrap();
        p.measured_s.insert("conv 1".into(), 1.5e-3);
        assert_eq!(DeviceProfile::from_toml(&p.to_toml(), "again").unwrap(), p);
    }

    #[test]
    fn docs_profiles_md_names_every_key() {
        let docs = include_str!("../../../docs/profiles.md");
        let mut p = DeviceProfile::from_toml(MINIMAL, "t.toml").unwrap();
        p.description = "d".into();
        p.peak_macs_per_s.f16 = Some(1.0);
        p.peak_macs_per_s.int4 = Some(1.0);
        p.peak_macs_per_s.int2 = Some(1.0);
        p.measured_s.insert("layer".into(), 1.0);
        let table: toml::Table = toml::from_str(&p.to_toml()).unwrap();
        let mut keys = Vec::new();
        for (k, v) in &table {
            keys.push(k.clone());
            if let (Some(inner), false) = (v.as_table(), k == "measured_s") {
                keys.extend(inner.keys().cloned());
            }
        }
        assert_eq!(keys.len(), 7 + 5 + 4, "{keys:?}");
        for k in keys {
            let named = docs.contains(&format!("`{k}`")) || docs.contains(&format!("`[{k}]`"));
            assert!(named, "docs/profiles.md does not name `{k}`");
        }
        for name in builtin_names() {
            assert!(docs.contains(&format!("### `{name}`")), "no section for {name}");
        }
    }

    #[test]
    fn resolve_reads_files_and_rejects_unknown_names() {
        let dir = std::env::temp_dir().join(format!("asplit-profile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("dev.toml");
        std::fs::write(&path, MINIMAL).unwrap();
        let p = resolve_profile(path.to_str().unwrap()).unwrap();
        assert_eq!(p.name, "t");
        let e = resolve_profile("rpi5").unwrap_err();
        assert!(matches!(e, ProfileError::Unknown { .. }), "{e}");
        let help = e.help().map(|h| h.to_string()).unwrap_or_default();
        assert!(help.contains("rpi4") && help.contains("gpu-cloud"), "{help}");
        let e = resolve_profile(dir.join("missing.toml").to_str().unwrap()).unwrap_err();
        assert!(matches!(e, ProfileError::Io { .. }), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
