"""Plumbing every CS Ops service does the same way.

Configuration, database sessions, the CloudEvents envelope, the outbox and
inbox, reliable event handlers and metrics. No business logic lives here.
"""
