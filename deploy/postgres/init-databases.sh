#!/bin/bash
# Creates one database per CS Ops process, owned by a login role of the same name whose password
# is POSTGRES_<NAME>_PASSWORD; no other role (but superusers) may connect to it.
# Run by the postgres image from /docker-entrypoint-initdb.d/ on first start (an empty data
# volume) only. Safe to run again, and that is how to change the passwords or to move a database
# of an earlier release (owned by POSTGRES_USER) to its role:
#   docker compose exec postgres /docker-entrypoint-initdb.d/init-databases.sh
set -euo pipefail

databases="${CSOPS_DATABASES:-gateway ticketing training appraisal monitoring channels}"

for database in $databases; do
    variable="POSTGRES_${database^^}_PASSWORD"
    if [ -z "${!variable:-}" ]; then
        echo "init-databases: set $variable (the password of role $database)" >&2
        exit 64
    fi
done

for database in $databases; do
    variable="POSTGRES_${database^^}_PASSWORD"
    # the password reaches psql through its environment, not its command line
    CSOPS_ROLE_PASSWORD="${!variable}" psql -v ON_ERROR_STOP=1 --quiet --username "$POSTGRES_USER" \
        --dbname postgres -v database="$database" <<'SQL'
\getenv password CSOPS_ROLE_PASSWORD
SELECT format('CREATE ROLE %I', :'database')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'database')
\gexec
SELECT format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L', :'database', :'password')
\gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'database')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'database')
\gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'database', :'database')
\gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'database')
\gexec
\connect :"database"
-- the tables an earlier release's migrations made as POSTGRES_USER (their sequences and indexes follow)
SELECT format('ALTER TABLE %I.%I OWNER TO %I', schemaname, tablename, :'database')
FROM pg_tables WHERE schemaname = 'public' AND tableowner <> :'database'
\gexec
SQL
    echo "init-databases: database $database ready (owner $database)"
done
