#!/usr/bin/env bash
# A convkit class on one Debian 12 server (Ubuntu not tried): run as root from a clone of the kit.
#   sudo deploy/install.sh            # install, then start the hub (systemd unit convkit-hub)
#   sudo deploy/install.sh --no-start # install only
# Idempotent: run it again after `git pull` to release a new student edition (students who already
# started keep their own ~/convkit; only new students get the new one). See deploy/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
DENO_VERSION="${DENO_VERSION:-2.9.6}"
OPT=/opt/convkit
export DEBIAN_FRONTEND=noninteractive

echo "== Debian packages: JupyterHub 3, classic Notebook 6, terminals, npm"
apt-get update -qq
apt-get install -y -qq jupyterhub jupyter-notebook jupyter-nbconvert python3-nbclient \
  python3-terminado npm git ca-certificates

echo "== Deno $DENO_VERSION in /usr/local/bin (the real binary, not npm's launcher)"
if ! /usr/local/bin/deno --version 2>/dev/null | grep -q "deno $DENO_VERSION "; then
  tmp=$(mktemp -d)
  npm install --no-audit --no-fund --prefix "$tmp" "deno@$DENO_VERSION" >/dev/null
  real=$("$tmp/node_modules/.bin/deno" eval 'console.log(Deno.execPath())')
  install -m 0755 "$real" /usr/local/bin/deno
  rm -rf "$tmp"
fi

echo "== configurable-http-proxy@5 from npm (Debian's fails under newer Node)"
mkdir -p "$OPT/proxy"
npm install --no-audit --no-fund --prefix "$OPT/proxy" configurable-http-proxy@5 >/dev/null

echo "== the student edition in $OPT/edition, and its npm packages cached in $OPT/deno"
/usr/local/bin/deno task release --out "$OPT/edition.new" --force
rm -rf "$OPT/edition" && mv "$OPT/edition.new" "$OPT/edition"
(cd "$OPT/edition" && DENO_DIR="$OPT/deno" /usr/local/bin/deno install \
  && DENO_DIR="$OPT/deno" /usr/local/bin/deno cache lib/mod.ts grading/check.ts)
chmod -R a+rX "$OPT"

echo "== CIFAR-10 for notebook 17, once for the class (without it, 17 trains on stand-in images)"
if [ ! -f "$OPT/data/cifar-10-binary.tar.gz" ]; then
  # downloads ~170 MB (pinned SHA-256), or CIFAR10_FROM=/path/cifar-10-binary.tar.gz for a local copy
  CONVKIT_DATA="$OPT/data" /usr/local/bin/deno task data cifar10 ${CIFAR10_FROM:+--from "$CIFAR10_FROM"} \
    || echo "CIFAR-10 not installed (notebook 17 will use stand-in images); run install.sh again later"
  chmod -R a+rX "$OPT/data" 2>/dev/null || true
fi

echo "== the Deno kernelspec, system-wide, with interrupt_mode message"
install -D -m 0644 deploy/kernel.json /usr/local/share/jupyter/kernels/deno/kernel.json

echo "== the hub: /etc/convkit, /var/lib/convkit-hub, systemd unit convkit-hub"
install -D -m 0644 deploy/jupyterhub_config.py /etc/convkit/jupyterhub_config.py
[ -e /etc/convkit/students.txt ] || install -m 0644 /dev/null /etc/convkit/students.txt
[ -e /etc/convkit/hub.env ] || printf 'CONVKIT_ADMINS=%s\n' "${SUDO_USER:-}" > /etc/convkit/hub.env
install -d -m 0700 /var/lib/convkit-hub
install -m 0644 deploy/convkit-hub.service /etc/systemd/system/convkit-hub.service
if [ "${1:-}" != "--no-start" ] && command -v systemctl >/dev/null; then
  systemctl daemon-reload
  systemctl enable --now convkit-hub
  systemctl restart convkit-hub
  echo "hub started: http://$(hostname -f):8000 (put TLS in front of it: deploy/README.md)"
fi
