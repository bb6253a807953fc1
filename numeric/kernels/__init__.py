"""Private numba kernels. Call them through :mod:`attnsparse.numeric.simulate`."""
