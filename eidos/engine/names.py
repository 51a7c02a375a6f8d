"""What names, versions and sources in a component may look like, checked at compile time.

These strings end up in generated shell scripts, YAML documents, Helm release names and
directory names. Quoting at the edges is the second line of defence; the first is that a
rule can never declare a version such as ``v1$(touch pwned)``, a namespace with a newline
or a chart name with a backtick: each is refused here, with its location and a hint that
says what a real one looks like.
"""

from __future__ import annotations

import re

# A Helm release / object / directory name: DNS-1123 label, at most 53 characters (Helm).
COMPONENT_NAME = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,51}[a-z0-9])?")
# A Kubernetes namespace: DNS-1123 label.
NAMESPACE = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")
# A chart name as Helm accepts it.
CHART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
# A chart version: SemVer 2 (major.minor.patch, optional pre-release and build), with an
# optional leading v; Helm also accepts major or major.minor.
CHART_VERSION = re.compile(
    r"v?(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*)){0,2}"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)
# A git ref (kustomize tag): what git check-ref-format allows, minus anything a shell reads.
GIT_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/+-]{0,254}")
# A repository or source URL: printable, no whitespace, quotes, '$', backtick, ';', '|',
# '<', '>', '\\' or parentheses (none appears in a real chart repository or git URL).
LOCATION = re.compile(r"[A-Za-z0-9._~:/?#@%+=,&!*\[\]-]{1,2048}")
# A path inside a kustomize source.
REL_PATH = re.compile(r"[A-Za-z0-9._/-]{1,1024}")

_WHAT = {
    "component": (COMPONENT_NAME, ("lower-case letters, digits and '-', at most 53 characters, "
                                   "starting and ending with a letter or digit (it becomes a Helm "
                                   "release name)")),
    "namespace": (NAMESPACE, ("a DNS-1123 label: lower-case letters, digits and '-', "
                              "at most 63 characters, e.g. \"gpu-operator\"")),
    "chart": (CHART, "letters, digits, '.', '_' and '-', e.g. \"gpu-operator\""),
    "version": (CHART_VERSION, ("a SemVer chart version, optionally with a leading v, "
                                "e.g. \"v25.10.1\" or \"1.2.3-rc.1\"")),
    "tag": (GIT_REF, "a git tag or branch: letters, digits, '.', '_', '/', '+' and '-', e.g. \"v1.2.0\""),
    "repo": (LOCATION, "an https://, http:// or oci:// URL without spaces, quotes or shell characters"),
    "source": (LOCATION, "a git URL without spaces, quotes or shell characters"),
    "path": (REL_PATH, "a relative path: letters, digits, '.', '_', '/' and '-'"),
}


def problem(what: str, text: str) -> tuple[str, str] | None:
    """``(message, hint)`` when ``text`` is not a valid ``what``, else None."""
    pattern, hint = _WHAT[what]
    if pattern.fullmatch(text):
        if what == "path" and (text.startswith("/") or ".." in text.split("/")):
            return f"{what} {_show(text)} must stay inside the source repository", hint
        return None
    bad = next((c for c in text if ord(c) < 32 or ord(c) == 127), None)
    if bad is not None:
        return f"{what} {_show(text)} contains the control character {bad!r}", hint
    return f"{_show(text)} is not a valid {what}", hint


def _show(text: str) -> str:
    shown = repr(text)
    return shown if len(shown) <= 80 else shown[:77] + "..."
