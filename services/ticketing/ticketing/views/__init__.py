"""Saved views of the ticket list (docs/workspace.md, "Views")."""
