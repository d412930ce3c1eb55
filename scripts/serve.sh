#!/usr/bin/env bash
# Serves the site and runs the task worker beside it; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8000}"
BIN=.venv/bin

$BIN/python manage.py db_worker --queue-name "*" --no-reload &
worker=$!
trap 'kill $worker 2>/dev/null; wait $worker 2>/dev/null' EXIT INT TERM

echo ""
echo "Hiền Tài is starting at http://127.0.0.1:${PORT}  (task worker pid ${worker}; Ctrl-C stops both)"
echo "Staff sign in with a TOTP code: .venv/bin/python manage.py demo_totp hr@demo.hientai.vn"
echo ""
$BIN/python manage.py runserver "127.0.0.1:${PORT}" --noreload
