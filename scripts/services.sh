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
    command -v openssl >/dev/null || missing+=(openssl)
    # GNU time measures peak memory in the hardening tests.
    [ -x /usr/bin/time ] || missing+=(time)
    # The CI image's shell (scripts/ci-image, tests/e2e/ci_image.rs and
    # templates.rs run scripts under it), and `man -l` for the man page test.
    { ldd /bin/busybox 2>&1 || true; } | grep -qE 'not a dynamic|statically linked' ||
        missing+=(busybox-static)
    command -v man >/dev/null || missing+=(man-db)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "services: installing ${missing[*]}" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >&2
    fi
}

# The certificates of the daemon's TLS listener, laid out as GitLab's
# docker:dind lays out $DOCKER_TLS_CERTDIR: ca/ (the test CA), server/ and
# client/ (each ca.pem, cert.pem, key.pem). client/ is what DOCKER_CERT_PATH
# names. other-ca/ca.pem is an unrelated CA, for the "wrong CA" tests. Made
# as the TLS registry's are (openssl, RSA 2048, two days).
docker_certs() {
    local certs=$dir/docker-certs
    mkdir -p "$certs/ca" "$certs/server" "$certs/client" "$certs/other-ca"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$certs/ca/key.pem" -out "$certs/ca/cert.pem" \
        -days 2 -subj "/CN=imglife docker test CA" 2>/dev/null
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$certs/other-ca/key.pem" -out "$certs/other-ca/ca.pem" \
        -days 2 -subj "/CN=imglife unrelated CA" 2>/dev/null
    local side ext
    for side in server client; do
        if [ "$side" = server ]; then
            ext='subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth'
        else
            ext='extendedKeyUsage=clientAuth'
        fi
        printf 'basicConstraints=CA:FALSE\n%b\n' "$ext" > "$certs/$side/ext.cnf"
        openssl req -newkey rsa:2048 -nodes -keyout "$certs/$side/key.pem" -out "$certs/$side/csr.pem" \
            -subj "/CN=imglife docker $side" 2>/dev/null
        openssl x509 -req -in "$certs/$side/csr.pem" -CA "$certs/ca/cert.pem" -CAkey "$certs/ca/key.pem" \
            -CAcreateserial -out "$certs/$side/cert.pem" -days 2 -extfile "$certs/$side/ext.cnf" 2>/dev/null
        cp "$certs/ca/cert.pem" "$certs/$side/ca.pem"
        rm -f "$certs/$side/csr.pem" "$certs/$side/ext.cnf"
    done
    chmod 600 "$certs"/*/key.pem
}

# A private Docker Engine: its own socket, data and exec roots under $dir,
# no networking set-up (no iptables, no bridge), vfs storage (works on any
# file system). Fixtures are built FROM scratch: nothing can be pulled.
# The same daemon also listens on 127.0.0.1:$1 with mutual TLS
# (--tlsverify), as GitLab's docker:dind does on tcp://docker:2376.
start_docker() {
    local tls_port=$1 certs=$dir/docker-certs
    mkdir -p "$dir/docker-data" "$dir/docker-exec"
    docker_certs
    dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver=vfs \
        --host "unix://$dir/docker.sock" --host "tcp://127.0.0.1:$tls_port" \
        --tlsverify --tlscacert "$certs/server/ca.pem" --tlscert "$certs/server/cert.pem" \
        --tlskey "$certs/server/key.pem" \
        --data-root "$dir/docker-data" \
        --exec-root "$dir/docker-exec" --pidfile "$dir/dockerd.pidfile" \
        > "$dir/dockerd.log" 2>&1 &
    local pid=$!
    echo "$pid" > "$dir/docker-daemon.pid"
    for _ in $(seq 1 300); do
        if curl -sf --unix-socket "$dir/docker.sock" http://localhost/_ping >/dev/null 2>&1 &&
            curl -sf --cacert "$certs/client/ca.pem" --cert "$certs/client/cert.pem" \
                --key "$certs/client/key.pem" "https://127.0.0.1:$tls_port/_ping" >/dev/null 2>&1; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "services: dockerd exited; its log:" >&2
            tail -20 "$dir/dockerd.log" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "services: dockerd did not answer on $dir/docker.sock and 127.0.0.1:$tls_port within 30 s" >&2
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

# Polls until a registry answers /v2/ (200, or 401 behind auth). $1 names
# it (its port, or another word), $2 is its PID, $3 the scheme; $4 the URL
# to poll (default: 127.0.0.1:$1 over HTTP, $TLS_HOST:$1 over HTTPS).
wait_ready() {
    local name=$1 pid=$2 scheme=${3:-http} url=${4:-} code
    if [ -z "$url" ]; then
        if [ "$scheme" = https ]; then url="https://$TLS_HOST:$name/v2/"; else url="http://127.0.0.1:$name/v2/"; fi
    fi
    for _ in $(seq 1 200); do
        kill -0 "$pid" 2>/dev/null || { echo "services: registry $name exited; see $dir/registry-$name.log" >&2; return 1; }
        if [ "$scheme" = https ]; then
            code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$dir/tls-ca.crt" "$url" || true)
        else
            code=$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)
        fi
        case "$code" in 200|401) return 0 ;; esac
        sleep 0.05
    done
    echo "services: registry $name ($url) not ready after 10 s" >&2
    return 1
}

# Starts one registry. $1 names it (its port, or another word), $2 is extra
# YAML (the auth section), $3 the scheme; $4 its address (default
# 127.0.0.1:$1), $5 the stem of its certificate files under $dir (default
# tls), $6 the URL that answers once it is ready (see wait_ready).
# All registries share one storage root: fixtures pushed to the open one are
# readable through the ones behind authentication.
start_registry() {
    local name=$1 extra=$2 scheme=${3:-http} addr=${4:-127.0.0.1:$1} cert=${5:-tls} url=${6:-} tls=""
    [ "$scheme" = https ] && tls=", tls: {certificate: $dir/$cert.crt, key: $dir/$cert.key}"
    cat > "$dir/registry-$name.yml" <<YML
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $dir/registry-data}, delete: {enabled: true}}
http: {addr: $addr, secret: imglife-test-secret$tls}
$extra
YML
    docker-registry serve "$dir/registry-$name.yml" > "$dir/registry-$name.log" 2>&1 &
    local pid=$!
    echo "$pid" > "$dir/registry-$name.pid"
    wait_ready "$name" "$pid" "$scheme" "$url"
}

# A server certificate for the host name $1, signed by the test CA
# ($dir/tls-ca.*), written to $dir/$2.crt and $dir/$2.key.
leaf_cert() {
    local host=$1 stem=$2
    openssl req -newkey rsa:2048 -nodes -keyout "$dir/$stem.key" -out "$dir/$stem.csr" \
        -subj "/CN=$host" 2>/dev/null &&
    printf 'subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
        "$host" > "$dir/$stem.ext" &&
    openssl x509 -req -in "$dir/$stem.csr" -CA "$dir/tls-ca.crt" -CAkey "$dir/tls-ca.key" \
        -CAcreateserial -out "$dir/$stem.crt" -days 2 -extfile "$dir/$stem.ext" 2>/dev/null
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
    leaf_cert "$TLS_HOST" tls
    start_registry "$port" "" https
    cat >> "$dir/env" <<ENV
export IMGLIFE_TEST_REGISTRY_TLS=$TLS_HOST:$port
export IMGLIFE_TEST_REGISTRY_TLS_CA=$dir/tls-ca.crt
ENV
}

# Docker Hub under its own names, as imglife reaches it for docker.io
# references: registry-1.docker.io (docker-registry with token auth, sharing
# the registries' storage: push fixtures to the open one as library/alpine)
# and auth.docker.io (the token service its challenge names: the test
# process's TLS token server, imglife_testkit::registry::
# ensure_docker_hub_token_server). Both on port 443 over HTTPS with
# certificates of the test CA, each on a loopback address of its own, named
# by /etc/hosts lines marked with this run's directory (removed by `down`).
#
# Port 443 and the names are machine-wide, so one test run at a time can
# hold them: a lock, kept by a small process until `down` (or until the run
# that started it is gone), makes a second run wait for the first, at most
# ten minutes. Without the lock, /etc/hosts or port 443, the run goes on
# without Docker Hub and the tests that need it fail, saying so.
HUB_REGISTRY_ADDR=127.10.0.1
HUB_AUTH_ADDR=127.10.0.2
HUB_LOCK=/tmp/imglife-docker-hub.lock
HUB_MARK='# imglife-test'

# Takes the lock for the run whose process is $1; returns once it is held.
hub_lock() {
    local owner=$1 holder waited=0
    rm -f "$dir/hub.locked"
    (
        exec 9>>"$HUB_LOCK"
        flock -w 600 9 || exit 1
        : > "$dir/hub.locked"
        while kill -0 "$owner" 2>/dev/null && [ -d "$dir" ]; do sleep 1 9>&-; done
    ) </dev/null >/dev/null 2>&1 &
    holder=$!
    echo "$holder" > "$dir/hub-lock.holder"
    until [ -e "$dir/hub.locked" ]; do
        if ! kill -0 "$holder" 2>/dev/null; then
            echo "services: another test run held Docker Hub's names for 10 minutes" >&2
            return 1
        fi
        [ "$waited" = 20 ] && echo "services: another test run holds registry-1.docker.io and" \
            "auth.docker.io (port 443, $HUB_LOCK); waiting for it to end" >&2
        waited=$((waited + 1))
        sleep 0.1
    done
}

docker_hub() {
    if [ ! -e "$dir/tls-ca.crt" ] || ! [ -w /etc/hosts ]; then
        echo "services: no test CA or /etc/hosts is not writable: no Docker Hub names" >&2
        return 1
    fi
    command -v flock >/dev/null || { echo "services: flock is missing: no Docker Hub names" >&2; return 1; }
    hub_lock "$PPID" || return 1
    # Lines of an earlier run that ended without `down`: with the lock held,
    # no live run owns any.
    if grep -qE " (registry-1|auth)\.docker\.io $HUB_MARK " /etc/hosts; then
        grep -vE " (registry-1|auth)\.docker\.io $HUB_MARK " /etc/hosts > "$dir/hosts.new" &&
            cat "$dir/hosts.new" > /etc/hosts
    fi
    leaf_cert registry-1.docker.io hub-registry || return 1
    leaf_cert auth.docker.io hub-auth || return 1
    printf '%s registry-1.docker.io %s %s\n%s auth.docker.io %s %s\n' \
        "$HUB_REGISTRY_ADDR" "$HUB_MARK" "$dir" "$HUB_AUTH_ADDR" "$HUB_MARK" "$dir" >> /etc/hosts || return 1
    start_registry hub "auth: {token: {realm: 'https://auth.docker.io/token', service: registry.docker.io, issuer: imglife-issuer, rootcertbundle: $dir/token.crt}}" \
        https "$HUB_REGISTRY_ADDR:443" hub-registry https://registry-1.docker.io/v2/ || return 1
    cat >> "$dir/env" <<ENV
export IMGLIFE_TEST_DOCKER_HUB_CA=$dir/tls-ca.crt
export IMGLIFE_TEST_DOCKER_HUB_AUTH=$HUB_AUTH_ADDR:443
export IMGLIFE_TEST_DOCKER_HUB_AUTH_CERT=$dir/hub-auth.crt
export IMGLIFE_TEST_DOCKER_HUB_AUTH_KEY=$dir/hub-auth.key
ENV
    echo "services: registry-1.docker.io on $HUB_REGISTRY_ADDR:443, auth.docker.io on $HUB_AUTH_ADDR:443 (token server in the test process)" >&2
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
    docker_hub || echo "services: going on without Docker Hub's names; the tests that need them will fail" >&2
    # The daemon's TLS port: free, and clear of the registries' five.
    local docker_port
    for _ in $(seq 1 20); do
        docker_port=$(free_ports)
        if [ "$docker_port" -gt $((port + 4)) ] || [ $((docker_port + 4)) -lt "$port" ]; then
            break
        fi
    done
    start_docker "$docker_port"
    cat >> "$dir/env" <<ENV
export IMGLIFE_TEST_DOCKER_HOST=unix://$dir/docker.sock
export IMGLIFE_TEST_DOCKER_TLS_HOST=tcp://127.0.0.1:$docker_port
export IMGLIFE_TEST_DOCKER_CERT_PATH=$dir/docker-certs/client
export IMGLIFE_TEST_DOCKER_OTHER_CA=$dir/docker-certs/other-ca/ca.pem
ENV
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
    # The HTTPS registries' host names (imglife-tls.test, Docker Hub's).
    if grep -q "# imglife-test $dir\$" /etc/hosts 2>/dev/null; then
        grep -v "# imglife-test $dir\$" /etc/hosts > "$dir/hosts.new" && cat "$dir/hosts.new" > /etc/hosts
    fi
    # Docker Hub's names are free for the next run once its registry is
    # stopped and its lines are gone.
    if [ -f "$dir/hub-lock.holder" ]; then
        kill "$(cat "$dir/hub-lock.holder")" 2>/dev/null || true
        rm -f "$dir/hub-lock.holder" "$dir/hub.locked"
    fi
    # Anything still running from our directory (containerd and shims of
    # a dockerd that had to be killed) goes too.
    pkill -TERM -f -- "$dir/" 2>/dev/null || true
    for _ in $(seq 1 50); do
        pgrep -f -- "$dir/" >/dev/null || break
        sleep 0.1
    done
    pkill -KILL -f -- "$dir/" 2>/dev/null || true
    # A container run with --network host makes dockerd bind-mount the host's
    # network namespace at docker-exec/netns/default, and a stopped dockerd
    # leaves it mounted: unmount what is left under $dir, so that it can be
    # removed.
    local mount
    awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts 2>/dev/null | sort -r |
        while read -r mount; do umount -l "$mount" 2>/dev/null || true; done
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
