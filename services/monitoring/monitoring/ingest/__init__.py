"""Ingest: posts come in, are stored, matched, analysed, clustered and scored, and are read back."""
