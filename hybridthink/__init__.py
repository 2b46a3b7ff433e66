"""hybridthink: the shared library of the four-stage hybrid-thinking post-training pipeline."""
