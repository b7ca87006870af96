"""Erasing a customer's mail when ticketing erases the customer (customer.erased)."""
