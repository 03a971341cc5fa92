//! Times calibration (`asplit_passes::plan::calibrate`) of an ONNX model after the default
//! pipeline: `cargo run --release -p asplitc --example calibrate_bench -- MODEL.onnx [N|DIR]`
//! calibrates on N seeded synthetic samples (default 32) or on the sample folder DIR
//! (`asplitc::samples` layout). Prints the layer count, the time of
//! import + pipeline and of calibration, and a few distortion figures. A measurement tool,
//! not a test: it asserts nothing about the time.

use asplit_passes::plan::calibrate::{calibrate, synthetic_samples};
use asplit_passes::plan::layers::LayerGraph;
use asplitc::driver::{load_model, run_passes, PassRequest};
use asplitc::samples::read_samples;
use std::path::PathBuf;
use std::time::Instant;

fn main() -> miette::Result<()> {
    let mut args = std::env::args().skip(1);
    let model = PathBuf::from(args.next().ok_or_else(|| miette::miette!("usage: MODEL [N]"))?);
    let source = args.next().unwrap_or_else(|| "32".into());
    let t0 = Instant::now();
    let mut g = load_model(&model, &[])?;
    run_passes(&mut g, &PassRequest::new(asplit_passes::DEFAULT_PIPELINE))?;
    let layers = LayerGraph::build(&g).map_err(|e| miette::miette!("{e}"))?;
    println!(
        "{}: {} layers, import + pipeline {:.2?}",
        model.display(),
        layers.len(),
        t0.elapsed()
    );
    let samples = if std::path::Path::new(&source).is_dir() {
        read_samples(&g, std::path::Path::new(&source))?.samples
    } else {
        let n = source.parse().map_err(|e| miette::miette!("sample count `{source}`: {e}"))?;
        synthetic_samples(&g, n, 0)
    };
    let count = samples.len();
    let t1 = Instant::now();
    let mut last = Instant::now();
    let cal = calibrate(&g, &layers, &samples, &mut |done, total| {
        if last.elapsed().as_secs() >= 5 || done == total {
            eprintln!("  {done}/{total} runs, {:.1?}", t1.elapsed());
            last = Instant::now();
        }
    })
    .map_err(|e| miette::miette!("{e}"))?;
    let secs = t1.elapsed().as_secs_f64();
    println!(
        "calibration of {count} samples: {secs:.1} s ({:.2} s per sample)",
        secs / count as f64
    );
    for i in [0, layers.len() / 2, layers.len() - 1] {
        let (a, w) = (&cal.act[i], &cal.weight[i]);
        println!(
            "  layer {i} `{}`: act D(2)={:.3e} D(8)={:.3e}, weight D(2)={:.3e} D(8)={:.3e}",
            layers.layers[i].name,
            a.at(2),
            a.at(8),
            w.at(2),
            w.at(8)
        );
    }
    Ok(())
}
