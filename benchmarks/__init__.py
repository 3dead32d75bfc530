"""Benchmarks: timings as ratios against a reference measured side by side in one process.

They print a table and write CSV under ``benchmarks/out/`` (columns: name, value, unit, note).
They never fail on timings; machines are noisy.
"""
