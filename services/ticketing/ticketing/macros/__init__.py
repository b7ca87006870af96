"""Canned responses and macros: the agent workspace's text modules and one-click changes."""
