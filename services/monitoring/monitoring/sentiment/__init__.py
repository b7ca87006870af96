"""Sentiment: the shipped model and VADER, crisis terms, agents' corrections, training and evaluation."""
