#!/usr/bin/env bash
# Run a real Unleash (npm, 8.2.0 unless --version) on a private PostgreSQL 15 cluster, on
# loopback only, so the contract suite can be pointed at the real thing instead of the mock.
#
#   scripts/real-unleash.sh up            install (cached), start, bootstrap; print the export line
#   scripts/real-unleash.sh install       only install (npm, cached): CI fetches every version at once
#   scripts/real-unleash.sh env           print the export line of a running instance
#   scripts/real-unleash.sh status        say what is running
#   scripts/real-unleash.sh down [--purge] stop Unleash, then PostgreSQL (--purge: delete the run dir)
#   ... --version X                       the same for Unleash X (any npm release from 4.19.5 on;
#                                         measured: docs/observations/README.md)
#
#   eval "$(scripts/real-unleash.sh up)"   # sets UNLEASH_URL, UNLEASH_PAT, UNLEASH_PAT_2, ...
#   eval "$(scripts/real-unleash.sh up --version 7.6.5)"
#
# Several versions run side by side, each with its own run dir and ports. 8.2.0 (the default)
# uses /tmp/unleash-pat-real, Unleash 4343 and PostgreSQL 5433; any other version M.m.p uses
# /tmp/unleash-pat-real-M.m.p, Unleash 4Mmm and PostgreSQL 5Mmm (7.6.5: 4706 and 5706; 4.19.5:
# 4419 and 5419), so two patches of one minor need UNLEASH_PORT/UNLEASH_PG_PORT set. The env
# settings below win.
#
# 4.x bootstraps differently (both handled below): its initial API tokens are named by
# `username`, not `tokenName`, and creating a user ignores `password` (4.x sends an invite link
# instead), so the password is set by the admin's change-password call afterwards.
#
# Only the export line goes to stdout; everything else goes to stderr.
# Settings (environment):
#   UNLEASH_PAT_CACHE    npm install cache   (default ~/.cache/unleash-pat; outside the repo)
#   UNLEASH_PAT_RUN_DIR  pgdata, socket, logs, pid files, state (default /tmp/unleash-pat-real;
#                        when run as root it belongs to the `postgres` user, so it must be
#                        reachable by that user)
#   UNLEASH_PG_PORT      PostgreSQL port, 127.0.0.1 only (default 5433)
#   UNLEASH_PORT         Unleash port, 127.0.0.1 only (default 4343)
#   UNLEASH_PAT_BOOTSTRAP 0: create no users or PATs, only the admin token (what an operator has);
#                        the export line then holds UNLEASH_URL and UNLEASH_ADMIN_TOKEN (default 1)
#   TOKEN_AUTHENTICATION_RATE_LIMIT_PER_MINUTE, SIMPLE_LOGIN_LIMIT_PER_MINUTE,
#   CREATE_USER_RATE_LIMIT_PER_MINUTE, UNLEASH_EXPERIMENTAL_TOKEN_EXPIRY_NOTIFICATIONS,
#   UNLEASH_EXPERIMENTAL_SECURE_ACCOUNT_TOKEN
#                        passed to Unleash when this script starts it (else Unleash's defaults)
set -euo pipefail
shopt -s inherit_errexit

DEFAULT_VERSION=8.2.0
usage() { echo "usage: $0 up|install|down [--purge]|env|status [--version X.Y.Z]" >&2; exit 2; }

# --- arguments: COMMAND [--purge] [--version X.Y.Z], in any order after the command ----------

COMMAND=${1:-}; [ $# -gt 0 ] && shift
VERSION=$DEFAULT_VERSION PURGE=
while [ $# -gt 0 ]; do
  case "$1" in
    --version) [ $# -ge 2 ] || usage; VERSION=$2; shift 2 ;;
    --version=*) VERSION=${1#--version=}; shift ;;
    --purge) PURGE=--purge; shift ;;
    *) usage ;;
  esac
done
[[ $VERSION =~ ^([1-9])\.([0-9]{1,2})\.[0-9]+$ ]] || { echo "$0: bad --version '$VERSION' (want M.m.p)" >&2; exit 2; }
if [ "$VERSION" = "$DEFAULT_VERSION" ]; then
  DEF_RUN_DIR=/tmp/unleash-pat-real DEF_PG_PORT=5433 DEF_PORT=4343 VERSION_ARG=
else  # ports from the version (see the header): 5.12.8 -> 4512/5512, 7.6.5 -> 4706/5706
  printf -v MM '%d%02d' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
  DEF_RUN_DIR=/tmp/unleash-pat-real-$VERSION DEF_PG_PORT=5$MM DEF_PORT=4$MM
  VERSION_ARG=" --version $VERSION"  # for the hints in error messages
fi
MAJOR=${VERSION%%.*}

CACHE_DIR="${UNLEASH_PAT_CACHE:-${HOME:-/root}/.cache/unleash-pat}/unleash-server-$VERSION"
RUN_DIR="${UNLEASH_PAT_RUN_DIR:-$DEF_RUN_DIR}"
PG_PORT="${UNLEASH_PG_PORT:-$DEF_PG_PORT}"
PORT="${UNLEASH_PORT:-$DEF_PORT}"
URL="http://127.0.0.1:$PORT"

PGDATA_DIR="$RUN_DIR/pgdata"
STATE="$RUN_DIR/state"            # admin token, passwords (mode 700)
ENV_FILE="$RUN_DIR/env"           # the export line
PID_FILE="$RUN_DIR/unleash.pid"
LOG_FILE="$RUN_DIR/unleash.log"
PG_LOG="$RUN_DIR/pg.log"
MJS="$RUN_DIR/start-unleash.mjs"
PAT_DESC=real-unleash-bootstrap
USERS=(alice bob)
export LC_ALL=C

log() { echo "real-unleash: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s; }

# --- helpers -------------------------------------------------------------------------------

# PostgreSQL refuses to run as root: run its tools as `postgres` when we are root.
if [ "$(id -u)" = 0 ]; then PG_USER=postgres; else PG_USER="$(id -un)"; fi
as_pg() {
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u "$PG_USER" -- "$@"); else "$@"; fi
}

find_pg_bin() {  # sets PG_BIN to a directory holding initdb and pg_ctl, or returns 1
  local d
  for d in /usr/lib/postgresql/15/bin "$(dirname "$(command -v pg_ctl 2>/dev/null || echo /x/x)")"; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then PG_BIN="$d"; return 0; fi
  done
  return 1
}

json() {  # json EXPR < body : print a Python expression over the parsed body `d`
  python3 -c 'import json,sys; d=json.load(sys.stdin); r=eval(sys.argv[1]); print("" if r is None else r)' "$1"
}

# http METHOD PATH [curl args...]: sets CODE and BODY (CODE=000 when the server is unreachable)
http() {
  local m=$1 p=$2 out; shift 2
  out=$(curl -sS --max-time 20 -X "$m" -w '\n%{http_code}' "$@" "$URL$p" 2>/dev/null) || out=$'\n000'
  CODE=${out##*$'\n'}; BODY=${out%$'\n'*}
}

healthy() { curl -fsS -o /dev/null --max-time 3 "$URL/health" 2>/dev/null; }
# Our Unleash is alive: the pid in the pid file runs our start module (guards against pid reuse).
pid_alive() { [ -s "$1" ] && grep -qF "$MJS" "/proc/$(cat "$1")/cmdline" 2>/dev/null; }
pg_running() { [ -f "$PGDATA_DIR/PG_VERSION" ] && find_pg_bin && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; }

pg_ready() { as_pg "$PG_BIN/pg_isready" -q -h "$RUN_DIR" -p "$PG_PORT" -U postgres -d postgres; }

rand_hex() { python3 -c 'import secrets,sys; print(secrets.token_hex(int(sys.argv[1])))' "$1"; }
# Unleash's password policy: >= 10 chars, upper, lower, digit, symbol, no char 3x in a row.
rand_password() {
  python3 -c 'import re,secrets,sys
while True:
    p = sys.argv[1].capitalize() + "-" + secrets.token_hex(8) + "-Q7"
    if not re.search(r"(.)\1\1", p): print(p); break' "$1"
}
state_get() {  # state_get NAME GENERATOR...: read $STATE/NAME, creating it with GENERATOR on first use
  local f="$STATE/$1"; shift
  [ -s "$f" ] || (umask 077; "$@" >"$f")
  cat "$f"
}

shq() {  # quote a value for the export line only when it needs it
  if [[ $1 =~ ^[A-Za-z0-9_./:@%+,=-]+$ ]]; then printf '%s' "$1"; else printf "'%s'" "${1//\'/\'\\\'\'}"; fi
}

saved() { [ -s "$ENV_FILE" ] && (. "$ENV_FILE" && eval "printf '%s' \"\${$1-}\""); }

# --- install ---------------------------------------------------------------------------------

install_unleash() {
  local pj="$CACHE_DIR/node_modules/unleash-server/package.json" t0
  if [ -f "$pj" ] && [ "$(json 'd["version"]' <"$pj")" = "$VERSION" ]; then
    log "unleash-server $VERSION already installed in $CACHE_DIR"; return
  fi
  command -v npm >/dev/null || die "npm not found (Node 20+ and npm are needed)"
  log "installing unleash-server@$VERSION into $CACHE_DIR (npm, --ignore-scripts) ..."
  t0=$(now)
  mkdir -p "$CACHE_DIR"
  [ -f "$CACHE_DIR/package.json" ] || echo '{"name":"unleash-pat-real","private":true}' >"$CACHE_DIR/package.json"
  (cd "$CACHE_DIR" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error \
      "unleash-server@$VERSION" </dev/null >&2)
  log "npm install took $(($(now) - t0)) s"
}

install_postgres() {
  find_pg_bin && return
  [ "$(id -u)" = 0 ] || die "PostgreSQL 15 (initdb, pg_ctl) not found; install postgresql-15"
  log "PostgreSQL 15 not found: apt-get install postgresql-15 ..."
  # Keep the package from starting its own cluster on 5432: we run a private one.
  local policy=/usr/sbin/policy-rc.d added=
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; added=1; fi
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -q && apt-get install -y -q --no-install-recommends postgresql-15; } </dev/null >&2 || {
    [ -n "$added" ] && rm -f "$policy"; die "apt-get install postgresql-15 failed"; }
  [ -n "$added" ] && rm -f "$policy"
  find_pg_bin || die "postgresql-15 installed but initdb/pg_ctl not found"
}

# --- PostgreSQL ------------------------------------------------------------------------------

start_postgres() {
  id "$PG_USER" >/dev/null 2>&1 || die "OS user $PG_USER missing (needed to run PostgreSQL)"
  mkdir -p "$RUN_DIR" "$STATE"
  chmod 700 "$RUN_DIR" "$STATE"
  [ "$(id -u)" = 0 ] && chown "$PG_USER": "$RUN_DIR"
  as_pg test -w "$RUN_DIR" || die "$RUN_DIR is not writable by OS user $PG_USER"
  if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
    log "initdb $PGDATA_DIR"
    as_pg "$PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 >"$RUN_DIR/initdb.log" 2>&1 || { tail -20 "$RUN_DIR/initdb.log" >&2; die "initdb failed"; }
    # TCP on 127.0.0.1 only; the unix socket lives in the run dir and only its owner may use it.
    as_pg sh -c 'cat >>"$1/postgresql.conf"' sh "$PGDATA_DIR" <<EOF
# --- real-unleash.sh ---
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$RUN_DIR'
unix_socket_permissions = 0700
fsync = off
timezone = 'UTC'
EOF
  fi
  # A running cluster is reused; one that is starting up (or was killed a moment ago and is
  # still winding down) is waited for first.
  local i
  for i in $(seq 60); do pg_ready && break; pg_running || break; sleep 0.5; done
  if pg_ready; then
    log "PostgreSQL already running ($PGDATA_DIR)"
  else
    log "starting PostgreSQL 15 on 127.0.0.1:$PG_PORT"
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PG_LOG" -w -t 60 start >&2 ||
      { tail -20 "$PG_LOG" >&2 || true; die "PostgreSQL did not start"; }
  fi
  # Role and database (idempotent); the password is (re)set on every up.
  local pw; pw=$(state_get db-password rand_hex 16)
  as_pg "$PG_BIN/psql" -h "$RUN_DIR" -p "$PG_PORT" -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 >&2 <<EOF
SELECT 'CREATE ROLE unleash_user LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'unleash_user') \gexec
ALTER ROLE unleash_user PASSWORD '$pw';
SELECT 'CREATE DATABASE unleash OWNER unleash_user' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'unleash') \gexec
EOF
}

# --- Unleash ---------------------------------------------------------------------------------

start_unleash() {
  if pid_alive "$PID_FILE"; then
    log "Unleash already running (pid $(cat "$PID_FILE"))"
  else
    healthy && die "something else answers on $URL (not our pid file); set UNLEASH_PORT"
    local token pw
    token=$(state_get admin-token sh -c 'printf "*:*.%s\n" "$(python3 -c "import secrets; print(secrets.token_hex(32))")"')
    pw=$(cat "$STATE/db-password")
    # 4.x names an initial API token by `username` (its mapLegacyToken copies no `tokenName`);
    # 5.x and later by `tokenName`.
    local name_key=tokenName; [ "$MAJOR" -ge 5 ] || name_key=username
    # Absolute import path: the module lives in the run dir, the package in the cache.
    # versionCheck off + SEND_TELEMETRY=false: the version check is the only call home
    # (telemetry rides on it); addons/CDN/OpenAI/Prometheus calls happen only if configured.
    cat >"$MJS" <<EOF
import { start } from '$CACHE_DIR/node_modules/unleash-server/dist/lib/server-impl.js';
await start({
  db: { host: '127.0.0.1', port: $PG_PORT, user: 'unleash_user', password: '$pw', database: 'unleash', ssl: false },
  server: { host: '127.0.0.1', port: $PORT, unleashUrl: '$URL' },
  versionCheck: { enable: false, url: '' },
  telemetry: false,
  authentication: { initApiTokens: [{ type: 'admin', environment: '*', projects: ['*'], $name_key: 'real-unleash-admin', secret: '$token' }] },
});
EOF
    chmod 600 "$MJS"
    log "starting Unleash $VERSION on $URL (log: $LOG_FILE)"
    # A clean environment, so stray DATABASE_URL, HTTP_PORT, UNLEASH_URL... cannot leak in;
    # only these tuning variables pass through (they apply when Unleash is (re)started).
    local v pass=()
    for v in TOKEN_AUTHENTICATION_RATE_LIMIT_PER_MINUTE SIMPLE_LOGIN_LIMIT_PER_MINUTE \
             CREATE_USER_RATE_LIMIT_PER_MINUTE UNLEASH_EXPERIMENTAL_TOKEN_EXPIRY_NOTIFICATIONS \
             UNLEASH_EXPERIMENTAL_SECURE_ACCOUNT_TOKEN; do
      [ -n "${!v:-}" ] && pass+=("$v=${!v}")
    done
    (cd "$RUN_DIR" && exec env -i PATH="$PATH" HOME="${HOME:-/root}" "${pass[@]}" \
        CHECK_VERSION=false SEND_TELEMETRY=false NODE_ENV=production TZ=UTC \
        setsid nohup node "$MJS" </dev/null >>"$LOG_FILE" 2>&1 & echo $! >"$PID_FILE")
  fi
  local t0 deadline; t0=$(now); deadline=$((t0 + 90))
  until healthy; do
    if ! pid_alive "$PID_FILE" || [ "$(now)" -ge "$deadline" ]; then
      tail -30 "$LOG_FILE" >&2 || true; die "Unleash not healthy on $URL/health"
    fi
    sleep 0.5
  done
  log "Unleash healthy after $(($(now) - t0)) s"
}

# --- bootstrap users and PATs ----------------------------------------------------------------

pat_works() { [ -n "$1" ] && http GET /api/admin/user/tokens -H "Authorization: $1" && [ "$CODE" = 200 ]; }

bootstrap_user() {  # bootstrap_user NAME: prints a fresh PAT for NAME (creating/resetting the user)
  local user=$1 pw id admin cookie
  admin=$(cat "$STATE/admin-token"); pw=$(state_get "$user-password" rand_password "$user")
  http GET /api/admin/user-admin -H "Authorization: $admin"
  [ "$CODE" = 200 ] || die "the saved admin API token is rejected ($CODE); try: $0 down --purge$VERSION_ARG && $0 up$VERSION_ARG"
  id=$(json "next((u['id'] for u in d['users'] if u.get('username')=='$user'), '')" <<<"$BODY")
  if [ -z "$id" ]; then
    log "creating user $user (Viewer)"
    http POST /api/admin/user-admin -H "Authorization: $admin" -H 'Content-Type: application/json' \
      -d "{\"username\":\"$user\",\"name\":\"$user\",\"email\":\"$user@example.com\",\"rootRole\":3,\"password\":\"$pw\",\"sendEmail\":false}"
    [ "$CODE" = 201 ] || die "creating $user: HTTP $CODE $BODY"
    if [ "$MAJOR" -lt 5 ]; then  # 4.x ignored the password above: set it now
      id=$(json 'd["id"]' <<<"$BODY")
      http POST "/api/admin/user-admin/$id/change-password" -H "Authorization: $admin" \
        -H 'Content-Type: application/json' -d "{\"password\":\"$pw\"}"
      [ "$CODE" = 200 ] || die "setting $user's password: HTTP $CODE $BODY"
    fi
  else  # the user exists (e.g. the env file was lost): make the password known again
    http POST "/api/admin/user-admin/$id/change-password" -H "Authorization: $admin" \
      -H 'Content-Type: application/json' -d "{\"password\":\"$pw\"}"
    [ "$CODE" = 200 ] || die "resetting $user's password: HTTP $CODE $BODY"
  fi
  # One login per user (login is limited to 10/min per IP).
  cookie=$(curl -sS --max-time 20 -o /dev/null -D - -H 'Content-Type: application/json' \
    -d "{\"username\":\"$user\",\"password\":\"$pw\"}" "$URL/auth/simple/login" |
    sed -n 's/^[Ss]et-[Cc]ookie: \(unleash-session=[^;]*\).*/\1/p')
  [ -n "$cookie" ] || die "login as $user failed"
  # Drop an old bootstrap PAT whose secret we lost (the description must be unique per user).
  http GET /api/admin/user/tokens -H "Cookie: $cookie"
  for id in $(json "' '.join(str(p['id']) for p in d['pats'] if p['description']=='$PAT_DESC')" <<<"$BODY"); do
    http DELETE "/api/admin/user/tokens/$id" -H "Cookie: $cookie"
  done
  http POST /api/admin/user/tokens -H "Cookie: $cookie" -H 'Content-Type: application/json' \
    -d "{\"description\":\"$PAT_DESC\",\"expiresAt\":\"2099-12-31T23:59:59.000Z\"}"
  [ "$CODE" = 201 ] || die "creating $user's PAT: HTTP $CODE $BODY"
  log "created a PAT for $user"
  json 'd["secret"]' <<<"$BODY"
}

write_env() {
  local pat1 pat2 line
  line="export UNLEASH_URL=$(shq "$URL") UNLEASH_ADMIN_TOKEN=$(shq "$(cat "$STATE/admin-token")")"
  if [ "${UNLEASH_PAT_BOOTSTRAP:-1}" != 0 ]; then
    pat1=$(saved UNLEASH_PAT || true); pat2=$(saved UNLEASH_PAT_2 || true)
    pat_works "$pat1" || pat1=$(bootstrap_user "${USERS[0]}")
    pat_works "$pat2" || pat2=$(bootstrap_user "${USERS[1]}")
    line+=" UNLEASH_PAT=$(shq "$pat1") UNLEASH_PAT_2=$(shq "$pat2")"
    line+=" UNLEASH_USER=${USERS[0]} UNLEASH_PASSWORD=$(shq "$(cat "$STATE/${USERS[0]}-password")")"
    line+=" UNLEASH_USER_2=${USERS[1]} UNLEASH_PASSWORD_2=$(shq "$(cat "$STATE/${USERS[1]}-password")")"
    line+=" UNLEASH_ADMIN_PASSWORD=unleash4all"
  fi
  (umask 077; echo "$line" >"$ENV_FILE.tmp") && mv "$ENV_FILE.tmp" "$ENV_FILE"
}

check_loopback() {  # our listeners must be on 127.0.0.1 only
  local pids bad
  pids="$(cat "$PID_FILE" 2>/dev/null || true)|$(head -1 "$PGDATA_DIR/postmaster.pid" 2>/dev/null || true)"
  bad=$(ss -Hltnp 2>/dev/null | grep -E "pid=($pids)," | awk '$4 !~ /^127\.0\.0\.1:/' || true)
  [ -z "$bad" ] || die "listening beyond loopback: $bad"
  log "listening (loopback only): $(ss -Hltnp 2>/dev/null | grep -E "pid=($pids)," | awk '{printf "%s ", $4}')"
}

# --- commands --------------------------------------------------------------------------------

cmd_up() {
  local t0; t0=$(now)
  command -v curl >/dev/null || die "curl not found"
  command -v python3 >/dev/null || die "python3 not found"
  command -v node >/dev/null || die "node not found"
  install_unleash
  install_postgres
  start_postgres
  start_unleash
  write_env
  check_loopback
  log "up in $(($(now) - t0)) s"
  cat "$ENV_FILE"
}

cmd_env() {
  [ -s "$ENV_FILE" ] && pid_alive "$PID_FILE" && healthy || die "not up (run: $0 up$VERSION_ARG)"
  cat "$ENV_FILE"
}

stop_pid() {  # stop_pid FILE NAME: TERM the pid in FILE, wait up to 20 s, then KILL
  local pid i
  pid_alive "$1" || { rm -f "$1"; return 0; }
  pid=$(cat "$1"); log "stopping $2 (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && { log "$2 still alive: KILL"; kill -KILL "$pid" 2>/dev/null || true; sleep 0.5; }
  rm -f "$1"
}

cmd_down() {
  stop_pid "$PID_FILE" Unleash
  if pg_running; then
    log "stopping PostgreSQL"
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t 60 stop >&2
  fi
  if [ "${1:-}" = --purge ]; then
    log "deleting $RUN_DIR (the npm cache $CACHE_DIR is kept)"
    rm -rf "$RUN_DIR"
  fi
  log "down"
}

cmd_status() {
  local rc=0
  if pg_running; then log "PostgreSQL: running on 127.0.0.1:$PG_PORT (pid $(head -1 "$PGDATA_DIR/postmaster.pid"))"
  else log "PostgreSQL: not running"; rc=1; fi
  if pid_alive "$PID_FILE"; then
    if healthy; then log "Unleash: running on $URL (pid $(cat "$PID_FILE")), /health OK"
    else log "Unleash: pid $(cat "$PID_FILE") alive, /health not OK"; rc=1; fi
  else log "Unleash: not running"; rc=1; fi
  [ -s "$ENV_FILE" ] && log "state: $ENV_FILE" || log "state: none"
  return $rc
}

case "$COMMAND" in
  up) cmd_up ;;
  install) install_unleash ;;
  down) cmd_down "$PURGE" ;;
  env) cmd_env ;;
  status) cmd_status ;;
  *) usage ;;
esac
