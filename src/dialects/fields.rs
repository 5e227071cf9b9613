//! The fields of a dialect's request. A request is a serde struct whose fields are these
//! types: each deserializes from any JSON value and never fails, so the whole body is read
//! at once, and the dialect then asks each field for its value by the dialect's own rule
//! (a string only, a string or a number, ignored when malformed) and words the refusal its
//! own way from a [`FieldError`].

use super::js_json;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Number, Value};

/// Why a field was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    Missing,
    /// Present with a type the rule does not take.
    Wrong,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub problem: Problem,
}

impl FieldError {
    fn wrong(field: &'static str) -> FieldError {
        FieldError {
            field,
            problem: Problem::Wrong,
        }
    }

    fn missing(field: &'static str) -> FieldError {
        FieldError {
            field,
            problem: Problem::Missing,
        }
    }
}

/// A scalar field: absent (or null), a string as sent, a number, or something else.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Text {
    #[default]
    Absent,
    Str(String),
    Num(Number),
    Other(Value),
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Null => Text::Absent,
            Value::String(s) => Text::Str(s),
            Value::Number(n) => Text::Num(n),
            other => Text::Other(other),
        })
    }
}

impl Text {
    /// A field of an object already read (`customer.name`).
    pub fn of(value: Option<&Value>) -> Text {
        match value {
            None | Some(Value::Null) => Text::Absent,
            Some(Value::String(s)) => Text::Str(s.clone()),
            Some(Value::Number(n)) => Text::Num(n.clone()),
            Some(other) => Text::Other(other.clone()),
        }
    }

    /// A string, trimmed; blank counts as absent; anything else is refused.
    pub fn string(&self, field: &'static str) -> Result<Option<String>, FieldError> {
        match self {
            Text::Absent => Ok(None),
            Text::Str(s) if s.trim().is_empty() => Ok(None),
            Text::Str(s) => Ok(Some(s.trim().to_string())),
            _ => Err(FieldError::wrong(field)),
        }
    }

    /// A string (trimmed; blank counts as absent) or a number in JavaScript's form (`1e21`,
    /// `0.5`), as a reference often is; anything else is refused.
    pub fn string_or_number(&self, field: &'static str) -> Result<Option<String>, FieldError> {
        match self {
            Text::Num(n) => Ok(Some(js_json::js_number(n))),
            other => other.string(field),
        }
    }

    /// A string or a number as the JSON parser prints it (digits kept: `12345678901234567890`).
    pub fn string_or_digits(&self, field: &'static str) -> Result<Option<String>, FieldError> {
        match self {
            Text::Num(n) => Ok(Some(n.to_string())),
            other => other.string(field),
        }
    }

    /// A string or a number; anything else (an object, a blank string) as if absent.
    pub fn lenient(&self) -> Option<String> {
        self.string_or_number("").ok().flatten()
    }

    /// An amount: a number, or a string as sent (trimmed, even to nothing); absent is
    /// `Missing`, anything else `Wrong`.
    pub fn amount(&self, field: &'static str) -> Result<String, FieldError> {
        match self {
            Text::Num(n) => Ok(js_json::js_number(n)),
            Text::Str(s) => Ok(s.trim().to_string()),
            Text::Absent => Err(FieldError::missing(field)),
            Text::Other(_) => Err(FieldError::wrong(field)),
        }
    }

    pub fn is_absent(&self) -> bool {
        *self == Text::Absent
    }

    /// The value as it was sent (`null` when absent).
    pub fn to_value(&self) -> Value {
        match self {
            Text::Absent => Value::Null,
            Text::Str(s) => Value::String(s.clone()),
            Text::Num(n) => Value::Number(n.clone()),
            Text::Other(v) => v.clone(),
        }
    }
}

/// An object field: absent (or null), an object, or something else.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Object {
    #[default]
    Absent,
    Map(Map<String, Value>),
    Other(Value),
}

impl<'de> Deserialize<'de> for Object {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Object, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Null => Object::Absent,
            Value::Object(m) => Object::Map(m),
            other => Object::Other(other),
        })
    }
}

impl Object {
    /// The object, empty when absent; anything else is refused.
    pub fn or_empty(&self, field: &'static str) -> Result<Map<String, Value>, FieldError> {
        match self {
            Object::Absent => Ok(Map::new()),
            Object::Map(m) => Ok(m.clone()),
            Object::Other(_) => Err(FieldError::wrong(field)),
        }
    }
}

/// Reads a body already parsed as a JSON object into a request struct of these fields (which
/// cannot fail: every field takes any value).
pub fn read<T: serde::de::DeserializeOwned + Default>(map: Map<String, Value>) -> T {
    serde_json::from_value(Value::Object(map)).unwrap_or_default()
}
