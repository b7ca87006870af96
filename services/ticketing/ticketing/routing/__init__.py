"""Who gets a ticket: the agents registry fed by staff and training events, and routing (T3, R4)."""
