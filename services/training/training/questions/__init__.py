"""The question bank: categories and questions (R3)."""
