"""SLA policies and clocks in business time, on each policy's calendar (T4)."""
