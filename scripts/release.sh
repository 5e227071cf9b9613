#!/usr/bin/env bash
# Builds the release binary a self-hoster downloads: Linux x86_64, statically linked (musl),
# stripped, with its SHA-256 sum beside it in dist/.
#
#   scripts/release.sh            # → dist/hundi-<version>-x86_64-linux and .sha256
#
# Installs what the build needs when missing: Debian's musl-tools (the C parts, ring and the
# bundled SQLite, are compiled with musl-gcc) and the Rust musl target. Honours
# CARGO_TARGET_DIR. `hundi --version` names the commit it was built from.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=x86_64-unknown-linux-musl
log() { printf '==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v musl-gcc >/dev/null 2>&1; then
  log "installing musl-tools"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq musl-tools
fi
if ! rustup target list --installed | grep -qx "$TARGET"; then
  log "adding the Rust target $TARGET"
  rustup target add "$TARGET"
fi

log "building $TARGET (release, stripped)"
CC_x86_64_unknown_linux_musl=musl-gcc \
CARGO_PROFILE_RELEASE_STRIP=true \
  cargo build --locked --release --target "$TARGET" --bin hundi

target_dir="${CARGO_TARGET_DIR:-target}"
built="$target_dir/$TARGET/release/hundi"
# A static binary names no interpreter and no shared library.
if file "$built" | grep -q "dynamically linked"; then
  file "$built" >&2
  echo "the binary is not static" >&2
  exit 1
fi

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
mkdir -p dist
out="dist/hundi-$version-x86_64-linux"
cp "$built" "$out"
(cd dist && sha256sum "$(basename "$out")" > "$(basename "$out").sha256")
log "$out: $(du -h "$out" | cut -f1), $("$out" --version)"
log "sha256: $(cut -d' ' -f1 "$out.sha256")"
