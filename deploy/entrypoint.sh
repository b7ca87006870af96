#!/bin/sh
# Container entrypoint for every CS Ops process (deploy/Dockerfile).
#
#   SERVICE=ticketing  ->  migrate the ticketing database, then run TicketingService
#   any arguments      ->  run them instead (e.g. python -m plumbing.topology)
#
# SERVICE is a process name of plumbing/plumbing/services.py.
set -eu

if [ "$#" -gt 0 ]; then
    exec "$@"
fi

target=$(python -c 'import sys
from plumbing.services import PROCESSES
print(*(process.service_class for process in PROCESSES if process.name == sys.argv[1]))' "${SERVICE:-}")
if [ -z "$target" ]; then
    echo "entrypoint: set SERVICE to one of $(python -m plumbing.services names) (got '${SERVICE:-}')" >&2
    exit 64
fi

# Takes a PostgreSQL advisory lock, so replicas starting together are safe.
python -m plumbing.migrate "$SERVICE"
exec python -m plumbing.serve "$target"
