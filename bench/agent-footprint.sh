#!/usr/bin/env bash
# greenlight's footprint benchmark (issue 3, "Footprint"): what the agent
# costs beside a backend, next to prometheus-blackbox-exporter probing the
# same targets at the same rate, in the same run.
#
#   bash bench/agent-footprint.sh [--duration 60s]
#
# It builds the binaries (the agent on its own, with the `sidecar` profile
# it ships with; the peers with --release), starts its own
# redis-server, PostgreSQL (initdb into a temp dir), a simulated backend and
# a greenlight-aggregator on free loopback ports (never 5432 or 6379), runs
# greenlight-agent with every check it supports (found with --check-config;
# it prints which) at a 1 s interval, and blackbox_exporter with
# bench/blackbox.yml, scraped once per second per target as Prometheus
# would. After a warm-up (15 s) it samples both processes for the duration:
# RSS (VmRSS, every second: max and mean), CPU (utime+stime over wall time,
# as a share of one core, and the finer schedstat figure), PSS and USS at
# the end. It prints a table, the issue's targets with PASS/MISS, and exits
# 0 either way: it is a measurement, not a test. It exits 1 only when
# something broke (a peer did not start, a process died). Everything it
# started is stopped on exit, Ctrl-C included; every loop is bounded.
#
# As root it installs what is missing with apt-get (redis-server,
# postgresql, prometheus-blackbox-exporter, curl).
#
# Options (see --help): --duration, --warmup, --no-build, --agent-bin,
# --agent-env K=V, --require-all, --keep, --hook.
# Build variants without touching the project: the script honours
# CARGO_TARGET_DIR and cargo's CARGO_PROFILE_SIDECAR_* variables, e.g.
#   CARGO_TARGET_DIR=/tmp/bench-target CARGO_PROFILE_SIDECAR_OPT_LEVEL=3 \
#     bash bench/agent-footprint.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
COMMAND="bash bench/agent-footprint.sh${*:+ $*}"

# The issue's targets (2-core machine).
TARGET_RSS_MIB=8
TARGET_RSS_RATIO=0.45
TARGET_CPU_PERCENT=0.1

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'agent-footprint: error: %s\n' "$*" >&2; exit 1; }

usage() {
    cat <<'EOF'
usage: bash bench/agent-footprint.sh [options]

  --duration D     how long to measure after the warm-up (default 60s;
                   60, 60s, 2m, at most 10m)
  --warmup D       run this long before measuring (default 15s): connections
                   opened, first scrapes done, and the blocking-pool thread
                   that looked the backend process up gone (it idles 10 s)
  --no-build       use the binaries already built (no cargo build)
  --agent-bin P    measure this greenlight-agent binary instead of the
                   freshly built one (an experiment's variant)
  --agent-env K=V  set K=V in the agent's environment only (repeatable),
                   e.g. --agent-env TOKIO_WORKER_THREADS=1
                   --agent-env MALLOC_ARENA_MAX=1 --agent-env RUST_LOG=warn
  --require-all    exit 1 unless the agent runs all six checks
  --only LIST      for a diagnosis: run only these checks (comma-separated,
                   e.g. --only websocket or --only postgres,redis), and
                   blackbox only the matching probes
  --keep           keep the temp dir (configs, logs, samples, the agent's
                   and blackbox's /proc smaps and status) and say where
  --hook CMD       for a diagnosis only (it disturbs the figures): run CMD
                   with bash when the measurement starts, with AGENT_PID,
                   BB_PID and WORK (the temp dir) in its environment, e.g.
                   --hook 'strace -c -f -p $AGENT_PID -o $WORK/strace.txt'
                   or 'perf record -g -p $AGENT_PID -o $WORK/perf.data';
                   it is stopped (SIGINT, SIGKILL 5 s later) when the window ends
  -h, --help       this text

Exit status: 0 when the measurement ran (whether the targets were met or
not), 1 when something broke, 2 on a bad option.
EOF
}

# --- options ---------------------------------------------------------------

# Seconds from "60", "60s", "2m".
seconds_of() {
    local value=$1
    case $value in
        *[!0-9smh]* | '' ) return 1 ;;
        *m) value=$(( ${value%m} * 60 )) ;;
        *s) value=${value%s} ;;
        *h) return 1 ;;
    esac
    [[ $value =~ ^[0-9]+$ ]] || return 1
    printf '%s' "$value"
}

DURATION=60
WARMUP=15
BUILD=1
AGENT_BIN=
AGENT_ENV=()
REQUIRE_ALL=0
ONLY=
KEEP=0
HOOK=
while (($# > 0)); do
    case $1 in
        --duration | --warmup)
            (($# >= 2)) || { echo "agent-footprint: $1 needs a value" >&2; exit 2; }
            value=$(seconds_of "$2") || { echo "agent-footprint: $1: not a duration: $2 (e.g. 60s, 2m)" >&2; exit 2; }
            if [[ $1 == --duration ]]; then DURATION=$value; else WARMUP=$value; fi
            shift 2 ;;
        --duration=* | --warmup=*)
            value=$(seconds_of "${1#*=}") || { echo "agent-footprint: ${1%%=*}: not a duration: ${1#*=}" >&2; exit 2; }
            if [[ $1 == --duration=* ]]; then DURATION=$value; else WARMUP=$value; fi
            shift ;;
        --no-build) BUILD=0; shift ;;
        --agent-bin)
            (($# >= 2)) || { echo "agent-footprint: --agent-bin needs a path" >&2; exit 2; }
            AGENT_BIN=$2; shift 2 ;;
        --agent-env)
            (($# >= 2)) && [[ $2 == *=* ]] || { echo "agent-footprint: --agent-env needs K=V" >&2; exit 2; }
            AGENT_ENV+=("$2"); shift 2 ;;
        --require-all) REQUIRE_ALL=1; shift ;;
        --only)
            (($# >= 2)) || { echo "agent-footprint: --only needs a list of checks" >&2; exit 2; }
            ONLY=",$2,"; shift 2 ;;
        --keep) KEEP=1; shift ;;
        --hook)
            (($# >= 2)) || { echo "agent-footprint: --hook needs a command" >&2; exit 2; }
            HOOK=$2; KEEP=1; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "agent-footprint: unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done
((DURATION >= 5 && DURATION <= 600)) || { echo "agent-footprint: --duration must be 5s..10m" >&2; exit 2; }
((WARMUP <= 60)) || { echo "agent-footprint: --warmup must be at most 60s" >&2; exit 2; }

# --- what the bench runs -----------------------------------------------------

# "debian-package:program" pairs, as in tests/run.sh.
REQUIRED=(
    "redis-server:/usr/bin/redis-server"
    "postgresql:/usr/lib/postgresql/*/bin/initdb"
    "prometheus-blackbox-exporter:/usr/bin/prometheus-blackbox-exporter"
    "curl:/usr/bin/curl"
)

installed() {
    local program=$1 path
    if command -v "$(basename "$program")" >/dev/null 2>&1; then
        return 0
    fi
    for path in $program; do
        [[ -x $path ]] && return 0
    done
    return 1
}

missing=()
for entry in "${REQUIRED[@]}"; do
    package=${entry%%:*}
    program=${entry#*:}
    installed "$program" || missing+=("$package")
done
if ((${#missing[@]} > 0)); then
    if ((EUID != 0)); then
        echo "agent-footprint: error: the bench needs these Debian packages; install them as root and run again:" >&2
        echo "    apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
        exit 1
    fi
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    # The packages may start their own services on the standard ports (or
    # fail to, without systemd); the bench never uses those.
    apt-get install -y --no-install-recommends "${missing[@]}"
fi

BLACKBOX=/usr/bin/prometheus-blackbox-exporter
[[ -x $BLACKBOX ]] || BLACKBOX=$(command -v prometheus-blackbox-exporter) ||
    die "prometheus-blackbox-exporter is not installed"
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [[ -z $PG_BIN || ! -x $PG_BIN/initdb ]]; then
    PG_BIN=$(dirname "$(command -v initdb)") || die "PostgreSQL's initdb is not installed"
fi

# --- build --------------------------------------------------------------------

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
RELEASE=$TARGET_DIR/release
if ((BUILD)); then
    command -v cargo >/dev/null 2>&1 || die "cargo is not on PATH: install Rust from https://rustup.rs"
    # The agent on its own: built together with the other packages, cargo
    # unifies their dependencies' features into it, and it grows (by about
    # 0.35 MiB of code on 2026-11-26), which is not the agent one ships.
    if [[ -z $AGENT_BIN ]]; then
        say "cargo build --profile sidecar -p greenlight-agent"
        cargo build --profile sidecar -p greenlight-agent || die "the agent's build failed"
    fi
    say "cargo build --release -p greenlight-simbackend -p greenlight-aggregator"
    cargo build --release -p greenlight-simbackend -p greenlight-aggregator ||
        die "the release build of the peers failed"
fi
AGENT=${AGENT_BIN:-$TARGET_DIR/sidecar/greenlight-agent}
SIMBACKEND=$RELEASE/greenlight-simbackend
AGGREGATOR=$RELEASE/greenlight-aggregator
for binary in "$AGENT" "$SIMBACKEND" "$AGGREGATOR"; do
    [[ -x $binary ]] || die "no binary $binary (build it, or drop --no-build)"
done

# --- processes and cleanup ----------------------------------------------------

WORK=$(mktemp -d /tmp/greenlight-bench.XXXXXX)
chmod 755 "$WORK" # PostgreSQL runs as another user and must reach its dir.
mkdir -p "$WORK/logs" "$WORK/probes"

# name:pid of everything started, in start order.
STARTED=()
DRIVER_PIDS=()

alive() { kill -0 "$1" 2>/dev/null; }

stop_pid() {
    local name=$1 pid=$2 signal=$3 waited=0
    alive "$pid" || return 0
    kill "-$signal" "$pid" 2>/dev/null || return 0
    while alive "$pid" && ((waited < 50)); do
        sleep 0.1
        waited=$((waited + 1))
    done
    if alive "$pid"; then
        say "$name (pid $pid) did not stop within 5 s; SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local status=$? entry i
    trap - EXIT INT TERM
    set +e
    for pid in "${DRIVER_PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
        entry=${STARTED[i]}
        case ${entry%%:*} in
            # SIGINT is PostgreSQL's fast shutdown.
            postgres) stop_pid "${entry%%:*}" "${entry#*:}" INT ;;
            *) stop_pid "${entry%%:*}" "${entry#*:}" TERM ;;
        esac
    done
    wait 2>/dev/null
    if ((KEEP)) || ((status != 0 && status != 130 && status != 143)); then
        say "logs and configs kept in $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'say "interrupted: stopping everything started"; exit 130' INT
trap 'say "terminated: stopping everything started"; exit 143' TERM

started() { STARTED+=("$1:$2"); }

# Every server runs under `setsid` (which execs, so $! is the server): in a
# session of its own, a Ctrl-C at the terminal reaches only this script,
# whose trap then stops each server in turn, instead of killing them all at
# once under a run still measuring them.

# The last lines of a log, indented, for an error message.
log_tail() { tail -n 20 "$1" 2>/dev/null | sed 's/^/    /' >&2; }

# True when something accepts TCP connections on 127.0.0.1:$1.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Waits up to $3 seconds for port $2 of process $1 (named $4, logging to $5).
wait_port() {
    local pid=$1 port=$2 limit=$3 name=$4 log=$5 tries=0
    while ! listening "$port"; do
        if ! alive "$pid"; then
            echo "agent-footprint: error: $name exited before listening on $port; its log:" >&2
            log_tail "$log"
            exit 1
        fi
        if ((tries >= limit * 10)); then
            echo "agent-footprint: error: $name did not listen on $port within ${limit}s; its log:" >&2
            log_tail "$log"
            exit 1
        fi
        sleep 0.1
        tries=$((tries + 1))
    done
}

# A free loopback port: random in 20000..32767, nothing listening, not
# handed out before in this run, never 5432 or 6379. Below Linux's
# ephemeral range (32768..60999): a port there can be taken meanwhile as the
# local end of some outgoing connection, and PostgreSQL then fails to bind.
# Sets the variable named $1 (not a $(...) subshell, which would forget
# what it handed out).
HANDED=" "
free_port() {
    local port tries
    for ((tries = 0; tries < 200; tries++)); do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 12768))
        [[ $HANDED == *" $port "* ]] && continue
        listening "$port" && continue
        HANDED+="$port "
        printf -v "$1" '%s' "$port"
        return 0
    done
    die "no free loopback port found"
}

# --- peers --------------------------------------------------------------------

free_port REDIS_PORT
say "redis-server on 127.0.0.1:$REDIS_PORT"
setsid redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$WORK" --daemonize no >"$WORK/logs/redis.log" 2>&1 &
started redis "$!"
wait_port "$!" "$REDIS_PORT" 10 redis-server "$WORK/logs/redis.log"

free_port PG_PORT
say "PostgreSQL ($PG_BIN) on 127.0.0.1:$PG_PORT"
PG_DIR=$WORK/postgres
mkdir -p "$PG_DIR"
as_postgres=()
if ((EUID == 0)); then
    id postgres >/dev/null 2>&1 ||
        die "running as root, PostgreSQL must run as the postgres user, and there is none (apt-get install postgresql creates it)"
    chown postgres: "$PG_DIR"
    # setpriv execs: the postmaster is our child, so signals reach it.
    as_postgres=(setpriv --reuid=postgres --regid=postgres --init-groups --)
fi
LC_ALL=C "${as_postgres[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres \
    --no-sync --no-locale -E UTF8 >"$WORK/logs/initdb.log" 2>&1 || {
    echo "agent-footprint: error: initdb failed; its output:" >&2
    log_tail "$WORK/logs/initdb.log"
    exit 1
}
LC_ALL=C setsid "${as_postgres[@]}" "$PG_BIN/postgres" -D "$PG_DIR/data" -p "$PG_PORT" -k "$PG_DIR" \
    -c listen_addresses=127.0.0.1 -c fsync=off >"$WORK/logs/postgres.log" 2>&1 &
started postgres "$!"
wait_port "$!" "$PG_PORT" 30 postgres "$WORK/logs/postgres.log"
for ((i = 0; i < 100; i++)); do
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -t 2 && break
    sleep 0.2
done
"$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -t 2 ||
    { echo "agent-footprint: error: PostgreSQL did not become ready; its log:" >&2; log_tail "$WORK/logs/postgres.log"; exit 1; }

say "greenlight-simbackend (20 self-load requests/s)"
SIM_OUT=$WORK/logs/simbackend.out
# Created here, so reading it cannot race the child opening it.
: >"$SIM_OUT"
setsid "$SIMBACKEND" --listen 127.0.0.1:0 --color green --self-load-rps 20 \
    >"$SIM_OUT" 2>"$WORK/logs/simbackend.log" &
SIM_PID=$!
started simbackend "$SIM_PID"
echo "$SIM_PID" >"$WORK/simbackend.pid"
SIM_ADDR=
for ((i = 0; i < 100; i++)); do
    SIM_ADDR=$(sed -n 's/^greenlight-simbackend listening on //p' "$SIM_OUT" || true)
    [[ -n $SIM_ADDR ]] && break
    alive "$SIM_PID" || { echo "agent-footprint: error: greenlight-simbackend exited; its log:" >&2; log_tail "$WORK/logs/simbackend.log"; exit 1; }
    sleep 0.1
done
[[ -n $SIM_ADDR ]] || die "greenlight-simbackend did not say where it listens"
SIM_PORT=${SIM_ADDR##*:}

free_port AGG_PORT
say "greenlight-aggregator on 127.0.0.1:$AGG_PORT"
RUST_LOG=warn setsid "$AGGREGATOR" --listen "127.0.0.1:$AGG_PORT" >"$WORK/logs/aggregator.log" 2>&1 &
started aggregator "$!"
wait_port "$!" "$AGG_PORT" 10 greenlight-aggregator "$WORK/logs/aggregator.log"

# --- the agent's config: every check this agent supports -----------------------

SIM=http://127.0.0.1:$SIM_PORT
free_port AGENT_LISTEN_PORT
AGENT_CONFIG=$WORK/agent.toml

# Optional parts, each on when this agent's --check-config accepts it.
WS_TABLE=
PROCESS_TABLE=
DETAILED_LINE=
LISTEN_LINE=

# Whether write_config writes check $1's table: every check while finding
# out what the agent supports, then only those of --only (if given).
FILTERING=0
wanted() { ((FILTERING == 0)) || [[ -z $ONLY || $ONLY == *",$1,"* ]]; }

write_config() {
    {
        cat <<EOF
# written by bench/agent-footprint.sh
aggregator = "http://127.0.0.1:$AGG_PORT"
deployment = "bench"
color = "green"
instance_id = "bench-1"
backend_version = "v0.0.0-bench"
interval = "1s"
EOF
        [[ -n $LISTEN_LINE ]] && printf '%s\n' "$LISTEN_LINE"
        wanted postgres && printf '\n[checks.postgres]\nurl = "postgres://postgres@127.0.0.1:%s/postgres"\n' "$PG_PORT"
        wanted redis && printf '\n[checks.redis]\nurl = "redis://127.0.0.1:%s"\n' "$REDIS_PORT"
        if wanted http; then
            printf '\n[checks.http]\nurl = "%s/health"\n' "$SIM"
            [[ -n $DETAILED_LINE ]] && printf '%s\n' "$DETAILED_LINE"
        fi
        wanted traffic && printf '\n[checks.traffic]\nurl = "%s/metrics"\n' "$SIM"
        [[ -n $WS_TABLE ]] && wanted websocket && printf '\n%s\n' "$WS_TABLE"
        [[ -n $PROCESS_TABLE ]] && wanted process && printf '\n%s\n' "$PROCESS_TABLE"
        true
    } >"$AGENT_CONFIG"
}

# True when the agent accepts the config as written now; the reason in $WORK/check.out.
config_ok() { "$AGENT" --check-config "$AGENT_CONFIG" >"$WORK/check.out" 2>&1; }

write_config
config_ok || {
    echo "agent-footprint: error: the agent refuses the base config (postgres, redis, http, traffic):" >&2
    sed 's/^/    /' "$WORK/check.out" >&2
    exit 1
}
CHECKS=(postgres redis http traffic)
UNSUPPORTED=()
EXTRAS=()

# Tries each candidate for one optional part; keeps the first accepted.
# $1 = variable to set, $2 = label, rest = candidates.
try_part() {
    local variable=$1 label=$2 candidate
    shift 2
    for candidate in "$@"; do
        printf -v "$variable" '%s' "$candidate"
        write_config
        if config_ok; then
            return 0
        fi
    done
    printf -v "$variable" '%s' ""
    write_config
    return 1
}

if try_part WS_TABLE websocket $'[checks.websocket]\nurl = "ws://127.0.0.1:'"$SIM_PORT"$'/ws"'; then
    CHECKS+=(websocket)
else
    UNSUPPORTED+=("websocket ($(head -n 1 "$WORK/check.out"))")
fi
if try_part PROCESS_TABLE process \
    $'[checks.process]\npid_file = "'"$WORK/simbackend.pid"'"' \
    $'[checks.process]\npid = '"$SIM_PID" \
    $'[checks.process]\nport = '"$SIM_PORT"; then
    CHECKS+=(process)
else
    UNSUPPORTED+=("process ($(head -n 1 "$WORK/check.out"))")
fi
if try_part DETAILED_LINE detailed "detailed_url = \"$SIM/health/detailed\""; then
    EXTRAS+=("http also GETs /health/detailed")
fi
if try_part LISTEN_LINE listen "listen = \"127.0.0.1:$AGENT_LISTEN_PORT\""; then
    EXTRAS+=("the agent serves /health and /metrics on 127.0.0.1:$AGENT_LISTEN_PORT")
fi
write_config
config_ok || die "the agent refuses the assembled config: $(cat "$WORK/check.out")"

if [[ -n $ONLY ]]; then
    read -r -a only_list <<<"${ONLY//,/ }"
    for name in "${only_list[@]}"; do
        [[ " ${CHECKS[*]} " == *" $name "* ]] || die "--only: $name is not a check this agent runs (it runs: ${CHECKS[*]})"
    done
    CHECKS=("${only_list[@]}")
    FILTERING=1
    write_config
    config_ok || die "the agent refuses the --only config: $(cat "$WORK/check.out")"
fi

if ((${#UNSUPPORTED[@]} > 0)); then
    for item in "${UNSUPPORTED[@]}"; do
        say "NOT SUPPORTED by this agent, not measured: $item"
    done
    ((REQUIRE_ALL)) && die "--require-all: the agent runs ${#CHECKS[@]} of the six checks"
fi

# --- blackbox_exporter and what it probes ------------------------------------

# Both executables start cold: written back and dropped from the page cache.
# How much of an executable RSS counts depends on how its file sits in the
# page cache (just linked, copied, or read back from disk map differently:
# 8.09, 8.72 and 8.23 MiB for one agent binary on 2026-11-26), so without
# this the agent's figure moves by half a MiB with the way it was built.
cold_start() {
    sync "$1" 2>/dev/null || sync
    dd if="$1" iflag=nocache count=0 status=none 2>/dev/null ||
        say "cannot drop $1 from the page cache; its RSS may read high"
}
cold_start "$AGENT"
cold_start "$BLACKBOX"

free_port BB_PORT
# module|target|what it stands for; the agent's checks, in its order.
BB_PROBES=(
    "postgres_select1|127.0.0.1:$PG_PORT|postgres"
    "redis_ping|127.0.0.1:$REDIS_PORT|redis"
    "http_2xx|$SIM/health|http"
    "http_metrics|$SIM/metrics|traffic"
)
[[ -n $DETAILED_LINE ]] && BB_PROBES+=("http_2xx|$SIM/health/detailed|http (detailed)")
[[ -n $WS_TABLE ]] && BB_PROBES+=("websocket_upgrade|127.0.0.1:$SIM_PORT|websocket")
if [[ -n $ONLY ]]; then
    kept=()
    for probe in "${BB_PROBES[@]}"; do
        what=${probe##*|}
        [[ " ${CHECKS[*]} " == *" ${what%% *} "* ]] && kept+=("$probe")
    done
    BB_PROBES=(${kept[@]+"${kept[@]}"})
fi

say "prometheus-blackbox-exporter on 127.0.0.1:$BB_PORT"
setsid "$BLACKBOX" --config.file="$ROOT/bench/blackbox.yml" --web.listen-address="127.0.0.1:$BB_PORT" \
    >"$WORK/logs/blackbox.log" 2>&1 &
BB_PID=$!
started blackbox "$BB_PID"
wait_port "$BB_PID" "$BB_PORT" 10 blackbox_exporter "$WORK/logs/blackbox.log"

say "greenlight-agent: ${CHECKS[*]}, every 1s"
setsid env ${AGENT_ENV[@]+"${AGENT_ENV[@]}"} "$AGENT" --config "$AGENT_CONFIG" >"$WORK/logs/agent.log" 2>&1 &
AGENT_PID=$!
started agent "$AGENT_PID"
if [[ -n $LISTEN_LINE ]]; then
    wait_port "$AGENT_PID" "$AGENT_LISTEN_PORT" 10 greenlight-agent "$WORK/logs/agent.log"
fi

# --- measuring ----------------------------------------------------------------

url_encode() {
    local text=$1 out= i c
    for ((i = 0; i < ${#text}; i++)); do
        c=${text:i:1}
        case $c in
            [a-zA-Z0-9.~_-]) out+=$c ;;
            *) printf -v c '%%%02X' "'$c"; out+=$c ;;
        esac
    done
    printf '%s' "$out"
}

# One curl per second for all blackbox targets, in parallel as Prometheus
# scrapes them; each answer's probe_success goes to $WORK/probes/results.
CURL_ARGS=()
for ((i = 0; i < ${#BB_PROBES[@]}; i++)); do
    IFS='|' read -r module target _ <<<"${BB_PROBES[i]}"
    CURL_ARGS+=(-o "$WORK/probes/TICK.$i" "http://127.0.0.1:$BB_PORT/probe?module=$module&target=$(url_encode "$target")")
done

scrape_blackbox() {
    local tick=$1 args=("${CURL_ARGS[@]}") i
    args=("${args[@]//TICK/$tick}")
    curl -s --max-time 2 --parallel --parallel-immediate "${args[@]}" >/dev/null 2>&1
    for ((i = 0; i < ${#BB_PROBES[@]}; i++)); do
        if grep -q '^probe_success 1' "$WORK/probes/$tick.$i" 2>/dev/null; then
            echo "$i 1"
        else
            echo "$i 0"
        fi
        rm -f "$WORK/probes/$tick.$i"
    done >>"$WORK/probes/results"
}

# Each exporter's own /metrics, every 15 s (a usual Prometheus interval).
scrape_own_metrics() {
    curl -s --max-time 2 -o /dev/null "http://127.0.0.1:$BB_PORT/metrics" || true
    if [[ -n $LISTEN_LINE ]]; then
        curl -s --max-time 2 -o /dev/null "http://127.0.0.1:$AGENT_LISTEN_PORT/metrics" || true
    fi
}

# utime+stime of a process, in clock ticks (fields 14 and 15 of stat; the
# name in parentheses may hold spaces, so count after the last ")").
cpu_ticks() {
    local stat rest
    stat=$(<"/proc/$1/stat") || return 1
    rest=${stat##*) }
    # shellcheck disable=SC2086
    set -- $rest
    echo $((${12} + ${13}))
}

# Nanoseconds on CPU of all the live threads of a process (schedstat's first
# field; finer than stat's clock ticks). A thread that exits takes its time
# with it, so the thread ids go along: "ns tid tid ...".
sched_ns() {
    local total=0 tids= task value
    for task in /proc/"$1"/task/*; do
        read -r value _ <"$task/schedstat" 2>/dev/null || continue
        total=$((total + value))
        tids+=" ${task##*/}"
    done
    echo "$total$tids"
}

# "VmRSS VmHWM RssAnon RssFile Threads" of a process, kB and count.
memory_of() {
    awk '/^VmRSS:/{r=$2} /^VmHWM:/{h=$2} /^RssAnon:/{a=$2} /^RssFile:/{f=$2} /^Threads:/{t=$2}
         END{print r, h, a, f, t}' "/proc/$1/status"
}

check_alive() {
    alive "$AGENT_PID" || { echo "agent-footprint: error: greenlight-agent exited during the run; its log:" >&2; log_tail "$WORK/logs/agent.log"; exit 1; }
    alive "$BB_PID" || { echo "agent-footprint: error: blackbox_exporter exited during the run; its log:" >&2; log_tail "$WORK/logs/blackbox.log"; exit 1; }
}

# Waits for the scrapes under way (each bounded by curl --max-time); never a
# bare `wait`, which would wait for the peers too.
wait_drivers() {
    if ((${#DRIVER_PIDS[@]} > 0)); then
        wait "${DRIVER_PIDS[@]}" 2>/dev/null || true
    fi
    DRIVER_PIDS=()
}

micros() { local now=${EPOCHREALTIME/./}; echo $((10#$now)); }

TOTAL=$((WARMUP + DURATION))
say "warm-up ${WARMUP}s, then measuring ${DURATION}s"
: >"$WORK/samples"
START_US=$(micros)
for ((tick = 0; tick <= TOTAL; tick++)); do
    # Sleep until this tick's second.
    deadline=$((START_US + tick * 1000000))
    now=$(micros)
    if ((deadline > now)); then
        sleep "$(printf '%d.%06d' $(((deadline - now) / 1000000)) $(((deadline - now) % 1000000)))"
    fi
    check_alive
    if ((tick == WARMUP)); then
        MEASURE_START_US=$(micros)
        AGENT_CPU0=$(cpu_ticks "$AGENT_PID")
        BB_CPU0=$(cpu_ticks "$BB_PID")
        AGENT_SCHED0=$(sched_ns "$AGENT_PID")
        BB_SCHED0=$(sched_ns "$BB_PID")
        # Results so far were the warm-up's.
        wait_drivers
        rm -f "$WORK/probes/results"
        if [[ -n $HOOK ]]; then
            AGENT_PID=$AGENT_PID BB_PID=$BB_PID WORK=$WORK bash -c "$HOOK" >"$WORK/logs/hook.log" 2>&1 &
            HOOK_PID=$!
            started hook "$HOOK_PID"
        fi
    fi
    if ((tick > WARMUP)); then
        echo "$(memory_of "$AGENT_PID") $(memory_of "$BB_PID")" >>"$WORK/samples"
    fi
    if ((tick == TOTAL)); then
        MEASURE_END_US=$(micros)
        AGENT_CPU1=$(cpu_ticks "$AGENT_PID")
        BB_CPU1=$(cpu_ticks "$BB_PID")
        AGENT_SCHED1=$(sched_ns "$AGENT_PID")
        BB_SCHED1=$(sched_ns "$BB_PID")
        if [[ -n $HOOK ]]; then
            # SIGINT first: perf and strace then write what they gathered.
            stop_pid hook "$HOOK_PID" INT
        fi
        break
    fi
    scrape_blackbox "$tick" &
    DRIVER_PIDS+=("$!")
    if ((tick % 15 == 0)); then
        scrape_own_metrics &
        DRIVER_PIDS+=("$!")
    fi
    # Forget the finished ones, so the list stays short.
    if ((${#DRIVER_PIDS[@]} > 20)); then
        still=()
        for pid in "${DRIVER_PIDS[@]}"; do alive "$pid" && still+=("$pid"); done
        DRIVER_PIDS=("${still[@]}")
    fi
done
wait_drivers
AGENT_END=$(memory_of "$AGENT_PID")
BB_END=$(memory_of "$BB_PID")
# Proportional and private memory: RSS counts the shared libraries and the
# executable's page-cache pages whole; PSS splits shared pages among their
# users, USS (Private_Clean + Private_Dirty) is what the process alone holds.
pss_uss() {
    awk '/^Pss:/ { p = $2 } /^Private_(Clean|Dirty):/ { u += $2 } END { printf "%.2f %.2f\n", p / 1024, u / 1024 }' \
        "/proc/$1/smaps_rollup" 2>/dev/null || echo "n/a n/a"
}
read -r AGENT_PSS AGENT_USS < <(pss_uss "$AGENT_PID")
read -r BB_PSS BB_USS < <(pss_uss "$BB_PID")
if ((KEEP)); then
    # Where the memory is, mapping by mapping, for a diagnosis.
    for which in agent:$AGENT_PID blackbox:$BB_PID; do
        cat "/proc/${which#*:}/smaps" >"$WORK/${which%%:*}.smaps" 2>/dev/null || true
        cat "/proc/${which#*:}/status" >"$WORK/${which%%:*}.status" 2>/dev/null || true
    done
fi

# What the agent itself says about its checks (when it has a face).
AGENT_HEALTH=
if [[ -n $LISTEN_LINE ]]; then
    AGENT_HEALTH=$(curl -s --max-time 2 "http://127.0.0.1:$AGENT_LISTEN_PORT/health" || true)
fi

# --- report -------------------------------------------------------------------

CLK_TCK=$(getconf CLK_TCK)
WALL_US=$((MEASURE_END_US - MEASURE_START_US))

read -r AGENT_RSS_MAX AGENT_RSS_MEAN BB_RSS_MAX BB_RSS_MEAN SAMPLES < <(
    awk '{ if ($1 > am) am = $1; as += $1; if ($6 > bm) bm = $6; bs += $6; n++ }
         END { if (n == 0) n = 1; printf "%.2f %.2f %.2f %.2f %d\n", am/1024, as/n/1024, bm/1024, bs/n/1024, NR }' \
        "$WORK/samples")
cpu_percent() { awk -v t="$1" -v hz="$CLK_TCK" -v us="$WALL_US" 'BEGIN { printf "%.3f", t / hz / (us / 1e6) * 100 }'; }
AGENT_TICKS=$((AGENT_CPU1 - AGENT_CPU0))
BB_TICKS=$((BB_CPU1 - BB_CPU0))
AGENT_CPU=$(cpu_percent "$AGENT_TICKS")
BB_CPU=$(cpu_percent "$BB_TICKS")
# Precise CPU % from two sched_ns readings; "n/a" without schedstat, and a
# "*" when a thread exited in between (its time is missing).
sched_percent() {
    local before=($1) after=($2) tid lost=
    ((${#before[@]} > 1 && ${#after[@]} > 1)) || { echo "n/a"; return; }
    for tid in "${before[@]:1}"; do
        [[ " ${after[*]:1} " == *" $tid "* ]] || lost="*"
    done
    awk -v ns=$((after[0] - before[0])) -v us="$WALL_US" -v lost="$lost" 'BEGIN { printf "%.4f%s", ns / 1e3 / us * 100, lost }'
}
AGENT_SCHED_CPU=$(sched_percent "$AGENT_SCHED0" "$AGENT_SCHED1")
BB_SCHED_CPU=$(sched_percent "$BB_SCHED0" "$BB_SCHED1")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else print "n/a" }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.2f", k / 1024 }'; }

read -r _ AGENT_HWM AGENT_ANON AGENT_FILE AGENT_THREADS <<<"$AGENT_END"
read -r _ BB_HWM BB_ANON BB_FILE BB_THREADS <<<"$BB_END"

describe_commit() {
    local commit
    commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null) || { echo "unknown"; return; }
    if [[ -n $(git -C "$ROOT" status --porcelain -- agent 2>/dev/null) ]]; then
        commit+=" (agent/ has uncommitted changes)"
    fi
    echo "$commit"
}

echo
echo "greenlight agent footprint"
echo "  command:   $COMMAND"
((${#AGENT_ENV[@]} > 0)) && echo "  agent env: ${AGENT_ENV[*]}"
[[ -n $HOOK ]] && echo "  HOOK:      $HOOK (a diagnosis run: the figures below are disturbed)"
[[ -n ${CARGO_TARGET_DIR:-} ]] && echo "  target:    $CARGO_TARGET_DIR"
env | grep -E '^CARGO_PROFILE_(RELEASE|SIDECAR)_' | sed 's/^/  profile:   /' || true
echo "  date:      $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "  machine:   $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/^MemTotal:/ { printf "%.1f GiB RAM", $2/1048576 }' /proc/meminfo)"
echo "  kernel:    $(uname -sr)"
echo "  commit:    $(describe_commit)"
echo "  agent:     $AGENT ($(mib $(($(stat -c %s "$AGENT") / 1024))) MiB on disk)"
echo "  blackbox:  $("$BLACKBOX" --version 2>&1 | head -n 1)"
echo "  peers:     PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}'), redis $(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p'), greenlight-simbackend (20 req/s), greenlight-aggregator"
echo "  checks:    ${CHECKS[*]} (${#CHECKS[@]} of 6${ONLY:+, --only}), every 1s; timeout 800ms (80%)"
for item in ${UNSUPPORTED[@]+"${UNSUPPORTED[@]}"}; do echo "  missing:   $item"; done
for item in ${EXTRAS[@]+"${EXTRAS[@]}"}; do echo "  also:      $item"; done
echo "  blackbox:  $(for p in "${BB_PROBES[@]}"; do IFS='|' read -r m _ w <<<"$p"; printf '%s=%s ' "$w" "$m"; done)"
echo "             (no process probe: blackbox has none; postgres = wire-protocol SELECT 1 over tcp, a new connection each time)"
echo "  start:     both executables dropped from the page cache first (a cold start, as after a deploy)"
echo "  window:    $(awk -v us="$WALL_US" 'BEGIN { printf "%.1f", us / 1e6 }') s after ${WARMUP}s warm-up; $SAMPLES RSS samples (VmRSS), 1/s"
echo "             CPU: utime+stime from /proc/PID/stat (${CLK_TCK} ticks/s, so +-1 tick = $(awk -v hz="$CLK_TCK" -v us="$WALL_US" 'BEGIN { printf "%.3f", 1 / hz / (us / 1e6) * 100 }')%),"
echo "             and the ns on CPU of every thread from /proc/PID/task/*/schedstat (* = a thread exited, its time lost)"
echo
printf '  %-22s %12s %18s %10s\n' "" "agent" "blackbox_exporter" "ratio"
printf '  %-22s %12s %18s %10s\n' "RSS max (MiB)" "$AGENT_RSS_MAX" "$BB_RSS_MAX" "$(ratio "$AGENT_RSS_MAX" "$BB_RSS_MAX")"
printf '  %-22s %12s %18s %10s\n' "RSS mean (MiB)" "$AGENT_RSS_MEAN" "$BB_RSS_MEAN" "$(ratio "$AGENT_RSS_MEAN" "$BB_RSS_MEAN")"
printf '  %-22s %12s %18s %10s\n' "CPU (% of one core)" "$AGENT_CPU" "$BB_CPU" "$(ratio "$AGENT_CPU" "$BB_CPU")"
printf '  %-22s %12s %18s %10s\n' "CPU, schedstat (%)" "$AGENT_SCHED_CPU" "$BB_SCHED_CPU" "$(ratio "${AGENT_SCHED_CPU%\*}" "${BB_SCHED_CPU%\*}")"
printf '  %-22s %12s %18s\n' "CPU time (ticks)" "$AGENT_TICKS" "$BB_TICKS"
printf '  %-22s %12s %18s\n' "peak RSS, VmHWM (MiB)" "$(mib "$AGENT_HWM")" "$(mib "$BB_HWM")"
printf '  %-22s %12s %18s %10s\n' "PSS at end (MiB)" "$AGENT_PSS" "$BB_PSS" "$(ratio "$AGENT_PSS" "$BB_PSS")"
printf '  %-22s %12s %18s %10s\n' "USS at end (MiB)" "$AGENT_USS" "$BB_USS" "$(ratio "$AGENT_USS" "$BB_USS")"
printf '  %-22s %12s %18s\n' "anon / file RSS (MiB)" "$(mib "$AGENT_ANON") / $(mib "$AGENT_FILE")" "$(mib "$BB_ANON") / $(mib "$BB_FILE")"
printf '  %-22s %12s %18s\n' "threads at end" "$AGENT_THREADS" "$BB_THREADS"
echo

# Probe outcomes: blackbox's answers, and the agent's own (when it has a face).
if [[ -s $WORK/probes/results ]]; then
    line="  blackbox probes ok:"
    for ((i = 0; i < ${#BB_PROBES[@]}; i++)); do
        IFS='|' read -r _ _ what <<<"${BB_PROBES[i]}"
        counts=$(awk -v i="$i" '$1 == i { n++; ok += $2 } END { printf "%d/%d", ok, n }' "$WORK/probes/results")
        line+=" $what $counts,"
    done
    echo "${line%,}"
fi
if [[ -n $AGENT_HEALTH ]]; then
    printf '%s\n' "$AGENT_HEALTH" >"$WORK/agent-health.json"
    # "component:measurement":[{... "status":"pass" ...}] -> name=status
    summary=$(printf '%s' "$AGENT_HEALTH" | tr -d '\n' |
        grep -oE '"[^"]+":\[\{[^]]*"status":"[a-z]+"' |
        sed -E 's/^"([^"]+)":.*"status":"([a-z]+)"$/\1=\2/' | tr '\n' ' ' || true)
    echo "  agent /health at the end: ${summary:-$(printf '%s' "$AGENT_HEALTH" | cut -c 1-300)}"
fi
# tracing may colour its output even into a file.
sed 's/\x1b\[[0-9;]*m//g' "$WORK/logs/agent.log" >"$WORK/logs/agent.plain.log"
WARNINGS=$(grep -cE '^[^ ]+ +(WARN|ERROR) ' "$WORK/logs/agent.plain.log" || true)
echo "  agent log: $(wc -l <"$WORK/logs/agent.plain.log") lines, $WARNINGS at WARN or ERROR"
grep -E '^[^ ]+ +(WARN|ERROR) ' "$WORK/logs/agent.plain.log" | tail -n 3 | cut -c 1-300 | sed 's/^/    /' || true
echo

verdict() { if awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; then echo PASS; else echo MISS; fi; }
RSS_LIMIT=$(awk -v b="$BB_RSS_MAX" -v r="$TARGET_RSS_RATIO" 'BEGIN { printf "%.2f", b * r }')
printf '  %-50s %-12s %s\n' "target" "measured" ""
printf '  %-50s %-12s %s\n' "agent RSS max <= $TARGET_RSS_MIB MiB" "$AGENT_RSS_MAX MiB" "$(verdict "$AGENT_RSS_MAX" "$TARGET_RSS_MIB")"
printf '  %-50s %-12s %s\n' "agent RSS max <= $TARGET_RSS_RATIO x blackbox's ($RSS_LIMIT MiB)" "$(ratio "$AGENT_RSS_MAX" "$BB_RSS_MAX") x" "$(verdict "$AGENT_RSS_MAX" "$RSS_LIMIT")"
printf '  %-50s %-12s %s\n' "agent CPU <= $TARGET_CPU_PERCENT% of one core (utime+stime)" "$AGENT_CPU %" "$(verdict "$AGENT_CPU" "$TARGET_CPU_PERCENT")"
if [[ $AGENT_SCHED_CPU != n/a ]]; then
    printf '  %-50s %-12s %s\n' "agent CPU <= $TARGET_CPU_PERCENT% of one core (schedstat)" "${AGENT_SCHED_CPU%\*} %" "$(verdict "${AGENT_SCHED_CPU%\*}" "$TARGET_CPU_PERCENT")"
fi
if ((${#CHECKS[@]} < 6)) && [[ -z $ONLY ]]; then
    echo "  (with ${#CHECKS[@]} of the 6 checks: rerun when the agent has the others)"
fi
