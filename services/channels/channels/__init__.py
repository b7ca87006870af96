"""Channels: how customers reach the platform and hear back (T1, T5, T6, T7, M6).

It owns the mailboxes, the log of inbound mail and the Message-IDs that thread a
conversation, and talks to ticketing by RPC (a new mail opens a ticket, a reply
adds a customer message) and by events. Features: ``mailboxes`` (the support
addresses, their IMAP settings and where their mail goes), ``inbound`` (mail in:
parsing, stripping quoted history, threading, loop protection, the IMAP poller and
the raw-MIME endpoint). Later channels (SMS, IM) plug in beside ``inbound``.
"""
