//! `hundi --version` names the commit the binary was built from, so an operator can tell what
//! runs and what CHANGELOG.md applies to.

use std::process::Command;

#[test]
fn version_names_the_commit_it_was_built_from() {
    let out = Command::new(env!("CARGO_BIN_EXE_hundi"))
        .arg("--version")
        .output()
        .expect("run hundi");
    assert!(out.status.success());
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        version.starts_with(&format!("hundi {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    match head {
        Ok(h) if h.status.success() => {
            let head = String::from_utf8_lossy(&h.stdout).trim().to_string();
            assert!(
                version.contains(&format!("(commit {head}, ")),
                "{version} vs {head}"
            );
        }
        // No repository here (an exported tree): nothing to compare the commit with.
        _ => {}
    }
}
