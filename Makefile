# cairn build and test entry points. `make test` is what CI runs (.ci/run).
GO ?= go
PKGS := ./...

.PHONY: all build test vet test-deps bench bench-zones fuzz image clean

all: build

# Two binaries: cairn, and cairn-k8s for "cairn k8s ..." (it keeps client-go out of cairn;
# docs/DECISIONS.md §12). cairn finds cairn-k8s next to itself, so keep them together.
build:
	$(GO) build -o bin/cairn ./cmd/cairn
	$(GO) build -o bin/cairn-k8s ./cmd/cairn-k8s

# Unit and integration tests with the race detector. Integration tests start real MinIO
# servers and a real kube-apiserver + etcd; scripts/minio.sh and scripts/kube.sh build the
# pinned binaries first (cached) so their build time is not counted against test timeouts.
test: vet
	CAIRN_MINIO_BIN="$$(bash scripts/minio.sh)" \
	CAIRN_KUBE_APISERVER_BIN="$$(bash scripts/kube.sh apiserver)" \
	CAIRN_ETCD_BIN="$$(bash scripts/kube.sh etcd)" \
	CAIRN_KUBECTL_BIN="$$(bash scripts/kube.sh kubectl)" \
	$(GO) test -race -timeout 25m -count=1 $(PKGS)
	# Tests of memory behaviour the race detector's shadow memory would mask (seconds).
	$(GO) test -count=1 -run 'TestPrefault' ./crypto/

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	"$$(bash scripts/staticcheck.sh)" $(PKGS)

# Build (once, cached) the pinned servers used by integration tests and print their paths.
test-deps:
	bash scripts/minio.sh
	bash scripts/kube.sh

# Short benchmarks: Go micro-benchmarks of every stage, then the side-by-side harness
# (cairn vs kopia vs restic) on a small input. The full harness: go run ./bench --help.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 200ms -benchmem ./chunk/ ./crypto/ ./erasure/ ./index/ ./repo/
	$(GO) run ./bench --short

# Backup/restore throughput with 4+2 erasure over six local MinIO servers, healthy and with
# two zones killed (CAIRN_BENCH_ZONES_MIB, default 256).
bench-zones:
	CAIRN_BENCH_ZONES=1 CAIRN_MINIO_BIN="$$(bash scripts/minio.sh)" $(GO) test -run '^TestZonesThroughput$$' -count=1 -v -timeout 30m ./repo/

# Run every fuzz target briefly (FUZZTIME per target).
FUZZTIME ?= 15s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list 'Fuzz.*' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# Container image for the agent and mover, built without a Docker daemon: static binaries on
# an empty base, written as an OCI tarball (bin/cairn-image.tar; docker load / crane push it).
# With Docker: docker build -t cairn .
image:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o bin/cairn-static ./cmd/cairn
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o bin/cairn-k8s-static ./cmd/cairn-k8s
	$(GO) run ./internal/ociimage/cmd/mkimage -binary bin/cairn-static -k8s-binary bin/cairn-k8s-static -out bin/cairn-image.tar

clean:
	rm -rf bin
