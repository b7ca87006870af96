"""The one list of the platform's processes: the gateway and the backend services.

The Makefile, the process runner (``make up``), the broker topology, backups,
migrations, the tests and the benches read it; a test compares the compose
file, the Kubernetes manifests and the Prometheus scrape configuration with it.
Adding a service is one line here (docs/adding-a-service.md).

    python3 plumbing/plumbing/services.py names        # gateway ticketing ...
    python3 plumbing/plumbing/services.py backends     # ticketing training ...
    python3 plumbing/plumbing/services.py classes      # gateway.service:GatewayService ...
    python3 plumbing/plumbing/services.py procfile     # one line per process, for honcho

It imports nothing outside the standard library, so the Makefile can read it
before the virtual environment exists.
"""
import sys
from typing import NamedTuple


class Process(NamedTuple):
    name: str            # also its database's and its exchange's name
    service_class: str   # module:Class that plumbing.serve runs
    metrics_port: int | None  # its /metrics under `make up`; the gateway serves /metrics on its HTTP port


GATEWAY = Process("gateway", "gateway.service:GatewayService", None)
BACKENDS = (
    Process("ticketing", "ticketing.service:TicketingService", 9101),
    Process("training", "training.service:TrainingService", 9102),
    Process("appraisal", "appraisal.service:AppraisalService", 9103),
    Process("monitoring", "monitoring.service:MonitoringService", 9104),
    Process("channels", "channels.service:ChannelsService", 9105),
)
PROCESSES = (GATEWAY, *BACKENDS)
NAMES = tuple(process.name for process in PROCESSES)
BACKEND_NAMES = tuple(process.name for process in BACKENDS)


def procfile_line(process: Process) -> str:
    command = f"python -m plumbing.serve {process.service_class}"
    if process.metrics_port is None:
        return f"{process.name}: {command}"
    variable = f"{process.name.upper()}_METRICS_PORT"
    return f"{process.name}: METRICS_PORT=${{{variable}:-{process.metrics_port}}} {command}"


def main(argv):
    what = argv[1] if len(argv) > 1 else "names"
    lines = {
        "names": [" ".join(NAMES)],
        "backends": [" ".join(BACKEND_NAMES)],
        "classes": [" ".join(process.service_class for process in PROCESSES)],
        "procfile": [procfile_line(process) for process in PROCESSES],
    }.get(what)
    if lines is None:
        sys.exit(f"usage: services.py [names|backends|classes|procfile], not {what!r}")
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv)
