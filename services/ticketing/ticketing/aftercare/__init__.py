"""After-care: complaints, ratings, callbacks and suggestions (T5, T6, T7)."""
