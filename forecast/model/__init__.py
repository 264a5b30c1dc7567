"""The fitted model: the frontier trend, the PyMC model and its blocks, sampling, the cached fit, posterior files."""
