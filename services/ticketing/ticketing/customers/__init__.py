"""Customers and organisations: the customer record tickets point to, merge, erasure, retention."""
