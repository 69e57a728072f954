// Command etcd is a minimal single-member etcd server for cairn's tests, built over
// go.etcd.io/etcd/server/v3/embed at the version kubernetes' kube-apiserver pins, so the tests
// need no system package. It serves plain HTTP on the given client URL only; it is not meant
// for anything but a throwaway test cluster on 127.0.0.1.
//
//	etcd --data-dir DIR --listen-client-urls http://127.0.0.1:PORT --listen-peer-urls http://127.0.0.1:PORT2
//
// It exits when it receives SIGINT or SIGTERM, or when the server stops on its own.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

func main() {
	dataDir := flag.String("data-dir", "", "data directory (required)")
	clientURL := flag.String("listen-client-urls", "http://127.0.0.1:2379", "client URL (one)")
	peerURL := flag.String("listen-peer-urls", "http://127.0.0.1:2380", "peer URL (one)")
	quota := flag.Int64("quota-backend-bytes", 512<<20, "backend quota in bytes")
	flag.Parse()
	if *dataDir == "" {
		log.Fatal("etcd: --data-dir is required")
	}
	cu, err := url.Parse(*clientURL)
	if err != nil {
		log.Fatalf("etcd: --listen-client-urls: %v", err)
	}
	pu, err := url.Parse(*peerURL)
	if err != nil {
		log.Fatalf("etcd: --listen-peer-urls: %v", err)
	}

	cfg := embed.NewConfig()
	cfg.Name = "cairn-test"
	cfg.Dir = *dataDir
	cfg.ListenClientUrls = []url.URL{*cu}
	cfg.AdvertiseClientUrls = []url.URL{*cu}
	cfg.ListenPeerUrls = []url.URL{*pu}
	cfg.AdvertisePeerUrls = []url.URL{*pu}
	cfg.InitialCluster = fmt.Sprintf("%s=%s", cfg.Name, pu.String())
	cfg.QuotaBackendBytes = *quota
	cfg.UnsafeNoFsync = true // test data only: trade durability for speed
	cfg.LogLevel = "warn"
	// A single member on one host: short ticks make it elect itself and start faster.
	cfg.TickMs = 10
	cfg.ElectionMs = 100

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		log.Fatalf("etcd: start: %v", err)
	}
	defer e.Close()
	select {
	case <-e.Server.ReadyNotify():
		fmt.Fprintf(os.Stderr, "etcd: ready, serving clients on %s\n", cu)
	case <-time.After(60 * time.Second):
		e.Server.Stop()
		log.Fatal("etcd: not ready after 60s")
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case s := <-sig:
		fmt.Fprintf(os.Stderr, "etcd: %v, stopping\n", s)
	case err := <-e.Err():
		log.Fatalf("etcd: %v", err)
	}
}
