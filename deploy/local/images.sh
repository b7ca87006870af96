#!/usr/bin/env bash
# Builds with Podman every image the local compose run (docker-compose.local.yml) needs, from
# Debian only: no registry is reached, only Debian's mirror and the host's pip configuration.
#
#   deploy/local/images.sh        # prints each image's size and the build time
#
#   localhost/csops/debian:bookworm   debootstrap --variant=minbase, imported once (kept if present)
#   localhost/csops/python:3.11       Debian's Python with every dependency, from a wheelhouse the
#                                     host builds with pip; tagged by the requirements' hash too,
#                                     so it is rebuilt only when they change
#   localhost/csops/{rabbitmq,postgres,prometheus}:local   Debian's packages
#   $CSOPS_IMAGE (csops/platform:latest)  deploy/Dockerfile on the Python image, the one image of
#                                     the gateway, the four services and the two jobs
#
# Idempotent; Podman's layer cache makes a second run take seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."

DEBIAN_SUITE=${DEBIAN_SUITE:-bookworm}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
BASE=localhost/csops/debian:$DEBIAN_SUITE
PYTHON=localhost/csops/python:3.11
APP=${CSOPS_IMAGE:-csops/platform:latest}
PIP=${PIP:-pip3}
started=$SECONDS
say() { printf 'images: %s\n' "$*" >&2; }
build() { podman build --quiet --network host --build-arg "BASE_IMAGE=$BASE" "$@" >/dev/null; }

if ! podman image exists "$BASE"; then
    say "making $BASE with debootstrap"
    rootfs=$(mktemp -d)
    trap 'rm -rf "$rootfs"' EXIT
    debootstrap --variant=minbase "$DEBIAN_SUITE" "$rootfs" "$DEBIAN_MIRROR" >/dev/null
    # as Debian's own container images: no service starts inside a build, no recommends, no docs
    printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d"
    chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
    printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' > "$rootfs/etc/apt/apt.conf.d/90csops"
    printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\npath-include /usr/share/doc/*/copyright\n' \
        > "$rootfs/etc/dpkg/dpkg.cfg.d/90csops-nodoc"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*
    tar -C "$rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - "$BASE" >/dev/null
    rm -rf "$rootfs"
    trap - EXIT
fi

# The Python image, by the hash of what goes into it; the wheelhouse by the requirements' alone.
hash=$(cat requirements.txt requirements-hashed.txt deploy/local/python/Dockerfile | sha256sum | cut -c1-12)
if ! podman image exists "$PYTHON-$hash"; then
    wheelhouse=var/wheelhouse/$(cat requirements.txt requirements-hashed.txt | sha256sum | cut -c1-12)
    if [ ! -e "$wheelhouse/.complete" ]; then
        say "building the wheelhouse $wheelhouse"
        rm -rf "$wheelhouse" && mkdir -p "$wheelhouse"
        "$PIP" wheel --quiet --no-deps -r requirements.txt -w "$wheelhouse" 2> >(grep -v "^WARNING: Location" >&2)
        "$PIP" wheel --quiet --no-deps --require-hashes -r requirements-hashed.txt -w "$wheelhouse" 2> >(grep -v "^WARNING: Location" >&2)
        touch "$wheelhouse/.complete"
    fi
    say "building $PYTHON-$hash"
    context=$(mktemp -d)
    cp requirements.txt requirements-hashed.txt deploy/local/python/Dockerfile "$context"/
    build --volume "$(realpath "$wheelhouse"):/wheels:ro" -t "$PYTHON-$hash" "$context"
    rm -rf "$context"
fi
podman tag "$PYTHON-$hash" "$PYTHON"
# earlier requirements' Python images, and what rebuilding left untagged, are of no further use
podman images --format '{{.Repository}}:{{.Tag}}' | grep "^$PYTHON-" | grep -v -- "-$hash\$" | xargs -r podman rmi >/dev/null 2>&1 || true

for server in rabbitmq postgres prometheus; do
    say "building localhost/csops/$server:local"
    build -t "localhost/csops/$server:local" "deploy/local/$server"
done
say "building $APP"
build --build-arg "BASE_IMAGE=$PYTHON" -t "$APP" -f deploy/Dockerfile .

say "built in $((SECONDS - started)) s"
podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' \
    | grep -E "^(localhost/)?csops/" | grep -v -- "$PYTHON-" | sed 's/^/images: size /' >&2
