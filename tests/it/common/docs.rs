//! docs/dialects.md's shapes table, checked against what Hundi really sends.

use serde_json::Value;

/// The fields the shapes table lists for `name`, in order.
pub fn shape(name: &str) -> Vec<String> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/dialects.md"))
        .expect("docs/dialects.md");
    let row = doc
        .lines()
        .find(|l| l.starts_with(&format!("| `{name}` |")))
        .unwrap_or_else(|| panic!("docs/dialects.md lists no shape `{name}`"));
    let fields = row.splitn(3, '|').nth(2).unwrap_or_default();
    fields
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// Asserts that `value`'s fields are, in order, the ones docs/dialects.md lists for `name`.
pub fn assert_shape(name: &str, value: &Value) {
    let got: Vec<String> = value
        .as_object()
        .unwrap_or_else(|| panic!("{name}: not an object: {value}"))
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        got,
        shape(name),
        "docs/dialects.md's `{name}` drifted from {value}"
    );
}
