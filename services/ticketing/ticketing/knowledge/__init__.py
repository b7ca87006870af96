"""The knowledge base agents search while answering, and its gaps (T8)."""
