#!/bin/sh
# What `make test-compose` leaves if it was stopped before its own `down -v`: the project's containers,
# volumes, networks and pods, and the Podman API service it started. The images stay (the next run's cache).
label=label=com.docker.compose.project=csops-composetest
cd "$(dirname "$0")/../.."
pidfile=var/compose/podman-service.pid
if [ -f "$pidfile" ]; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
fi
command -v podman >/dev/null || exit 0
podman ps -aq --filter "$label" | xargs -r podman rm -f -t 5 >/dev/null
podman pod ls -q --filter "$label" | xargs -r podman pod rm -f >/dev/null
podman volume ls -q --filter "$label" | xargs -r podman volume rm -f >/dev/null
podman network ls -q --filter "$label" | xargs -r podman network rm -f >/dev/null
exit 0
