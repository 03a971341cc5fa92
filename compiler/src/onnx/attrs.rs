//! Typed access to a node's ONNX attributes, with errors that name the node and attribute.
//!
//! Reads the `type`, `i`, `f`, `ints`, `floats`, `s` and `t` fields of `AttributeProto`
//! directly (onnx-protobuf's `as_value()` panics on malformed attributes). An attribute
//! whose declared type differs from the one asked for is an error; an attribute with no
//! declared type (some very old exporters) is read from the asked-for field. This file
//! knows nothing of op semantics: defaults and value checks live in the op importers.

use super::error::{ImportError, NodeLoc};
use onnx_protobuf::{attribute_proto::AttributeType, AttributeProto, TensorProto};

/// The attributes of one node.
pub(crate) struct NodeAttrs<'a> {
    attrs: &'a [AttributeProto],
    loc: NodeLoc,
}

fn type_name(t: AttributeType) -> &'static str {
    match t {
        AttributeType::UNDEFINED => "undefined",
        AttributeType::FLOAT => "float",
        AttributeType::INT => "int",
        AttributeType::STRING => "string",
        AttributeType::TENSOR => "tensor",
        AttributeType::GRAPH => "graph",
        AttributeType::SPARSE_TENSOR => "sparse tensor",
        AttributeType::TYPE_PROTO => "type",
        AttributeType::FLOATS => "floats",
        AttributeType::INTS => "ints",
        AttributeType::STRINGS => "strings",
        AttributeType::TENSORS => "tensors",
        AttributeType::GRAPHS => "graphs",
        AttributeType::SPARSE_TENSORS => "sparse tensors",
        AttributeType::TYPE_PROTOS => "types",
    }
}

impl<'a> NodeAttrs<'a> {
    /// Wraps a node's attribute list.
    pub(crate) fn new(attrs: &'a [AttributeProto], loc: NodeLoc) -> Self {
        NodeAttrs { attrs, loc }
    }

    /// An attribute error naming this node.
    pub(crate) fn err(&self, attr: &str, message: impl Into<String>) -> ImportError {
        ImportError::Attribute {
            node: self.loc.clone(),
            attr: attr.into(),
            message: message.into(),
        }
    }

    /// The attribute called `name`, if present.
    pub(crate) fn get(&self, name: &str) -> Option<&'a AttributeProto> {
        self.attrs.iter().find(|a| a.name == name)
    }

    /// True when the attribute is present.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The attribute if present, after checking its declared type is `want`.
    fn typed(
        &self,
        name: &str,
        want: AttributeType,
    ) -> Result<Option<&'a AttributeProto>, ImportError> {
        let Some(a) = self.get(name) else { return Ok(None) };
        match a.type_.enum_value() {
            Ok(t) if t == want || t == AttributeType::UNDEFINED => Ok(Some(a)),
            Ok(t) => Err(self.err(
                name,
                format!("should be of type {}, found {}", type_name(want), type_name(t)),
            )),
            Err(code) => Err(self.err(name, format!("has an unknown type code {code}"))),
        }
    }

    /// An `int` attribute.
    pub(crate) fn int(&self, name: &str) -> Result<Option<i64>, ImportError> {
        Ok(self.typed(name, AttributeType::INT)?.map(|a| a.i))
    }

    /// An `int` attribute with a default.
    pub(crate) fn int_or(&self, name: &str, default: i64) -> Result<i64, ImportError> {
        Ok(self.int(name)?.unwrap_or(default))
    }

    /// A required `int` attribute.
    pub(crate) fn req_int(&self, name: &str) -> Result<i64, ImportError> {
        self.int(name)?.ok_or_else(|| self.missing(name))
    }

    /// A `float` attribute.
    pub(crate) fn float(&self, name: &str) -> Result<Option<f32>, ImportError> {
        Ok(self.typed(name, AttributeType::FLOAT)?.map(|a| a.f))
    }

    /// A `float` attribute with a default.
    pub(crate) fn float_or(&self, name: &str, default: f32) -> Result<f32, ImportError> {
        Ok(self.float(name)?.unwrap_or(default))
    }

    /// An `ints` attribute.
    pub(crate) fn ints(&self, name: &str) -> Result<Option<&'a [i64]>, ImportError> {
        Ok(self.typed(name, AttributeType::INTS)?.map(|a| a.ints.as_slice()))
    }

    /// A required `ints` attribute.
    pub(crate) fn req_ints(&self, name: &str) -> Result<&'a [i64], ImportError> {
        self.ints(name)?.ok_or_else(|| self.missing(name))
    }

    /// A `floats` attribute.
    pub(crate) fn floats(&self, name: &str) -> Result<Option<&'a [f32]>, ImportError> {
        Ok(self.typed(name, AttributeType::FLOATS)?.map(|a| a.floats.as_slice()))
    }

    /// A `string` attribute (must be UTF-8).
    pub(crate) fn string(&self, name: &str) -> Result<Option<String>, ImportError> {
        let Some(a) = self.typed(name, AttributeType::STRING)? else { return Ok(None) };
        String::from_utf8(a.s.clone()).map(Some).map_err(|_| self.err(name, "is not valid UTF-8"))
    }

    /// A `string` attribute with a default.
    pub(crate) fn string_or(&self, name: &str, default: &str) -> Result<String, ImportError> {
        Ok(self.string(name)?.unwrap_or_else(|| default.to_string()))
    }

    /// A `string` attribute that must be one of `allowed`; `default` when absent.
    pub(crate) fn choice(
        &self,
        name: &str,
        default: &str,
        allowed: &[&str],
    ) -> Result<String, ImportError> {
        let v = self.string_or(name, default)?;
        if allowed.contains(&v.as_str()) {
            return Ok(v);
        }
        Err(self.err(name, format!("`{v}` is not one of {}", allowed.join(", "))))
    }

    /// A `tensor` attribute; a TENSOR attribute without a tensor is an error.
    pub(crate) fn tensor(&self, name: &str) -> Result<Option<&'a TensorProto>, ImportError> {
        let Some(a) = self.typed(name, AttributeType::TENSOR)? else { return Ok(None) };
        a.t.as_ref().map(Some).ok_or_else(|| self.err(name, "holds no tensor"))
    }

    fn missing(&self, name: &str) -> ImportError {
        self.err(name, "required attribute is missing")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc() -> NodeLoc {
        NodeLoc { index: 3, name: "n".into(), op: "Conv".into(), opset: 13 }
    }

    fn attr(name: &str, t: AttributeType) -> AttributeProto {
        let mut a = AttributeProto::new();
        a.name = name.into();
        a.type_ = t.into();
        a
    }

    #[test]
    fn typed_getters_check_the_declared_type() {
        let mut i = attr("group", AttributeType::INT);
        i.i = 2;
        let mut s = attr("auto_pad", AttributeType::STRING);
        s.s = b"SAME_UPPER".to_vec();
        let t = attr("value", AttributeType::TENSOR);
        let list = [i, s, t];
        let a = NodeAttrs::new(&list, loc());
        assert_eq!(a.int("group").unwrap(), Some(2));
        assert_eq!(a.int_or("missing", 7).unwrap(), 7);
        assert_eq!(a.string("auto_pad").unwrap().as_deref(), Some("SAME_UPPER"));
        let e = a.float("group").unwrap_err().to_string();
        assert!(e.contains("`group`") && e.contains("should be of type float, found int"), "{e}");
        assert!(e.contains("Conv node `n` (opset 13)"), "{e}");
        let e = a.tensor("value").unwrap_err().to_string();
        assert!(e.contains("holds no tensor"), "{e}");
        let e = a.req_ints("kernel_shape").unwrap_err().to_string();
        assert!(e.contains("required attribute is missing"), "{e}");
        let e = a.choice("auto_pad", "NOTSET", &["NOTSET", "VALID"]).unwrap_err().to_string();
        assert!(e.contains("`SAME_UPPER` is not one of NOTSET, VALID"), "{e}");
    }

    #[test]
    fn untyped_attributes_are_read_from_the_asked_field() {
        let mut i = attr("axis", AttributeType::UNDEFINED);
        i.i = -1;
        let list = [i];
        assert_eq!(NodeAttrs::new(&list, loc()).int("axis").unwrap(), Some(-1));
    }
}
