#!/usr/bin/env bash
# Runs a private RabbitMQ node on loopback, without systemd, for tests and `make run`-style demos.
#   tools/rabbitmq-local.sh start DIR PORT   starts node media-PORT@localhost with its data, logs and feature flags in DIR
#   tools/rabbitmq-local.sh stop  DIR PORT   stops it and the epmd it leaves behind
# The node listens on 127.0.0.1:PORT (AMQP) and 127.0.0.1:PORT+20000 (Erlang distribution); guest/guest works on loopback.
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?DIR}; port=${3:?PORT}
node="media-$port@localhost"
export RABBITMQ_NODENAME=$node
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=$port
export RABBITMQ_DIST_PORT=$((port + 20000))
export RABBITMQ_MNESIA_BASE=$dir/mnesia
export RABBITMQ_LOG_BASE=$dir/log
export RABBITMQ_FEATURE_FLAGS_FILE=$dir/feature_flags
export RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins
export RABBITMQ_PID_FILE=$dir/rabbitmq.pid
export RABBITMQ_CONFIG_FILES=$dir/conf.d
export ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
as_rabbitmq() { if [ "$(id -u)" = 0 ]; then runuser -u rabbitmq -- env "$@"; else env "$@"; fi; }
vars=(RABBITMQ_NODENAME RABBITMQ_NODE_IP_ADDRESS RABBITMQ_NODE_PORT RABBITMQ_DIST_PORT RABBITMQ_MNESIA_BASE RABBITMQ_LOG_BASE
      RABBITMQ_FEATURE_FLAGS_FILE RABBITMQ_ENABLED_PLUGINS_FILE RABBITMQ_PID_FILE RABBITMQ_CONFIG_FILES ERL_EPMD_ADDRESS
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS HOME=/var/lib/rabbitmq)
envs() { for v in "${vars[@]}"; do case $v in *=*) echo "$v";; *) echo "$v=${!v}";; esac; done; }
case $cmd in
  start)
    command -v rabbitmq-server >/dev/null || { echo "rabbitmq-server is not installed (make setup installs it)" >&2; exit 1; }
    mkdir -p "$dir/mnesia" "$dir/log" "$dir/conf.d"
    echo "[]." > "$dir/enabled_plugins"
    printf 'loopback_users = none\nlisteners.tcp.default = 127.0.0.1:%s\n' "$port" > "$dir/conf.d/10-media.conf"
    [ "$(id -u)" = 0 ] && chown -R rabbitmq:rabbitmq "$dir"
    mapfile -t e < <(envs)
    as_rabbitmq "${e[@]}" /usr/lib/rabbitmq/bin/rabbitmq-server -detached
    for _ in $(seq 1 60); do
      as_rabbitmq "${e[@]}" /usr/lib/rabbitmq/bin/rabbitmqctl -q -n "$node" await_startup --timeout 5 >/dev/null 2>&1 && { echo "rabbitmq $node up on 127.0.0.1:$port"; exit 0; }
      sleep 1
    done
    echo "rabbitmq $node did not start; see $dir/log" >&2; exit 1 ;;
  stop)
    mapfile -t e < <(envs)
    as_rabbitmq "${e[@]}" /usr/lib/rabbitmq/bin/rabbitmqctl -q -n "$node" stop >/dev/null 2>&1 || true
    # rabbitmqctl stop leaves the Erlang port mapper running; end it once no node is registered.
    if command -v epmd >/dev/null && ! epmd -names 2>/dev/null | grep -q '^name '; then epmd -kill >/dev/null 2>&1 || true; fi ;;
  *) echo "usage: $0 start|stop DIR PORT" >&2; exit 2 ;;
esac
