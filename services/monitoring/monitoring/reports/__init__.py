"""Reports: opinion trends, topics, terms, clusters and alert handling over a period."""
