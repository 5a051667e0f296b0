#!/usr/bin/env bash
# The performance benchmark: release build, then every figure beside its
# baseline from the same run (see BENCHMARKS.md). Needs wrk (installed from
# Debian when missing) and the PostgreSQL server tests/run.sh starts.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
    apt-get install -y wrk >/dev/null
fi
if ! pg_isready -h 127.0.0.1 -q 2>/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
fi
cargo build --release --locked -p ls-server -p ls-admin
cargo bench --locked -p ls-integration --bench perf
cargo bench --locked -p ls-integration --bench import
cargo bench --locked -p ls-integration --bench audit
