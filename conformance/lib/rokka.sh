# Sourced by the conformance suites and benchmark scripts: start and stop
# the release rokka ($ROKKA_BIN) on 127.0.0.1 with every listener on port 0,
# reading the chosen addresses back from its log.
#
#   rokka_start DIR [ARGS...]
#       Starts rokka with its data in DIR/data, its log in DIR/rokka.log and
#       ARGS (e.g. --config FILE); the log filter is $ROKKA_LOG_LEVEL (info).
#       File sizes are small (32 MiB CommitLog segments, a 6000-entry
#       ConsumeQueue file, a small index) unless the config file sets them:
#       the defaults preallocate about 1.5 GiB, more than a CI disk may have.
#       Waits up to 20 s for its "ready" line, then sets ROKKA_PID, ROKKA_LOG
#       and ROKKA_KAFKA, ROKKA_NAMESRV, ROKKA_REMOTING, ROKKA_HTTP, ROKKA_GRPC
#       (host:port; gRPC is the 5.x SDKs' endpoint). Prints the log and returns 1 if rokka exits or is not
#       ready in time.
#   rokka_stop
#       SIGTERM, up to 5 s to exit, then SIGKILL. Safe to call twice, and
#       before rokka_start.
#   rokka_scratch
#       For scripts with no other clean-up: a temporary work directory in
#       ROKKA_WORK, and an EXIT trap that stops rokka and removes it.
#   python_venv DIR CHECK PACKAGE...
#       Creates the virtualenv DIR with PACKAGE... (pip, pinned by the
#       caller) unless its python already runs the import check CHECK; sets
#       PY to its python.
#   test_certs DIR
#       Writes a CA (DIR/ca.pem, ca.key) valid for a day and a server
#       certificate it signed for localhost and 127.0.0.1 (DIR/server.pem,
#       server.key; DIR/keystore.pem holds key and certificate); openssl.
#   rocketmq_client_build [CARGO ARGS...]
#       Builds the rocketmq-client-rust scenario program
#       (conformance/rocketmq/client, its own Cargo.lock) into
#       target/conformance-rocketmq (a no-op when up to date) and sets
#       ROCKETMQ_CLIENT to it.

ROKKA_PID=""
ROKKA_LOG=""

rokka_addr() { sed -n "s/.*$1 listening on \([0-9.:]*\).*/\1/p" "$ROKKA_LOG" | head -1; }

# --override flags for the small test file sizes, leaving out each key that
# the config file among the arguments sets itself.
rokka_small_files() {
    local conf="" prev="" a kv key
    for a in "$@"; do
        case "$prev" in -c | --config) conf="$a" ;; esac
        prev="$a"
    done
    for kv in mappedFileSizeCommitLog=33554432 mappedFileSizeConsumeQueue=120000 \
        maxHashSlotNum=10000 maxIndexNum=40000; do
        key="${kv%%=*}"
        if [ -n "$conf" ] && grep -qE "^[[:space:]]*(${key}|${key/mapped/maped})[[:space:]]*[=:]" "$conf"; then
            continue
        fi
        printf '%s\n' --override "$kv"
    done
}

rokka_start() {
    local dir="$1"
    shift
    : "${ROKKA_BIN:?set ROKKA_BIN to the rokka release binary}"
    ROKKA_LOG="$dir/rokka.log"
    local small
    mapfile -t small < <(rokka_small_files "$@")
    "$ROKKA_BIN" --bind-address 127.0.0.1 --data-dir "$dir/data" \
        --namesrv-port 0 --listen-port 0 --kafka-port 0 --http-port 0 --grpc-port 0 \
        --log-level "${ROKKA_LOG_LEVEL:-info}" "${small[@]}" "$@" >"$ROKKA_LOG" 2>&1 &
    ROKKA_PID=$!
    local _
    for _ in $(seq 1 200); do
        grep -q "rokka .* ready" "$ROKKA_LOG" && break
        kill -0 "$ROKKA_PID" 2>/dev/null || break
        sleep 0.1
    done
    if ! grep -q "rokka .* ready" "$ROKKA_LOG"; then
        cat "$ROKKA_LOG" >&2
        echo "rokka did not start (see its log above)" >&2
        return 1
    fi
    ROKKA_KAFKA="$(rokka_addr kafka)"
    ROKKA_NAMESRV="$(rokka_addr namesrv)"
    ROKKA_REMOTING="$(rokka_addr remoting)"
    ROKKA_HTTP="$(rokka_addr http)"
    ROKKA_GRPC="$(rokka_addr grpc)"
}

rokka_stop() {
    [ -n "$ROKKA_PID" ] || return 0
    if kill -0 "$ROKKA_PID" 2>/dev/null; then
        kill "$ROKKA_PID" 2>/dev/null || true
        local _
        for _ in $(seq 1 50); do
            kill -0 "$ROKKA_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$ROKKA_PID" 2>/dev/null || true
    fi
    wait "$ROKKA_PID" 2>/dev/null || true
    ROKKA_PID=""
}

rokka_scratch() {
    ROKKA_WORK="$(mktemp -d)"
    trap 'rokka_stop; rm -rf "$ROKKA_WORK"' EXIT
}

test_certs() {
    local d="$1"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.pem" -days 1 \
        -subj "/CN=rokka-test-ca" >/dev/null 2>&1
    openssl req -newkey rsa:2048 -nodes -keyout "$d/server.key" -out "$d/server.csr" \
        -subj "/CN=localhost" >/dev/null 2>&1
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$d/server.ext"
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
        -out "$d/server.pem" -days 1 -extfile "$d/server.ext" >/dev/null 2>&1
    cat "$d/server.key" "$d/server.pem" >"$d/keystore.pem"
}

rocketmq_client_build() {
    local repo
    repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    CARGO_TARGET_DIR="$repo/target/conformance-rocketmq" cargo build --release --locked \
        --manifest-path "$repo/conformance/rocketmq/client/Cargo.toml" "$@"
    ROCKETMQ_CLIENT="$repo/target/conformance-rocketmq/release/rokka-rocketmq-conformance"
}

python_venv() {
    local dir="$1" check="$2"
    shift 2
    if ! "$dir/bin/python" -c "$check" 2>/dev/null; then
        rm -rf "$dir"
        python3 -m venv "$dir"
        "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir "$@"
    fi
    PY="$dir/bin/python"
}
