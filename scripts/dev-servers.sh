#!/usr/bin/env bash
# Throwaway database servers for trying ddbkit's server designs (examples/*/design-servers.yaml):
# one PostgreSQL 15 and one MariaDB, on 127.0.0.1 only, their data under a state directory.
#
#   scripts/dev-servers.sh start     # start both (first time: create them and their databases)
#   eval "$(scripts/dev-servers.sh env)"   # export DDBKIT_DEV_… (the MariaDB password among them)
#   scripts/dev-servers.sh status    # running or not, where
#   scripts/dev-servers.sh stop      # stop both and delete everything they held
#
# PostgreSQL 15 (/usr/lib/postgresql/15/bin, or $DDBKIT_PG_BIN): port 55432, trust authentication
# on 127.0.0.1 for the user postgres, max_prepared_transactions=64 (two-phase commit) and
# wal_level=logical (asynchronous replication between PostgreSQL sites). Databases: enit, fsegt
# (library), nairobi, kisumu (e-commerce). As root, the server runs as the `postgres` OS user.
# MariaDB (/usr/sbin/mariadbd; `apt-get install -y mariadb-server` is run when it is missing):
# port 53306, utf8mb4, LOCAL INFILE on, a user `ddb` with a password generated at creation.
# Databases: fst (library), mombasa (e-commerce). root connects only through the socket.
#
# The ports are fixed because the designs carry them: the decision site's links to the other
# sites (postgres_fdw, mysql_fdw) need a literal host and port. Change them with
# DDBKIT_DEV_PG_PORT / DDBKIT_DEV_MARIADB_PORT only if you also change the designs' URLs.
# State directory: $DDBKIT_DEV_DIR, default ~/.ddbkit-dev-servers (its `env` file is mode 600:
# it holds the password). `start` is idempotent: servers already running are left alone, servers
# that stopped (a reboot) are started again on their data. Nothing here is meant to be kept.
set -euo pipefail

DIR="${DDBKIT_DEV_DIR:-$HOME/.ddbkit-dev-servers}"
PG_BIN="${DDBKIT_PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_PORT="${DDBKIT_DEV_PG_PORT:-55432}"
MARIADB_PORT="${DDBKIT_DEV_MARIADB_PORT:-53306}"
MARIADBD="${DDBKIT_MARIADBD:-/usr/sbin/mariadbd}"
PG_DATABASES=(enit fsegt nairobi kisumu)
MARIADB_DATABASES=(fst mombasa)

ME="dev-servers"
MARKER=".made-by-ddbkit-dev-servers"
say() { printf '%s: %s\n' "$ME" "$*" >&2; }
die() { say "$*"; exit 1; }

usage() {
  sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# Runs a command as the PostgreSQL server's OS user (postgres when we are root, else ourselves).
as_pg() {
  if is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The PostgreSQL files (data, socket, log) live in $DIR/pg unless the postgres OS user cannot
# reach $DIR (as root, ~ is /root, mode 700): then in a postgres-owned directory under /tmp,
# whose path is kept in $DIR/pg.location.
pg_root() {
  if [ -f "$DIR/pg.location" ]; then cat "$DIR/pg.location"; else printf '%s\n' "$DIR/pg"; fi
}

pg_running() {
  local root
  root="$(pg_root)"
  [ -f "$root/data/PG_VERSION" ] && as_pg "$PG_BIN/pg_ctl" -D "$root/data" status >/dev/null 2>&1
}

maria_pid() { cat "$DIR/mariadb/mariadbd.pid" 2>/dev/null || true; }

maria_running() {
  local pid
  pid="$(maria_pid)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# The MariaDB client as root, through the server's socket (root has no TCP access).
maria_root() { mariadb --no-defaults --protocol=socket --socket="$DIR/mariadb/mariadbd.sock" -uroot "$@"; }

check_tools() {
  local bin
  for bin in initdb pg_ctl postgres psql pg_config; do
    [ -x "$PG_BIN/$bin" ] || die "$PG_BIN/$bin not found: install PostgreSQL 15 (apt-get install -y postgresql-15) or set DDBKIT_PG_BIN"
  done
  if is_root; then
    id postgres >/dev/null 2>&1 || die "running as root and there is no 'postgres' OS user to run PostgreSQL as (initdb refuses root)"
    command -v runuser >/dev/null || die "runuser not found (util-linux): needed to run PostgreSQL as the postgres user"
  fi
  if [ ! -x "$MARIADBD" ]; then
    local sudo=""
    is_root || sudo="sudo"
    say "$MARIADBD is missing: installing MariaDB ($sudo apt-get install -y mariadb-server)"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends mariadb-server
    [ -x "$MARIADBD" ] || die "mariadb-server installed but $MARIADBD is still missing"
  fi
  command -v mariadb-install-db >/dev/null || die "mariadb-install-db not found (apt-get install -y mariadb-server)"
  if [ ! -e "$("$PG_BIN/pg_config" --pkglibdir)/mysql_fdw.so" ]; then
    say "warning: mysql_fdw is not installed (apt-get install -y postgresql-15-mysql-fdw): the decision site"
    say "  cannot link to MariaDB sites; deploy then names them and ddbkit rebuilds those relations itself"
  fi
}

pg_start() {
  local root log fresh=0
  root="$(pg_root)"
  if [ ! -f "$root/data/PG_VERSION" ]; then
    fresh=1
    if [ ! -f "$DIR/pg.location" ] && is_root && ! runuser -u postgres -- test -x "$DIR"; then
      root="$(mktemp -d /tmp/ddbkit-dev-pg.XXXXXX)"
      printf '%s\n' "$root" >"$DIR/pg.location"
    fi
    mkdir -p "$root"
    is_root && chown postgres: "$root"
    chmod 700 "$root"
    say "PostgreSQL: creating a cluster in $root/data"
    as_pg "$PG_BIN/initdb" -D "$root/data" -A trust -U postgres -E UTF8 --locale=C >"$root/initdb.log" 2>&1 \
      || die "initdb failed, see $root/initdb.log"
    # trust on 127.0.0.1 and the socket only (initdb's pg_hba.conf also trusts ::1: keep IPv4).
    as_pg sh -c "printf '%s\n' 'local all all trust' 'host all all 127.0.0.1/32 trust' >'$root/data/pg_hba.conf'"
  fi
  port_in_use "$PG_PORT" && die "port $PG_PORT is taken by another program; stop it, or set DDBKIT_DEV_PG_PORT and change the designs' URLs"
  log="$root/postgres.log"
  say "PostgreSQL: starting on 127.0.0.1:$PG_PORT"
  as_pg "$PG_BIN/pg_ctl" -D "$root/data" -l "$log" -w -t 120 -s start -o \
    "-p $PG_PORT -k $root -c listen_addresses=127.0.0.1 -c max_prepared_transactions=64 -c wal_level=logical -c max_replication_slots=32 -c max_wal_senders=32 -c max_logical_replication_workers=16 -c max_worker_processes=32" \
    || die "PostgreSQL did not start; its log: $log"
  if [ "$fresh" = 1 ]; then
    for db in "${PG_DATABASES[@]}"; do
      "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -c "CREATE DATABASE $db" \
        || die "could not create the PostgreSQL database $db"
    done
  fi
}

maria_start() {
  local fresh=0 user=() pid
  is_root && user=(--user=root)
  mkdir -p "$DIR/mariadb"
  chmod 700 "$DIR/mariadb"
  if [ ! -d "$DIR/mariadb/data/mysql" ]; then
    fresh=1
    say "MariaDB: creating a server in $DIR/mariadb/data"
    mariadb-install-db --no-defaults --datadir="$DIR/mariadb/data" "${user[@]}" \
      --auth-root-authentication-method=normal --skip-test-db >"$DIR/mariadb/install.log" 2>&1 \
      || die "mariadb-install-db failed, see $DIR/mariadb/install.log"
  fi
  port_in_use "$MARIADB_PORT" && die "port $MARIADB_PORT is taken by another program; stop it, or set DDBKIT_DEV_MARIADB_PORT and change the designs' URLs"
  say "MariaDB: starting on 127.0.0.1:$MARIADB_PORT"
  rm -f "$DIR/mariadb/mariadbd.pid"
  nohup "$MARIADBD" --no-defaults --datadir="$DIR/mariadb/data" --port="$MARIADB_PORT" --bind-address=127.0.0.1 \
    --socket="$DIR/mariadb/mariadbd.sock" --pid-file="$DIR/mariadb/mariadbd.pid" \
    --log-error="$DIR/mariadb/error.log" "${user[@]}" --local-infile=1 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_bin --plugin-load-add=ha_federatedx.so \
    --skip-log-bin --skip-name-resolve </dev/null >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 240); do
    maria_root -e 'SELECT 1' >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || die "MariaDB exited during start-up; its log: $DIR/mariadb/error.log"
    sleep 0.5
  done
  maria_root -e 'SELECT 1' >/dev/null 2>&1 || die "MariaDB did not accept connections within 120 s; its log: $DIR/mariadb/error.log"
  if [ "$fresh" = 1 ]; then
    local password
    password="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
    {
      # root only through the socket; ddb over TCP with the generated password.
      echo "DROP USER IF EXISTS 'root'@'127.0.0.1', 'root'@'::1', 'root'@'$(uname -n)';"
      echo "CREATE USER 'ddb'@'127.0.0.1' IDENTIFIED BY '$password';"
      echo "CREATE USER 'ddb'@'localhost' IDENTIFIED BY '$password';"
      echo "GRANT ALL PRIVILEGES ON *.* TO 'ddb'@'127.0.0.1', 'ddb'@'localhost';"
      for db in "${MARIADB_DATABASES[@]}"; do
        echo "CREATE DATABASE \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;"
      done
    } | maria_root || die "could not create the MariaDB user and databases"
    printf '%s\n' "$password" >"$DIR/mariadb/password"
    chmod 600 "$DIR/mariadb/password"
  fi
}

write_env() {
  local password
  password="$(cat "$DIR/mariadb/password")"
  umask 077
  cat >"$DIR/env" <<EOF
export DDBKIT_DEV_DIR='$DIR'
export DDBKIT_DEV_PG_URL='postgres://postgres@127.0.0.1:$PG_PORT'
export DDBKIT_DEV_MARIADB_URL='mysql://ddb@127.0.0.1:$MARIADB_PORT'
export DDBKIT_DEV_MARIADB_PASSWORD='$password'
EOF
}

cmd_start() {
  if pg_running && maria_running; then
    say "already running (PostgreSQL on 127.0.0.1:$PG_PORT, MariaDB on 127.0.0.1:$MARIADB_PORT; state in $DIR)"
    say "next: eval \"\$($0 env)\""
    return 0
  fi
  check_tools
  if [ -d "$DIR" ] && [ ! -f "$DIR/$MARKER" ] && [ -n "$(ls -A "$DIR")" ]; then
    die "$DIR exists and was not made by this script: choose another DDBKIT_DEV_DIR"
  fi
  mkdir -p "$DIR"
  chmod 700 "$DIR"
  touch "$DIR/$MARKER"
  pg_running || pg_start
  maria_running || maria_start
  write_env
  say "ready: PostgreSQL on 127.0.0.1:$PG_PORT (databases ${PG_DATABASES[*]}), MariaDB on 127.0.0.1:$MARIADB_PORT (databases ${MARIADB_DATABASES[*]}, user ddb)"
  say "next: eval \"\$($0 env)\""
}

cmd_stop() {
  local root pid
  if [ ! -d "$DIR" ]; then
    say "not running (no $DIR)"
    return 0
  fi
  [ -f "$DIR/$MARKER" ] || die "$DIR was not made by this script: not touching it"
  root="$(pg_root)"
  if pg_running; then
    say "PostgreSQL: stopping"
    as_pg "$PG_BIN/pg_ctl" -D "$root/data" -m fast -w -t 60 -s stop || say "warning: pg_ctl stop failed"
  fi
  if maria_running; then
    pid="$(maria_pid)"
    say "MariaDB: stopping (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then say "MariaDB did not stop in 60 s: killing it"; kill -KILL "$pid"; fi
  fi
  if [ -f "$DIR/pg.location" ]; then
    case "$root" in /tmp/ddbkit-dev-pg.*) rm -rf -- "$root" ;; esac
  fi
  rm -rf -- "$DIR"
  say "stopped; removed $DIR"
}

cmd_env() {
  if ! pg_running || ! maria_running || [ ! -f "$DIR/env" ]; then
    die "not running: $0 start"
  fi
  cat "$DIR/env"
}

cmd_status() {
  local code=0
  if pg_running; then say "PostgreSQL: running on 127.0.0.1:$PG_PORT (files in $(pg_root))"; else say "PostgreSQL: not running"; code=1; fi
  if maria_running; then say "MariaDB: running on 127.0.0.1:$MARIADB_PORT (pid $(maria_pid), files in $DIR/mariadb)"; else say "MariaDB: not running"; code=1; fi
  return "$code"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  env) cmd_env ;;
  status) cmd_status ;;
  *) usage ;;
esac
