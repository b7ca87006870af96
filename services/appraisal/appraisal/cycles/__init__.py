"""Cycles: a period's appraisal from plan to close, its results, publication, appeals and audit trail (A4-A6)."""
