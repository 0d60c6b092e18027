#!/usr/bin/env bash
# Starts or stops the loopback services the end-to-end tests use.
#   scripts/services.sh up     # install if needed, start, write $DIR/env
#   scripts/services.sh down   # stop everything started by `up`
# $IMGLIFE_TEST_SERVICES_DIR holds state (PID files, data, logs, env).
set -euo pipefail

dir=${IMGLIFE_TEST_SERVICES_DIR:?set IMGLIFE_TEST_SERVICES_DIR}
mkdir -p "$dir"

up() {
    : > "$dir/env"
    # The filesystem store needs no service. Services for the registry
    # source, the Docker daemon and other stores are added here as those
    # adapters arrive; each appends the variables tests read to $dir/env.
    echo "services: none needed yet" >&2
}

down() {
    local pidfile
    for pidfile in "$dir"/*.pid; do
        [ -e "$pidfile" ] || continue
        local pid
        pid=$(cat "$pidfile")
        if kill "$pid" 2>/dev/null; then
            # Wait for the process to exit (bounded), then make sure.
            for _ in $(seq 1 100); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$pidfile"
    done
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
