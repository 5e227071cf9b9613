//! `JSON.stringify(JSON.parse(text))`: never panics; its output is a fixed point (a second
//! pass changes nothing), holds the same values (numbers compared as the doubles JavaScript
//! reads), and prints every number as ECMAScript does.
#![no_main]

use hundi::dialects::js_json;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// The same JSON value as JavaScript sees it: numbers are doubles, `-0` equals `0`.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn numbers<'a>(v: &'a Value, out: &mut Vec<&'a serde_json::Number>) {
    match v {
        Value::Number(n) => out.push(n),
        Value::Array(items) => items.iter().for_each(|i| numbers(i, out)),
        Value::Object(map) => map.values().for_each(|i| numbers(i, out)),
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(once) = js_json::canonicalize(text) else {
        return;
    };
    assert_eq!(
        js_json::canonicalize(&once).as_deref(),
        Some(once.as_str()),
        "not a fixed point"
    );
    let input: Value = serde_json::from_str(&js_json::strip_trailing_commas(text)).unwrap();
    let output: Value = serde_json::from_str(&once).unwrap();
    assert!(same(&input, &output), "{text:?} became {once:?}");
    let mut found = Vec::new();
    numbers(&output, &mut found);
    for n in found {
        let printed = js_json::js_number(n);
        let f = n.as_f64().unwrap();
        // ECMAScript: exponent form exactly outside [1e-6, 1e21); never `-0`.
        let exponent = f != 0.0 && (f.abs() >= 1e21 || f.abs() < 1e-6);
        assert_eq!(printed.contains('e'), exponent, "{printed}");
        assert_ne!(printed, "-0");
        assert_eq!(printed.parse::<f64>().unwrap(), f, "{printed}");
    }
});
