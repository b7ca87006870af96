"""Tickets for public-opinion alerts that monitoring raises (M6)."""
