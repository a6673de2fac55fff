"""The defect corpus: each module registers its defects (bench.defects.base.DEFECTS) on import."""

from bench.defects.corpus import auth, body, echo, limits, protocol, resources, times

__all__ = ["auth", "body", "echo", "limits", "protocol", "resources", "times"]
