"""Mailboxes: the support addresses admins connect (IMAP settings, or the raw-MIME endpoint
alone) and what their new mail becomes: a ticket of a kind and priority for a team."""
