"""The agent image's supply chain, read from the Dockerfile and the hashed locks: a base
image pinned by version and digest, a non-root USER that is the Job's uid, every Python
dependency installed with --require-hashes, and locks that cover pyproject's dependencies."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from eidos.snapshot.agent import AGENT_GID, AGENT_UID, AgentOptions, job_manifest

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^[\w.-]+:\d+\.\d+\.\d+[\w.-]*@sha256:[0-9a-f]{64}$")


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pending = f"{pending} {line}" if pending else line
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        word, _, rest = pending.partition(" ")
        out.append((word.upper(), rest.strip()))
        pending = ""
    return out


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return instructions((ROOT / "Dockerfile").read_text())


def _stages(dockerfile):
    args = {}
    stages: list[list[tuple[str, str]]] = []
    for word, rest in dockerfile:
        if word == "ARG" and not stages:
            key, _, value = rest.partition("=")
            args[key] = value
        elif word == "FROM":
            image = rest.split()[0]
            image = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args[m.group(1) or m.group(2)], image)
            stages.append([("FROM", image)])
        elif stages:
            stages[-1].append((word, rest))
    return stages


def test_instruction_parser_sees_what_docker_sees():
    got = instructions("# c\nFROM a:1 AS b\nRUN x \\\n  # inner\n  && y\nUSER 1:1\n")
    assert got == [("FROM", "a:1 AS b"), ("RUN", "x && y"), ("USER", "1:1")]


def test_every_stage_is_pinned_by_version_and_digest(dockerfile):
    stages = _stages(dockerfile)
    assert len(stages) >= 2
    for stage in stages:
        image = stage[0][1]
        assert PIN.match(image), f"FROM {image}: pin a version tag and its sha256 digest"
        assert ":latest" not in image
    assert len({s[0][1] for s in stages}) == 1  # build and runtime on the same base


def test_final_stage_runs_as_the_jobs_non_root_uid(dockerfile):
    final = _stages(dockerfile)[-1]
    users = [rest for word, rest in final if word == "USER"]
    assert users, "the final stage has no USER: the image would run as root"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) != 0, "USER must be numeric (runAsNonRoot checks it)"
    assert (int(uid), int(gid or uid)) == (AGENT_UID, AGENT_GID)
    pod = job_manifest(AgentOptions(image="x", run_id="abc123"))["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == int(uid)
    assert pod["containers"][0]["securityContext"]["runAsUser"] == int(uid)
    # nothing after USER switches back or installs as another user
    after = final[[w for w, _ in final].index("USER") + 1:]
    assert all(word in ("ENTRYPOINT", "CMD", "ENV", "LABEL", "EXPOSE") for word, _ in after), after


def test_every_dependency_install_requires_hashes(dockerfile):
    runs = [rest for word, rest in dockerfile if word == "RUN"]
    pip_installs = [cmd.strip() for run in runs for cmd in run.split("&&") if "pip install" in cmd]
    assert pip_installs
    locked = [c for c in pip_installs if "--require-hashes" in c]
    assert {re.search(r"-r\s+(\S+)", c).group(1).rsplit("/", 1)[-1] for c in locked} == {
        "requirements-build.txt", "requirements-agent.txt"}
    assert all("--only-binary=:all:" in c for c in locked)
    # the one exception: eidos' own wheel, built in the image from this tree, without deps
    others = [c for c in pip_installs if c not in locked]
    assert others == ["pip install --no-cache-dir --no-deps /wheels/*.whl"]
    wheels = [cmd for run in runs for cmd in run.split("&&") if "pip wheel" in cmd]
    assert wheels and all("--no-deps" in c and "--no-build-isolation" in c for c in wheels)


def read_lock(name: str) -> dict[str, tuple[Version, list[str]]]:
    pins: dict[str, tuple[Version, list[str]]] = {}
    current = None
    for raw in (ROOT / name).read_text().splitlines():
        line = raw.strip().rstrip("\\").strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("--hash="):
            algo, _, digest = line.removeprefix("--hash=").partition(":")
            assert algo == "sha256" and re.fullmatch(r"[0-9a-f]{64}", digest), raw
            pins[current][1].append(digest)
            continue
        name_, sep, version = line.partition("==")
        assert sep, f"{name}: {raw!r} is not pinned with =="
        current = canonicalize_name(name_)
        assert current not in pins, f"{name}: {name_} listed twice"
        pins[current] = (Version(version.strip()), [])
    assert pins
    for pkg, (_, hashes) in pins.items():
        assert hashes, f"{name}: {pkg} has no hash"
    return pins


def test_agent_lock_covers_every_runtime_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    lock = read_lock("requirements-agent.txt")
    for spec in project["project"]["dependencies"]:
        req = Requirement(spec)
        name = canonicalize_name(req.name)
        assert name in lock, f"{req.name} is a runtime dependency but not in requirements-agent.txt"
        assert lock[name][0] in req.specifier, f"{name}=={lock[name][0]} does not satisfy {spec}"
    # compiled dependencies carry a wheel hash per architecture (amd64 and arm64 nodes)
    for compiled in ("ruamel-yaml-clib", "pyyaml"):
        assert len(lock[compiled][1]) >= 2, compiled
    # transitive dependencies of kubernetes are pinned too (hash mode refuses unpinned ones)
    assert {"urllib3", "certifi", "requests"} <= set(lock)


def test_build_lock_covers_the_build_backend():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    lock = read_lock("requirements-build.txt")
    for spec in project["build-system"]["requires"]:
        req = Requirement(spec)
        assert lock[canonicalize_name(req.name)][0] in req.specifier, spec
