"""Where the Argo CD bundle's Applications live and where they deploy (``-d argocd`` flags).

Kept apart from :mod:`eidos.bundle.argocd` so that ``Context`` and ``BundleOptions`` can
carry the settings without importing the renderer. Construction validates every field
and raises :class:`~eidos.errors.UsageError` (exit 2) naming the flag, so a bad value is
refused before anything is rendered, whether it came from the CLI or from a library call.

The limits are Kubernetes' object-name rules (kubernetes.io/docs/concepts/overview/
working-with-objects/names): a namespace is a DNS-1123 label (``[a-z0-9]([-a-z0-9]*[a-z0-9])?``,
at most 63 characters); an AppProject name, like any custom resource name, is a DNS-1123
subdomain (at most 253). Application names are held to a DNS-1123 label (63) because
Argo CD's label tracking (the default before 3.0, still available) writes the Application
name into the ``app.kubernetes.io/instance`` label, whose values are truncated at 63
characters (argo-cd.readthedocs.io, user-guide/resource_tracking).
"""

from __future__ import annotations

import re
from typing import Any

from eidos.lang import record

from eidos.errors import UsageError

DEFAULT_NAMESPACE = "argocd"
DEFAULT_PROJECT = "default"
IN_CLUSTER = "https://kubernetes.default.svc"
NAME_MAX = 63  # DNS-1123 label: Application names and namespaces

# Matched with fullmatch: a trailing newline must not pass as it would with '$'.
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
# A prefix is the start of a DNS-1123 label: it may end with '-' (the name that follows
# starts with [a-z0-9]), it may not start with one.
_LABEL_PREFIX = re.compile(r"[a-z0-9][-a-z0-9]*")
_SERVER = re.compile(r"https?://[^\s/]+(/\S*)?")


def _namespace(_inst, _attr, value: str) -> None:
    if len(value) > NAME_MAX or not _LABEL.fullmatch(value):
        raise UsageError(
            f"--argocd-namespace {value!r}: expected a Kubernetes namespace name "
            f"(DNS-1123 label: lowercase letters, digits and '-', at most {NAME_MAX} characters)"
        )


def _project(_inst, _attr, value: str) -> None:
    if len(value) > 253 or not _SUBDOMAIN.fullmatch(value):
        raise UsageError(
            f"--project {value!r}: expected an AppProject name (DNS-1123 subdomain: lowercase "
            "letters, digits, '-' and '.', at most 253 characters)"
        )


def _server(_inst, _attr, value: str) -> None:
    if value and not _SERVER.fullmatch(value):
        raise UsageError(
            f"--destination-server {value!r}: expected the cluster's API server URL, "
            "e.g. https://kubernetes.default.svc or https://10.0.0.1:6443"
        )


def _cluster_name(_inst, _attr, value: str) -> None:
    if value and (value != value.strip() or any(not ch.isprintable() for ch in value)):
        raise UsageError(
            f"--destination-name {value!r}: expected the name of a cluster registered in Argo CD "
            "(no leading or trailing blanks, no control characters)"
        )


def _prefix(_inst, _attr, value: str) -> None:
    if value and (len(value) >= NAME_MAX or not _LABEL_PREFIX.fullmatch(value)):
        raise UsageError(
            f"--name-prefix {value!r}: expected the start of a DNS-1123 label (lowercase letters, "
            f"digits and '-', starting with a letter or digit, under {NAME_MAX} characters), "
            "e.g. --name-prefix prod-a-",
        )


@record.frozen
class ArgoCDSettings:
    """Namespace and project of the Applications, their destination, and a name prefix.

    ``destination_server`` and ``destination_name`` are exclusive (Argo CD takes one or
    the other); with neither, components deploy to the cluster Argo CD runs in.
    """

    namespace: str = record.field(default=DEFAULT_NAMESPACE, validator=_namespace)
    project: str = record.field(default=DEFAULT_PROJECT, validator=_project)
    destination_server: str = record.field(default="", validator=_server)
    destination_name: str = record.field(default="", validator=_cluster_name)
    name_prefix: str = record.field(default="", validator=_prefix)

    def __attrs_post_init__(self) -> None:
        if self.destination_server and self.destination_name:
            raise UsageError(
                "--destination-server and --destination-name are exclusive: an Argo CD "
                "destination names its cluster by URL or by name, not both"
            )

    def destination(self) -> dict[str, str]:
        """``spec.destination`` without the namespace: the cluster, by name or by URL."""
        if self.destination_name:
            return {"name": self.destination_name}
        return {"server": self.destination_server or IN_CLUSTER}

    def app_name(self, name: str) -> str:
        """``name`` with the prefix; refused when the result is no longer a DNS-1123 label."""
        full = self.name_prefix + name
        if len(full) > NAME_MAX:
            raise UsageError(
                f"--name-prefix {self.name_prefix!r}: Application name {full!r} would be "
                f"{len(full)} characters, over the {NAME_MAX} of a DNS-1123 label",
                hint="use a shorter prefix",
            )
        return full

    def as_dict(self) -> dict[str, Any]:
        """The settings that differ from the defaults, camelCase as in bundle.json."""
        keys = {
            "namespace": "namespace",
            "project": "project",
            "destination_server": "destinationServer",
            "destination_name": "destinationName",
            "name_prefix": "namePrefix",
        }
        return {
            keys[name]: getattr(self, name)
            for name, default in record.defaults(type(self)).items()
            if getattr(self, name) != default
        }
