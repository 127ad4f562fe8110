#!/usr/bin/env bash
# Runs harden for the GitHub Action in action.yml, in $GITHUB_WORKSPACE.
#
# mode check: `harden check` in the chosen format into a report file (for
#   sarif: harden.sarif, output `sarif`), annotations on the lines, a summary;
#   the exit status is harden's.
# mode fix: the pull-request body (`pr-body`, markdown) and the patch
#   (`patch`) of the dry run, then `harden fix` writes the files; `changed` is
#   true when anything changed.
#
# Inputs come from the environment (action.yml maps them): INPUT_MODE,
# INPUT_PATHS, INPUT_FORMAT, INPUT_FAIL_ON, INPUT_ARGS. Paths and args are
# split on whitespace, never evaluated.
set -euo pipefail

mode="${INPUT_MODE:-check}"
format="${INPUT_FORMAT:-sarif}"
fail_on="${INPUT_FAIL_ON:-error}"
paths=()
args=()
IFS=$' \t\n' read -r -d '' -a paths <<<"${INPUT_PATHS-.}" || true
IFS=$' \t\n' read -r -d '' -a args <<<"${INPUT_ARGS:-}" || true

cd "${GITHUB_WORKSPACE:-.}"
out_dir="$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/harden.XXXXXX")"

# Appends name=value to $GITHUB_OUTPUT; values are single-line by construction.
output() {
  if [[ "$2" == *$'\n'* ]]; then
    echo "::error::output $1 holds a newline" >&2
    exit 2
  fi
  printf '%s=%s\n' "$1" "$2" >>"${GITHUB_OUTPUT:-/dev/null}"
}

summary() {
  printf '%s\n' "$@" >>"${GITHUB_STEP_SUMMARY:-/dev/null}"
}

# harden with the user's args before the paths; `--` keeps paths that start
# with a dash from being read as options. (The `+` forms keep empty arrays
# from tripping `set -u` in older bash.)
harden_run() {
  harden "$@" ${args[@]+"${args[@]}"} -- ${paths[@]+"${paths[@]}"}
}

check() {
  case "$format" in
    sarif | github | text | json | markdown) ;;
    *)
      echo "::error::harden: format must be sarif, github, text, json or markdown, not '$format'"
      exit 2
      ;;
  esac
  case "$fail_on" in
    error | warning | never) ;;
    *)
      echo "::error::harden: fail-on must be error, warning or never, not '$fail_on'"
      exit 2
      ;;
  esac
  local report annotations status=0
  case "$format" in
    sarif) report="$out_dir/harden.sarif" ;;
    markdown) report="$out_dir/harden.md" ;;
    json) report="$out_dir/harden.json" ;;
    *) report="$out_dir/harden.txt" ;;
  esac
  harden_run check --format "$format" --fail-on "$fail_on" --color never >"$report" || status=$?
  # The annotations, which also give the counts for the summary.
  if [[ "$format" == github ]]; then
    annotations="$report"
  else
    annotations="$out_dir/annotations.txt"
    harden_run check --format github --exit-zero >"$annotations" || true
  fi
  case "$format" in
    sarif) cat "$annotations" ;;
    *) cat "$report" ;;
  esac
  local errors warnings
  errors="$(grep -c '^::error ' "$annotations" || true)"
  warnings="$(grep -c '^::warning ' "$annotations" || true)"
  output report "$report"
  if [[ "$format" == sarif ]]; then
    output sarif "$report"
  fi
  output errors "$errors"
  output warnings "$warnings"
  local verdict
  case "$status" in
    0) verdict="passed" ;;
    1) verdict="failed (fail-on: $fail_on)" ;;
    *) verdict="could not read every file (exit status $status)" ;;
  esac
  summary "## harden check" "" \
    "$errors error(s), $warnings warning(s): $verdict." ""
  if [[ "$errors" != 0 || "$warnings" != 0 ]]; then
    summary "\`harden fix\` repairs the findings it marks as fixable; \`harden fix --dry-run\` shows the change." ""
  fi
  exit "$status"
}

fix() {
  local body="$out_dir/pr-body.md" patch="$out_dir/harden.patch" status=0
  # Dry runs exit 1 when there are changes, 2 on unreadable input.
  harden_run fix --dry-run --format markdown --color never >"$body" || status=$?
  if ((status > 1)); then
    echo "::error::harden fix could not read every file (exit status $status)"
    exit "$status"
  fi
  status=0
  harden_run fix --dry-run --color never >"$patch" || status=$?
  if ((status > 1)); then
    echo "::error::harden fix could not read every file (exit status $status)"
    exit "$status"
  fi
  harden_run fix --quiet --color never
  local changed=false files
  files="$(grep -c '^+++ ' "$patch" || true)"
  if [[ -s "$patch" ]]; then
    changed=true
  fi
  output changed "$changed"
  output patch "$patch"
  output pr-body "$body"
  summary "## harden fix" ""
  if [[ "$changed" == true ]]; then
    summary "$files file(s) changed:" ""
    grep '^+++ ' "$patch" | sed -e 's|^+++ b/|- `|' -e 's|$|`|' >>"${GITHUB_STEP_SUMMARY:-/dev/null}"
    summary ""
  else
    summary "Nothing to change."
  fi
}

case "$mode" in
  check) check ;;
  fix) fix ;;
  *)
    echo "::error::harden: mode must be check or fix, not '$mode'"
    exit 2
    ;;
esac
