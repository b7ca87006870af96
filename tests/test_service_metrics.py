"""Each service serves its own /metrics with RPC and handler histograms (X4)."""
import requests

from plumbing import migrate
from plumbing.testing import free_port, wait_for, wait_until_answering


def test_a_service_process_serves_rpc_histograms_on_its_metrics_port(
        service_process, rabbit_config, process_env, monkeypatch):
    monkeypatch.setenv("CSOPS_VAR_DIR", process_env["CSOPS_VAR_DIR"])
    migrate.upgrade("training")
    port = free_port()
    service_process("training.service:TrainingService", METRICS_PORT=str(port)).start()
    url = f"http://127.0.0.1:{port}/metrics"

    def serving():
        try:
            return requests.get(url, timeout=1).status_code == 200
        except requests.ConnectionError:
            return False
    wait_for(serving, timeout=30, interval=0.3, message="the metrics port")
    wait_until_answering("training", rabbit_config)
    text = requests.get(url, timeout=5).text
    assert 'csops_rpc_duration_seconds_count{method="ping",outcome="success"}' in text
    assert "# TYPE csops_event_handler_duration_seconds histogram" in text
