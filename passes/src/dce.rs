//! `dce`: dead-code elimination. Erases every node none of whose results reaches a graph
//! output; graph inputs and outputs are never removed (an unused graph input stays, since
//! it is part of the model's interface).
//!
//! ```text
//! before:  %a = relu(%x)      ; unused
//!          %b = sigmoid(%x)
//!          return %b
//! after:   %b = sigmoid(%x)
//!          return %b
//! ```
//! Statistics: `erased` (nodes removed).

use crate::options::PassOptions;
use crate::pass::{Changed, Pass, PassCx, PassError, PassInfo};
use crate::rewrite::erase_dead;
use asplit_ir::graph::Graph;

/// Registry entry.
pub const INFO: PassInfo = PassInfo {
    name: "dce",
    summary: "Erase nodes whose results reach no graph output.",
    options: &[],
    build,
};

fn build(_: &PassOptions) -> Result<Box<dyn Pass>, PassError> {
    Ok(Box::new(Dce))
}

/// The `dce` pass.
#[derive(Debug, Default)]
pub struct Dce;

impl Pass for Dce {
    fn info(&self) -> &'static PassInfo {
        &INFO
    }

    fn run(&self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        let erased = erase_dead(g);
        cx.stat("erased", erased as i64);
        Ok(Changed::from_bool(erased > 0))
    }
}
