#!/usr/bin/env bash
# The whole test suite: starts what the tests need, then `cargo test --workspace`.
# The storage tests need PostgreSQL at $LS_TEST_POSTGRES_URL
# (default postgres://postgres@127.0.0.1:5432/postgres, trust auth).
set -euo pipefail
cd "$(dirname "$0")/.."

pg_url="${LS_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export LS_TEST_POSTGRES_URL="$pg_url"

pg_ready() { command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; }

if ! pg_ready; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "tests/run.sh: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  elif command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "tests/run.sh: installing PostgreSQL from Debian's packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    # Trust local TCP connections for the test user, as on the CI machine.
    hba="/etc/postgresql/$(ls /etc/postgresql | head -n1)/main/pg_hba.conf"
    if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
      sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main reload
    fi
  fi
  for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
fi
pg_ready || { echo "tests/run.sh: PostgreSQL is not reachable at 127.0.0.1:5432" >&2; exit 1; }

# The browser tests drive Debian's Chromium through chromedriver; the
# scale-out tests put nginx in front of two servers.
missing=()
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium chromium-driver)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || missing+=(nginx)
# The single sign-on tests run OpenID providers on Node.js (npm's oidc-provider).
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
# The mail tests run a real SMTP server: Debian's aiosmtpd.
/usr/bin/python3 -c "import aiosmtpd" >/dev/null 2>&1 || missing+=(python3-aiosmtpd)
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "tests/run.sh: installing ${missing[*]} from Debian's packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "tests/run.sh: the tests need ${missing[*]} (apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

cargo test --workspace --locked "$@"
