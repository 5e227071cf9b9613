//! `JSON.stringify(JSON.parse(text))` as a JavaScript engine computes it: keys in their
//! original order (except that array-index keys such as `"7"` come first, in ascending order,
//! as in every JavaScript object), compact, `/` and non-ASCII characters unescaped, numbers as
//! ECMAScript's Number-to-String prints them (`150.5`, `100`, never `100.0`; `1e+21`, `1e-7`,
//! `0` for `-0`). Receivers and signers that re-serialize a body (XPay, PayGate) agree with
//! Hundi only if Hundi serializes the same way.

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
            for (i, (k, v)) in js_key_order(map).into_iter().enumerate() {
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

/// The order in which a JavaScript object lists its own keys: array indices (canonical
/// decimal integers below 2^32 - 1) first, in ascending numeric order, then the other keys in
/// the order they were first written (a repeated key keeps its first place and its last
/// value, as `JSON.parse` and the map both do).
fn js_key_order(map: &serde_json::Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut indices: Vec<(u32, &String, &Value)> = Vec::new();
    let mut others: Vec<(&String, &Value)> = Vec::with_capacity(map.len());
    for (k, v) in map {
        match array_index(k) {
            Some(i) => indices.push((i, k, v)),
            None => others.push((k, v)),
        }
    }
    if indices.is_empty() {
        return others;
    }
    indices.sort_unstable_by_key(|(i, _, _)| *i);
    indices
        .into_iter()
        .map(|(_, k, v)| (k, v))
        .chain(others)
        .collect()
}

/// `key` as an ECMAScript array index: the canonical decimal form of an integer from 0 to
/// 2^32 - 2 (no sign, no leading zero).
fn array_index(key: &str) -> Option<u32> {
    let canonical = !key.is_empty()
        && key.len() <= 10
        && key.bytes().all(|b| b.is_ascii_digit())
        && (key == "0" || !key.starts_with('0'));
    if !canonical {
        return None;
    }
    key.parse::<u32>().ok().filter(|&i| i != u32::MAX)
}

/// A number as JavaScript prints it (ECMAScript's Number::toString, which `JSON.stringify`
/// uses): the value is a double, as `JSON.parse` makes it, so integers beyond 2^53 round;
/// integers below 10^21 print without a fraction, larger or smaller magnitudes in exponent
/// form (`1e+21`, `1e-7`), and `-0` prints as `0`.
pub fn js_number(n: &serde_json::Number) -> String {
    let f = n.as_f64().unwrap_or(0.0);
    if !f.is_finite() {
        // Unreachable for a parsed number; JSON.stringify writes such values as `null`.
        return "null".into();
    }
    ryu_js::Buffer::new().format_finite(f).to_string()
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
        // PHP's json_encode escapes; JavaScript's JSON.stringify does not (the gateways' published signature vectors).
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

    /// What `JSON.stringify(JSON.parse(text))` prints in Node.js, number by number.
    fn js(text: &str) -> String {
        canonicalize(text).unwrap()
    }

    #[test]
    fn large_magnitudes_use_exponent_form() {
        assert_eq!(js("1e21"), "1e+21");
        assert_eq!(js("1000000000000000000000"), "1e+21");
        assert_eq!(js("999999999999999999999"), "1e+21");
        assert_eq!(js("100000000000000000000"), "100000000000000000000");
        assert_eq!(js("-1.5e300"), "-1.5e+300");
        assert_eq!(js("1.7976931348623157e308"), "1.7976931348623157e+308");
    }

    #[test]
    fn small_magnitudes_use_exponent_form() {
        assert_eq!(js("1e-7"), "1e-7");
        assert_eq!(js("0.0000001"), "1e-7");
        assert_eq!(js("1e-6"), "0.000001");
        assert_eq!(js("123e-20"), "1.23e-18");
        assert_eq!(js("5e-324"), "5e-324");
    }

    #[test]
    fn negative_zero_is_zero() {
        assert_eq!(js("-0"), "0");
        assert_eq!(js("-0.0"), "0");
        assert_eq!(js("[-0,0.0,-0e5]"), "[0,0,0]");
    }

    #[test]
    fn huge_integers_round_to_the_nearest_double() {
        assert_eq!(js("2e43"), "2e+43");
        assert_eq!(js("20000000000000000000000000000000000000000000"), "2e+43");
        assert_eq!(
            js("20000000000000003000000000000000000000000000"),
            "2.0000000000000003e+43"
        );
        assert_eq!(js("123456789012345670000000"), "1.2345678901234567e+23");
        assert_eq!(js("123456789012345678901234"), "1.2345678901234569e+23");
        assert_eq!(js("9007199254740993"), "9007199254740992");
        assert_eq!(js("18446744073709551615"), "18446744073709552000");
        assert_eq!(js("-9223372036854775808"), "-9223372036854776000");
    }

    #[test]
    fn every_output_is_a_fixed_point() {
        for text in [
            "2e43",
            "1e21",
            "1e-7",
            "-0",
            "123456789012345678901234",
            "0.1",
            "1.7976931348623157e308",
            "4.35",
            "0.000001",
        ] {
            let once = js(text);
            assert_eq!(js(&once), once, "{text}");
        }
    }

    #[test]
    fn array_index_keys_come_first_as_in_javascript() {
        assert_eq!(
            js(r#"{"b":1,"2":2,"10":3,"01":4,"a":5,"4294967294":6,"4294967295":7,"-1":8}"#),
            r#"{"2":2,"10":3,"4294967294":6,"b":1,"01":4,"a":5,"4294967295":7,"-1":8}"#
        );
        // A repeated key keeps its first place and its last value.
        assert_eq!(js(r#"{"a":1,"b":2,"a":3}"#), r#"{"a":3,"b":2}"#);
    }

    #[test]
    fn tolerates_trailing_commas_outside_strings() {
        assert_eq!(
            canonicalize(r#"{ "a": [1, 2, ], "b": "x,}", }"#).unwrap(),
            r#"{"a":[1,2],"b":"x,}"}"#
        );
    }
}
