#!/bin/sh
# The control API from a shell, with curl only: what a Go, Node or Java test suite does beside
# `unleash-pat serve`. Usage: control_with_curl.sh URL   (e.g. http://127.0.0.1:4242)
# Exits non-zero, naming the step, at the first answer that is not the expected one.
set -eu
URL=$1
C=$URL/_unleash-pat
TOKENS=$URL/api/admin/user/tokens
JSON='Content-Type: application/json'
ADMIN=user:8a9cd91daa6c7d94da92681820a0934d8cf5d1684e138bff7054b09a  # fixtures/default.yaml

fail() { echo "FAILED: $1" >&2; cat body >&2 2>/dev/null; echo >&2; exit 1; }
# call STEP EXPECTED-STATUS curl-arguments…: the body lands in ./body
call() {
  step=$1 expected=$2; shift 2
  status=$(curl -s -o body -w '%{http_code}' "$@") || fail "$step: curl failed"
  [ "$status" = "$expected" ] || fail "$step: HTTP $status, expected $expected"
}
cd "$(mktemp -d)"

call reset 204 -X POST "$C/reset"

# Seed a user holding 10 PATs (the limit), and see the 11th refused.
pats=""
for n in 1 2 3 4 5 6 7 8 9 10; do
  secret=$(printf 'user:%056x' $((n + 4000)))
  pats="$pats{\"description\":\"pat $n\",\"secret\":\"$secret\",\"expiresAt\":\"2099-01-01T00:00:00Z\"},"
done
call seed 200 -X POST "$C/fixtures?mode=add" -H "$JSON" \
  -d "{\"users\":[{\"id\":50,\"username\":\"full\",\"pats\":[${pats%,}]}]}"
FULL=$(printf 'user:%056x' 4001)
call "11th PAT" 403 -X POST "$TOKENS" -H "Authorization: $FULL" -H "$JSON" \
  -d '{"description":"one too many","expiresAt":"2099-01-01T00:00:00Z"}'
grep -q 'Too many PATs (10) already exist for this user.' body || fail "11th PAT: message"

# Freeze the clock, make a PAT that expires in 20 days, see it warned of after 15.
call notifications 200 -X PUT "$C/options" -H "$JSON" -d '{"token_expiry_notifications":true}'
call freeze 200 -X PUT "$C/clock" -H "$JSON" -d '{"frozen":true,"now":"2031-01-01T00:00:00Z"}'
call "create soon-expiring" 201 -X POST "$TOKENS" -H "Authorization: $ADMIN" -H "$JSON" \
  -d '{"description":"soon","expiresAt":"2031-01-21T00:00:00Z"}'
SOON=$(sed 's/.*"secret":"\(user:[0-9a-f]*\)".*/\1/' body)
call "list on day 0" 200 "$TOKENS" -H "Authorization: $SOON"
! grep -q expiryWarning body || fail "list on day 0: a warning already"
call "advance 15 days" 200 -X POST "$C/clock/advance" -H "$JSON" -d '{"seconds":1296000}'
call "list on day 15" 200 "$TOKENS" -H "Authorization: $SOON"
grep -q '"description":"soon"[^}]*"expiryWarning":"expires-soon"' body || fail "no expiryWarning"

# Past its expiry the PAT no longer authenticates.
call "advance 6 days" 200 -X POST "$C/clock/advance" -H "$JSON" -d '{"seconds":518400}'
call "expired PAT" 401 "$TOKENS" -H "Authorization: $SOON"

# The journal saw it all, without the secrets.
call journal 200 "$C/journal?method=POST&path=/api/admin/user/tokens"
grep -q '"count":2' body || fail "journal: count"
! grep -q "$SOON" body || fail "journal: a full secret"
call "clear journal" 204 -X DELETE "$C/journal"
call "resume the clock" 200 -X DELETE "$C/clock"
echo "control API via curl: all steps passed"
