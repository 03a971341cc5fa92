//! The extraction cost of `fuse`: what a term costs to run, roughly. A compute op costs
//! 1000, a pool 100, every other elementwise or data-movement node (an `affine` too) 10
//! (one pass over memory), activation descriptors, parameters and leaves nothing, and the
//! deferred arithmetic (`fold-pad`, `bias-add`, `with-skip`, `const-mul`, `const-add`) 1. So a fused layer is always cheaper than the
//! separate nodes it replaces, and an unchanged term keeps its cost. It does not model
//! sizes or hardware (the planner's latency model does).

use super::lang::FuseLang;
use egg::{CostFunction, Id, Language};

/// The cost function (see the module doc).
#[derive(Copy, Clone, Debug, Default)]
pub struct FuseCost;

/// The cost of one node, without its children.
pub fn node_cost(n: &FuseLang) -> u64 {
    match n {
        FuseLang::Conv(_)
        | FuseLang::ConvTranspose(_)
        | FuseLang::Gemm(_)
        | FuseLang::MatMul(_) => 1000,
        FuseLang::MaxPool(_) | FuseLang::AvgPool(_) => 100,
        FuseLang::Pad(_)
        | FuseLang::Add(_)
        | FuseLang::Relu(_)
        | FuseLang::LeakyRelu(_)
        | FuseLang::Clip(_)
        | FuseLang::Sigmoid(_)
        | FuseLang::HardSwish(_)
        | FuseLang::Gelu(_)
        | FuseLang::GeluTanh(_)
        | FuseLang::Mul(_)
        | FuseLang::Div(_)
        | FuseLang::Erf(_)
        | FuseLang::Affine(_) => 10,
        FuseLang::FoldPad(_)
        | FuseLang::BiasAdd(_)
        | FuseLang::WithSkip(_)
        | FuseLang::ConstMul(_)
        | FuseLang::ConstAdd(_) => 1,
        _ => 0,
    }
}

impl CostFunction<FuseLang> for FuseCost {
    type Cost = u64;

    fn cost<C>(&mut self, enode: &FuseLang, mut costs: C) -> u64
    where
        C: FnMut(Id) -> u64,
    {
        enode.fold(node_cost(enode), |sum, id| sum.saturating_add(costs(id)))
    }
}
