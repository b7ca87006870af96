"""Editing tickets: one (PATCH, with If-Match) or many at once (bulk)."""
