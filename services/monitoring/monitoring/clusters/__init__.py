"""Clusters: near-duplicate posts (reposts of one story) grouped by MinHash-LSH."""
