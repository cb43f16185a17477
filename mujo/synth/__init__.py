"""The synthetic FiMAD generator: motion library, plan, chapter text, renderer and clip video (imports sim, fimad)."""
