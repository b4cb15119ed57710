#!/usr/bin/env bash
# Installs (from Debian, as root) every system package the test suite needs:
# redis-server, protoc with the Go/Python gRPC toolchains, and Chromium.
# .ci/run calls it, and so does `npm test` (through vitest.config.ts) when it
# runs as root on a machine that lacks any of them. Idempotent and quiet.
set -euo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive
if ! dpkg-query -W -f='${Status}' redis-server 2>/dev/null | grep -q "install ok installed"; then
  apt-get update -qq
  # redis-server: the Redis store's tests that need no query engine.
  apt-get install -y -qq --no-install-recommends redis-server >/dev/null
fi
if ! dpkg-query -W -f='${Status}' python3-yaml 2>/dev/null | grep -q "install ok installed"; then
  apt-get update -qq
  # python3-yaml: test/deploy/compose.test.ts parses docker-compose.yml and deploy/envoy.yaml with it.
  apt-get install -y -qq --no-install-recommends python3-yaml >/dev/null
fi
# protoc + Go/Python plugins and runtimes: buf generate and the client tests.
bash ./install-clients.sh
# Debian's Chromium for the dashboard tests (never a downloaded browser).
bash ./install-browser.sh
