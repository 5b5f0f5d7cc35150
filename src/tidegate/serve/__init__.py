"""Long-running enforcement points (``tidegate serve …``): the admission webhook and the registry pull gate."""
