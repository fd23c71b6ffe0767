#!/usr/bin/env bash
# The daily path's fixed cost: time `refresh --all` after a one-day import, for bitcoin alone and for the five
# bundled sample coins, on DuckDB and (with TALAB_BENCH_PG=postgres://…/db) on PostgreSQL.
#
#   npm run build && scripts/daily-cost.sh            # DuckDB only
#   TALAB_BENCH_PG=postgres://postgres@127.0.0.1:5432/postgres scripts/daily-cost.sh
#
# Each case: a database of the sample CSVs without their last day, fully refreshed, is set aside; each of RUNS
# rounds (default 5) copies it, imports the last day, and times the refresh alone (a fresh process each time).
# Prints best and median wall seconds, plus the phase times of the median round (refresh --json). Where
# /usr/bin/time exists, also the median CPU seconds (user + system) of the refresh process, which a busy machine
# inflates less than wall time, and the load average before and after each case.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
CLI=(node "${TALAB_CLI:-dist/cli/main.js}")
[ -f "${TALAB_CLI:-dist/cli/main.js}" ] || { echo "daily-cost: build first (npm run build)" >&2; exit 2; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# $1 = case name, rest = sample coins. Writes $WORK/$1/{all,last}/<coin>.csv.
split_days() {
  local name=$1; shift
  mkdir -p "$WORK/$name/all" "$WORK/$name/last"
  # Some samples list their days newest first: sort on the ISO day that starts each line.
  for coin in "$@"; do
    local src="${SRC_DIR:-data/sample}/$coin.csv" days="$WORK/$name/$coin.days"
    tail -n +2 "$src" | sort > "$days"
    { head -n 1 "$src"; head -n -1 "$days"; } > "$WORK/$name/all/$coin.csv"
    { head -n 1 "$src"; tail -n 1 "$days"; } > "$WORK/$name/last/$coin.csv"
  done
}

now() { date +%s.%N; }
load() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?'; }
TIMER=()
[ -x /usr/bin/time ] && TIMER=(/usr/bin/time -o "$WORK/cpu" -f '%U %S')

# $1 = case, $2 = engine label, $3 = command that makes a fresh copy and prints its --db target.
time_rounds() {
  local name=$1 engine=$2 copy=$3 times=() cpus=() db t0 t1 json before
  before=$(load)
  for ((i = 0; i < RUNS; i++)); do
    db=$($copy "$i")
    "${CLI[@]}" --db "$db" import "$WORK/$name"/last/*.csv > /dev/null
    t0=$(now)
    json=$("${TIMER[@]}" "${CLI[@]}" --db "$db" refresh --all --json --log-dir "$WORK/logs")
    t1=$(now)
    times+=("$(echo "$t1 - $t0" | bc -l) $(node -e 'const d=JSON.parse(require("fs").readFileSync(0,"utf8"));process.stdout.write(JSON.stringify(d.phases_ms ?? null))' <<< "$json")")
    if [ ${#TIMER[@]} -gt 0 ]; then cpus+=("$(awk '{ print $1 + $2 }' "$WORK/cpu")"); fi
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v name="$name" -v engine="$engine" -v n="$RUNS" -v cpu="$(printf '%s\n' "${cpus[@]}" | sort -n | awk '{ c[NR] = $1 } END { if (NR) printf "  cpu median %.2f s", c[int((NR + 1) / 2)] }')" -v lavg="load ${before} -> $(load)" '
    { t[NR] = $1; p[NR] = $2 }
    END { m = int((n + 1) / 2); printf "%-8s %-10s best %.2f s  median %.2f s%s  (%d runs; %s)\n  median run phases_ms %s\n", engine, name, t[1], t[m], cpu, n, lavg, p[m] }'
}

duck_case() {
  local name=$1; shift
  split_days "$name" "$@"
  "${CLI[@]}" --db "$WORK/$name/base.duckdb" import "$WORK/$name"/all/*.csv > /dev/null
  "${CLI[@]}" --db "$WORK/$name/base.duckdb" refresh --all --quiet --log-dir "$WORK/logs" > /dev/null
  duck_copy() { cp "$WORK/$CASE/base.duckdb" "$WORK/$CASE/run$1.duckdb"; echo "$WORK/$CASE/run$1.duckdb"; }
  CASE=$name time_rounds "$name" duckdb duck_copy
}

# PostgreSQL: the base database is a template; each round is CREATE DATABASE … TEMPLATE base.
pg_case() {
  local name=$1; shift
  local base="talab_daily_cost_${name}"
  split_days "$name" "$@"
  psql -q "$TALAB_BENCH_PG" -c "DROP DATABASE IF EXISTS $base" -c "CREATE DATABASE $base" > /dev/null
  "${CLI[@]}" --db "${TALAB_BENCH_PG%/*}/$base" import "$WORK/$name"/all/*.csv > /dev/null
  "${CLI[@]}" --db "${TALAB_BENCH_PG%/*}/$base" refresh --all --quiet --log-dir "$WORK/logs" > /dev/null
  pg_copy() {
    local db="${BASE}_run"
    psql -q "$TALAB_BENCH_PG" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db TEMPLATE $BASE" > /dev/null
    echo "${TALAB_BENCH_PG%/*}/$db"
  }
  BASE=$base time_rounds "$name" postgres pg_copy
  psql -q "$TALAB_BENCH_PG" -c "DROP DATABASE IF EXISTS ${base}_run" -c "DROP DATABASE IF EXISTS $base" > /dev/null
}

COINS=(bitcoin ethereum mantle solana wrapped-bitcoin)
duck_case bitcoin bitcoin
duck_case sample "${COINS[@]}"
if [ -n "${TALAB_BENCH_PG:-}" ]; then
  pg_case bitcoin bitcoin
  pg_case sample "${COINS[@]}"
fi
# TALAB_DAILY_DIR=<folder of CoinMarketCap CSVs> adds a case with every file of that folder (18 coins in the
# full collection).
if [ -n "${TALAB_DAILY_DIR:-}" ]; then
  mapfile -t ALL < <(cd "$TALAB_DAILY_DIR" && ls *.csv | sed 's/\.csv$//')
  SRC_DIR=$TALAB_DAILY_DIR duck_case "all${#ALL[@]}" "${ALL[@]}"
  if [ -n "${TALAB_BENCH_PG:-}" ]; then SRC_DIR=$TALAB_DAILY_DIR pg_case "all${#ALL[@]}" "${ALL[@]}"; fi
fi
