#!/usr/bin/env python3
"""Benchmark harden over a generated tree of compose files and Dockerfiles.

Usage: scripts/bench.py [--files N] [--keep DIR]

Generates N compose files and N Dockerfiles in the styles harden meets in
real projects (2/4-space indentation, flush and indented lists, comments,
anchors, flow style, CRLF, multi-stage builds, heredocs, continuations),
then times `cat` over them (the floor: just reading), `harden check` and
`harden fix --dry-run`, and reports files per second, peak memory and the
ratio to `cat`; then the start-up time on one small file, and the time
and peak memory of every command and report format on a 10 MB compose
file, once with tens of thousands of small services and once with a few
thousand services carrying long scripts. `--files 5000` makes the
10,000-file tree.
"""

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

IMAGES = ["postgres:16", "redis:7-alpine", "nginx:1.27", "python:3.12-slim",
          "node:20-alpine", "grafana/grafana:11.1.0", "traefik:v3.1", "mongo:7"]
BASES = ["python:3.12-slim", "node:20-alpine", "debian:bookworm-slim",
         "ubuntu:24.04", "alpine:3.20", "golang:1.22", "eclipse-temurin:21-jre",
         "registry.access.redhat.com/ubi9/ubi", "gcr.io/distroless/static-debian12"]


def compose(rng, i):
    ind = " " * rng.choice([2, 2, 2, 4, 3, 8])
    flush = rng.random() < 0.3
    seq = ind if not flush else ""
    eol = "\r\n" if rng.random() < 0.1 else "\n"
    lines = [f"# project {i}: generated for the harden benchmark", ""]
    anchors = rng.random() < 0.3
    if anchors:
        lines += ["x-common: &common", f"{ind}restart: unless-stopped",
                  f"{ind}logging:", f"{ind}{ind}driver: json-file", ""]
    lines.append("services:")
    for s in range(rng.randint(1, 6)):
        name = f"svc{s}"
        lines.append(f"{ind}# service {name} — ünïcödé comment")
        lines.append(f"{ind}{name}:")
        p = ind * 2
        if anchors:
            lines.append(f"{p}<<: *common")
        if s == 0:
            # The project's own image: built from the Dockerfile next to it.
            lines.append(f"{p}build: .")
        elif rng.random() < 0.5:
            lines.append(f"{p}build: ./{name}")
        lines.append(f"{p}image: {rng.choice(IMAGES)}")
        if rng.random() < 0.5:
            lines.append(f"{p}ports:")
            lines.append(f"{p}{seq}- \"{8000 + s}:{8000 + s}\"")
        if rng.random() < 0.5:
            lines.append(f"{p}environment:")
            for k in range(rng.randint(1, 8)):
                lines.append(f"{p}{ind}VAR_{k}: value-{k}  # setting {k}")
        if rng.random() < 0.3:
            lines.append(f"{p}cap_drop: [NET_RAW]")
        if rng.random() < 0.2:
            lines.append(f"{p}read_only: true")
        if rng.random() < 0.3:
            lines.append(f"{p}command: |")
            lines.append(f"{p}{ind}run --flag")
            lines.append(f"{p}{ind}# not a comment")
        lines.append("")
    lines += ["volumes:", f"{ind}data: {{}}"]
    return eol.join(lines) + eol


def dockerfile(rng, i):
    base = rng.choice(BASES)
    lines = ["# syntax=docker/dockerfile:1"]
    if rng.random() < 0.5:
        lines += [f"FROM {base} AS build", "WORKDIR /src", "COPY . .",
                  "RUN make build \\", "    # comment inside a continuation",
                  "    && make test", ""]
    if rng.random() < 0.3:
        lines = lines[:1] + [f"ARG BASE={base}"] + lines[1:] + ["FROM ${BASE}"]
    else:
        lines.append(f"FROM {base}")
    lines.append("WORKDIR /app")
    if "distroless" not in base:
        if rng.random() < 0.3:
            lines += ["RUN <<EOF", "set -e", "echo building", "EOF"]
        lines += ["RUN echo install \\", "    && echo done"]
    lines += ["COPY app/ ./app/", "ENV PORT=8080", "EXPOSE 8080",
              'CMD ["./app/run"]']
    return "\n".join(lines) + "\n"


def timed(cmd, cwd):
    """Wall time and peak RSS (KiB) of one command, via /usr/bin/time."""
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, cwd=cwd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    rss = int(p.stderr.strip().splitlines()[-1])
    return wall, rss, p.returncode


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--keep")
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    binary = os.path.join(ROOT, "target", "release", "harden")
    work = args.keep or tempfile.mkdtemp(prefix="harden-bench-")
    rng = random.Random(42)
    files = []
    for i in range(args.files):
        d = os.path.join(work, f"p{i // 50}", f"s{i}")
        os.makedirs(d, exist_ok=True)
        for name, text in (("docker-compose.yml", compose(rng, i)), ("Dockerfile", dockerfile(rng, i))):
            path = os.path.join(d, name)
            with open(path, "w", newline="") as f:
                f.write(text)
            files.append(os.path.relpath(path, work))
    size = sum(os.path.getsize(os.path.join(work, f)) for f in files)
    print(f"tree: {len(files)} files ({args.files} compose, {args.files} Dockerfiles), {size / 1e6:.1f} MB in {work}")
    list_file = os.path.join(work, ".files")
    with open(list_file, "w") as f:
        f.write("\n".join(files))
    floor, _, _ = timed(["sh", "-c", "xargs cat < .files > /dev/null"], work)
    print(f"cat (floor):          {floor:7.3f} s")
    for label, cmd in (("harden check", [binary, "check", "--quiet", "."]),
                       ("harden fix --dry-run", [binary, "fix", "--dry-run", "--quiet", "."])):
        best = None
        for _ in range(3):
            wall, rss, code = timed(cmd, work)
            if code not in (0, 1):
                sys.exit(f"{label} failed with exit status {code}")
            best = (wall, rss) if best is None or wall < best[0] else best
        wall, rss = best
        print(f"{label + ':':21} {wall:7.3f} s  {len(files) / wall:9.0f} files/s  "
              f"peak RSS {rss / 1024:6.1f} MiB  ({wall / floor:.1f}x cat)")

    # Start-up: one small file, many runs, the median.
    one = os.path.join(work, files[0])
    walls = []
    for _ in range(30):
        t0 = time.perf_counter()
        subprocess.run([binary, "check", "--quiet", one], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        walls.append(time.perf_counter() - t0)
    walls.sort()
    print(f"one small file:       {walls[len(walls) // 2] * 1000:7.2f} ms median start-to-exit (target < 5 ms)")

    # One large compose file: memory against its size, in two shapes: tens
    # of thousands of small services, and a few thousand with long block
    # scalars (scripts); memory follows the number of YAML nodes more than
    # the number of bytes.
    def small_service(i):
        return (f"  svc{i}:\n    image: registry.example.com/team/app{i}:1.0\n"
                f"    environment:\n      LOG_LEVEL: info  # comment {i}\n"
                f"      DATA_ROOT_HINT: value-{i}\n    ports:\n      - \"{8000 + i % 1000}:8080\"\n")

    def scripted_service(i):
        steps = "".join(f"        echo step {k} && run-task --name task-{k} --retries 3  # note {k}\n"
                        for k in range(40))
        return (f"  app{i}:\n    image: registry.example.com/team/app{i}:1.0\n"
                f"    command:\n      - /bin/sh\n      - -c\n      - |\n{steps}")

    for label, service in (("services", small_service), ("services with long scripts", scripted_service)):
        big = os.path.join(work, f"big-{service.__name__}", "docker-compose.yml")
        os.makedirs(os.path.dirname(big), exist_ok=True)
        with open(big, "w") as f:
            f.write("services:\n")
            i = 0
            while f.tell() < 10 * 1024 * 1024:
                f.write(service(i))
                i += 1
        size = os.path.getsize(big)
        print(f"one {size / 1e6:.1f} MB file, {i} {label}:")
        # Every command and format, each against the targets: peak
        # memory under 5x the file, fix --dry-run under 3 s.
        limits = ["--max-file-size", str(size + 1), "--max-yaml-nodes", "100000000"]
        for name, cmd in (("check", ["check", "--quiet"]),
                          ("check --format json", ["check", "--format", "json"]),
                          ("check --format sarif", ["check", "--format", "sarif"]),
                          ("check --format markdown", ["check", "--format", "markdown"]),
                          ("check --format github", ["check", "--format", "github"]),
                          ("fix --dry-run", ["fix", "--dry-run", "--quiet"]),
                          ("fix --dry-run --format markdown", ["fix", "--dry-run", "--format", "markdown"])):
            wall, rss, code = timed([binary] + cmd + limits + [big], work)
            if code not in (0, 1):
                sys.exit(f"harden {name} on the large file failed with exit status {code}")
            print(f"  {name + ':':32} {wall:7.3f} s  peak RSS {rss / 1024:6.1f} MiB  "
                  f"({rss * 1024 / size:5.1f}x the file, target < 5x)")

    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
