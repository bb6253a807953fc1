"""Numeric layer of attnsparse: models, statistics, simulation and checks (mpmath, numpy, numba)."""
