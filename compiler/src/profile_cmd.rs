//! `asplitc profile`: measures this machine and writes a device profile (docs/profiles.md).
//!
//! Every figure is timed on asplitc's own reference interpreter kernels, each measurement
//! time-boxed so the whole command takes about two seconds:
//! - peak f32 MAC/s: a 256×512·512×256 matmul (the interpreter's GEMM, `matrixmultiply`,
//!   which picks AVX/FMA/NEON kernels at run time) on every hardware thread at once; the
//!   single-thread peak is the fastest rate of that matmul, the conv and the small matmul
//!   below on one thread;
//! - memory bandwidth: a 64 MiB buffer copied on every thread at once, counted as bytes
//!   read plus bytes written (the STREAM "copy" convention);
//! - per-layer overhead: a chain of 32 relu ops on 4 elements, time per op;
//! - efficiencies: a 3×3 conv, a depthwise 3×3 conv and a 16-row matmul, single-threaded,
//!   as fractions of the single-thread peak, and a 4M-element relu as a fraction of the
//!   single-thread copy bandwidth (the profile assumes a layer spreads over all threads as
//!   well as the GEMM does). Figures are rounded to three significant digits.
//!
//! Integer and f16 peaks are not measured: the profile omits them, so they run at the f32
//! rate (docs/profiles.md). This file measures and writes; it does not plan.

use crate::error::DriverError;
use asplit_ir::interp;
use asplit_ir::parse::parse;
use asplit_ir::Graph;
use asplit_passes::plan::profile::{DeviceProfile, Efficiency, PeakMacs};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// `asplitc profile [--out FILE] [--name NAME]`.
#[derive(Debug, Clone)]
pub struct ProfileRequest {
    /// Where to write the TOML profile; stdout when `None`.
    pub out: Option<PathBuf>,
    /// The profile's `name`.
    pub name: String,
}

/// What one run of the measurements found.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Hardware threads used for the aggregate figures.
    pub threads: usize,
    /// f32 MAC/s of the GEMM on one thread.
    pub single_thread_macs_per_s: f64,
    /// f32 MAC/s of the GEMM on every thread at once (at least the single-thread figure).
    pub macs_per_s: f64,
    /// Copy bandwidth on one thread, bytes/s.
    pub single_thread_bytes_per_s: f64,
    /// Copy bandwidth on every thread at once, bytes/s.
    pub bytes_per_s: f64,
    /// Seconds per tiny op.
    pub layer_overhead_s: f64,
    /// Conv, depthwise conv, matmul and elementwise efficiencies, each in (0, 1].
    pub efficiency: Efficiency,
    /// Wall time of all measurements, seconds.
    pub elapsed_s: f64,
}

/// Time box per measurement.
const BUDGET: Duration = Duration::from_millis(180);

/// Efficiencies are clamped to [`MIN_EFFICIENCY`, 1].
const MIN_EFFICIENCY: f64 = 0.01;

const COPY_BYTES: usize = 64 << 20;

const PEAK: &str = r#"
graph @peak() {
  %a = const {value = tensor<f32[256, 512]: random(seed = 1)>} : f32[256, 512]
  %b = const {value = tensor<f32[512, 256]: random(seed = 2)>} : f32[512, 256]
  %c = matmul(%a, %b) : f32[256, 256]
  return %c
}
"#;
const PEAK_MACS: f64 = 256.0 * 512.0 * 256.0;

const CONV: &str = r#"
graph @conv() {
  %x = const {value = tensor<f32[1, 64, 28, 28]: random(seed = 1)>} : f32[1, 64, 28, 28]
  %w = const {value = tensor<f32[64, 64, 3, 3]: random(seed = 2)>} : f32[64, 64, 3, 3]
  %y = conv(%x, %w) {strides = [1, 1], dilations = [1, 1], pads = [1, 1, 1, 1]} : f32[1, 64, 28, 28]
  return %y
}
"#;
const CONV_MACS: f64 = 64.0 * 784.0 * 64.0 * 9.0;

const DEPTHWISE: &str = r#"
graph @depthwise() {
  %x = const {value = tensor<f32[1, 128, 28, 28]: random(seed = 1)>} : f32[1, 128, 28, 28]
  %w = const {value = tensor<f32[128, 1, 3, 3]: random(seed = 2)>} : f32[128, 1, 3, 3]
  %y = conv(%x, %w) {strides = [1, 1], dilations = [1, 1], pads = [1, 1, 1, 1], group = 128} : f32[1, 128, 28, 28]
  return %y
}
"#;
const DEPTHWISE_MACS: f64 = 128.0 * 784.0 * 9.0;

const GEMM: &str = r#"
graph @gemm() {
  %a = const {value = tensor<f32[16, 512]: random(seed = 1)>} : f32[16, 512]
  %b = const {value = tensor<f32[512, 512]: random(seed = 2)>} : f32[512, 512]
  %c = matmul(%a, %b) : f32[16, 512]
  return %c
}
"#;
const GEMM_MACS: f64 = 16.0 * 512.0 * 512.0;

const ELEMENTWISE: &str = r#"
graph @elementwise() {
  %x = const {value = tensor<f32[4, 1048576]: random(seed = 1)>} : f32[4, 1048576]
  %y = relu(%x) : f32[4, 1048576]
  return %y
}
"#;
const ELEMENTWISE_BYTES: f64 = 2.0 * 4.0 * 4.0 * 1048576.0;

const TINY_OPS: usize = 32;

/// Runs the command: measures, then writes the profile to `--out` (with a summary on
/// stderr) or prints it.
pub fn run(req: &ProfileRequest) -> Result<(), DriverError> {
    // Open the output first so a bad path fails before two seconds of measuring.
    let file = match &req.out {
        Some(path) => {
            Some(std::fs::File::create(path).map_err(|e| DriverError::io("write", path, e))?)
        }
        None => None,
    };
    let m = measure()?;
    let text = render(&host_profile(&req.name, &m), &m);
    match (file, &req.out) {
        (Some(mut file), Some(path)) => {
            file.write_all(text.as_bytes()).map_err(|e| DriverError::io("write", path, e))?;
            eprintln!("wrote {}: {}", path.display(), summary(&m));
        }
        _ => print!("{text}"),
    }
    Ok(())
}

/// Runs every measurement.
pub fn measure() -> Result<Measurement, DriverError> {
    let start = Instant::now();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let peak = parse(PEAK)?;
    let gemm_rate = PEAK_MACS / best_run_seconds(&peak)?;
    let conv_rate = CONV_MACS / best_run_seconds(&parse(CONV)?)?;
    let depthwise_rate = DEPTHWISE_MACS / best_run_seconds(&parse(DEPTHWISE)?)?;
    let small_gemm_rate = GEMM_MACS / best_run_seconds(&parse(GEMM)?)?;
    // The single-thread peak is the fastest rate any kernel reached.
    let single_thread_macs_per_s = gemm_rate.max(conv_rate).max(small_gemm_rate);
    let macs_per_s = aggregate_macs_per_s(&peak, threads)?.max(single_thread_macs_per_s);
    let single_thread_bytes_per_s = copy_bytes_per_s(1);
    let bytes_per_s = copy_bytes_per_s(threads).max(single_thread_bytes_per_s);
    let elementwise_rate = ELEMENTWISE_BYTES / best_run_seconds(&parse(ELEMENTWISE)?)?;
    let layer_overhead_s = tiny_op_seconds()?;
    let of_peak = |rate: f64| round(clamp_efficiency(rate / single_thread_macs_per_s));
    let efficiency = Efficiency {
        conv: of_peak(conv_rate),
        depthwise: of_peak(depthwise_rate),
        gemm: of_peak(small_gemm_rate),
        elementwise: round(clamp_efficiency(elementwise_rate / single_thread_bytes_per_s)),
    };
    Ok(Measurement {
        threads,
        single_thread_macs_per_s,
        macs_per_s: round(macs_per_s),
        single_thread_bytes_per_s,
        bytes_per_s: round(bytes_per_s),
        layer_overhead_s: round(layer_overhead_s),
        efficiency,
        elapsed_s: start.elapsed().as_secs_f64(),
    })
}

/// The profile a measurement describes.
pub fn host_profile(name: &str, m: &Measurement) -> DeviceProfile {
    DeviceProfile {
        name: name.to_string(),
        description: format!(
            "measured by `asplitc profile` on {} hardware threads (one thread: {:.1} GMAC/s \
             f32, {:.1} GB/s copy)",
            m.threads,
            m.single_thread_macs_per_s / 1e9,
            m.single_thread_bytes_per_s / 1e9
        ),
        memory_bytes_per_s: m.bytes_per_s,
        layer_overhead_s: m.layer_overhead_s,
        peak_macs_per_s: PeakMacs {
            f32: m.macs_per_s,
            f16: None,
            int8: None,
            int4: None,
            int2: None,
        },
        efficiency: m.efficiency.clone(),
        measured_s: BTreeMap::new(),
    }
}

/// The TOML file: a comment header, then the profile.
pub fn render(p: &DeviceProfile, m: &Measurement) -> String {
    format!(
        "# Device profile measured by `asplitc profile` in {:.2} s (schema: docs/profiles.md).\n\
         # Peaks and efficiencies come from asplitc's interpreter kernels; int8/f16 were not\n\
         # measured, so they run at the f32 rate. Edit freely.\n{}",
        m.elapsed_s,
        p.to_toml()
    )
}

/// One line for stderr.
fn summary(m: &Measurement) -> String {
    format!(
        "f32 {:.1} GMAC/s, memory {:.1} GB/s, {:.1} µs per layer ({} threads, {:.2} s)",
        m.macs_per_s / 1e9,
        m.bytes_per_s / 1e9,
        m.layer_overhead_s * 1e6,
        m.threads,
        m.elapsed_s
    )
}

/// `x` to three significant digits (measurements are not more precise than that).
fn round(x: f64) -> f64 {
    format!("{x:.2e}").parse().unwrap_or(x)
}

fn clamp_efficiency(e: f64) -> f64 {
    if e.is_finite() {
        e.clamp(MIN_EFFICIENCY, 1.0)
    } else {
        1.0
    }
}

/// Runs `f` repeatedly for [`BUDGET`] (at least once) and returns the fastest run, seconds.
fn best_of(mut f: impl FnMut() -> Result<(), DriverError>) -> Result<f64, DriverError> {
    let start = Instant::now();
    let mut best = f64::INFINITY;
    loop {
        let t = Instant::now();
        f()?;
        best = best.min(t.elapsed().as_secs_f64());
        if start.elapsed() >= BUDGET {
            return Ok(best.max(1e-9));
        }
    }
}

/// Fastest interpreter run of `g` (a graph without inputs).
fn best_run_seconds(g: &Graph) -> Result<f64, DriverError> {
    best_of(|| {
        black_box(interp::run(g, &[])?);
        Ok(())
    })
}

/// MAC/s of `g` (the peak GEMM) run on `threads` threads at once for [`BUDGET`].
fn aggregate_macs_per_s(g: &Graph, threads: usize) -> Result<f64, DriverError> {
    let start = Instant::now();
    let runs: Result<Vec<usize>, DriverError> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> Result<usize, DriverError> {
                    let mut n = 0;
                    while n == 0 || start.elapsed() < BUDGET {
                        black_box(interp::run(g, &[])?);
                        n += 1;
                    }
                    Ok(n)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(Ok(0))).collect()
    });
    let total: usize = runs?.iter().sum();
    Ok(total as f64 * PEAK_MACS / start.elapsed().as_secs_f64())
}

/// Bytes/s (read + written) of copying [`COPY_BYTES`] split over `threads` threads.
fn copy_bytes_per_s(threads: usize) -> f64 {
    let src = vec![1u8; COPY_BYTES];
    let mut dst = vec![0u8; COPY_BYTES];
    let chunk = COPY_BYTES.div_ceil(threads.max(1));
    let mut copy = || {
        std::thread::scope(|s| {
            for (d, src) in dst.chunks_mut(chunk).zip(src.chunks(chunk)) {
                s.spawn(move || d.copy_from_slice(src));
            }
        });
        black_box(&dst);
        Ok(())
    };
    let best = best_of(&mut copy).unwrap_or(f64::INFINITY);
    2.0 * COPY_BYTES as f64 / best
}

/// Seconds per op of a chain of tiny relus.
fn tiny_op_seconds() -> Result<f64, DriverError> {
    let mut src = String::from(
        "graph @tiny() {\n  %v0 = const {value = tensor<f32[4]: random(seed = 1)>} : f32[4]\n",
    );
    for i in 1..=TINY_OPS {
        src.push_str(&format!("  %v{i} = relu(%v{}) : f32[4]\n", i - 1));
    }
    src.push_str(&format!("  return %v{TINY_OPS}\n}}\n"));
    Ok(best_run_seconds(&parse(&src)?)? / TINY_OPS as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_measurement_graphs_parse_and_their_mac_counts_match_the_layer_view() {
        use asplit_passes::plan::layers::LayerGraph;
        for (src, macs) in
            [(PEAK, PEAK_MACS), (CONV, CONV_MACS), (DEPTHWISE, DEPTHWISE_MACS), (GEMM, GEMM_MACS)]
        {
            let g = parse(src).unwrap();
            let l = LayerGraph::build(&g).unwrap();
            assert_eq!(l.layers[0].macs as f64, macs);
        }
    }

    #[test]
    fn efficiencies_are_clamped_into_range() {
        assert_eq!(clamp_efficiency(3.0), 1.0);
        assert_eq!(clamp_efficiency(0.0), MIN_EFFICIENCY);
        assert_eq!(clamp_efficiency(f64::NAN), 1.0);
        assert_eq!(clamp_efficiency(0.5), 0.5);
        assert_eq!(round(0.123456), 0.123);
        assert_eq!(round(40275563764.4), 4.03e10);
    }
}
