#!/usr/bin/env bash
# Build the image zoo (tests/zoo/*/, see tests/zoo/README.md) once and cache
# it: each folder becomes localhost/harden-zoo/<name>:latest, labelled with a
# hash of the folder, and is rebuilt only when that hash changes. Extra tags
# from a folder's `tags` file point at the same image, but a tag held by an
# image that is not the zoo's (no zoo label) is never moved.
# Usage: bash .ci/zoo-build.sh [NAME...]   (default: every folder)
set -euo pipefail
cd "$(dirname "$0")/.."

ZOO=tests/zoo
PREFIX=localhost/harden-zoo
LABEL=dev.harden.zoo.hash
BASE_IMAGE=localhost/debian:bookworm-slim

say() { printf 'zoo-build: %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }

[ "$(id -u)" -eq 0 ] || die "must run as root (rootful Podman, like .ci/e2e-setup.sh)"
command -v podman >/dev/null 2>&1 || die "podman missing (run: bash .ci/e2e-setup.sh)"
podman image exists "$BASE_IMAGE" || die "$BASE_IMAGE missing (run: bash .ci/e2e-setup.sh)"

# One build at a time on this machine: several checkouts may run it at once.
exec 9>"${TMPDIR:-/tmp}/harden-zoo-build.lock"
flock 9

start=$(date +%s)

label_of() { # image -> the zoo hash label, empty when none or no image
    podman image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null |
        sed 's/^<no value>$//' || true
}

id_of() { podman image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }

# The folder's content: every file's path, mode and bytes, in a stable order,
# plus the image it is built on (a rebuilt base rebuilds the zoo).
hash_of() { # name parent-image
    local dir=$ZOO/$1
    {
        printf 'parent %s\n' "$(id_of "$2")"
        (cd "$dir" && find . -type f -print0 | LC_ALL=C sort -z |
            while IFS= read -r -d '' f; do
                printf '%s %s %s\n' "$(stat -c %a "$f")" "$f" "$(sha256sum <"$f" | cut -d' ' -f1)"
            done)
    } | sha256sum | cut -c1-32
}

parent_of() { # name -> FROM image of its Containerfile (the last stage's)
    awk 'toupper($1) == "FROM" { for (i = 2; i <= NF; i++) if ($i !~ /^--/) { img = $i; break } } END { print img }' \
        "$ZOO/$1/Containerfile"
}

tags_of() { # name -> extra tags, one a line
    [ -f "$ZOO/$1/tags" ] || return 0
    sed -e 's/#.*//' -e 's/[[:space:]]//g' "$ZOO/$1/tags" | grep -v '^$' || true
}

declare -A done_=()
built=() cached=()

build() { # name
    local name=$1
    [ "${done_[$name]:-}" = "building" ] && die "$name: FROM cycle"
    [ -n "${done_[$name]:-}" ] && return 0
    [ -f "$ZOO/$name/Containerfile" ] || die "$ZOO/$name/Containerfile: missing"
    [[ $name =~ ^[a-z0-9][a-z0-9-]*$ ]] || die "$ZOO/$name: folder names are lowercase letters, digits and -"
    local parent
    parent=$(parent_of "$name")
    case $parent in
        "$PREFIX"/*)
            local dep=${parent#"$PREFIX"/}
            dep=${dep%%:*}
            done_[$name]=building
            build "$dep"
            ;;
    esac
    local image=$PREFIX/$name:latest want have old=""
    want=$(hash_of "$name" "$parent")
    have=$(label_of "$image")
    if [ "$have" = "$want" ]; then
        cached+=("$name")
    else
        old=$(id_of "$image")
        say "building $image"
        local t0=$(date +%s)
        podman build -q --pull=never --label "$LABEL=$want" -t "$image" \
            -f "$ZOO/$name/Containerfile" "$ZOO/$name" >/dev/null ||
            die "$name: build failed"
        say "built $image in $(($(date +%s) - t0)) s"
        built+=("$name")
    fi
    local tag
    while IFS= read -r tag; do
        [ -n "$tag" ] || continue
        if podman image exists "$tag"; then
            if [ -z "$(label_of "$tag")" ]; then
                die "$tag exists and is not a zoo image (no $LABEL label): not moving it; remove it or drop the tag from $ZOO/$name/tags"
            fi
            [ "$(id_of "$tag")" = "$(id_of "$image")" ] && continue
        fi
        podman tag "$image" "$tag"
    done < <(tags_of "$name")
    # The zoo image this build replaced goes once its tags have moved, when
    # no container uses it any more.
    if [ -n "${old:-}" ] && [ -n "$have" ] && [ "$old" != "$(id_of "$image")" ]; then
        podman image rm "$old" >/dev/null 2>&1 || true
    fi
    done_[$name]=1
}

# Every tag belongs to one folder only.
dups=$(for d in "$ZOO"/*/; do tags_of "$(basename "$d")"; done | sort | uniq -d)
[ -z "$dups" ] || die "tags listed by more than one folder: $dups"

if [ $# -gt 0 ]; then
    names=("$@")
else
    names=()
    for d in "$ZOO"/*/; do names+=("$(basename "$d")"); done
fi
for n in "${names[@]}"; do build "$n"; done

say "ready: ${#built[@]} built (${built[*]:-}), ${#cached[@]} cached, $(($(date +%s) - start)) s"
