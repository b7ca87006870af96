"""Facts: the ticketing and training events appraisal keeps, each ticket's record rebuilt from them, and replay."""
