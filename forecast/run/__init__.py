"""One run end to end: the pipeline, its in-memory result, its outputs and the up-to-date check."""
