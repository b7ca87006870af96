"""Exams: attempts, drawing questions, grading, and the deadline sweep (R3)."""
