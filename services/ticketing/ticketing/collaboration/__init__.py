"""Working together on a ticket: presence, @mentions, followers, linked tickets (docs/workspace.md)."""
