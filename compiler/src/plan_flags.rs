//! The planning flags (clap), shared by `asplitc plan` and `asplitc MODEL -o OUT`, and their
//! conversion into [`PlanSettings`].
//!
//! Only parsing and checking of flag values happens here; the planning itself is in
//! [`crate::plan_cmd`].

use crate::error::DriverError;
use crate::units::{parse_bandwidth, parse_duration, parse_memory};
use asplit_passes::plan::solution::{BitsChoice, SplitChoice};
use std::path::PathBuf;

/// The distortion budget used when neither `--max-distortion` nor `--max-accuracy-drop` is
/// given: total quantization noise at most 5% of the signal power (≈ 13 dB SQNR). Without
/// any budget the fastest solution would be chosen however much accuracy it loses (on the
/// digits CNN, all-2-bit keeps 18% top-1, distortion 1.9; 4-bit keeps 98%, distortion 0.053).
pub const DEFAULT_MAX_DISTORTION: f64 = 0.05;

/// Default number of synthetic calibration samples when no `--calibration` is given.
pub const DEFAULT_SYNTHETIC_SAMPLES: usize = 8;

/// Planning flags.
#[derive(clap::Args, Debug, Clone)]
pub struct PlanFlags {
    /// Uplink bandwidth from the edge to the cloud: 3Mbps, 500kbps, 1.5Gbps, 2MB/s
    /// (SI prefixes: 1 Mbps = 10^6 bit/s).
    #[arg(long, value_name = "RATE", default_value = "3Mbps", help_heading = "Planning")]
    pub bandwidth: String,

    /// Round-trip time added to every transmission: 20ms, 0.1s.
    #[arg(long, value_name = "TIME", default_value = "20ms", help_heading = "Planning")]
    pub rtt: String,

    /// Edge device profile: a built-in name (rpi4, npu-edge, server-cpu, gpu-cloud) or a
    /// TOML file (`asplitc profile` writes one; schema in docs/profiles.md).
    #[arg(long, value_name = "PROFILE", default_value = "rpi4", help_heading = "Planning")]
    pub edge: String,

    /// Cloud device profile: a built-in name or a TOML file.
    #[arg(long, value_name = "PROFILE", default_value = "gpu-cloud", help_heading = "Planning")]
    pub cloud: String,

    /// Edge memory budget for resident weights plus the largest activation buffer:
    /// 4MiB, 512KiB, 1GB.
    #[arg(long, value_name = "SIZE", default_value = "4MiB", help_heading = "Planning")]
    pub edge_memory: String,

    /// Bits per element of the raw model input as the edge holds it: 8 for a camera frame,
    /// 32 for f32. Sets the cloud-only upload size T_0 that every split must beat.
    #[arg(long, value_name = "BITS", default_value_t = 8, help_heading = "Planning")]
    pub input_bits: u8,

    /// Average activation bit budgets tried by the Lagrangian bit allocation.
    #[arg(
        long,
        value_name = "BITS",
        value_delimiter = ',',
        default_value = "2,4,6,8",
        help_heading = "Planning"
    )]
    pub act_budgets: Vec<f64>,

    /// Keep only solutions whose total distortion (the sum over edge tensors of the
    /// quantization noise-to-signal ratio, docs/plan.md) is at most X. Default: 0.05 unless
    /// --max-accuracy-drop is given; `inf` disables the budget.
    #[arg(long, value_name = "X", help_heading = "Planning")]
    pub max_distortion: Option<f64>,

    /// Keep only solutions whose measured top-1 accuracy (or agreement with the float
    /// model) is at most P points below the float model's. Needs --validate.
    #[arg(long, value_name = "P", requires = "validate", help_heading = "Planning")]
    pub max_accuracy_drop: Option<f64>,

    /// Calibration folder: every .npy/.pb file in DIR, in name order, holds samples of the
    /// model input (a leading dimension that is a multiple of the batch size holds several).
    /// Without it, seeded synthetic inputs are used and the plan says so.
    #[arg(long, value_name = "DIR", help_heading = "Planning")]
    pub calibration: Option<PathBuf>,

    /// Validation folder (same layout as --calibration, plus an optional labels.npy of
    /// integer class indices): each solution's quantized plan is run in the interpreter and
    /// its top-1 accuracy (or, without labels, top-1 agreement with the float model) is
    /// reported.
    #[arg(long, value_name = "DIR", help_heading = "Planning")]
    pub validate: Option<PathBuf>,

    /// Where to split: auto (search), cloud-only, edge-only, or a layer count N (layers
    /// 0..N on the edge; `asplitc plan` lists the layers in plan.json).
    #[arg(long, value_name = "SPLIT", default_value = "auto", help_heading = "Planning")]
    pub split: String,

    /// Edge bit-widths: auto (search), a number 2..=8 for every edge weight and activation,
    /// or f32 (a float edge).
    #[arg(long, value_name = "BITS", default_value = "auto", help_heading = "Planning")]
    pub bits: String,
}

/// Planning settings, checked.
#[derive(Clone, Debug)]
pub struct PlanSettings {
    /// Uplink, bit/s.
    pub bandwidth_bps: f64,
    /// Round-trip time, s.
    pub rtt_s: f64,
    /// Edge profile (name or file).
    pub edge: String,
    /// Cloud profile (name or file).
    pub cloud: String,
    /// Edge memory budget, bytes.
    pub edge_memory_bytes: u64,
    /// Bits per raw input element.
    pub input_bits: u8,
    /// Average activation bit budgets.
    pub act_budgets: Vec<f64>,
    /// Distortion budget.
    pub max_distortion: Option<f64>,
    /// Accuracy drop budget, points.
    pub max_accuracy_drop: Option<f64>,
    /// Calibration folder.
    pub calibration: Option<PathBuf>,
    /// Synthetic samples without a calibration folder.
    pub synthetic_samples: usize,
    /// Validation folder.
    pub validate: Option<PathBuf>,
    /// `--split`.
    pub split: SplitChoice,
    /// `--bits`.
    pub bits: BitsChoice,
}

impl PlanFlags {
    /// Parses planning flags given as on the command line (`["--split", "1", "--bits",
    /// "4"]`), every other flag at its default: for library users and tests.
    pub fn from_args<'a>(args: impl IntoIterator<Item = &'a str>) -> Result<Self, DriverError> {
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            flags: PlanFlags,
        }
        let argv = std::iter::once("asplitc").chain(args);
        <Wrapper as clap::Parser>::try_parse_from(argv)
            .map(|w| w.flags)
            .map_err(|e| DriverError::Flag { flag: "planning flags", message: e.to_string() })
    }

    /// Checks and converts the flags.
    pub fn settings(&self) -> Result<PlanSettings, DriverError> {
        let flag = |flag: &'static str| move |e: crate::units::UnitError| flag_error(flag, e);
        if !(1..=32).contains(&self.input_bits) {
            return Err(flag_error(
                "--input-bits",
                format!("{} is not in 1..=32", self.input_bits),
            ));
        }
        if let Some(b) =
            self.act_budgets.iter().find(|b| !(b.is_finite() && (2.0..=8.0).contains(*b)))
        {
            return Err(flag_error(
                "--act-budgets",
                format!("{b} is not an average bit-width in 2..=8"),
            ));
        }
        if let Some(x) = self.max_distortion.filter(|x| x.is_nan() || *x < 0.0) {
            return Err(flag_error(
                "--max-distortion",
                format!("{x} is not a non-negative number"),
            ));
        }
        if let Some(p) = self.max_accuracy_drop.filter(|p| !(p.is_finite() && *p >= 0.0)) {
            return Err(flag_error(
                "--max-accuracy-drop",
                format!("{p} is not a non-negative number of points"),
            ));
        }
        Ok(PlanSettings {
            bandwidth_bps: parse_bandwidth(&self.bandwidth).map_err(flag("--bandwidth"))?,
            rtt_s: parse_duration(&self.rtt).map_err(flag("--rtt"))?,
            edge: self.edge.clone(),
            cloud: self.cloud.clone(),
            edge_memory_bytes: parse_memory(&self.edge_memory).map_err(flag("--edge-memory"))?,
            input_bits: self.input_bits,
            act_budgets: self.act_budgets.clone(),
            max_distortion: self.distortion_budget(),
            max_accuracy_drop: self.max_accuracy_drop,
            calibration: self.calibration.clone(),
            synthetic_samples: DEFAULT_SYNTHETIC_SAMPLES,
            validate: self.validate.clone(),
            split: parse_split(&self.split)?,
            bits: parse_bits(&self.bits)?,
        })
    }
}

impl PlanFlags {
    /// `--max-distortion`, its default without an accuracy budget, none for `inf`.
    fn distortion_budget(&self) -> Option<f64> {
        match (self.max_distortion, self.max_accuracy_drop) {
            (Some(x), _) if x.is_infinite() => None,
            (Some(x), _) => Some(x),
            (None, Some(_)) => None,
            (None, None) => Some(DEFAULT_MAX_DISTORTION),
        }
    }
}

/// `auto`, `cloud-only`, `edge-only` or a layer count.
pub fn parse_split(s: &str) -> Result<SplitChoice, DriverError> {
    match s {
        "auto" => Ok(SplitChoice::Auto),
        "cloud-only" => Ok(SplitChoice::CloudOnly),
        "edge-only" => Ok(SplitChoice::EdgeOnly),
        n => n.parse::<usize>().map(SplitChoice::Layer).map_err(|_| {
            flag_error(
                "--split",
                format!("`{n}` is not auto, cloud-only, edge-only or a layer count"),
            )
        }),
    }
}

/// `auto`, `f32` or a bit-width 2..=8.
pub fn parse_bits(s: &str) -> Result<BitsChoice, DriverError> {
    match s {
        "auto" => Ok(BitsChoice::Auto),
        "f32" => Ok(BitsChoice::F32),
        n => match n.parse::<u8>() {
            Ok(b) if (2..=8).contains(&b) => Ok(BitsChoice::Uniform(b)),
            _ => Err(flag_error("--bits", format!("`{n}` is not auto, f32 or a bit-width 2..=8"))),
        },
    }
}

fn flag_error(flag: &'static str, message: impl ToString) -> DriverError {
    DriverError::Flag { flag, message: message.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_bits_values() {
        assert_eq!(parse_split("auto").unwrap(), SplitChoice::Auto);
        assert_eq!(parse_split("edge-only").unwrap(), SplitChoice::EdgeOnly);
        assert_eq!(parse_split("12").unwrap(), SplitChoice::Layer(12));
        assert!(parse_split("middle").is_err());
        assert_eq!(parse_bits("4").unwrap(), BitsChoice::Uniform(4));
        assert_eq!(parse_bits("f32").unwrap(), BitsChoice::F32);
        assert!(parse_bits("1").is_err());
        assert!(parse_bits("16").is_err());
    }
}
