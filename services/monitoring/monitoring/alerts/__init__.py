"""Alerts: raised on grave clusters and spikes, and handled by agents until resolved."""
