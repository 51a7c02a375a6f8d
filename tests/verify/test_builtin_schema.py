"""The cached built-in validator (eidos.verify.schema.builtin_validator) judges objects as
``kubernetes_validate.validate`` does: the library itself is the oracle.

Catches a cached validator built from the wrong schema file (non-strict, wrong group
naming), a registry that cannot resolve the shared definitions, or a first error that
differs from the library's."""

from __future__ import annotations

import pytest

kubernetes_validate = pytest.importorskip("kubernetes_validate")

from eidos.verify.schema import builtin_validator  # noqa: E402

OBJECTS = [
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}},
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": 1}},
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "dta": {}},
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
     "spec": {"selector": {"matchLabels": {"a": "b"}},
              "template": {"metadata": {"labels": {"a": "b"}},
                           "spec": {"containers": [{"name": "c", "image": "x"}]}}}},
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
     "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x", "ports": [{"containerPort": "80"}]}]}}}},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r"},
     "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r"},
     "rules": [{"apiGroups": [""], "resources": ["pods"], "verb": ["get"]}]},
    {"apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy", "metadata": {"name": "p"}},
]


def _library(obj, version):
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return "no schema"
    except kubernetes_validate.ValidationError as err:
        return (err.message, list(err.path))
    return None


def _cached(obj, version):
    validator = builtin_validator(obj["kind"], obj["apiVersion"], version)
    if validator is None:
        return "no schema"
    err = next(iter(validator.iter_errors(obj)), None)
    return None if err is None else (err.message, list(err.path))


@pytest.mark.parametrize("obj", OBJECTS, ids=lambda o: f"{o['kind']}-{sorted(o)[-1]}")
def test_cached_validator_agrees_with_the_library(obj):
    version = kubernetes_validate.latest_version()
    assert _cached(obj, version) == _library(obj, version)


def test_the_cases_cover_pass_fail_and_unknown():
    version = kubernetes_validate.latest_version()
    outcomes = [_library(o, version) for o in OBJECTS]
    assert None in outcomes and "no schema" in outcomes
    assert any(isinstance(o, tuple) for o in outcomes)


def test_validators_are_built_once_per_kind():
    version = kubernetes_validate.latest_version()
    assert builtin_validator("ConfigMap", "v1", version) is builtin_validator("ConfigMap", "v1", version)
