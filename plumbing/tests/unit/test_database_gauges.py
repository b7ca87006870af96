"""Database-counted gauges join the Prometheus registry without collecting under its lock.

Collecting runs queries (and, the first time, imports that make metrics); a metric made while the
registry's lock is held waits for it in the same thread, and the service hangs as it starts."""
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily

from plumbing.metrics import Described


class CountedInTheDatabase:
    def __init__(self, registry):
        self.registry = registry

    def collect(self):
        assert not self.registry._lock.locked(), "collected while the registry's lock is held"
        gauge = GaugeMetricFamily("csops_test_rows", "Rows counted at scrape time.", labels=["state"])
        gauge.add_metric(["open"], 3)
        yield gauge


def test_registering_reads_the_names_without_collecting_under_the_lock():
    registry = CollectorRegistry(auto_describe=True)  # as the default REGISTRY is
    registry.register(Described(CountedInTheDatabase(registry)))
    assert registry.get_sample_value("csops_test_rows", {"state": "open"}) == 3


def test_a_second_one_of_the_same_names_is_refused_as_before():
    registry = CollectorRegistry(auto_describe=True)  # as the default REGISTRY is
    registry.register(Described(CountedInTheDatabase(registry)))
    try:
        registry.register(Described(CountedInTheDatabase(registry)))
    except ValueError:
        return
    raise AssertionError("the same gauges registered twice")


def test_without_a_description_the_registry_collects_under_its_lock():
    registry = CollectorRegistry(auto_describe=True)  # as the default REGISTRY is
    with pytest.raises(AssertionError, match="lock is held"):
        registry.register(CountedInTheDatabase(registry))
