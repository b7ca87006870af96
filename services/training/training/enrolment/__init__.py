"""Enrolment: who is on which course, their progress and attendance, extra attempts (R2)."""
