//! Pass options: their declarations ([`OptionDef`]), typed values ([`OptValue`]) and the
//! validated set a pass is built from ([`PassOptions`]).
//!
//! Values are written in pipeline strings as bare words (`fuse{max-group=8}`): integers,
//! floats, `true`/`false`, or strings without `,{}=` or spaces. Defaults are declared as
//! the same text, so `asplitc passes` and docs/passes.md show exactly what a user would
//! write. This file does not parse whole pipelines (see [`crate::pipeline`]).

use std::collections::BTreeMap;
use std::fmt;

/// The type of an option.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum OptKind {
    /// A signed 64-bit integer.
    Int,
    /// A non-negative integer.
    Uint,
    /// A 64-bit float.
    Float,
    /// `true` or `false`.
    Bool,
    /// Any word.
    Str,
}

impl OptKind {
    /// Name shown in docs and errors.
    pub fn name(self) -> &'static str {
        match self {
            OptKind::Int => "int",
            OptKind::Uint => "uint",
            OptKind::Float => "float",
            OptKind::Bool => "bool",
            OptKind::Str => "string",
        }
    }

    /// Parses `text` as a value of this kind.
    pub fn parse(self, text: &str) -> Result<OptValue, String> {
        let bad = || format!("`{text}` is not a valid {}", self.name());
        match self {
            OptKind::Int => text.parse().map(OptValue::Int).map_err(|_| bad()),
            OptKind::Uint => text.parse().map(OptValue::Uint).map_err(|_| bad()),
            OptKind::Float => match text.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(OptValue::Float(v)),
                _ => Err(bad()),
            },
            OptKind::Bool => match text {
                "true" => Ok(OptValue::Bool(true)),
                "false" => Ok(OptValue::Bool(false)),
                _ => Err(bad()),
            },
            OptKind::Str if !text.is_empty() => Ok(OptValue::Str(text.to_string())),
            OptKind::Str => Err("an empty string is not a value".into()),
        }
    }
}

/// One declared option of a pass.
#[derive(Copy, Clone, Debug)]
pub struct OptionDef {
    /// kebab-case name (`max-group`).
    pub name: &'static str,
    /// Value type.
    pub kind: OptKind,
    /// Default, written as it would be in a pipeline string.
    pub default: &'static str,
    /// One-line description.
    pub doc: &'static str,
}

/// A typed option value.
#[derive(Clone, Debug, PartialEq)]
pub enum OptValue {
    /// An `int`.
    Int(i64),
    /// A `uint`.
    Uint(u64),
    /// A `float`.
    Float(f64),
    /// A `bool`.
    Bool(bool),
    /// A `string`.
    Str(String),
}

impl fmt::Display for OptValue {
    /// The canonical pipeline spelling (parses back to the same value).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptValue::Int(v) => write!(f, "{v}"),
            OptValue::Uint(v) => write!(f, "{v}"),
            OptValue::Float(v) => write!(f, "{v:?}"),
            OptValue::Bool(v) => write!(f, "{v}"),
            OptValue::Str(v) => f.write_str(v),
        }
    }
}

/// The options a pass is built from: every declared option, given or defaulted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PassOptions {
    values: BTreeMap<&'static str, OptValue>,
}

impl PassOptions {
    /// Fills in every default of `defs`, then applies `given` (already typed and checked
    /// against `defs` by the pipeline parser). A default that does not parse is reported.
    pub fn resolve(defs: &[OptionDef], given: &[(String, OptValue)]) -> Result<Self, String> {
        let mut values = BTreeMap::new();
        for d in defs {
            let v = d.kind.parse(d.default).map_err(|e| format!("default of `{}`: {e}", d.name))?;
            values.insert(d.name, v);
        }
        for (name, v) in given {
            let d = defs
                .iter()
                .find(|d| d.name == name)
                .ok_or_else(|| format!("unknown option `{name}`"))?;
            values.insert(d.name, v.clone());
        }
        Ok(PassOptions { values })
    }

    /// The value of `name`, if declared.
    pub fn get(&self, name: &str) -> Option<&OptValue> {
        self.values.get(name)
    }

    /// An `int` option (0 when undeclared or of another kind: a pass asks only for the
    /// options it declares, whose values the pipeline parser has type-checked).
    pub fn int(&self, name: &str) -> i64 {
        match self.get(name) {
            Some(OptValue::Int(v)) => *v,
            Some(OptValue::Uint(v)) => i64::try_from(*v).unwrap_or(i64::MAX),
            _ => 0,
        }
    }

    /// A `uint` option (0 when undeclared or of another kind).
    pub fn uint(&self, name: &str) -> u64 {
        match self.get(name) {
            Some(OptValue::Uint(v)) => *v,
            Some(OptValue::Int(v)) => u64::try_from(*v).unwrap_or(0),
            _ => 0,
        }
    }

    /// A `float` option (0.0 when undeclared or of another kind).
    pub fn float(&self, name: &str) -> f64 {
        match self.get(name) {
            Some(OptValue::Float(v)) => *v,
            _ => 0.0,
        }
    }

    /// A `bool` option (false when undeclared or of another kind).
    pub fn bool(&self, name: &str) -> bool {
        matches!(self.get(name), Some(OptValue::Bool(true)))
    }

    /// A `string` option ("" when undeclared or of another kind).
    pub fn str(&self, name: &str) -> &str {
        match self.get(name) {
            Some(OptValue::Str(v)) => v,
            _ => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_and_print_back() {
        for (kind, text) in [
            (OptKind::Int, "-3"),
            (OptKind::Uint, "8"),
            (OptKind::Float, "0.25"),
            (OptKind::Float, "1e-6"),
            (OptKind::Bool, "true"),
            (OptKind::Str, "3Mbps"),
        ] {
            let v = kind.parse(text).expect(text);
            assert_eq!(kind.parse(&v.to_string()).expect("reparses"), v, "{text}");
        }
        assert!(OptKind::Uint.parse("-1").is_err());
        assert!(OptKind::Int.parse("1.5").is_err());
        assert!(OptKind::Float.parse("nan").is_err());
        assert!(OptKind::Bool.parse("yes").is_err());
        assert!(OptKind::Str.parse("").is_err());
    }

    #[test]
    fn defaults_fill_in_and_given_values_win() {
        const DEFS: &[OptionDef] = &[
            OptionDef { name: "a", kind: OptKind::Uint, default: "4", doc: "" },
            OptionDef { name: "b", kind: OptKind::Bool, default: "false", doc: "" },
        ];
        let o = PassOptions::resolve(DEFS, &[("b".into(), OptValue::Bool(true))]).unwrap();
        assert_eq!((o.uint("a"), o.bool("b")), (4, true));
        assert!(PassOptions::resolve(DEFS, &[("c".into(), OptValue::Bool(true))]).is_err());
    }
}
