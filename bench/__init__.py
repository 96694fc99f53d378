"""The load bench: `make bench` (python bench/run.py --help)."""
