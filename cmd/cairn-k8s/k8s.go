package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/cairnbackup/cairn/internal/cli"
	"github.com/cairnbackup/cairn/internal/units"
	"github.com/cairnbackup/cairn/k8sagent"
	"github.com/cairnbackup/cairn/repo"
)

// k8sFlags are the cluster and mover settings shared by the k8s subcommands.
type k8sFlags struct {
	kubeconfig, context string
	moverImage          string
	moverSecret         string
	moverSecretNS       string
	moverTemplate       string
	moverTimeout        time.Duration
	parallel            int
}

func (a *app) k8sCmd() *cobra.Command {
	var kf k8sFlags
	cmd := &cobra.Command{
		Use:   "k8s",
		Short: "Back up and restore Kubernetes applications (resources and volumes)",
		Long: `Capture a namespace's application, its resources (every API group, custom
resources included, plus the cluster-scoped objects it depends on) and the data
of its PersistentVolumeClaims (through CSI VolumeSnapshots and mover Jobs), and
restore it in order into the same or another namespace or cluster.

The cluster comes from --kubeconfig, KUBECONFIG, ~/.kube/config, or the pod's
service account when cairn runs in-cluster. Movers run as Jobs with the
--mover-image; they reach the repository through the Secret --mover-secret
(keys CAIRN_REPO, CAIRN_PASSWORD, backend credentials). See docs/KUBERNETES.md.`,
		Example: `  cairn k8s backup --namespace shop
  cairn k8s snapshots --namespace shop
  cairn k8s show latest --namespace shop
  cairn k8s restore 3f2a9c --to-namespace shop-copy --storage-class fast`,
		Args: cobra.ArbitraryArgs,
		RunE: cli.GroupRunE,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&kf.kubeconfig, "kubeconfig", "", "kubeconfig file (default: KUBECONFIG, ~/.kube/config, or in-cluster)")
	pf.StringVar(&kf.context, "context", "", "kubeconfig context")
	pf.StringVar(&kf.moverImage, "mover-image", "ghcr.io/cairnbackup/cairn:latest", "image of the mover Jobs")
	pf.StringVar(&kf.moverSecret, "mover-secret", "cairn-repository", "Secret with the repository settings for movers")
	pf.StringVar(&kf.moverSecretNS, "mover-secret-namespace", "", "namespace of --mover-secret (default: POD_NAMESPACE or cairn-system)")
	pf.StringVar(&kf.moverTemplate, "mover-template", "", "mover Job template file (deploy/mover-job-template.yaml's job.yaml)")
	pf.DurationVar(&kf.moverTimeout, "mover-timeout", 6*time.Hour, "how long one mover Job may run")
	pf.IntVar(&kf.parallel, "parallel", 2, "volumes moved at once")
	cmd.AddCommand(a.k8sBackupCmd(&kf), a.k8sSnapshotsCmd(), a.k8sShowCmd(), a.k8sRestoreCmd(&kf), a.k8sAgentCmd(&kf))
	return cmd
}

// restConfig loads the cluster configuration.
func (kf *k8sFlags) restConfig() (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kf.kubeconfig != "" {
		rules.ExplicitPath = kf.kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: kf.context}).ClientConfig()
	if err != nil {
		return nil, cli.WithHint(fmt.Errorf("kubernetes configuration: %w", err), "pass --kubeconfig or set KUBECONFIG")
	}
	return cfg, nil
}

// agent builds the agent for one command: cluster clients, the repository, Job movers.
// openAgent opens the repository and an agent over it; the caller closes the repository.
func (a *app) openAgent(ctx context.Context, kf *k8sFlags) (*repo.Repository, *k8sagent.Agent, error) {
	r, err := a.OpenRepo(ctx)
	if err != nil {
		return nil, nil, err
	}
	ag, err := a.k8sAgent(kf, r)
	if err != nil {
		r.Close()
		return nil, nil, err
	}
	return r, ag, nil
}

// openBackup opens the repository and loads the application backup ref (in namespace ns);
// the caller closes the repository.
func (a *app) openBackup(ctx context.Context, ref, ns string) (*repo.Repository, *k8sagent.AppBackup, *repo.Snapshot, error) {
	r, err := a.OpenRepo(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	rec, snap, err := k8sagent.LoadBackup(ctx, r, ref, ns)
	if err != nil {
		r.Close()
		return nil, nil, nil, k8sHint(err)
	}
	return r, rec, snap, nil
}

func (a *app) k8sAgent(kf *k8sFlags, r *repo.Repository) (*k8sagent.Agent, error) {
	cfg, err := kf.restConfig()
	if err != nil {
		return nil, err
	}
	ns := kf.moverSecretNS
	if ns == "" {
		ns = a.Getenv("POD_NAMESPACE")
	}
	if ns == "" {
		ns = "cairn-system"
	}
	jl := &k8sagent.JobLauncher{Image: kf.moverImage, RepoSecret: kf.moverSecret, RepoSecretNamespace: ns,
		Timeout: kf.moverTimeout, Log: a.Log}
	if kf.moverTemplate != "" {
		b, err := os.ReadFile(kf.moverTemplate)
		if err != nil {
			return nil, fmt.Errorf("mover template: %w", err)
		}
		if jl.Template, err = k8sagent.ParseJobTemplate(b); err != nil {
			return nil, cli.Usage(err)
		}
	}
	ag, err := k8sagent.NewAgent(cfg, r, jl, a.Log)
	if err != nil {
		return nil, err
	}
	jl.Client = ag.Kube
	return ag, nil
}

// k8sHints explain the agent's sentinel errors.
func k8sHint(err error) error {
	for _, h := range []struct {
		err  error
		hint string
	}{
		{k8sagent.ErrForbidden, "apply deploy/rbac.yaml and run as the cairn-agent service account (or a user bound to its ClusterRole)"},
		{k8sagent.ErrNamespaceExists, "restore into a new namespace with --to-namespace, or pass --existing-namespace"},
		{k8sagent.ErrNoSnapshotClass, "create a VolumeSnapshotClass for the volume's CSI driver, or name one with --snapshot-class"},
		{k8sagent.ErrTimeout, "check the CSI snapshot controller and driver (kubectl describe volumesnapshot), or raise --timeout"},
		{k8sagent.ErrNotAppBackup, "list application backups with 'cairn k8s snapshots'"},
		{k8sagent.ErrMoverFailed, "read the mover pod's log: it prints JSON lines ending with the error"},
	} {
		if err != nil && errorsIs(err, h.err) {
			return cli.WithHint(err, h.hint)
		}
	}
	return err
}

func (a *app) k8sBackupCmd(kf *k8sFlags) *cobra.Command {
	var (
		ns, selector, class string
		timeout             time.Duration
	)
	cmd := &cobra.Command{
		Use:   "backup --namespace NS [--selector L]",
		Short: "Back up a namespace's application: resources and volume data",
		Long: `Capture every resource of the namespace (narrowed by --selector), the
cluster-scoped objects it depends on, and the data of its bound claims. Pods
annotated cairn.io/pre-backup-hook / cairn.io/post-backup-hook run those
commands around the volume snapshots. Nothing is recorded unless everything
was captured.`,
		Example: `  cairn k8s backup --namespace shop
  cairn k8s backup --namespace shop --selector app=shop --json`,
		Args: cli.ExactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ns == "" {
				return cli.Usagef("--namespace is required")
			}
			sel, err := labels.Parse(selector)
			if err != nil {
				return cli.Usagef("--selector: %v", err)
			}
			return a.runK8sBackup(cmd.Context(), kf, k8sagent.BackupOptions{Namespace: ns, Selector: sel,
				SnapshotClass: class, SnapshotTimeout: timeout, Parallel: kf.parallel})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&ns, "namespace", "n", "", "namespace to back up")
	f.StringVarP(&selector, "selector", "l", "", "label selector, e.g. app=shop")
	f.StringVar(&class, "snapshot-class", "", "VolumeSnapshotClass (default: the driver's default class)")
	f.DurationVar(&timeout, "timeout", 10*time.Minute, "how long to wait for each VolumeSnapshot")
	return cmd
}

// k8sBackupSummary is the JSON summary of "cairn k8s backup".
type k8sBackupSummary struct {
	Type      string            `json:"type"` // "summary"
	Op        string            `json:"op"`   // "k8s-backup"
	Snapshot  cli.SnapshotJSON  `json:"snapshot"`
	BackupID  string            `json:"backup_id"`
	Namespace string            `json:"namespace"`
	Objects   int               `json:"objects"`
	Volumes   []k8sagent.Volume `json:"volumes"`
}

func (a *app) runK8sBackup(ctx context.Context, kf *k8sFlags, opts k8sagent.BackupOptions) error {
	r, ag, err := a.openAgent(ctx, kf)
	if err != nil {
		return err
	}
	defer r.Close()
	rec, snap, err := ag.Backup(ctx, opts)
	if err != nil {
		return k8sHint(err)
	}
	s := k8sBackupSummary{Type: "summary", Op: "k8s-backup", Snapshot: cli.ToSnapshotJSON(snap), BackupID: rec.ID,
		Namespace: rec.Namespace, Objects: len(rec.Objects), Volumes: rec.Volumes}
	switch {
	case a.Quiet:
		return nil
	case a.JSON:
		return cli.PrintJSON(a.Stdout, s)
	}
	var size int64
	for _, v := range rec.Volumes {
		size += v.Size
	}
	_, err = fmt.Fprintf(a.Stdout, "application backup %s of namespace %s saved: %d objects, %d volumes (%s)\n",
		snap.ID.Short(), rec.Namespace, len(rec.Objects), len(rec.Volumes), units.FormatBytes(size))
	return err
}

// parseSCMap parses --map-sc old=new values.
func parseSCMap(pairs []string) (map[string]string, error) {
	m := map[string]string{}
	for _, p := range pairs {
		old, nw, ok := strings.Cut(p, "=")
		if !ok || old == "" || nw == "" {
			return nil, cli.Usagef("--map-sc %q: want old=new", p)
		}
		m[old] = nw
	}
	return m, nil
}
