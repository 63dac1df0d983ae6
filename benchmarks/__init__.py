"""Benchmarks of xlsales against bare Excel readers on synthetic team workspaces.

``python -m benchmarks run --sizes 10k,100k,500k`` — see benchmarks/README.md.
"""
