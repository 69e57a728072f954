package k8sagent

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"

	snapclient "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/repo"
)

// Agent captures and restores applications. Fill it with NewAgent, or set the clients
// directly in tests.
type Agent struct {
	Kube      kubernetes.Interface
	Dynamic   dynamic.Interface
	Discovery discovery.DiscoveryInterface
	Snap      snapclient.Interface
	// Repo is the repository manifests are written to and volume snapshots looked up in
	// (movers write the volume data themselves).
	Repo *repo.Repository
	// Mover runs one volume move (in-cluster: a JobLauncher).
	Mover MoverLauncher
	// Exec runs hook commands; nil: pods that declare hooks fail the backup.
	Exec Executor
	Log  *slog.Logger
}

// NewAgent builds an Agent with clients for cfg; it runs hooks with a RemoteExecutor.
func NewAgent(cfg *rest.Config, r *repo.Repository, mover MoverLauncher, log *slog.Logger) (*Agent, error) {
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	snap, err := snapclient.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("snapshot client: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	return &Agent{Kube: kube, Dynamic: dyn, Discovery: kube.Discovery(), Snap: snap, Repo: r, Mover: mover,
		Exec: &RemoteExecutor{Config: cfg, Client: kube}, Log: log}, nil
}

// newRunID returns a random id for one backup or restore run (16 hex digits).
func newRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// tempName builds a DNS-1123 name for a temporary object: prefix-claim-runid, cut to fit.
func tempName(prefix, claim, runID string) string {
	max := 63 - len(prefix) - len(runID) - 2
	if len(claim) > max {
		claim = claim[:max]
	}
	for len(claim) > 0 && claim[len(claim)-1] == '-' || len(claim) > 0 && claim[len(claim)-1] == '.' {
		claim = claim[:len(claim)-1]
	}
	return prefix + "-" + claim + "-" + runID
}
