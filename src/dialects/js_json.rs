//! `JSON.stringify(JSON.parse(text))` as a JavaScript engine computes it: keys in their
//! original order, compact, `/` and non-ASCII characters unescaped, numbers in JavaScript's
//! shortest form (`150.5`, `100`, never `100.0`). Receivers and signers that re-serialize a
//! body (XPay, PayGate) agree with Hundi only if Hundi serializes the same way.

use serde_json::Value;

/// Parses `text` (tolerating trailing commas before `}` or `]`, as some clients send them) and
/// writes it back as JavaScript would.
pub fn canonicalize(text: &str) -> Option<String> {
    let value: Value = serde_json::from_str(&strip_trailing_commas(text)).ok()?;
    Some(stringify(&value))
}

/// Writes a value as `JSON.stringify` does.
pub fn stringify(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

fn write(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&js_number(n)),
        Value::String(s) => out.push_str(&serde_json::to_string(s).unwrap_or_default()),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).unwrap_or_default());
                out.push(':');
                write(v, out);
            }
            out.push('}');
        }
    }
}

/// A number as JavaScript prints it: integers without a fraction, others in their shortest
/// round-tripping form.
pub fn js_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    if f.fract() == 0.0 && f.abs() < 1e21 {
        format!("{f:.0}")
    } else {
        // Rust's Display is the shortest form that reads back to the same double.
        format!("{f}")
    }
}

/// Removes commas that stand right before `}` or `]` (outside strings).
pub fn strip_trailing_commas(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        if c == ',' {
            let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
            if matches!(next, Some('}') | Some(']')) {
                continue;
            }
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_javascript() {
        // PHP's json_encode escapes; JavaScript's JSON.stringify does not (seeds/vectors.md).
        let raw = r#"{"amount":"150.00","currency":"PKR","customer":{"name":"Zo\u00eb","email":"z@example.com"},"shipping":{"address1":"12\/B Gulberg"},"metadata":{"order_reference":1042}}"#;
        assert_eq!(
            canonicalize(raw).unwrap(),
            r#"{"amount":"150.00","currency":"PKR","customer":{"name":"Zoë","email":"z@example.com"},"shipping":{"address1":"12/B Gulberg"},"metadata":{"order_reference":1042}}"#
        );
        assert_eq!(
            canonicalize(r#"{"b":150.50,"a":99.00,"c":1e2}"#).unwrap(),
            r#"{"b":150.5,"a":99,"c":100}"#
        );
        assert_eq!(
            canonicalize("{\"a\":\"x\\n\\u0001\"}").unwrap(),
            "{\"a\":\"x\\n\\u0001\"}"
        );
    }

    #[test]
    fn tolerates_trailing_commas_outside_strings() {
        assert_eq!(
            canonicalize(r#"{ "a": [1, 2, ], "b": "x,}", }"#).unwrap(),
            r#"{"a":[1,2],"b":"x,}"}"#
        );
    }
}
