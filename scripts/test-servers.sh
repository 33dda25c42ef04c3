#!/usr/bin/env bash
# Makes sure the database servers the integration tests start are installed (Debian 12):
# PostgreSQL 15 with mysql_fdw, and MariaDB. Installs only what is missing; the tests themselves
# start throwaway instances in temp dirs (test/support/*-server.ts) and stop exactly those.
# Called by .ci/run; safe to run again.
set -euo pipefail

missing=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || missing+=(postgresql-15)
[ -e /usr/lib/postgresql/15/lib/mysql_fdw.so ] || missing+=(postgresql-15-mysql-fdw)
[ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)

if [ ${#missing[@]} -eq 0 ]; then
  echo "test servers: PostgreSQL 15, mysql_fdw and MariaDB are installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "test servers: installing ${missing[*]}"
$SUDO apt-get update -qq
# The packages' own services are not wanted (tests start their own instances); policy-rc.d may refuse them anyway.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "test servers: done"
