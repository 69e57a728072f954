#!/usr/bin/env bash
# install.sh prints the paths of the peer backup tools (kopia, restic) pinned by
# bench/peers/go.mod, one "name=path" per line, building each from the Go module proxy
# into a cache directory only if it is missing.
#
#   CAIRN_TOOLS_CACHE  cache directory (default $HOME/.cache/cairn/tools)
#
#   bash bench/peers/install.sh            # both
#   bash bench/peers/install.sh restic     # just one (prints only the path)
#
# Idempotent and safe to run concurrently: each build goes to a temporary file that is
# renamed into place. Build output goes to stderr; stdout carries only the paths.
set -euo pipefail

peers="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${CAIRN_TOOLS_CACHE:-${HOME:?HOME is not set}/.cache/cairn/tools}"

# name module package
specs=(
	"kopia github.com/kopia/kopia github.com/kopia/kopia"
	"restic github.com/restic/restic github.com/restic/restic/cmd/restic"
)

build_one() {
	local name=$1 module=$2 pkg=$3
	local version
	version="$(go -C "$peers" list -m -f '{{.Version}}' "$module")"
	if [[ -z "$version" ]]; then
		echo "install.sh: $module not pinned in $peers/go.mod" >&2
		return 1
	fi
	local bin="$cache/$name-$version"
	if [[ ! -x "$bin" ]]; then
		mkdir -p "$cache"
		local tmp
		tmp="$(mktemp "$cache/.$name-$version.XXXXXX")"
		echo "install.sh: building $name $version into $cache (takes a few minutes)..." >&2
		local start=$SECONDS
		# -mod=readonly: never touch go.mod; GOFLAGS from the caller must not change the pin.
		if ! GOFLAGS=-mod=readonly CGO_ENABLED=0 go build -C "$peers" -trimpath -o "$tmp" "$pkg"; then
			rm -f "$tmp"
			return 1
		fi
		chmod 0755 "$tmp"
		mv -f "$tmp" "$bin"
		echo "install.sh: built $bin in $((SECONDS - start))s" >&2
	fi
	if [[ $# -gt 3 ]]; then echo "$bin"; else echo "$name=$bin"; fi
}

want="${1:-}"
found=0
for spec in "${specs[@]}"; do
	read -r name module pkg <<<"$spec"
	if [[ -z "$want" ]]; then
		build_one "$name" "$module" "$pkg"
		found=1
	elif [[ "$want" == "$name" ]]; then
		build_one "$name" "$module" "$pkg" pathonly
		found=1
	fi
done
if [[ $found -eq 0 ]]; then
	echo "install.sh: unknown tool '$want' (want kopia or restic)" >&2
	exit 2
fi
