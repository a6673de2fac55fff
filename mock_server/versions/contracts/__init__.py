"""The contract of each version: openapi.yaml (8.2.0's, the reference) and, here, one overlay
per older version.

An overlay is a JSON merge patch (RFC 7396, written as YAML) saying what its version changes
relative to the next newer one: 7.6.5 relative to 8.2.0, 6.10.1 relative to 7.6.5, 5.12.8
relative to 6.10.1. A profile lists the chain it needs, so each fact is written once, an
overlay reads as the version's changelog against its successor, and the reference contract
stays one readable file. (Whole files per version would repeat ~400 lines three times and let
them drift apart; JSON Patch would address list items by index, which breaks on any edit.)
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

_HERE = Path(__file__).resolve().parent
# The wheel carries openapi.yaml inside the package; a source checkout has it at the top.
REFERENCE = next(
    p for p in (_HERE.parents[1] / "openapi.yaml", _HERE.parents[2] / "openapi.yaml") if p.exists()
)


def overlay(version: str) -> Path:
    return _HERE / f"unleash-{version}.yaml"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: objects merge key by key, `null` removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


@functools.cache
def load(reference: Path, overlays: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The contract: the reference document with the overlays applied in order. Cached; treat
    the result as read-only."""
    document = yaml.safe_load(reference.read_text(encoding="utf-8"))
    for path in overlays:
        document = merge_patch(document, yaml.safe_load(path.read_text(encoding="utf-8")))
    return document
