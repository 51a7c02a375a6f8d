"""Bundles: a resolved recipe turned into deployable artifacts (Helm, Argo CD, Flux, script).

``make_bundle`` renders everything in memory from a recipe document; ``write_bundle`` puts
it on disk atomically. See docs/bundles.md for the layouts and the ``--set`` syntax.
"""

from eidos.bundle.argosettings import ArgoCDSettings
from eidos.bundle.build import DEPLOYERS, Bundle, BundleOptions, make_bundle
from eidos.bundle.scheduling import SchedulingRequest, build_request
from eidos.bundle.writer import check_target, write_bundle

__all__ = [
    "DEPLOYERS",
    "ArgoCDSettings",
    "Bundle",
    "BundleOptions",
    "SchedulingRequest",
    "build_request",
    "check_target",
    "make_bundle",
    "write_bundle",
]
