#!/usr/bin/env bash
# Counts the lines of the notes `harden fix --dry-run` prints (standard
# error, less its closing summary line) for the example, zoo and fixture
# projects, by default and with --verbose (the whole text of every note).
#
# Usage: scripts/notes-length.sh [HARDEN]   (default: target/debug/harden)
set -euo pipefail
cd "$(dirname "$0")/.."
harden=${1:-target/debug/harden}
# What an image without a profile says depends on the machine: ask nothing.
export HARDEN_OFFLINE=1 HARDEN_IMAGE_SOURCE=registry NO_COLOR=1

count() {
    # The last line is the summary ("2 files would be changed."), not a note.
    # (Exit status 1 means changes are pending.)
    { "$harden" fix --dry-run "$@" 2>&1 >/dev/null || true; } | head -n -1 | wc -l
}

short_total=0
verbose_total=0
printf '%-45s %7s %7s\n' project short verbose
for dir in examples/e2e/*/ tests/zoo-projects/*/ tests/fixtures/project/ \
    tests/fixtures/projects/*/ tests/fixtures/canary/*/; do
    dir=${dir%/}
    short=$(count "$dir")
    verbose=$(count --verbose "$dir")
    printf '%-45s %7d %7d\n' "$dir" "$short" "$verbose"
    short_total=$((short_total + short))
    verbose_total=$((verbose_total + verbose))
done
printf '%-45s %7d %7d\n' total "$short_total" "$verbose_total"
awk -v s="$short_total" -v v="$verbose_total" \
    'BEGIN { printf "ratio short/verbose: %.2f\n", (v ? s / v : 0) }'
