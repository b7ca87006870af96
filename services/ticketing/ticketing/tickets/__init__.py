"""Tickets: intake, lifecycle, messages, merging, imports and the customer-data audit (T1, T2, T9, X6)."""
