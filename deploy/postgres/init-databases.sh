#!/bin/bash
# Creates one database per CS Ops process, owned by POSTGRES_USER.
# Run by the postgres image from /docker-entrypoint-initdb.d/ on first start
# (an empty data volume) only; safe to run again: existing databases are kept.
set -euo pipefail

databases="${CSOPS_DATABASES:-gateway ticketing training appraisal monitoring}"

for database in $databases; do
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
        -v database="$database" -v owner="$POSTGRES_USER" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'owner')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'database')
\gexec
SQL
    echo "init-databases: database $database ready (owner $POSTGRES_USER)"
done
