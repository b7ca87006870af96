"""Prometheus metrics are answered with a media type strict scrapers accept."""
from prometheus_client import make_wsgi_app
from werkzeug.test import Client

from gateway.routes.platform import metrics


def test_the_gateway_names_each_media_type_parameter_once():
    content_type = metrics(None, None).headers["Content-Type"]
    assert content_type.count("charset") == 1, content_type
    assert content_type.startswith("text/plain; version=")


def test_the_services_metrics_servers_name_each_media_type_parameter_once():
    """plumbing.metrics serves prometheus_client's own WSGI app."""
    content_type = Client(make_wsgi_app()).get("/metrics").headers["Content-Type"]
    assert content_type.count("charset") == 1, content_type
