package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/cli"
	"github.com/cairnbackup/cairn/k8sagent"
)

// errorsIs is errors.Is (named for k8sHint's table).
var errorsIs = errors.Is

func (a *app) k8sRestoreCmd(kf *k8sFlags) *cobra.Command {
	var (
		opts    k8sagent.RestoreOptions
		ns      string
		mapSC   []string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "restore SNAPSHOT --to-namespace NS [--storage-class X] [--map-sc old=new]...",
		Short: "Restore an application backup into a namespace",
		Long: `Recreate an application backup in order: Namespace, CRDs, ServiceAccounts
and RBAC, ConfigMaps and Secrets, claims (populated from the repository by mover
Jobs), Services, workloads, other resources, Ingresses. Server-set fields,
status, cluster IPs and node names are dropped; objects their controllers
recreate (a Deployment's ReplicaSets and pods, endpoints) are skipped.

The target namespace must not exist (nothing is created otherwise) unless
--existing-namespace is given; then existing objects are left alone. A failed
restore deletes what it created. SNAPSHOT is an ID (prefix) from 'cairn k8s
snapshots', or "latest" with --namespace.`,
		Example: `  cairn k8s restore 3f2a9c --to-namespace shop-copy
  cairn k8s restore latest --namespace shop --to-namespace shop --storage-class fast
  cairn k8s restore 3f2a9c --to-namespace shop-dr --map-sc gp2=premium-rwo`,
		Args: cli.ExactArgs("SNAPSHOT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := parseSCMap(mapSC)
			if err != nil {
				return err
			}
			opts.MapStorageClass, opts.Timeout, opts.Parallel = m, timeout, kf.parallel
			return a.runK8sRestore(cmd.Context(), kf, args[0], ns, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.TargetNamespace, "to-namespace", "", "target namespace (default: the captured one)")
	f.StringVarP(&ns, "namespace", "n", "", `namespace whose backups "latest" means`)
	f.StringVar(&opts.StorageClass, "storage-class", "", "storage class for every restored claim")
	f.StringArrayVar(&mapSC, "map-sc", nil, "map a storage class, old=new (repeatable)")
	f.BoolVar(&opts.AllowExistingNamespace, "existing-namespace", false, "restore into an existing namespace (existing objects are kept)")
	f.StringVar(&opts.SnapshotClass, "snapshot-class", "", "VolumeSnapshotClass for staging snapshots of Filesystem volumes")
	f.DurationVar(&timeout, "timeout", 10*time.Minute, "how long to wait for each snapshot, claim and CRD")
	return cmd
}

func (a *app) runK8sRestore(ctx context.Context, kf *k8sFlags, ref, ns string, opts k8sagent.RestoreOptions) error {
	if ref == "latest" && ns == "" {
		return cli.Usagef(`"latest" needs --namespace`)
	}
	r, rec, snap, err := a.openBackup(ctx, ref, ns)
	if err != nil {
		return err
	}
	defer r.Close()
	ag, err := a.k8sAgent(kf, r)
	if err != nil {
		return err
	}
	res, err := ag.Restore(ctx, rec, opts)
	if err != nil {
		return k8sHint(err)
	}
	switch {
	case a.Quiet:
		return nil
	case a.JSON:
		return cli.PrintJSON(a.Stdout, struct {
			Type     string `json:"type"`
			Op       string `json:"op"`
			Snapshot string `json:"snapshot"`
			*k8sagent.RestoreResult
		}{"summary", "k8s-restore", snap.ID.String(), res})
	}
	_, err = fmt.Fprintf(a.Stdout, "restored %s into namespace %s: %d objects created, %d volumes, %d existing kept, %d skipped\n",
		snap.ID.Short(), res.Namespace, len(res.Created), res.Volumes, len(res.Existing), len(res.Skipped))
	return err
}
