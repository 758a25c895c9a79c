#!/usr/bin/env bash
# make demo: start the XenAPI simulator on 127.0.0.1, run playbooks/demo.yml against it, stop it.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
out=$(mktemp)
"$VENV/bin/python" tests/simulators/xapi --port 0 --parent-pid $$ >"$out" 2>&1 &
sim=$!
trap 'kill "$sim" 2>/dev/null; wait "$sim" 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 100); do
  grep -q '^XAPI_READY=' "$out" && break
  kill -0 "$sim" 2>/dev/null || { cat "$out"; echo "the simulator did not start" >&2; exit 1; }
  sleep 0.1
done
url=$(sed -n 's/^XAPI_URL=//p' "$out" | head -n1)
echo "XenAPI simulator at $url (user root)"
export XENAPI_HOST="$url" XENAPI_USER=root XENAPI_PASSWORD=xapisim-Secret
export ANSIBLE_COLLECTIONS_PATH="$PWD/.build/collections" ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
export ANSIBLE_PYTHON_INTERPRETER="$PWD/$VENV/bin/python" ANSIBLE_LOCALHOST_WARNING=false
export ANSIBLE_INVENTORY_UNPARSED_WARNING=false
"$VENV/bin/ansible-playbook" -i localhost, playbooks/demo.yml "$@"
