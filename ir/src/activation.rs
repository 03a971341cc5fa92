//! Fused activations: the `activation` / `activation_params` attributes of the compute ops.
//!
//! A fused layer is one compute node (`conv`, `gemm`, `matmul`) whose result goes through an
//! elementwise activation before anyone sees it. The `fuse` pass writes the activation into
//! the compute node; the interpreter applies it right after the node's bias (see
//! `interp::epilogue`), with the very kernel the unfused activation node would have run, so
//! fused and unfused graphs give bit-identical results.
//!
//! Spelling (`activation` is a string, `activation_params` a float list):
//!
//! | activation   | params       | same as                         |
//! |--------------|--------------|---------------------------------|
//! | `none`       | `[]`         | nothing (the default)           |
//! | `relu`       | `[]`         | `relu`                          |
//! | `leaky_relu` | `[alpha]`    | `leaky_relu {alpha}`            |
//! | `clip`       | `[min, max]` | `clip {min, max}` (Relu6 = 0,6) |
//! | `sigmoid`    | `[]`         | `sigmoid`                       |
//! | `hard_swish` | `[]`         | `hard_swish`                    |
//! | `gelu`       | `[]`         | `gelu {approximate = "none"}`   |
//! | `gelu_tanh`  | `[]`         | `gelu {approximate = "tanh"}`   |
//!
//! This module only converts between the attributes, [`Activation`] and the equivalent
//! unary op; it computes nothing.

use crate::attr::{Attr, Attrs};
use crate::ops::OpKind;
use thiserror::Error;

/// Name of the string attribute holding the activation.
pub const ACTIVATION: &str = "activation";
/// Name of the float-list attribute holding its parameters.
pub const ACTIVATION_PARAMS: &str = "activation_params";

/// Every accepted spelling of `activation`.
pub const NAMES: &[&str] =
    &["none", "relu", "leaky_relu", "clip", "sigmoid", "hard_swish", "gelu", "gelu_tanh"];

/// A fused activation.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Activation {
    /// No activation.
    None,
    /// `max(x, 0)`.
    Relu,
    /// `x` if `x ≥ 0` else `alpha·x`.
    LeakyRelu {
        /// Slope for negative inputs.
        alpha: f32,
    },
    /// `min(max(x, min), max)`.
    Clip {
        /// Lower bound.
        min: f32,
        /// Upper bound.
        max: f32,
    },
    /// Logistic sigmoid.
    Sigmoid,
    /// `x · clip(x/6 + 1/2, 0, 1)`.
    HardSwish,
    /// GELU, exact (`tanh = false`) or tanh-approximated.
    Gelu {
        /// The tanh approximation.
        tanh: bool,
    },
}

/// A malformed `activation` / `activation_params` pair.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ActivationError {
    /// Unknown activation name.
    #[error("attribute `activation` = \"{0}\" is not supported (expected one of: {names})", names = NAMES.join(", "))]
    Unknown(String),
    /// Wrong number of parameters.
    #[error("activation `{name}` takes {want} parameter(s) in `activation_params`, found {got}")]
    Params {
        /// The activation.
        name: String,
        /// Expected count.
        want: usize,
        /// Found count.
        got: usize,
    },
    /// An attribute has the wrong kind.
    #[error("attribute `{0}` has the wrong kind")]
    Kind(&'static str),
}

impl Activation {
    /// The `activation` spelling.
    pub fn name(self) -> &'static str {
        match self {
            Activation::None => "none",
            Activation::Relu => "relu",
            Activation::LeakyRelu { .. } => "leaky_relu",
            Activation::Clip { .. } => "clip",
            Activation::Sigmoid => "sigmoid",
            Activation::HardSwish => "hard_swish",
            Activation::Gelu { tanh: false } => "gelu",
            Activation::Gelu { tanh: true } => "gelu_tanh",
        }
    }

    /// The `activation_params` list.
    pub fn params(self) -> Vec<f32> {
        match self {
            Activation::LeakyRelu { alpha } => vec![alpha],
            Activation::Clip { min, max } => vec![min, max],
            _ => Vec::new(),
        }
    }

    /// Builds an activation from its spelling and parameters.
    pub fn from_parts(name: &str, params: &[f32]) -> Result<Activation, ActivationError> {
        let want = match name {
            "leaky_relu" => 1,
            "clip" => 2,
            n if NAMES.contains(&n) => 0,
            other => return Err(ActivationError::Unknown(other.to_string())),
        };
        if params.len() != want {
            let name = name.to_string();
            return Err(ActivationError::Params { name, want, got: params.len() });
        }
        Ok(match (name, params) {
            ("relu", _) => Activation::Relu,
            ("leaky_relu", [alpha]) => Activation::LeakyRelu { alpha: *alpha },
            ("clip", [min, max]) => Activation::Clip { min: *min, max: *max },
            ("sigmoid", _) => Activation::Sigmoid,
            ("hard_swish", _) => Activation::HardSwish,
            ("gelu", _) => Activation::Gelu { tanh: false },
            ("gelu_tanh", _) => Activation::Gelu { tanh: true },
            _ => Activation::None,
        })
    }

    /// Reads the activation of a node; absent attributes mean `none` / `[]`.
    pub fn from_attrs(attrs: &Attrs) -> Result<Activation, ActivationError> {
        let name = match attrs.get(ACTIVATION) {
            None => "none",
            Some(Attr::Str(s)) => s.as_str(),
            Some(_) => return Err(ActivationError::Kind(ACTIVATION)),
        };
        let params = match attrs.get(ACTIVATION_PARAMS) {
            None => &[][..],
            Some(Attr::Floats(p)) => p.as_slice(),
            Some(_) => return Err(ActivationError::Kind(ACTIVATION_PARAMS)),
        };
        Activation::from_parts(name, params)
    }

    /// Writes the activation into a node's attributes.
    pub fn write(self, attrs: &mut Attrs) {
        attrs.set(ACTIVATION, Attr::Str(self.name().to_string()));
        attrs.set(ACTIVATION_PARAMS, Attr::Floats(self.params()));
    }

    /// The unary op (with its attributes) this activation stands for; `None` for `none`.
    pub fn as_unary(self) -> Option<(OpKind, Attrs)> {
        let a = Attrs::new();
        Some(match self {
            Activation::None => return None,
            Activation::Relu => (OpKind::Relu, a),
            Activation::LeakyRelu { alpha } => {
                (OpKind::LeakyRelu, a.with("alpha", Attr::Float(alpha)))
            }
            Activation::Clip { min, max } => {
                (OpKind::Clip, a.with("min", Attr::Float(min)).with("max", Attr::Float(max)))
            }
            Activation::Sigmoid => (OpKind::Sigmoid, a),
            Activation::HardSwish => (OpKind::HardSwish, a),
            Activation::Gelu { tanh } => {
                let approx = if tanh { "tanh" } else { "none" };
                (OpKind::Gelu, a.with("approximate", Attr::Str(approx.into())))
            }
        })
    }

    /// The activation a unary node computes, if it is one that fuses.
    pub fn from_unary(op: OpKind, attrs: &Attrs) -> Option<Activation> {
        let f = |n: &str| attrs.float(n).ok();
        Some(match op {
            OpKind::Relu => Activation::Relu,
            OpKind::LeakyRelu => Activation::LeakyRelu { alpha: f("alpha")? },
            OpKind::Clip => Activation::Clip { min: f("min")?, max: f("max")? },
            OpKind::Sigmoid => Activation::Sigmoid,
            OpKind::HardSwish => Activation::HardSwish,
            OpKind::Gelu => match attrs.str("approximate").ok()? {
                "none" => Activation::Gelu { tanh: false },
                "tanh" => Activation::Gelu { tanh: true },
                _ => return None,
            },
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_activation_round_trips_through_attrs_and_unary() {
        let all = [
            Activation::Relu,
            Activation::LeakyRelu { alpha: 0.1 },
            Activation::Clip { min: 0.0, max: 6.0 },
            Activation::Sigmoid,
            Activation::HardSwish,
            Activation::Gelu { tanh: false },
            Activation::Gelu { tanh: true },
        ];
        for act in all {
            let mut attrs = Attrs::new();
            act.write(&mut attrs);
            assert_eq!(Activation::from_attrs(&attrs), Ok(act));
            let (op, ua) = act.as_unary().expect("not none");
            assert_eq!(Activation::from_unary(op, &ua), Some(act));
        }
        assert_eq!(Activation::from_attrs(&Attrs::new()), Ok(Activation::None));
    }

    #[test]
    fn malformed_activations_are_errors() {
        let e = Activation::from_parts("swish", &[]).unwrap_err();
        assert!(e.to_string().contains("\"swish\" is not supported"), "{e}");
        let e = Activation::from_parts("clip", &[0.0]).unwrap_err();
        assert_eq!(e, ActivationError::Params { name: "clip".into(), want: 2, got: 1 });
        assert!(Activation::from_parts("relu", &[1.0]).is_err());
    }
}
