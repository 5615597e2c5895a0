"""Benchmarks for Kiosk BPU: ``python -m bench`` (see bench/README.md)."""
