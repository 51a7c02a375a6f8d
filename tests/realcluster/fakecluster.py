#!/usr/bin/env python3
"""A stand-in for ``kubectl`` and ``helm`` that keeps a cluster's state in a JSON file.

Used only by tests/realcluster/test_harness.py to check the real-cluster tier's own
wiring (every release installed, everything removed, cleanup after a failed deploy)
without a cluster. It understands exactly the commands the bundles' scripts and the
harness run, and fails loudly on anything else, so a change in those commands shows up
here instead of on a customer's cluster. ``FAKE_FAIL_INSTALL=NAME`` makes
``helm upgrade --install NAME`` fail after creating its namespace, like a chart whose pods
never become ready.
"""

import json
import os
import sys
from pathlib import Path

STATE = Path(os.environ["FAKE_CLUSTER_STATE"])


def load():
    if STATE.exists():
        return json.loads(STATE.read_text())
    return {"namespaces": ["default", "kube-system"], "crds": [], "releases": {}}


def save(state):
    STATE.write_text(json.dumps(state, sort_keys=True))


def opt(args, name):
    return args[args.index(name) + 1] if name in args else None


def kubectl(args, state):
    if args[:2] == ["config", "current-context"]:
        print("fake")
        return 0
    if args[:1] == ["get"] and args[1].startswith("--raw="):
        print("{}")
        return 0
    if args[:1] == ["version"]:
        print(json.dumps({"serverVersion": {"gitVersion": "v1.33.0"}}))
        return 0
    if args[:2] in (["get", "namespaces"], ["get", "crd"]) and "-o" in args:
        key = "namespaces" if args[1] == "namespaces" else "crds"
        print(json.dumps({"items": [{"metadata": {"name": n}} for n in state[key]]}))
        return 0
    if args[:2] == ["get", "crd"]:
        return 0 if args[2] in state["crds"] else 1
    if args[:2] in (["delete", "namespace"], ["delete", "crd"]):
        key = "namespaces" if args[1] == "namespace" else "crds"
        if args[2] not in state[key]:
            print(f'Error: "{args[2]}" not found', file=sys.stderr)
            return 1
        state[key].remove(args[2])
        if key == "namespaces":
            state["releases"] = {k: v for k, v in state["releases"].items() if v["namespace"] != args[2]}
        return 0
    print(f"fake kubectl: unsupported {args}", file=sys.stderr)
    return 99


def helm(args, state):
    if args[:2] == ["upgrade", "--install"]:
        name, chart, ns = args[2], args[3], opt(args, "--namespace")
        if "--create-namespace" in args and ns not in state["namespaces"]:
            state["namespaces"].append(ns)
        if ns not in state["namespaces"]:
            print(f"Error: namespaces \"{ns}\" not found", file=sys.stderr)
            return 1
        if os.environ.get("FAKE_FAIL_INSTALL") == name:
            print(f"Error: context deadline exceeded waiting for {name}", file=sys.stderr)
            return 1
        version = (opt(args, "--version") or "0.1.0").lstrip("v")
        state["crds"].append(f"{name}s.fake.example")
        state["releases"][f"{ns}/{name}"] = {
            "name": name, "namespace": ns, "status": "deployed",
            "chart": f"{chart.rsplit('/', 1)[-1]}-{version}",
        }
        return 0
    if args[:1] == ["status"]:
        return 0 if f"{opt(args, '--namespace')}/{args[1]}" in state["releases"] else 1
    if args[:1] == ["uninstall"]:
        key = f"{opt(args, '--namespace')}/{args[1]}"
        if key not in state["releases"]:
            return 1
        del state["releases"][key]
        return 0
    if args[:1] == ["list"]:
        print(json.dumps(sorted(state["releases"].values(), key=lambda r: (r["namespace"], r["name"]))))
        return 0
    print(f"fake helm: unsupported {args}", file=sys.stderr)
    return 99


def main():
    tool = Path(sys.argv[0]).name
    state = load()
    rc = (kubectl if tool == "kubectl" else helm)(sys.argv[1:], state)
    save(state)
    return rc


if __name__ == "__main__":
    sys.exit(main())
