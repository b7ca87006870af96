"""Watch rules: the topics monitored, as boolean queries over post text."""
