"""Evidence read from a store: trails, explanations and citations (no Flask; the CLI and the web share them)."""
