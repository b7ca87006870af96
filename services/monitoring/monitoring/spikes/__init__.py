"""Spikes: negative mentions of a topic per time bucket, against their seasonal baseline."""
