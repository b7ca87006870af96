#!/bin/sh
# The upstream image's first-start administrator (RABBITMQ_DEFAULT_USER / _PASS: RabbitMQ makes
# it only while its database is empty), then the server as the rabbitmq user.
set -eu
umask 0027
{
    echo "loopback_users = none"
    echo "listeners.tcp.default = 5672"
    echo "management.tcp.port = 15672"
    echo "prometheus.tcp.port = 15692"
    if [ -n "${RABBITMQ_DEFAULT_USER:-}" ]; then
        echo "default_user = $RABBITMQ_DEFAULT_USER"
        echo "default_pass = ${RABBITMQ_DEFAULT_PASS:?set RABBITMQ_DEFAULT_PASS with RABBITMQ_DEFAULT_USER}"
        echo "default_user_tags.administrator = true"
    fi
} > /etc/rabbitmq/rabbitmq.conf
chown root:rabbitmq /etc/rabbitmq/rabbitmq.conf
chown -R rabbitmq:rabbitmq /var/lib/rabbitmq
exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups /usr/lib/rabbitmq/bin/rabbitmq-server
