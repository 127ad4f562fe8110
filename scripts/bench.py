#!/usr/bin/env python3
"""Benchmark harden over a generated tree of compose files and Dockerfiles.

Usage: scripts/bench.py [--files N] [--keep DIR] [--tree-only]

Generates a tree of at least N files laid out like real repositories: one
git checkout per project, each with a main compose file, sometimes its
override, a `-f` variant named in a Makefile or a script, an `include`d
file and an `extends`ed one; one to three build contexts with a
multi-stage Dockerfile (heredocs, continuations, sometimes `# escape=`),
a `.dockerignore`, a manifest (requirements.txt, package.json, go.mod)
and an entry module; styles vary per project (2/3/4/8-space indentation,
flush and indented lists, comments, anchors, flow style, CRLF). Then it
times `cat` over every file (the floor: just reading), `harden check` and
`harden fix --dry-run` (median of 7, `--offline`), and reports files per
second, peak memory and the ratio to `cat`; then the start-up time on
one small compose file alone and on a project's compose file (which
builds Dockerfiles, read too), and the time and peak memory of every command
and report format on a 10 MB compose file, once with tens of thousands
of small services and once with a few thousand services carrying long
scripts (`--tree-only` skips those). `--files 10000` makes the
10,000-file tree of the issue's target.
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
          "node:20-alpine", "grafana/grafana:11.1.0", "traefik:v3.1", "mongo:7",
          "memcached:1.6", "mariadb:11", "rabbitmq:3-management"]
BASES = ["python:3.12-slim", "node:20-alpine", "debian:bookworm-slim",
         "ubuntu:24.04", "alpine:3.20", "golang:1.22", "eclipse-temurin:21-jre",
         "registry.access.redhat.com/ubi9/ubi", "gcr.io/distroless/static-debian12"]
# What a build context carries besides its Dockerfile, by language.
MANIFESTS = {
    "python": [("requirements.txt", "flask==3.0.3\ngunicorn==22.0.0\nrequests>=2.31\n"),
               ("app.py", "from flask import Flask\n\napp = Flask(__name__)\n")],
    "node": [("package.json", '{\n  "name": "svc",\n  "main": "server.js",\n'
                              '  "dependencies": {"express": "^4.19.2", "sharp": "^0.33.4"}\n}\n'),
             ("server.js", "'use strict';\nconst express = require('express');\n")],
    "go": [("go.mod", "module example.com/svc\n\ngo 1.22\n"),
           ("main.go", "package main\n\nfunc main() {}\n")],
}


class Style:
    """One project's formatting habits: indentation, list style, line ends."""

    def __init__(self, rng):
        self.ind = " " * rng.choice([2, 2, 2, 4, 3, 8])
        self.seq = "" if rng.random() < 0.3 else self.ind
        self.eol = "\r\n" if rng.random() < 0.1 else "\n"

    def text(self, lines):
        return self.eol.join(lines) + self.eol


def compose(rng, st, k, contexts, extends):
    """The project's main compose file: services built here (one image
    also run by name by a second service), images from a registry, an
    `extends` of a shared file, anchors, flow style, comments."""
    ind, seq = st.ind, st.seq
    p = ind * 2
    lines = [f"# project {k}: generated for the harden benchmark", ""]
    anchors = rng.random() < 0.3
    if anchors:
        lines += ["x-common: &common", f"{ind}restart: unless-stopped",
                  f"{ind}logging:", f"{ind}{ind}driver: json-file", ""]
    if rng.random() < 0.15:
        lines += ["include:", f"{seq}- monitoring/compose.yaml", ""]
    lines.append("services:")
    for n, (ctx, lang) in enumerate(contexts):
        lines.append(f"{ind}# {ctx}: built here — ünïcödé comment")
        lines.append(f"{ind}{ctx}:")
        if anchors:
            lines.append(f"{p}<<: *common")
        if rng.random() < 0.5:
            lines += [f"{p}build:", f"{p}{ind}context: ./{ctx}", f"{p}{ind}target: runtime"]
        else:
            lines.append(f"{p}build: ./{ctx}")
        lines.append(f"{p}image: team/{ctx}-{k}:latest")
        if rng.random() < 0.5:
            lines += [f"{p}ports:", f"{p}{seq}- \"{8000 + n}:8080\""]
        lines += [f"{p}environment:"]
        for v in range(rng.randint(1, 6)):
            lines.append(f"{p}{ind}VAR_{v}: value-{v}  # setting {v}")
        if rng.random() < 0.3:
            lines.append(f"{p}cap_drop: [NET_RAW]")
        lines.append("")
        if n == 0 and rng.random() < 0.4:
            # The same image run by name: a worker or a migration job.
            lines += [f"{ind}{ctx}-worker:", f"{p}image: team/{ctx}-{k}:latest",
                      f"{p}command: [\"python\", \"-m\", \"worker\"]", ""]
    for s in range(rng.randint(1, 3)):
        name = f"dep{s}"
        lines.append(f"{ind}{name}:")
        if anchors:
            lines.append(f"{p}<<: *common")
        lines.append(f"{p}image: {rng.choice(IMAGES)}")
        if rng.random() < 0.4:
            lines += [f"{p}volumes:", f"{p}{seq}- {name}-data:/data"]
        if rng.random() < 0.3:
            lines += [f"{p}command: |", f"{p}{ind}run --flag", f"{p}{ind}# not a comment"]
        lines.append("")
    for name in extends:
        lines += [f"{ind}{name}:", f"{p}extends:", f"{p}{ind}file: common.yml",
                  f"{p}{ind}service: {name}", ""]
    lines += ["volumes:"] + [f"{ind}dep{s}-data: {{}}" for s in range(3)]
    return st.text(lines)


def dockerfile(rng, base, lang, escape):
    """A multi-stage build with heredocs, continuations and comments; some
    with `# escape=` and a backtick continuation."""
    c = "`" if escape else "\\"
    lines = (["# escape=`"] if escape else []) + ["# syntax=docker/dockerfile:1"]
    arg = rng.random() < 0.3
    if arg:
        lines.append(f"ARG BASE={base}")
    lines += [f"FROM {base} AS build", "WORKDIR /src", "COPY . .",
              f"RUN make build {c}", "    # comment inside a continuation",
              "    && make test", ""]
    lines.append("FROM ${BASE} AS runtime" if arg else f"FROM {base} AS runtime")
    lines.append("WORKDIR /app")
    if "distroless" not in base:
        if rng.random() < 0.3 and not escape:
            lines += ["RUN <<EOF", "set -e", "echo building", "EOF"]
        lines += [f"RUN echo install {c}", "    && echo done"]
    entry = {"python": '["gunicorn", "app:app"]', "node": '["node", "server.js"]',
             "go": '["/app/svc"]'}[lang]
    lines += ["COPY --from=build /src/out/ ./", "ENV PORT=8080", "EXPOSE 8080", f"CMD {entry}"]
    return "\n".join(lines) + "\n"


def project(rng, k):
    """One repository-like project: {relative path: text}."""
    st = Style(rng)
    files = {}
    contexts = []
    for n in range(rng.choice([1, 1, 2, 2, 3])):
        ctx = ["api", "web", "worker"][n]
        lang = rng.choice(sorted(MANIFESTS))
        base = {"python": "python:3.12-slim", "node": "node:20-alpine",
                "go": rng.choice(["golang:1.22", "gcr.io/distroless/static-debian12"])}[lang]
        if rng.random() < 0.3:
            base = rng.choice(BASES)
        contexts.append((ctx, lang))
        files[f"{ctx}/Dockerfile"] = dockerfile(rng, base, lang, rng.random() < 0.1)
        files[f"{ctx}/.dockerignore"] = "node_modules\n.git\n*.pyc\n"
        for name, text in MANIFESTS[lang]:
            files[f"{ctx}/{name}"] = text
    extends = ["queue"] if rng.random() < 0.3 else []
    if extends:
        files["common.yml"] = st.text(["services:", f"{st.ind}queue:",
                                       f"{st.ind * 2}image: rabbitmq:3-management",
                                       f"{st.ind * 2}restart: always"])
    main = rng.choice(["docker-compose.yml", "compose.yaml"])
    files[main] = compose(rng, st, k, contexts, extends)
    text = files[main]
    if "monitoring/compose.yaml" in text:
        files["monitoring/compose.yaml"] = st.text(
            ["services:", f"{st.ind}grafana:", f"{st.ind * 2}image: grafana/grafana:11.1.0"])
    stem = main.rsplit(".", 1)[0]
    ext = main.rsplit(".", 1)[1]
    first = contexts[0][0]
    if rng.random() < 0.4:
        files[f"{stem}.override.{ext}"] = st.text(
            ["services:", f"{st.ind}{first}:", f"{st.ind * 2}environment:",
             f"{st.ind * 3}DEBUG: \"1\""])
    if rng.random() < 0.25:
        files[f"{stem}.prod.{ext}"] = st.text(
            ["services:", f"{st.ind}{first}:", f"{st.ind * 2}restart: always"])
        files["Makefile"] = (f"up:\n\tdocker compose -f {main} -f {stem}.prod.{ext} up -d\n"
                             f"down:\n\tdocker compose down\n")
    if rng.random() < 0.2:
        files["scripts/deploy.sh"] = f"#!/bin/sh\nset -e\ndocker compose -f {main} pull\n"
    files[".gitignore"] = ".env\nnode_modules/\n__pycache__/\n"
    return files


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
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--keep")
    ap.add_argument("--tree-only", action="store_true")
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    binary = os.path.join(ROOT, "target", "release", "harden")
    work = args.keep or tempfile.mkdtemp(prefix="harden-bench-")
    rng = random.Random(42)
    files = []
    k = 0
    while len(files) < args.files:
        root = os.path.join(work, f"org{k // 25}", f"proj{k}")
        # Each project is its own repository, as a checkout of it would be.
        os.makedirs(os.path.join(root, ".git"), exist_ok=True)
        with open(os.path.join(root, ".git", "HEAD"), "w") as f:
            f.write("ref: refs/heads/main\n")
        for name, text in project(rng, k).items():
            path = os.path.join(root, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", newline="") as f:
                f.write(text)
            files.append(os.path.relpath(path, work))
        k += 1
    size = sum(os.path.getsize(os.path.join(work, f)) for f in files)
    kinds = {}
    for f in files:
        n = os.path.basename(f)
        kind = ("compose" if n.endswith((".yml", ".yaml")) else "Dockerfile" if n == "Dockerfile"
                else "other")
        kinds[kind] = kinds.get(kind, 0) + 1
    print(f"tree: {len(files)} files in {k} projects ({kinds['compose']} compose, "
          f"{kinds['Dockerfile']} Dockerfiles, {kinds['other']} manifests, sources, "
          f"Makefiles, scripts, ignore files), {size / 1e6:.1f} MB in {work}")
    list_file = os.path.join(work, ".files")
    with open(list_file, "w") as f:
        f.write("\n".join(files))

    def median(cmd, runs):
        results = sorted((timed(cmd, work) for _ in range(runs)), key=lambda r: r[0])
        wall, rss, code = results[len(results) // 2]
        if any(r[2] not in (0, 1) for r in results):
            sys.exit(f"{' '.join(cmd)} failed with exit status {code}")
        return wall, rss

    floor, _ = median(["sh", "-c", "xargs cat < .files > /dev/null"], 7)
    print(f"cat (floor):          {floor:7.3f} s  (median of 7)")
    # --offline: the tree's own images are unknown to every registry; the
    # figure is harden's own work, not network round trips.
    for label, cmd, target in (("harden check", [binary, "check", "--quiet", "--offline", "."], 3),
                               ("harden fix --dry-run",
                                [binary, "fix", "--dry-run", "--quiet", "--offline", "."], 4)):
        wall, rss = median(cmd, 7)
        print(f"{label + ':':21} {wall:7.3f} s  {len(files) / wall:9.0f} files/s  "
              f"peak RSS {rss / 1024:6.1f} MiB  ({wall / floor:.1f}x cat, target <= {target}x)")

    # Start-up, many runs, the median; `cat` of the same file measured the
    # same way is what starting any process costs here. Two cases: one
    # small compose file on its own (images run by name, as the issue
    # measures it), and a project's compose file, which builds Dockerfiles
    # that are read and analysed too.
    def start_to_exit(cmd):
        walls = []
        for _ in range(30):
            t0 = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            walls.append(time.perf_counter() - t0)
        walls.sort()
        return walls[len(walls) // 2] * 1000

    alone = os.path.join(work, "alone", "compose.yaml")
    os.makedirs(os.path.dirname(alone), exist_ok=True)
    with open(alone, "w") as f:
        f.write("services:\n  cache:\n    image: redis:7\n  web:\n    image: nginx:1.27\n"
                "    ports:\n      - \"8080:80\"\n    depends_on: [cache]\n")
    project_file = os.path.join(work, next(f for f in files if f.endswith(("compose.yaml", "compose.yml"))))
    for label, one in (("one small file", alone), ("compose + Dockerfiles", project_file)):
        floor_one = start_to_exit(["cat", one])
        print(f"{label + ':':22}{start_to_exit([binary, 'check', '--quiet', '--offline', one]):7.2f} ms median "
              f"start-to-exit, cat {floor_one:.2f} ms (target <= 2 ms)")

    if args.tree_only:
        if not args.keep:
            shutil.rmtree(work)
        return

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
