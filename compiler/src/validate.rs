//! `--validate DIR`: the accuracy of every solution, measured by running its quantized
//! Split-phase IR in the reference interpreter.
//!
//! For each solution the graph is annotated with the solution's placement and bits
//! (`annotate`), lowered by `insert-boundary` (quantize → dequantize on edge tensors and
//! weights, quantize → pack → send │ recv → unpack → dequantize at the cut) and run on every
//! validation sample. The metric is top-1 over the last axis of the first output: accuracy
//! against `labels.npy` when the folder has one, else agreement with the float model's top-1.
//! With `--max-accuracy-drop P`, the chosen solution is re-chosen among the auto-split ones
//! that lose at most P points. This file does not search or price solutions.

use crate::error::DriverError;
use crate::plan_cmd::{plan_error, progress_bar, Planned, Validation};
use crate::samples::SampleSet;
use asplit_ir::{Graph, Tensor};
use asplit_passes::exact_conv::exact_conv;
use asplit_passes::insert_boundary::{annotate, insert_boundary};
use asplit_passes::plan::search::split_spec;
use asplit_passes::plan::solution::{choose, Solution};

/// Measures every solution's accuracy in points (0–100) and applies `max_drop`.
pub fn validate_plan(
    g: &Graph,
    planned: &mut Planned,
    set: &SampleSet,
    max_drop: Option<f64>,
) -> Result<(), DriverError> {
    let reference = top1_of_graph(g, set)?;
    let truth = match &set.labels {
        Some(labels) => labels.clone(),
        None => reference.iter().map(|&c| c as i64).collect(),
    };
    let float_accuracy = accuracy(&reference, &truth);
    let bar = progress_bar(planned.plan.solutions.len() as u64, "validating");
    for i in 0..planned.plan.solutions.len() {
        let sol = planned.plan.solutions[i].clone();
        let top1 = top1_of_solution(g, planned, &sol, set)?;
        planned.plan.solutions[i].accuracy = Some(accuracy(&top1, &truth));
        bar.inc(1);
    }
    bar.finish_and_clear();
    let what = if set.labels.is_some() { "top-1 accuracy" } else { "top-1 agreement" };
    planned.validation = Some(Validation {
        items: truth.len(),
        metric: if set.labels.is_some() { "top1-accuracy" } else { "top1-agreement" },
        reference: float_accuracy,
    });
    planned.plan.warnings.push(format!(
        "accuracy measured on {} validation item(s): float model {what} {float_accuracy:.2}%",
        truth.len()
    ));
    if let Some(drop) = max_drop {
        rechoose(planned, float_accuracy - drop, drop)?;
    }
    Ok(())
}

/// Chooses again among auto-split solutions whose accuracy is at least `min`.
fn rechoose(planned: &mut Planned, min: f64, drop: f64) -> Result<(), DriverError> {
    match choose(&planned.plan.solutions, Some(min)) {
        Some(i) => {
            // The chosen solution is listed first (table and plan.json).
            let chosen = planned.plan.solutions.remove(i);
            planned.plan.solutions.insert(0, chosen);
            planned.plan.chosen = 0;
            Ok(())
        }
        None => {
            let best = planned
                .plan
                .solutions
                .iter()
                .filter(|s| !s.kind.is_baseline())
                .filter_map(|s| s.accuracy)
                .fold(f64::NAN, f64::max);
            Err(plan_error(format!(
                "no auto-split solution stays within --max-accuracy-drop {drop} (needs ≥ {min:.2}%; \
                 the best measured is {best:.2}%): allow a larger drop, more memory or \
                 bandwidth, or use --split/--bits"
            )))
        }
    }
}

/// Top-1 of every item of every sample under the float graph.
fn top1_of_graph(g: &Graph, set: &SampleSet) -> Result<Vec<usize>, DriverError> {
    let mut out = Vec::new();
    for sample in &set.samples {
        let outputs = asplit_ir::interp::run(g, sample)?;
        out.extend(top1(first_output(&outputs)?, set.batch)?);
    }
    Ok(out)
}

/// Top-1 of every item under one solution's Split-phase IR.
fn top1_of_solution(
    g: &Graph,
    planned: &Planned,
    sol: &Solution,
    set: &SampleSet,
) -> Result<Vec<usize>, DriverError> {
    let split = split_graph(g, planned, sol)?;
    top1_of_graph(&split, set)
}

/// `g` annotated with `sol`, lowered by insert-boundary, with its edge convs made exact
/// (exact-conv): the Split IR both programs are compiled from.
pub fn split_graph(g: &Graph, planned: &Planned, sol: &Solution) -> Result<Graph, DriverError> {
    let spec = split_spec(sol, g, &planned.layers, &planned.calibration).map_err(plan_error)?;
    let mut split = g.clone();
    annotate(&mut split, &spec).map_err(plan_error)?;
    insert_boundary(&mut split).map_err(plan_error)?;
    exact_conv(&mut split).map_err(plan_error)?;
    Ok(split)
}

fn first_output(outputs: &[Tensor]) -> Result<&Tensor, DriverError> {
    outputs.first().ok_or_else(|| plan_error("--validate: the model has no output"))
}

/// Index of the largest value along the last axis, per batch item.
fn top1(t: &Tensor, batch: usize) -> Result<Vec<usize>, DriverError> {
    let v = t.data().to_f64_vec();
    let classes = t.shape().last().copied().unwrap_or(1).max(1);
    let rows = v.len() / classes;
    if rows != batch.max(1) {
        return Err(plan_error(format!(
            "--validate: the first output has shape {:?}, expected {} row(s) of class scores",
            t.shape(),
            batch.max(1)
        )));
    }
    Ok(v.chunks(classes)
        .map(|row| {
            row.iter()
                .enumerate()
                .fold(
                    (0, f64::NEG_INFINITY),
                    |(bi, bv), (i, &x)| if x > bv { (i, x) } else { (bi, bv) },
                )
                .0
        })
        .collect())
}

/// Percentage of positions where `got` equals `want`.
fn accuracy(got: &[usize], want: &[i64]) -> f64 {
    if want.is_empty() {
        return 0.0;
    }
    let hits = got.iter().zip(want).filter(|(g, w)| **g as i64 == **w).count();
    100.0 * hits as f64 / want.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top1_per_row_and_accuracy() {
        let t = Tensor::from_f32([2, 3], vec![0.1, 0.7, 0.2, 0.9, 0.0, 0.1]).unwrap();
        assert_eq!(top1(&t, 2).unwrap(), vec![1, 0]);
        assert!(top1(&t, 3).is_err());
        assert_eq!(accuracy(&[1, 0, 2, 2], &[1, 0, 1, 2]), 75.0);
    }
}
