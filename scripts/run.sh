#!/usr/bin/env bash
# Installs what is missing, builds the release binary and runs cloudpact on its embedded
# default: SQLite in ./data, the demo directory and policy, HTTP on loopback. Prints URL,
# credentials and the lockbox walkthrough.
set -euo pipefail
cd "$(dirname "$0")/.."
# Let ccache share objects between checkouts in different folders (CI clones anew).
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true

bash scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target cloudpact

DATA="${CLOUDPACT_DATA_DIR:-$PWD/data}"
LISTEN="${CLOUDPACT_LISTEN:-127.0.0.1:8080}"
BIN=build/release/apps/cloudpact/cloudpact

"$BIN" serve --data-dir "$DATA" --listen "$LISTEN" --ssh-listen "127.0.0.1:${CLOUDPACT_SSH_PORT:-2222}" --demo &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid' INT TERM
for _ in $(seq 1 100); do
  if [ -s "$DATA/initial-admin-token" ] && [ -s "$DATA/ledger-key.pub" ] && curl -fs "http://$LISTEN/healthz" >/dev/null 2>&1; then
    break
  fi
  if ! kill -0 $pid 2>/dev/null; then wait $pid; exit 1; fi
  sleep 0.1
done
cat <<MSG

  cloudpact 正在运行 / is running
  URL:            http://$LISTEN
  管理员令牌 / admin token:  $(cat "$DATA/initial-admin-token")   (file: $DATA/initial-admin-token)
  账本验证密钥 / ledger verifier key: $(cat "$DATA/ledger-key.pub")

  演示身份 / demo people: API tokens in $DATA/demo/*.token, tenant approver keys in $DATA/demo/*.key

  网页控制台 / web console: http://$LISTEN/   (README.md "Web console")
    give a demo person a password first, e.g. the tenant approver acme-ann:
    curl -H "Authorization: Bearer \$(cat $DATA/initial-admin-token)" -H 'Content-Type: application/json' \\
         -d '{"password":"correct horse battery staple"}' http://$LISTEN/v1/accounts/acme-ann/password
    then sign in as acme-ann with it; the first sign-in enrols a TOTP authenticator.

  持续评估 / assessment (docs/ASSESS.md): one run was made at start —
    $BIN assess list --url http://$LISTEN --token-file $DATA/initial-admin-token
    $BIN assess report RUN_ID --format html -o report.html --url http://$LISTEN --token-file $DATA/initial-admin-token

  租户密码箱演示 / lockbox walkthrough (another shell):
    export CLOUDPACT_URL=http://$LISTEN
    $BIN access request --token-file $DATA/demo/bob.token --resource acme-db-01 --action db:read \\
        --reason customer_support --justification "slow queries" --ticket SUP-1024      # note the req_… id
    $BIN access review REQ_ID --approve --token-file $DATA/demo/erin.token
    $BIN access review REQ_ID --approve --token-file $DATA/demo/frank.token
    $BIN access review REQ_ID --approve --token-file $DATA/demo/acme-ann.token --key $DATA/demo/acme-ann.key
    $BIN authz check --token-file $DATA/initial-admin-token --principal bob --action db:read --resource acme-db-01
    $BIN tenant verify --tenant acme --url http://$LISTEN --key "$(cat "$DATA/ledger-key.pub")"

  运维网关 / SSH gateway (docs/GATEWAY.md): ssh -p ${CLOUDPACT_SSH_PORT:-2222} alice@127.0.0.1 lists alice's targets once her
  key is in the directory and a target has an ssh endpoint and a credential (cloudpact apply -f …;
  cloudpact target credential set …); sessions: $BIN sessions list --token-file $DATA/demo/dave.token

  账本 / ledger:
    $BIN ledger verify --url http://$LISTEN/ledger --key "$(cat "$DATA/ledger-key.pub")"

  Ctrl-C 停止 / to stop.
MSG
wait $pid
