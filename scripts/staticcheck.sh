#!/usr/bin/env bash
# staticcheck.sh prints the path of staticcheck at the pinned version, installing it from the
# Go module proxy into the tools cache only if it is missing.
#
#   CAIRN_TOOLS_CACHE  cache directory (default $HOME/.cache/cairn/tools)
set -euo pipefail

version=v0.8.2 # honnef.co/go/tools
cache="${CAIRN_TOOLS_CACHE:-${HOME:?HOME is not set}/.cache/cairn/tools}"
bin="$cache/staticcheck-$version"
if [[ -x "$bin" ]]; then
	echo "$bin"
	exit 0
fi
mkdir -p "$cache"
tmpdir="$(mktemp -d "$cache/.staticcheck.XXXXXX")"
trap 'rm -rf "$tmpdir"' EXIT
GOBIN="$tmpdir" GOFLAGS=-mod=mod go install "honnef.co/go/tools/cmd/staticcheck@$version" >&2
mv "$tmpdir/staticcheck" "$bin"
echo "$bin"
