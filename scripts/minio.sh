#!/usr/bin/env bash
# minio.sh prints the path of a MinIO server binary pinned by tools/go.mod,
# building it from the Go module proxy into a cache directory only if it is missing.
#
#   CAIRN_TOOLS_CACHE  cache directory (default $HOME/.cache/cairn/tools)
#
# Idempotent and safe to run concurrently: the build goes to a temporary file that is
# renamed into place. Build output goes to stderr; stdout carries only the path.
set -euo pipefail
export GOWORK=off # the tools module is built on its own, whatever go.work the caller has

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/tools"
cache="${CAIRN_TOOLS_CACHE:-${HOME:?HOME is not set}/.cache/cairn/tools}"

version="$(go -C "$tools" list -m -f '{{.Version}}' github.com/minio/minio)"
if [[ -z "$version" ]]; then
	echo "minio.sh: github.com/minio/minio not pinned in $tools/go.mod" >&2
	exit 1
fi

bin="$cache/minio-$version"
if [[ -x "$bin" ]]; then
	echo "$bin"
	exit 0
fi

# Fetch only from the Go module proxy (go.sum pins every module's hash): drop any "direct"
# fallback to version-control hosts, keep GOPROXY=off for fully offline module caches.
proxy="$(go env GOPROXY)"
if [[ "$proxy" != off ]]; then
	proxy="${proxy//,direct/}"
	proxy="${proxy//|direct/}"
	if [[ -z "$proxy" || "$proxy" == direct ]]; then
		proxy=https://proxy.golang.org
	fi
fi

mkdir -p "$cache"
tmp="$(mktemp "$cache/.minio-$version.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
echo "minio.sh: building minio $version into $cache (takes a few minutes)..." >&2
start=$SECONDS
# -mod=readonly: never touch tools/go.mod; GOFLAGS from the caller must not change the pin.
GOPROXY="$proxy" GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 go build -C "$tools" -trimpath -o "$tmp" github.com/minio/minio
chmod 0755 "$tmp"
mv -f "$tmp" "$bin"
trap - EXIT
echo "minio.sh: built $bin in $((SECONDS - start))s" >&2
echo "$bin"
