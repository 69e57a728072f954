#!/usr/bin/env bash
# kube.sh builds (once, cached) the kube-apiserver and etcd binaries pinned by tools/kube/go.mod
# and prints their paths. Used by internal/kubetest for tests against a real API server.
#
#   scripts/kube.sh            builds all three and prints KEY=VALUE lines:
#                                CAIRN_KUBE_APISERVER_BIN=PATH
#                                CAIRN_ETCD_BIN=PATH
#                                CAIRN_KUBECTL_BIN=PATH
#   scripts/kube.sh apiserver  prints only the kube-apiserver path (builds only it)
#   scripts/kube.sh etcd       prints only the etcd path (builds only it)
#   scripts/kube.sh kubectl    prints only the kubectl path (builds only it); kubectl is the
#                              same Kubernetes version, for `kubectl apply --dry-run=server` checks
#
#   CAIRN_TOOLS_CACHE  cache directory (default ${XDG_CACHE_HOME:-$HOME/.cache}/cairn/tools)
#
# kube-apiserver is k8s.io/kubernetes/cmd/kube-apiserver at the pinned k8s.io/kubernetes version
# (tools/kube/go.mod replaces every k8s.io staging module with its matching release); etcd is
# the small main in tools/kube/etcd over go.etcd.io/etcd/server/v3/embed at the version
# kubernetes requires. Both come from the Go module proxy only, verified by tools/kube/go.sum.
# The cached file names carry the versions, so moving a pin rebuilds.
#
# Idempotent and safe to run concurrently: builds are serialised with flock (when available)
# and go to a temporary file that is renamed into place. Build output goes to stderr; stdout
# carries only the result.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mod="$root/tools/kube"
cache="${CAIRN_TOOLS_CACHE:-${XDG_CACHE_HOME:-${HOME:?HOME is not set}/.cache}/cairn/tools}"

# The tools module stands alone: a go.work of the caller must not pull it into a workspace.
export GOWORK=off

what="${1:-all}"
case "$what" in
all | apiserver | etcd | kubectl) ;;
*)
	echo "usage: kube.sh [apiserver|etcd|kubectl]" >&2
	exit 2
	;;
esac

modversion() {
	local v
	v="$(go -C "$mod" list -m -f '{{.Version}}' "$1")"
	if [[ -z "$v" ]]; then
		echo "kube.sh: $1 not pinned in $mod/go.mod" >&2
		exit 1
	fi
	echo "$v"
}

kubeversion="$(modversion k8s.io/kubernetes)"
etcdversion="$(modversion go.etcd.io/etcd/server/v3)"
apiserver="$cache/kube-apiserver-$kubeversion"
kubectl="$cache/kubectl-$kubeversion"
# The etcd main is cairn's own code: its content hash is part of the name so an edit rebuilds.
etcdsrc="$(cat "$mod/etcd/main.go" "$mod/go.sum" | sha256sum | cut -c1-12)"
etcd="$cache/etcd-embed-$etcdversion-$etcdsrc"

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

# build OUT PKG [LDFLAGS]: build PKG of the tools module into OUT unless it already exists.
build() {
	local out="$1" pkg="$2" ldflags="-s -w ${3:-}"
	if [[ -x "$out" ]]; then
		return
	fi
	mkdir -p "$cache"
	# Serialise concurrent builds (several test packages may start at once on a cold cache).
	if command -v flock >/dev/null; then
		exec 9>"$cache/.kube.lock"
		flock 9
		if [[ -x "$out" ]]; then
			exec 9>&-
			return
		fi
	fi
	local tmp
	tmp="$(mktemp "$cache/.$(basename "$out").XXXXXX")"
	# shellcheck disable=SC2064 # expand $tmp now
	trap "rm -f '$tmp'" EXIT
	echo "kube.sh: building $pkg into $out (a cold kube-apiserver build takes several minutes)..." >&2
	local start=$SECONDS
	# -mod=readonly: never touch tools/kube/go.mod; GOFLAGS from the caller must not change the pin.
	GOPROXY="$proxy" GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 \
		go build -C "$mod" -p 2 -trimpath -ldflags="$ldflags" -o "$tmp" "$pkg"
	chmod 0755 "$tmp"
	mv -f "$tmp" "$out"
	trap - EXIT
	if command -v flock >/dev/null; then
		exec 9>&-
	fi
	echo "kube.sh: built $out ($(du -h "$out" | cut -f1)) in $((SECONDS - start))s" >&2
}

# kube-apiserver and kubectl report this version through /version and uses it for its compatibility version.
major="${kubeversion#v}"
major="${major%%.*}"
minor="${kubeversion#v*.}"
minor="${minor%%.*}"
v=k8s.io/component-base/version
kubeldflags="-X $v.gitVersion=$kubeversion -X $v.gitMajor=$major -X $v.gitMinor=$minor -X $v.gitTreeState=clean"

case "$what" in
apiserver)
	build "$apiserver" k8s.io/kubernetes/cmd/kube-apiserver "$kubeldflags"
	echo "$apiserver"
	;;
etcd)
	build "$etcd" ./etcd
	echo "$etcd"
	;;
kubectl)
	build "$kubectl" k8s.io/kubernetes/cmd/kubectl "$kubeldflags"
	echo "$kubectl"
	;;
all)
	build "$etcd" ./etcd
	build "$apiserver" k8s.io/kubernetes/cmd/kube-apiserver "$kubeldflags"
	build "$kubectl" k8s.io/kubernetes/cmd/kubectl "$kubeldflags"
	echo "CAIRN_KUBE_APISERVER_BIN=$apiserver"
	echo "CAIRN_ETCD_BIN=$etcd"
	echo "CAIRN_KUBECTL_BIN=$kubectl"
	;;
esac
