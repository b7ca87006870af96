#!/bin/bash
# First start of an empty data volume: initdb with POSTGRES_USER / POSTGRES_PASSWORD (password
# logins over TCP), then each /docker-entrypoint-initdb.d/*.sh against a server on the socket only;
# then the server on every interface.
set -euo pipefail
export POSTGRES_USER="${POSTGRES_USER:-postgres}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 >/dev/null
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    pg_ctl --silent --wait --options="-c listen_addresses=''" start
    for script in /docker-entrypoint-initdb.d/*.sh; do
        [ -e "$script" ] || continue
        echo "postgres-entrypoint: running $script"
        bash "$script"
    done
    pg_ctl --silent --wait --mode=fast stop
fi

exec postgres -c listen_addresses='*'
