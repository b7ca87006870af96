"""Courses and their modules (R1)."""
