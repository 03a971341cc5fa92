//! Node attributes: the typed, static parameters of an op (`strides`, `axis`, `value`…).
//!
//! [`Attrs`] is an ordered map so printing is deterministic. The typed accessors return an
//! [`AttrError`] naming the attribute when it is missing or of the wrong kind; the verifier
//! checks attributes against the op table ([`crate::ops`]) so kernels can rely on them.

use crate::tensor::Tensor;
use crate::types::DType;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use thiserror::Error;

/// The kind of an attribute value, as declared in the op table.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum AttrKind {
    /// One i64.
    Int,
    /// One f32.
    Float,
    /// A list of i64.
    Ints,
    /// A list of f32.
    Floats,
    /// A string.
    Str,
    /// A tensor (constants).
    Tensor,
    /// An element type.
    DType,
}

impl fmt::Display for AttrKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AttrKind::Int => "int",
            AttrKind::Float => "float",
            AttrKind::Ints => "ints",
            AttrKind::Floats => "floats",
            AttrKind::Str => "string",
            AttrKind::Tensor => "tensor",
            AttrKind::DType => "dtype",
        })
    }
}

/// An attribute value.
#[derive(Clone, Debug, PartialEq)]
pub enum Attr {
    /// One i64.
    Int(i64),
    /// One f32.
    Float(f32),
    /// A list of i64.
    Ints(Vec<i64>),
    /// A list of f32.
    Floats(Vec<f32>),
    /// A string.
    Str(String),
    /// A tensor, shared (constants can be large).
    Tensor(Arc<Tensor>),
    /// An element type.
    DType(DType),
    /// A tensor whose contents were elided from the text form (printed as a content hash):
    /// its type and hash are known, its elements are not. Kind [`AttrKind::Tensor`].
    Elided {
        /// Type of the elided tensor.
        ty: crate::types::TensorType,
        /// [`Tensor::content_hash`] of the original.
        hash: u64,
    },
}

impl Attr {
    /// The kind of this value.
    pub fn kind(&self) -> AttrKind {
        match self {
            Attr::Int(_) => AttrKind::Int,
            Attr::Float(_) => AttrKind::Float,
            Attr::Ints(_) => AttrKind::Ints,
            Attr::Floats(_) => AttrKind::Floats,
            Attr::Str(_) => AttrKind::Str,
            Attr::Tensor(_) => AttrKind::Tensor,
            Attr::DType(_) => AttrKind::DType,
            Attr::Elided { .. } => AttrKind::Tensor,
        }
    }
}

/// Attribute access errors.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum AttrError {
    /// The attribute is absent.
    #[error("missing attribute `{0}`")]
    Missing(String),
    /// The tensor's contents were elided from the text it was parsed from.
    #[error("the contents of tensor attribute `{0}` were elided from the text (printed as a hash); print with --print-constants to keep them")]
    Elided(String),
    /// The attribute has another kind.
    #[error("attribute `{name}` should be {expected}, found {found}")]
    Kind {
        /// Attribute name.
        name: String,
        /// Kind the op table declares.
        expected: AttrKind,
        /// Kind present.
        found: AttrKind,
    },
}

/// The attributes of one node, ordered by name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attrs(BTreeMap<String, Attr>);

macro_rules! getter {
    ($fn:ident, $variant:ident, $ret:ty, |$v:ident| $conv:expr) => {
        /// Typed access; errors name the attribute.
        pub fn $fn(&self, name: &str) -> Result<$ret, AttrError> {
            match self.0.get(name) {
                Some(Attr::$variant($v)) => Ok($conv),
                Some(other) => Err(AttrError::Kind {
                    name: name.to_string(),
                    expected: AttrKind::$variant,
                    found: other.kind(),
                }),
                None => Err(AttrError::Missing(name.to_string())),
            }
        }
    };
}

impl Attrs {
    /// No attributes.
    pub fn new() -> Self {
        Attrs(BTreeMap::new())
    }

    /// Sets (or replaces) an attribute; builder style.
    pub fn with(mut self, name: &str, value: Attr) -> Self {
        self.set(name, value);
        self
    }

    /// Sets (or replaces) an attribute.
    pub fn set(&mut self, name: &str, value: Attr) {
        self.0.insert(name.to_string(), value);
    }

    /// Raw access.
    pub fn get(&self, name: &str) -> Option<&Attr> {
        self.0.get(name)
    }

    /// Iterates in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Attr)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of attributes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    getter!(int, Int, i64, |v| *v);
    getter!(float, Float, f32, |v| *v);
    getter!(ints, Ints, &[i64], |v| v.as_slice());
    getter!(floats, Floats, &[f32], |v| v.as_slice());
    getter!(str, Str, &str, |v| v.as_str());
    /// Typed access to a tensor attribute; errors name the attribute, and say so when the
    /// contents were elided.
    pub fn tensor(&self, name: &str) -> Result<&Arc<Tensor>, AttrError> {
        match self.0.get(name) {
            Some(Attr::Tensor(t)) => Ok(t),
            Some(Attr::Elided { .. }) => Err(AttrError::Elided(name.to_string())),
            Some(other) => Err(AttrError::Kind {
                name: name.to_string(),
                expected: AttrKind::Tensor,
                found: other.kind(),
            }),
            None => Err(AttrError::Missing(name.to_string())),
        }
    }
    getter!(dtype, DType, DType, |v| *v);
}
