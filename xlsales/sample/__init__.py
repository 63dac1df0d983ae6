"""A deterministic sample team (12 reps, Oct 2023 - Mar 2024) for demos and tests."""

from xlsales.sample.generator import SAMPLE_END, SAMPLE_START, SAMPLE_TODAY, SampleTeam, generate

__all__ = ["SAMPLE_END", "SAMPLE_START", "SAMPLE_TODAY", "SampleTeam", "generate"]
