#!/usr/bin/env bash
# The scale-out scenario of issue #12 by hand, on one machine: a private RabbitMQ and PostgreSQL (pgvector), 2 encode,
# 2 detect and 2 query `media serve` processes on the shared catalog; SINGLES unrelated images plus PAIRS pairs of an
# image and its edited copy, submitted together; detect-1 is SIGKILLed after KILL_AT results and PostgreSQL is
# restarted after RESTART_AT results (0: not). Prints the figures and checks them; exit 1 when a check fails.
#   tools/scale-out-run.sh [WORKDIR]      env: SINGLES=260 PAIRS=20 KILL_AT=60 RESTART_AT=150 PACK=models/fixtures/color-clip
# Needs bin/media (make build), make setup's rabbitmq-server, postgresql-15 and pgvector, ffmpeg and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
W=$(realpath -m "${1:-/tmp/media-scale-out}")
SINGLES=${SINGLES:-260}; PAIRS=${PAIRS:-20}; KILL_AT=${KILL_AT:-60}; RESTART_AT=${RESTART_AT:-150}
PACK=${PACK:-models/fixtures/color-clip}
MEDIA=$PWD/bin/media
RMQ_PORT=$((25000 + RANDOM % 5000)); PG_PORT=$((45000 + RANDOM % 4000))
R=amqp://guest:guest@127.0.0.1:$RMQ_PORT/
C=postgresql://media:media@127.0.0.1:$PG_PORT/media
rm -rf "$W"; mkdir -p "$W/src" "$W/input" "$W/logs"; chmod 755 "$W"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  tools/postgres-local.sh stop "$W/pg" "$PG_PORT" || true
  tools/rabbitmq-local.sh stop "$W/rmq" "$RMQ_PORT" >/dev/null 2>&1 || true
}
trap cleanup EXIT

tools/rabbitmq-local.sh start "$W/rmq" "$RMQ_PORT"
tools/postgres-local.sh start "$W/pg" "$PG_PORT"
PGPASSWORD=media /usr/lib/postgresql/15/bin/psql -q -h 127.0.0.1 -p "$PG_PORT" -U media -d postgres -c "CREATE DATABASE media"

echo "images: $SINGLES singles + $PAIRS pairs"
/usr/bin/python3 - "$W/src" $((SINGLES + PAIRS)) <<'PY'
import random, sys
d, n = sys.argv[1], int(sys.argv[2])
r = random.Random(2026)
for i in range(n):
    with open(f"{d}/{i:03d}.ppm", "wb") as f:
        f.write(b"P6\n16 16\n255\n" + bytes(r.randrange(256) for _ in range(16 * 16 * 3)))
PY
ffmpeg -nostdin -v error -y -start_number 0 -i "$W/src/%03d.ppm" -vf scale=512:512:flags=bicubic -q:v 3 -start_number 0 "$W/src/%03d.jpg"
ffmpeg -nostdin -v error -y -start_number 0 -i "$W/src/%03d.jpg" -vf "scale=440:440,eq=brightness=0.04" -q:v 12 -start_number 0 "$W/src/copy-%03d.jpg"
for ((i = 0; i < SINGLES; i++)); do mv "$W/src/$(printf %03d $i).jpg" "$W/input/single-$(printf %03d $i).jpg"; done
for ((p = 0; p < PAIRS; p++)); do
  mv "$W/src/$(printf %03d $((SINGLES + p))).jpg" "$W/input/pair-$(printf %02d $p)-a.jpg"
  mv "$W/src/copy-$(printf %03d $((SINGLES + p))).jpg" "$W/input/pair-$(printf %02d $p)-b.jpg"
done

declare -A pid
start() { # name role
  "$MEDIA" serve --role "$2" --transport rabbitmq --rabbitmq "$R" --catalog "$C" --pack "$PACK" >"$W/logs/$1.log" 2>&1 &
  pid[$1]=$!; pids+=($!)
}
for n in encode-1:encode encode-2:encode detect-1:detect detect-2:detect query-1:query query-2:query; do start "${n%%:*}" "${n##*:}"; done
for n in "${!pid[@]}"; do
  for _ in $(seq 1 120); do grep -q "Bus started" "$W/logs/$n.log" && break; sleep 0.5; done
  grep -q "Bus started" "$W/logs/$n.log" || { echo "$n did not start:"; cat "$W/logs/$n.log"; exit 1; }
done
echo "workers up: ${!pid[*]}"

start_s=$(date +%s.%N)
"$MEDIA" ingest --json --transport rabbitmq --rabbitmq "$R" --catalog "$C" "$W/input" >"$W/results.jsonl" 2>"$W/logs/ingest.log" &
ingest=$!
killed=0; restarted=0
while kill -0 $ingest 2>/dev/null; do
  n=$(wc -l <"$W/results.jsonl")
  if [ $killed = 0 ] && [ "$n" -ge "$KILL_AT" ]; then kill -9 "${pid[detect-1]}"; killed=$n; echo "SIGKILL detect-1 after $n results"; fi
  if [ "$RESTART_AT" -gt 0 ] && [ $restarted = 0 ] && [ "$n" -ge "$RESTART_AT" ]; then
    t0=$(date +%s.%N); tools/postgres-local.sh restart "$W/pg" "$PG_PORT" >/dev/null; restarted=$n
    echo "PostgreSQL restarted after $n results ($(echo "$(date +%s.%N) - $t0" | bc) s)"
  fi
  sleep 0.05
done
wait $ingest && code=0 || code=$?
elapsed=$(echo "$(date +%s.%N) - $start_s" | bc)
echo "ingest exit $code in ${elapsed} s"

"$MEDIA" stats --catalog "$C" --json >"$W/stats.json"
for _ in $(seq 1 40); do "$MEDIA" search --json --text red --k 10 --transport rabbitmq --rabbitmq "$R" --pack "$PACK" >>"$W/search.jsonl"; done

/usr/bin/python3 - "$W" "$SINGLES" "$PAIRS" "$code" <<'PY'
import json, sys, os
w, singles, pairs, code = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
lines = [json.loads(l) for l in open(f"{w}/results.jsonl")]
stats = json.load(open(f"{w}/stats.json"))
total = singles + 2 * pairs
by = {os.path.basename(l["path"]): l for l in lines}
near = lambda l: [f["of"] for f in l["flags"] if f["kind"] == "near_duplicate"]
ok_pairs = sum(1 for p in range(pairs) for a, b in [(by.get(f"pair-{p:02d}-a.jpg"), by.get(f"pair-{p:02d}-b.jpg"))]
               if a and b and sorted([len(near(a)), len(near(b))]) == [0, 1] and (near(a) + near(b))[0] in (a["id"], b["id"]))
searches = [json.loads(l) for l in open(f"{w}/search.jsonl")]
nodes = {}
for s in searches: nodes.setdefault(s["node"], json.dumps(s["results"]))
checks = [
    ("ingest exit code 0", code == 0),
    (f"results: {len(lines)} (want {total})", len(lines) == total),
    (f"distinct paths: {len({l['path'] for l in lines})}", len({l['path'] for l in lines}) == total),
    (f"distinct ids: {len({l['id'] for l in lines})}", len({l['id'] for l in lines}) == total),
    (f"statuses: { {s: sum(1 for l in lines if l['status'] == s) for s in {l['status'] for l in lines}} }", all(l["status"] == "indexed" for l in lines)),
    (f"media stats items: {stats['items']} (indexed results: {sum(1 for l in lines if l['status'] == 'indexed')})", stats["items"] == sum(1 for l in lines if l["status"] == "indexed")),
    (f"near-duplicate flags: {stats['flags'].get('near_duplicate', 0)} (want {pairs})", stats["flags"].get("near_duplicate", 0) == pairs),
    (f"pairs with exactly one copy flagged against the other: {ok_pairs}/{pairs}", ok_pairs == pairs),
    (f"query nodes answering: {len(nodes)} of 40 searches; identical top-10: {len(set(nodes.values())) == 1}", len(nodes) == 2 and len(set(nodes.values())) == 1),
]
for name, ok in checks: print(("PASS " if ok else "FAIL ") + name)
sys.exit(0 if all(ok for _, ok in checks) else 1)
PY
