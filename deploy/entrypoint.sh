#!/bin/sh
# Container entrypoint for every CS Ops process (deploy/Dockerfile).
#
#   SERVICE=ticketing  ->  migrate the ticketing database, then run TicketingService
#   any arguments      ->  run them instead (e.g. python -m plumbing.topology ...)
#
# SERVICE is one of: gateway ticketing training appraisal monitoring.
set -eu

if [ "$#" -gt 0 ]; then
    exec "$@"
fi

case "${SERVICE:-}" in
    gateway)    target=gateway.service:GatewayService ;;
    ticketing)  target=ticketing.service:TicketingService ;;
    training)   target=training.service:TrainingService ;;
    appraisal)  target=appraisal.service:AppraisalService ;;
    monitoring) target=monitoring.service:MonitoringService ;;
    *)
        echo "entrypoint: set SERVICE to one of gateway, ticketing, training, appraisal, monitoring (got '${SERVICE:-}')" >&2
        exit 64 ;;
esac

# Takes a PostgreSQL advisory lock, so replicas starting together are safe.
python -m plumbing.migrate "$SERVICE"
exec python -m plumbing.serve "$target"
