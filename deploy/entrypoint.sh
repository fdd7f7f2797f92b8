#!/bin/sh
# Entry point of the Kennisknoop image (deploy/Dockerfile); also runs as-is on a plain machine
# (tests/deploy/test_entrypoint.py runs it on loopback with SQLite).
#
#   entrypoint.sh serve [OPTIONS]  first start: `kennisknoop init` from the environment; then
#                                  `kennisknoop serve` (which migrates the database first)
#   entrypoint.sh worker           wait until the node is initialised, then `kennisknoop worker`
#   entrypoint.sh COMMAND ...      run COMMAND (e.g. `kennisknoop user add /data ...`)
#
# The node directory is $KENNISKNOOP_DIR (default /data). The first start needs
# KENNISKNOOP_NODE_URL and KENNISKNOOP_NODE_NAME; INIT_HANDLE, INIT_PROVINCE_CODE and
# KENNISKNOOP_DATABASE_URL are optional. Later starts read DIR/kennisknoop.toml, and every
# KENNISKNOOP_* variable still overrides it (docs/configuration.md) — hence INIT_* for values
# that only the first start needs and that may be empty.
set -eu

dir="${KENNISKNOOP_DIR:-/data}"
config="$dir/kennisknoop.toml"
# How long a worker waits for the web container's first start to write the configuration.
wait_seconds="${WAIT_FOR_INIT_SECONDS:-120}"

init_once() {
    [ -f "$config" ] && return 0
    if [ -z "${KENNISKNOOP_NODE_URL:-}" ] || [ -z "${KENNISKNOOP_NODE_NAME:-}" ]; then
        echo "entrypoint: $config does not exist yet; set KENNISKNOOP_NODE_URL and" \
             "KENNISKNOOP_NODE_NAME for the first start" >&2
        exit 64
    fi
    set -- --url "$KENNISKNOOP_NODE_URL" --name "$KENNISKNOOP_NODE_NAME"
    [ -n "${INIT_HANDLE:-}" ] && set -- "$@" --handle "$INIT_HANDLE"
    [ -n "${INIT_PROVINCE_CODE:-}" ] && set -- "$@" --province "$INIT_PROVINCE_CODE"
    [ -n "${KENNISKNOOP_DATABASE_URL:-}" ] && set -- "$@" --database "$KENNISKNOOP_DATABASE_URL"
    kennisknoop init "$dir" "$@"
}

wait_for_init() {
    waited=0
    while [ ! -f "$config" ]; do
        if [ "$waited" -ge "$wait_seconds" ]; then
            echo "entrypoint: $config did not appear within $wait_seconds s;" \
                 "start the web service first" >&2
            exit 69
        fi
        sleep 1
        waited=$((waited + 1))
    done
}

case "${1:-serve}" in
    serve)
        [ "$#" -gt 0 ] && shift
        init_once
        exec kennisknoop serve "$dir" "$@"
        ;;
    worker)
        shift
        wait_for_init
        exec kennisknoop worker "$dir" "$@"
        ;;
    *)
        exec "$@"
        ;;
esac
