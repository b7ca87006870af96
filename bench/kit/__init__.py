"""What the benchmark scripts share. Each script in bench/ measures one scenario
(bench/README.md says which); none imports another.

- ``console``: timestamped progress lines; Ctrl-C and SIGTERM that let a script clean up
- ``machine``: CPU per process from /proc, how busy the machine is, what it is
- ``scratch``: a RabbitMQ vhost and PostgreSQL databases of a run's own, removed afterwards
- ``platform``: the platform's processes, all of them as `make up` runs them, or one service's replicas
- ``metrics``: the services' Prometheus histograms, before and after a measure
- ``profiles``: py-spy stacks and cProfile statistics summarised
- ``posts``: synthetic social posts made of real texts, for monitoring
- ``report``: latency figures and the JSON and Markdown files of a run
"""
import sys
from pathlib import Path

try:
    import kombu  # noqa: F401
    import psycopg2  # noqa: F401
    import requests  # noqa: F401
except ImportError as exc:  # pragma: no cover - run outside the venv
    sys.exit(f"the benchmarks need the project's venv ({exc}): run `make install`, then `.venv/bin/python bench/...`")

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
VENV_BIN = ROOT / ".venv" / "bin" if (ROOT / ".venv" / "bin" / "python").exists() else Path(sys.executable).parent
PYTHON = str(VENV_BIN / "python")
