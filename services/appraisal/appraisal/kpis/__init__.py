"""KPIs: the measured figures of an agent, a team or everyone over a period, and ticket counts (A1)."""
