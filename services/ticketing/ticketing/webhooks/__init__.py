"""Webhooks: subscriptions, signing and delivery of ticketing's events to outside systems (X2)."""
