"""Vietnamese classifiers: insurance type, province (2025 map), category, topics, with evidence."""

from classifiers.classify import classify
from classifiers.result import Classification, Evidence

__all__ = ["Classification", "Evidence", "classify"]
