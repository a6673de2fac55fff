"""A blind measurement of the contract suite: a corpus of plausible regressions of Unleash 8.2.0,
each a variant of the stock mock, and a runner that certifies each with `unleash-pat check`."""

from bench.defects import corpus
from bench.defects.base import DEFECTS, Defect, reference, transparent

__all__ = ["DEFECTS", "Defect", "corpus", "reference", "transparent"]
