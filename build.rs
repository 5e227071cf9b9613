//! Names the commit a binary was built from, for `hundi --version`: HUNDI_BUILD_COMMIT (the
//! short hash; a value given to the build wins, for a build from an exported tree) and
//! HUNDI_BUILD_DATE (the commit's date), "unknown" without git.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn main() {
    println!("cargo:rerun-if-env-changed=HUNDI_BUILD_COMMIT");
    // `sqlx::migrate!` embeds the migrations when the crate compiles: a new migration alone
    // must rebuild it too.
    println!("cargo:rerun-if-changed=migrations");
    // Rebuilt when HEAD moves (a commit, a checkout), not on every build.
    if let Some(git_dir) = git(&["rev-parse", "--git-dir"]) {
        let git_dir = Path::new(&git_dir);
        let mut watched = vec![git_dir.join("HEAD"), git_dir.join("packed-refs")];
        if let Some(head) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watched.push(git_dir.join(head));
        }
        // A path that does not exist would make Cargo run this script on every build.
        for path in watched.iter().filter(|p| p.exists()) {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    let given = std::env::var("HUNDI_BUILD_COMMIT")
        .ok()
        .filter(|c| !c.is_empty());
    let commit = given
        .clone()
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    let date = match given {
        Some(_) => None,
        None => git(&["log", "-1", "--format=%cs"]),
    }
    .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=HUNDI_BUILD_COMMIT={commit}");
    println!("cargo:rustc-env=HUNDI_BUILD_DATE={date}");
}
