//! Sample folders: the inputs of `--calibration DIR` and `--validate DIR`.
//!
//! Layout (documented in docs/plan.md and `asplitc plan --help`):
//!
//! - every `.npy` / `.pb` file directly in DIR (extension case-insensitive), in file-name
//!   order, holds samples; other files and subdirectories are ignored;
//! - a file's tensor has the model input's dtype and either exactly the input's shape (one
//!   sample) or the input's shape with a leading dimension `k·B`, where `B` is the input's
//!   batch size (its first dimension): it is split along axis 0 into `k` samples of `B`
//!   items each. A leading dimension that is not a multiple of `B` is an error naming the
//!   file;
//! - `labels.npy` (or `labels.pb`) is not a sample: it holds integer class indices ≥ 0, one
//!   per item (`samples × B` of them, any shape, read in row-major order) in the same order;
//!   it is optional;
//! - a model with several inputs reads, for input `NAME`, the files whose name starts with
//!   `NAME_` (the longest matching input name wins, so `x_mask_0.npy` belongs to `x_mask`
//!   rather than to `x`); every input must get the same number of samples, and a sample
//!   file matching no input is an error.
//!
//! This file reads and checks folders; it does not run models nor decide how many samples
//! a command uses.

use crate::error::DriverError;
use crate::tensor_io::{describe_inputs, read_tensor};
use asplit_ir::attr::{Attr, Attrs};
use asplit_ir::interp::eval_node;
use asplit_ir::{DType, Graph, OpKind, Tensor, TensorType, ValueId};
use miette::Diagnostic;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Base names (before the extension) of the labels file.
const LABELS_STEM: &str = "labels";

/// A malformed sample folder.
#[derive(Debug, Error, Diagnostic)]
pub enum SamplesError {
    /// The folder holds no sample file.
    #[error("`{dir}` holds no .npy or .pb sample file{}", if *.labels_only { " (labels.npy is not a sample)" } else { "" })]
    #[diagnostic(code(asplitc::samples::empty), help("{layout}"))]
    Empty {
        /// The folder.
        dir: PathBuf,
        /// Only a labels file was found.
        labels_only: bool,
        /// The layout reminder.
        layout: &'static str,
    },
    /// A sample file does not fit the model input.
    #[error("sample file `{path}`: {message}")]
    #[diagnostic(code(asplitc::samples::shape), help("{inputs}"))]
    Sample {
        /// The file.
        path: PathBuf,
        /// What does not fit.
        message: String,
        /// The model's inputs.
        inputs: String,
    },
    /// The labels file is malformed or does not match the samples.
    #[error("labels file `{path}`: {message}")]
    #[diagnostic(code(asplitc::samples::labels))]
    Labels {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A multi-input folder whose files do not line up with the inputs.
    #[error("`{dir}`: {message}")]
    #[diagnostic(code(asplitc::samples::inputs), help("{layout} {inputs}"))]
    Inputs {
        /// The folder.
        dir: PathBuf,
        /// What is wrong.
        message: String,
        /// The layout reminder.
        layout: &'static str,
        /// The model's inputs.
        inputs: String,
    },
}

/// The folder layout in one sentence, for help lines.
pub const LAYOUT: &str =
    "a sample folder holds .npy/.pb files (read in name order), each with the \
model input's shape or with a leading dimension that is a multiple of the input's batch size; \
labels.npy (integer class indices, one per item) is optional; with several model inputs, input \
NAME reads the files named NAME_*.";

/// Samples read from a folder.
#[derive(Clone, Debug)]
pub struct SampleSet {
    /// One tensor per graph input for each sample, in folder order.
    pub samples: Vec<Vec<Tensor>>,
    /// Class index of every item (`samples.len() × batch`), when `labels.npy` exists.
    pub labels: Option<Vec<i64>>,
    /// Items per sample: the first input's batch size (1 for a rank-0 input).
    pub batch: usize,
    /// Where each sample came from (`file` or `file[k]`), for messages.
    pub sources: Vec<String>,
}

impl SampleSet {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// True when there are none (never, for a set read from a folder).
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The labels of sample `i` (`batch` of them), when there are labels.
    pub fn labels_of(&self, i: usize) -> Option<&[i64]> {
        let l = self.labels.as_ref()?;
        l.get(i * self.batch..(i + 1) * self.batch)
    }
}

/// Reads the sample folder `dir` for model `g` (see the module doc for the layout).
pub fn read_samples(g: &Graph, dir: &Path) -> Result<SampleSet, DriverError> {
    let (files, labels_file) = list_folder(dir)?;
    if files.is_empty() {
        let labels_only = labels_file.is_some();
        return Err(
            SamplesError::Empty { dir: dir.to_path_buf(), labels_only, layout: LAYOUT }.into()
        );
    }
    let groups = assign_files(g, dir, files)?;
    let mut per_input: Vec<Vec<(Tensor, String)>> = Vec::with_capacity(g.inputs.len());
    for (&v, paths) in g.inputs.iter().zip(&groups) {
        let mut chunks = Vec::new();
        for path in paths {
            chunks.extend(read_chunks(g, v, path)?);
        }
        per_input.push(chunks);
    }
    let (samples, sources) = zip_inputs(g, dir, per_input)?;
    let batch = g.inputs.first().map_or(1, |&v| batch_size(g.ty(v)));
    let labels = match labels_file {
        Some(path) => Some(read_labels(&path, samples.len() * batch)?),
        None => None,
    };
    Ok(SampleSet { samples, labels, batch, sources })
}

/// Sample files in name order, and the labels file if present.
fn list_folder(dir: &Path) -> Result<(Vec<PathBuf>, Option<PathBuf>), DriverError> {
    let entries = std::fs::read_dir(dir).map_err(|e| DriverError::io("read directory", dir, e))?;
    let mut files = Vec::new();
    let mut labels = None;
    for entry in entries {
        let path = entry.map_err(|e| DriverError::io("read directory", dir, e))?.path();
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        if !matches!(ext.as_deref(), Some("npy" | "pb")) || path.is_dir() {
            continue;
        }
        if path.file_stem().and_then(|s| s.to_str()) == Some(LABELS_STEM) {
            if labels.is_some() {
                let message = "both labels.npy and labels.pb exist; keep one".to_string();
                return Err(SamplesError::Labels { path, message }.into());
            }
            labels = Some(path);
        } else {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok((files, labels))
}

/// Splits the sample files between the graph inputs (all to the only input, or by
/// `NAME_` prefix).
fn assign_files(
    g: &Graph,
    dir: &Path,
    files: Vec<PathBuf>,
) -> Result<Vec<Vec<PathBuf>>, DriverError> {
    let bad = |message: String| SamplesError::Inputs {
        dir: dir.to_path_buf(),
        message,
        layout: LAYOUT,
        inputs: describe_inputs(g),
    };
    match g.inputs.len() {
        0 => Err(bad("the model has no inputs to feed samples to".into()).into()),
        1 => Ok(vec![files]),
        n => {
            let names: Vec<String> = (0..n).map(|i| input_name(g, i)).collect();
            let mut groups = vec![Vec::new(); n];
            for path in files {
                let file = path.file_name().and_then(|f| f.to_str()).unwrap_or_default();
                let owner = (0..n)
                    .filter(|&i| file.starts_with(&format!("{}_", names[i])))
                    .max_by_key(|&i| names[i].len());
                let Some(i) = owner else {
                    return Err(bad(format!(
                        "`{file}` does not start with the name of a model input followed by `_`"
                    ))
                    .into());
                };
                groups[i].push(path);
            }
            if let Some(i) = groups.iter().position(Vec::is_empty) {
                let name = &names[i];
                return Err(
                    bad(format!("no sample file for input `{name}` (`{name}_*.npy`)")).into()
                );
            }
            Ok(groups)
        }
    }
}

/// The source name of graph input `i`, or `input<i>`.
fn input_name(g: &Graph, i: usize) -> String {
    g.inputs.get(i).and_then(|&v| g.values[v].name.clone()).unwrap_or_else(|| format!("input{i}"))
}

/// Batch size of an input type: its first dimension (1 for a scalar).
fn batch_size(ty: &TensorType) -> usize {
    ty.shape.first().copied().unwrap_or(1)
}

/// Reads one file for graph input `v` and splits it into samples.
fn read_chunks(g: &Graph, v: ValueId, path: &Path) -> Result<Vec<(Tensor, String)>, DriverError> {
    let t = read_tensor(path)?;
    let want = g.ty(v);
    let bad = |message: String| -> DriverError {
        SamplesError::Sample { path: path.to_path_buf(), message, inputs: describe_inputs(g) }
            .into()
    };
    if t.dtype() != want.dtype {
        let hint = if t.dtype() == DType::F64 && want.dtype == DType::F32 {
            " (save it with .astype(numpy.float32))"
        } else {
            ""
        };
        return Err(bad(format!("holds {}, the model input is {want}{hint}", t.ty())));
    }
    let name = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    if t.shape() == want.shape.as_slice() {
        return Ok(vec![(t, name)]);
    }
    let batch = batch_size(want);
    let same_items = !want.shape.is_empty()
        && t.shape().len() == want.shape.len()
        && t.shape()[1..] == want.shape[1..];
    let lead = t.shape().first().copied().unwrap_or(0);
    if !same_items || batch == 0 || lead == 0 {
        return Err(bad(format!(
            "holds {}, the model input is {want}: expected that shape, or a leading dimension \
             that is a multiple of the batch size {batch}",
            t.ty()
        )));
    }
    if lead % batch != 0 {
        return Err(bad(format!(
            "its leading dimension {lead} is not a multiple of the model's batch size {batch}"
        )));
    }
    (0..lead / batch)
        .map(|k| Ok((slice_rows(&t, k * batch, batch, want)?, format!("{name}[{k}]"))))
        .collect::<Result<_, String>>()
        .map_err(bad)
}

/// Rows `start..start + count` of `t` along axis 0, typed `ty`.
fn slice_rows(t: &Tensor, start: usize, count: usize, ty: &TensorType) -> Result<Tensor, String> {
    let attrs = Attrs::new()
        .with("starts", Attr::Ints(vec![start as i64]))
        .with("ends", Attr::Ints(vec![(start + count) as i64]))
        .with("axes", Attr::Ints(vec![0]))
        .with("steps", Attr::Ints(vec![1]));
    let mut out = eval_node(OpKind::Slice, &attrs, &[t], std::slice::from_ref(ty))
        .map_err(|e| format!("cannot split it along axis 0: {e}"))?;
    out.pop().ok_or_else(|| "cannot split it along axis 0".to_string())
}

/// Turns per-input chunk lists into samples; every input must have the same count.
type Zipped = (Vec<Vec<Tensor>>, Vec<String>);

fn zip_inputs(
    g: &Graph,
    dir: &Path,
    per_input: Vec<Vec<(Tensor, String)>>,
) -> Result<Zipped, DriverError> {
    let counts: Vec<usize> = per_input.iter().map(Vec::len).collect();
    if counts.windows(2).any(|w| w[0] != w[1]) {
        let list: Vec<String> = counts
            .iter()
            .enumerate()
            .map(|(i, c)| format!("`{}`: {c}", input_name(g, i)))
            .collect();
        return Err(SamplesError::Inputs {
            dir: dir.to_path_buf(),
            message: format!("the inputs get different sample counts ({})", list.join(", ")),
            layout: LAYOUT,
            inputs: describe_inputs(g),
        }
        .into());
    }
    let n = counts.first().copied().unwrap_or(0);
    let mut samples: Vec<Vec<Tensor>> = (0..n).map(|_| Vec::with_capacity(counts.len())).collect();
    let mut sources: Vec<Vec<String>> = vec![Vec::new(); n];
    for chunks in per_input {
        for (k, (t, src)) in chunks.into_iter().enumerate() {
            samples[k].push(t);
            sources[k].push(src);
        }
    }
    Ok((samples, sources.into_iter().map(|s| s.join(" + ")).collect()))
}

/// Reads the labels: integer class indices ≥ 0, `want` of them.
fn read_labels(path: &Path, want: usize) -> Result<Vec<i64>, DriverError> {
    let t = read_tensor(path)?;
    let bad = |message: String| -> DriverError {
        SamplesError::Labels { path: path.to_path_buf(), message }.into()
    };
    if !t.dtype().is_int() {
        return Err(bad(format!("holds {}, class indices must be integers", t.ty())));
    }
    if t.numel() != want {
        return Err(bad(format!(
            "holds {} label(s), the folder has {want} sample item(s)",
            t.numel()
        )));
    }
    let labels = t.data().to_i64_vec();
    if let Some((i, l)) = labels.iter().enumerate().find(|(_, &l)| l < 0) {
        return Err(bad(format!("label {i} is {l}, class indices are ≥ 0")));
    }
    Ok(labels)
}
