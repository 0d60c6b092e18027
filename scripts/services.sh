#!/usr/bin/env bash
# Starts or stops the loopback services the end-to-end tests use.
#   scripts/services.sh up     # install if needed, start, write $DIR/env
#   scripts/services.sh down   # stop everything started by `up`
# $IMGLIFE_TEST_SERVICES_DIR holds state (PID files, data, logs, env).
set -euo pipefail

dir=${IMGLIFE_TEST_SERVICES_DIR:?set IMGLIFE_TEST_SERVICES_DIR}
mkdir -p "$dir"

# Installs what the services need, only when it is missing.
install() {
    local missing=()
    command -v docker-registry >/dev/null || missing+=(docker-registry)
    command -v htpasswd >/dev/null || missing+=(apache2-utils)
    command -v dockerd >/dev/null || missing+=(docker.io)
    command -v curl >/dev/null || missing+=(curl)
    # GNU time measures peak memory in the hardening tests.
    [ -x /usr/bin/time ] || missing+=(time)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "services: installing ${missing[*]}" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >&2
    fi
}

# A private Docker Engine: its own socket, data and exec roots under $dir,
# no networking set-up (no iptables, no bridge), vfs storage (works on any
# file system). Fixtures are built FROM scratch: nothing can be pulled.
start_docker() {
    mkdir -p "$dir/docker-data" "$dir/docker-exec"
    dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver=vfs \
        --host "unix://$dir/docker.sock" --data-root "$dir/docker-data" \
        --exec-root "$dir/docker-exec" --pidfile "$dir/dockerd.pidfile" \
        > "$dir/dockerd.log" 2>&1 &
    local pid=$!
    echo "$pid" > "$dir/docker-daemon.pid"
    for _ in $(seq 1 300); do
        if curl -sf --unix-socket "$dir/docker.sock" http://localhost/_ping >/dev/null 2>&1; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "services: dockerd exited; its log:" >&2
            tail -20 "$dir/dockerd.log" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "services: dockerd did not answer on $dir/docker.sock within 30 s" >&2
    return 1
}

# Four consecutive free loopback ports (others may run their own registry on
# 5000 on this machine): prints the first.
free_ports() {
    local try port i busy
    for try in $(seq 1 50); do
        port=$((20000 + RANDOM % 40000))
        busy=0
        for i in 0 1 2 3 4; do
            if (exec 3<>"/dev/tcp/127.0.0.1/$((port + i))") 2>/dev/null; then busy=1; break; fi
        done
        [ "$busy" = 0 ] && { echo "$port"; return 0; }
    done
    echo "services: no free ports found" >&2
    return 1
}

# Polls until the registry on $1 answers /v2/ (200, or 401 behind auth).
wait_ready() {
    local port=$1 pid=$2 scheme=${3:-http} code
    for _ in $(seq 1 200); do
        kill -0 "$pid" 2>/dev/null || { echo "services: registry on $port exited; see $dir/registry-$port.log" >&2; return 1; }
        if [ "$scheme" = https ]; then
            code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$dir/tls-ca.crt" \
                "https://$TLS_HOST:$port/v2/" || true)
        else
            code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/" || true)
        fi
        case "$code" in 200|401) return 0 ;; esac
        sleep 0.05
    done
    echo "services: registry on $port not ready after 10 s" >&2
    return 1
}

# Starts one registry on 127.0.0.1:$1; $2 is extra YAML (the auth section).
# All registries share one storage root: fixtures pushed to the open one are
# readable through the ones behind authentication.
start_registry() {
    local port=$1 extra=$2 scheme=${3:-http} tls=""
    [ "$scheme" = https ] && tls=", tls: {certificate: $dir/tls.crt, key: $dir/tls.key}"
    cat > "$dir/registry-$port.yml" <<YML
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $dir/registry-data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port, secret: imglife-test-secret$tls}
$extra
YML
    docker-registry serve "$dir/registry-$port.yml" > "$dir/registry-$port.log" 2>&1 &
    local pid=$!
    echo "$pid" > "$dir/registry-$port.pid"
    wait_ready "$port" "$pid" "$scheme"
}

# HTTPS is only used for hosts that are not loopback, so the TLS registry
# gets a name of its own: an /etc/hosts line, marked with this run's
# directory and removed by `down`. Its certificate is signed by a test CA
# that only SSL_CERT_FILE makes trusted.
TLS_HOST=imglife-tls.test
tls_registry() {
    local port=$1
    if ! printf '127.0.0.1 %s # imglife-test %s\n' "$TLS_HOST" "$dir" >> /etc/hosts 2>/dev/null; then
        echo "services: /etc/hosts is not writable: no HTTPS registry" >&2
        return 0
    fi
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/tls-ca.key" -out "$dir/tls-ca.crt" \
        -days 2 -subj "/CN=imglife test CA" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout "$dir/tls.key" -out "$dir/tls.csr" \
        -subj "/CN=$TLS_HOST" 2>/dev/null
    printf 'subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
        "$TLS_HOST" > "$dir/tls.ext"
    openssl x509 -req -in "$dir/tls.csr" -CA "$dir/tls-ca.crt" -CAkey "$dir/tls-ca.key" \
        -CAcreateserial -out "$dir/tls.crt" -days 2 -extfile "$dir/tls.ext" 2>/dev/null
    start_registry "$port" "" https
    cat >> "$dir/env" <<ENV
export IMGLIFE_TEST_REGISTRY_TLS=$TLS_HOST:$port
export IMGLIFE_TEST_REGISTRY_TLS_CA=$dir/tls-ca.crt
ENV
}

# The token server's signing key: PKCS#8 DER for the tests, a certificate
# for the registry, and the libtrust key id the JWT header must carry
# (base32 of the first 30 bytes of SHA-256 over the DER public key, in
# groups of four joined by ':').
token_key() {
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/token.key" 2>/dev/null
    openssl req -new -x509 -key "$dir/token.key" -out "$dir/token.crt" -days 2 \
        -subj /CN=imglife-test-token 2>/dev/null
    openssl pkcs8 -topk8 -nocrypt -in "$dir/token.key" -outform DER -out "$dir/token.pk8"
    openssl pkey -in "$dir/token.key" -pubout -outform DER -out "$dir/token.pub.der"
    openssl dgst -sha256 -binary "$dir/token.pub.der" | head -c 30 | base32 -w0 \
        | sed -E 's/(.{4})/\1:/g; s/:$//'
}

up() {
    : > "$dir/env"
    install
    mkdir -p "$dir/registry-data"
    local port kid
    port=$(free_ports)
    htpasswd -Bbc "$dir/htpasswd" testuser testpass 2>/dev/null
    htpasswd -Bb "$dir/htpasswd" gitlab-ci-token jobtoken 2>/dev/null
    kid=$(token_key)
    start_registry "$port" ""
    start_registry "$((port + 1))" "auth: {htpasswd: {realm: imglife-test, path: $dir/htpasswd}}"
    # The token server itself runs inside the test process, on port + 3.
    start_registry "$((port + 2))" "auth: {token: {realm: 'http://127.0.0.1:$((port + 3))/token', service: imglife-registry, issuer: imglife-issuer, rootcertbundle: $dir/token.crt}}"
    cat >> "$dir/env" <<ENV
export IMGLIFE_TEST_REGISTRY=127.0.0.1:$port
export IMGLIFE_TEST_REGISTRY_BASIC=127.0.0.1:$((port + 1))
export IMGLIFE_TEST_REGISTRY_TOKEN=127.0.0.1:$((port + 2))
export IMGLIFE_TEST_TOKEN_SERVER=127.0.0.1:$((port + 3))
export IMGLIFE_TEST_TOKEN_KEY=$dir/token.pk8
export IMGLIFE_TEST_TOKEN_KID=$kid
ENV
    tls_registry "$((port + 4))"
    start_docker
    echo "export IMGLIFE_TEST_DOCKER_HOST=unix://$dir/docker.sock" >> "$dir/env"
    echo "services: registries on 127.0.0.1:$port (open), $((port + 1)) (htpasswd), $((port + 2)) (token)" >&2
}

down() {
    local pidfile
    for pidfile in "$dir"/*.pid; do
        [ -e "$pidfile" ] || continue
        local pid
        pid=$(cat "$pidfile")
        if kill "$pid" 2>/dev/null; then
            # Wait for the process to exit (bounded: dockerd takes a few
            # seconds to stop its containerd), then make sure.
            for _ in $(seq 1 200); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$pidfile"
    done
    # The HTTPS registry's host name.
    if grep -q "# imglife-test $dir\$" /etc/hosts 2>/dev/null; then
        grep -v "# imglife-test $dir\$" /etc/hosts > "$dir/hosts.new" && cat "$dir/hosts.new" > /etc/hosts
    fi
    # Anything still running from our directory (containerd and shims of
    # a dockerd that had to be killed) goes too.
    pkill -TERM -f -- "$dir/" 2>/dev/null || true
    for _ in $(seq 1 50); do
        pgrep -f -- "$dir/" >/dev/null || break
        sleep 0.1
    done
    pkill -KILL -f -- "$dir/" 2>/dev/null || true
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
