"""Reviews: KPI definitions, weighted templates, reviewers' ratings and the score they give (A2, A3)."""
