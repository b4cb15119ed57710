#!/usr/bin/env bash
# Installs (from Debian, as root) what the Python and Go clients need to be
# generated, built and tested offline: protoc with its Python plugins,
# grpc_python_plugin, protoc-gen-go(-grpc), Go, and the Go and Python
# gRPC / protobuf libraries. Idempotent and quiet: does nothing when all is
# there already.
set -euo pipefail

packages=(
  protobuf-compiler        # protoc: buf's protoc_builtin python / pyi
  protobuf-compiler-grpc   # grpc_python_plugin
  python3-grpcio           # runtime of the Python client (for /usr/bin/python3)
  python3-protobuf
  protoc-gen-go
  protoc-gen-go-grpc
  golang-go
  golang-google-grpc-dev
  golang-google-protobuf-dev
  # grpc-go's codec needs github.com/golang/protobuf 1.4+ (APIv2-backed);
  # without this apt picks 1.3, which panics on protoc-gen-go's messages.
  golang-github-golang-protobuf-1-5-dev
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "install-clients: needs Debian/Ubuntu apt-get to install: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Skip the index refresh when .ci/run (or anyone) refreshed it in the last hour.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -60 -print -quit 2>/dev/null)" ]; then
  apt-get update -qq
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
