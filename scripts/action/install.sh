#!/usr/bin/env bash
# Installs harden for the GitHub Action in action.yml.
#
#   install.sh prepare   sets the outputs `bin` (the binary's path, for the
#                        cache step) and `key` (the cache key)
#   install.sh install   puts harden into <install root>/bin and that folder
#                        on PATH: a cached binary when the cache step restored
#                        one, else the release binary for this runner when it
#                        downloads and runs, else `cargo install --locked` from
#                        the action's own checkout
#
# Inputs come from the environment (action.yml maps them): INPUT_VERSION,
# INPUT_RELEASE_URL, INPUT_REPOSITORY, INPUT_INSTALL_DIR. HARDEN_ACTION_REF
# and HARDEN_ACTION_REPOSITORY are the action's own ref and repository, passed
# through `env:` because composite actions do not always see them in `run`.
# HARDEN_ACTION_CARGO overrides the cargo command (tests use a stub).
set -euo pipefail

action_path="${GITHUB_ACTION_PATH:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"

# The folder cargo install --root and the download both install into.
install_root() {
  if [[ -n "${INPUT_INSTALL_DIR:-}" ]]; then
    printf '%s\n' "$INPUT_INSTALL_DIR"
  else
    printf '%s\n' "${CARGO_HOME:-$HOME/.cargo}"
  fi
}

# Appends name=value to $GITHUB_OUTPUT; values are single-line by construction.
output() {
  if [[ "$2" == *$'\n'* ]]; then
    echo "::error::output $1 holds a newline" >&2
    exit 2
  fi
  printf '%s=%s\n' "$1" "$2" >>"${GITHUB_OUTPUT:-/dev/null}"
}

# The Rust target triple release archives are named for; empty when harden
# publishes none for this runner.
target_triple() {
  local arch os
  case "$(uname -m)" in
    x86_64 | amd64) arch=x86_64 ;;
    aarch64 | arm64) arch=aarch64 ;;
    *) return 0 ;;
  esac
  case "$(uname -s)" in
    Linux) os=unknown-linux-gnu ;;
    Darwin) os=apple-darwin ;;
    *) return 0 ;;
  esac
  printf '%s-%s\n' "$arch" "$os"
}

# The release to download: the `version` input, else the action's own ref.
wanted_version() {
  printf '%s\n' "${INPUT_VERSION:-${HARDEN_ACTION_REF:-}}"
}

# The download URL, or nothing when there is no release to look for.
release_url() {
  local version target repository url
  version="$(wanted_version)"
  target="$(target_triple)"
  repository="${INPUT_REPOSITORY:-${HARDEN_ACTION_REPOSITORY:-}}"
  url="${INPUT_RELEASE_URL:-}"
  if [[ -z "$url" ]]; then
    [[ -n "$repository" ]] || return 0
    url='https://github.com/{repository}/releases/download/{version}/harden-{target}.tar.gz'
  fi
  if [[ -z "$version" || -z "$target" ]]; then
    return 0
  fi
  url="${url//\{repository\}/$repository}"
  url="${url//\{version\}/$version}"
  url="${url//\{target\}/$target}"
  printf '%s\n' "$url"
}

# Whether $1 is a harden binary that runs here.
runs() {
  local out
  out="$("$1" --version 2>/dev/null)" || return 1
  [[ "$out" == harden* ]]
}

# Whether $1 runs and is the version the `version` input names (any, when
# it names none).
runs_wanted() {
  runs "$1" || return 1
  [[ -n "${INPUT_VERSION:-}" ]] || return 0
  local out
  out="$("$1" --version)"
  if [[ "$out" != *" ${INPUT_VERSION#v}"* ]]; then
    echo "harden: $1 is \"$out\", not version ${INPUT_VERSION}"
    return 1
  fi
}

sha256() {
  if command -v sha256sum >/dev/null; then
    sha256sum
  else
    shasum -a 256
  fi
}

# Downloads the release into $1/bin/harden; fails (leaving nothing) when
# there is none or it does not run.
download() {
  local root="$1" url tmp
  url="$(release_url)"
  if [[ -z "$url" ]]; then
    echo "harden: no release to download (no version, repository or runner target)"
    return 1
  fi
  if ! command -v curl >/dev/null; then
    echo "harden: curl is missing; not downloading $url"
    return 1
  fi
  tmp="$(mktemp -d)"
  echo "harden: downloading $url"
  if ! curl --fail --silent --show-error --location --retry 2 --output "$tmp/download" "$url"; then
    echo "harden: no release binary at $url"
    rm -rf "$tmp"
    return 1
  fi
  case "$url" in
    *.tar.gz | *.tgz)
      mkdir "$tmp/unpacked"
      if ! tar -xzf "$tmp/download" -C "$tmp/unpacked"; then
        echo "harden: $url is not a gzip tar archive"
        rm -rf "$tmp"
        return 1
      fi
      local found
      found="$(find "$tmp/unpacked" -type f -name harden | head -n 1)"
      if [[ -z "$found" ]]; then
        echo "harden: $url holds no file named harden"
        rm -rf "$tmp"
        return 1
      fi
      mv "$found" "$tmp/harden"
      ;;
    *) mv "$tmp/download" "$tmp/harden" ;;
  esac
  chmod 755 "$tmp/harden"
  if ! runs_wanted "$tmp/harden"; then
    echo "harden: the binary from $url does not run on this runner"
    rm -rf "$tmp"
    return 1
  fi
  mkdir -p "$root/bin"
  mv "$tmp/harden" "$root/bin/harden"
  rm -rf "$tmp"
}

# Builds the action's own checkout into $1/bin/harden.
build() {
  local root="$1" cargo
  cargo="${HARDEN_ACTION_CARGO:-cargo}"
  if [[ -n "${INPUT_VERSION:-}" ]]; then
    echo "::warning::harden: no release binary for ${INPUT_VERSION}; building the action's own source instead"
  fi
  echo "harden: cargo install --locked --path $action_path --root $root"
  "$cargo" install --locked --path "$action_path" --root "$root"
}

prepare() {
  local root hash
  root="$(install_root)"
  # The source the fallback builds, so a cached build follows the action's
  # checkout even when its ref is a branch.
  hash="$(
    cd "$action_path"
    find Cargo.toml Cargo.lock build.rs src templates -type f -print0 2>/dev/null |
      LC_ALL=C sort -z | xargs -0 cat | sha256 | cut -c1-16
  )"
  output bin "$root/bin/harden"
  output key "harden-${RUNNER_OS:-$(uname -s)}-${RUNNER_ARCH:-$(uname -m)}-${INPUT_VERSION:-src}-$hash"
}

install() {
  local root
  root="$(install_root)"
  if [[ "${HARDEN_CACHE_HIT:-}" == true ]] && runs "$root/bin/harden"; then
    echo "harden: using the cached $root/bin/harden"
  elif download "$root"; then
    echo "harden: installed the release binary"
  else
    build "$root"
  fi
  if ! runs "$root/bin/harden"; then
    echo "::error::harden: $root/bin/harden does not run after installing"
    exit 1
  fi
  printf '%s\n' "$root/bin" >>"${GITHUB_PATH:-/dev/null}"
  "$root/bin/harden" --version
}

case "${1:-}" in
  prepare) prepare ;;
  install) install ;;
  *)
    echo "usage: install.sh prepare|install" >&2
    exit 2
    ;;
esac
