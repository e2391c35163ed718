#!/usr/bin/env bash
# Kafka produce and consume over TLS as a ratio of plain text, same rokka, same
# run (BENCHMARKS.md): one release rokka ($ROKKA_BIN) with a PLAINTEXT and an
# SSL listener, confluent-kafka producing then consuming N records of 1 KiB
# (linger 5 ms, acks=1, one partition), the two listeners alternately, 3 rounds;
# prints the medians and the ratios. Not part of run-all.
#   ROKKA_BIN=target/release/rokka bash conformance/security/bench.sh [N]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
N="${1:-200000}"
# shellcheck source=../lib/rokka.sh
. "$ROOT/conformance/lib/rokka.sh"
python_venv "$ROOT/target/conformance-security-venv" 'import confluent_kafka, kafka' \
    "confluent-kafka==2.16.1" "kafka-python==3.0.12"
rokka_scratch
W="$ROKKA_WORK"
test_certs "$W"
cat >"$W/broker.conf" <<CONF
listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0
ssl.keystore.type=PEM
ssl.keystore.location=$W/keystore.pem
mappedFileSizeCommitLog=1073741824
CONF
rokka_start "$W" --config "$W/broker.conf"
SSL_ADDR="$(sed -n 's/.*kafka listener SSL ([A-Za-z]*) listening on \([0-9.:]*\).*/\1/p' "$ROKKA_LOG" | head -1)"
[ -n "$SSL_ADDR" ] || { echo "no SSL listener in the log" >&2; exit 1; }
# rokka's CPU ticks (utime + stime), steadier than wall time on a shared machine.
ticks() { awk '{print $14 + $15}' "/proc/$ROKKA_PID/stat"; }
HZ="$(getconf CLK_TCK)"
declare -a PP PC SP SC PU SU
for r in 1 2 3; do
    t0="$(ticks)"
    read -r a b < <("$PY" "$HERE/tls_load.py" "$ROKKA_KAFKA" "plain-$r" "$N" -)
    t1="$(ticks)"
    PP+=("$a"); PC+=("$b"); PU+=("$(awk -v t="$((t1 - t0))" -v hz="$HZ" -v n="$N" 'BEGIN {printf "%.2f", t / hz * 1e6 / n}')")
    read -r a b < <("$PY" "$HERE/tls_load.py" "$SSL_ADDR" "tls-$r" "$N" "$W/ca.pem")
    t2="$(ticks)"
    SP+=("$a"); SC+=("$b"); SU+=("$(awk -v t="$((t2 - t1))" -v hz="$HZ" -v n="$N" 'BEGIN {printf "%.2f", t / hz * 1e6 / n}')")
    echo "round $r: plain produce ${PP[-1]} s consume ${PC[-1]} s, ${PU[-1]} µs CPU/record;" \
        "TLS produce ${SP[-1]} s consume ${SC[-1]} s, ${SU[-1]} µs CPU/record"
done
med() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
awk -v n="$N" -v pu="$(med "${PU[@]}")" -v su="$(med "${SU[@]}")" -v pp="$(med "${PP[@]}")" -v pc="$(med "${PC[@]}")" -v sp="$(med "${SP[@]}")" -v sc="$(med "${SC[@]}")" 'BEGIN {
    printf "medians, %d records of 1 KiB:\n", n
    printf "  produce: plain %.0f rec/s, TLS %.0f rec/s, TLS/plain %.2f\n", n/pp, n/sp, pp/sp
    printf "  consume: plain %.0f rec/s, TLS %.0f rec/s, TLS/plain %.2f\n", n/pc, n/sc, pc/sc
    printf "  rokka CPU per record (produce + consume): plain %.2f µs, TLS %.2f µs, TLS/plain %.2f\n", pu, su, su/pu
}'
