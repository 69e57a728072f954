package main

import (
	"context"
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/cli"
	"github.com/cairnbackup/cairn/internal/units"
	"github.com/cairnbackup/cairn/k8sagent"
)

func (a *app) k8sSnapshotsCmd() *cobra.Command {
	var ns string
	cmd := &cobra.Command{
		Use:   "snapshots [--namespace NS]",
		Short: "List application backups, oldest first",
		Long: `List the application backups (records written by 'cairn k8s backup'), oldest
first: short ID, time, namespace and backup ID. Volume snapshots of these
backups are listed by 'cairn snapshots' under the names k8s/NS/pvc/CLAIM.`,
		Example: `  cairn k8s snapshots --namespace shop
  cairn k8s snapshots --json | jq -r '.[-1].id'`,
		Args: cli.ExactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := a.OpenRepo(cmd.Context())
			if err != nil {
				return err
			}
			defer r.Close()
			list, err := k8sagent.ListBackups(cmd.Context(), r, ns)
			if err != nil {
				return err
			}
			type entry struct {
				cli.SnapshotJSON
				BackupID  string `json:"backup_id"`
				Namespace string `json:"namespace"`
			}
			out := []entry{}
			for _, b := range list {
				out = append(out, entry{cli.ToSnapshotJSON(b.Snapshot), b.BackupID, b.Namespace})
			}
			if a.JSON {
				return cli.PrintJSON(a.Stdout, out)
			}
			tw := cli.NewTable(a.Stdout)
			fmt.Fprintln(tw, "ID\tTIME\tNAMESPACE\tBACKUP")
			for _, e := range out {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.ShortID, e.Time.Local().Format("2006-01-02 15:04:05"), e.Namespace, e.BackupID)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&ns, "namespace", "n", "", "only backups of this namespace")
	return cmd
}

func (a *app) k8sShowCmd() *cobra.Command {
	var ns string
	cmd := &cobra.Command{
		Use:   "show SNAPSHOT",
		Short: "List the manifests and volumes of an application backup",
		Long: `List every captured object in restore order, whether a restore recreates it
(and why not), and the captured volumes. With --json, print the whole record:
every manifest as captured, and the volume snapshots.`,
		Example: `  cairn k8s show 3f2a9c
  cairn k8s show latest --namespace shop --json | jq '.objects[].kind'`,
		Args: cli.ExactArgs("SNAPSHOT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runK8sShow(cmd.Context(), args[0], ns)
		},
	}
	cmd.Flags().StringVarP(&ns, "namespace", "n", "", `namespace whose backups "latest" means`)
	return cmd
}

func (a *app) runK8sShow(ctx context.Context, ref, ns string) error {
	r, rec, snap, err := a.openBackup(ctx, ref, ns)
	if err != nil {
		return err
	}
	defer r.Close()
	if a.JSON {
		return cli.PrintJSON(a.Stdout, struct {
			Snapshot cli.SnapshotJSON `json:"snapshot"`
			*k8sagent.AppBackup
		}{cli.ToSnapshotJSON(snap), rec})
	}
	fmt.Fprintf(a.Stdout, "application backup %s of namespace %s, %s\n\n", snap.ID.Short(), rec.Namespace,
		rec.Time.Local().Format("2006-01-02 15:04:05"))
	objs := append([]k8sagent.Object(nil), rec.Objects...)
	k8sagent.RestoreOrder(objs)
	tw := cli.NewTable(a.Stdout)
	fmt.Fprintln(tw, "KIND\tAPI VERSION\tNAMESPACE\tNAME\tRESTORE")
	for _, o := range objs {
		restore := "yes"
		if why := k8sagent.SkipReason(o, rec.Objects); why != "" {
			restore = "no: " + why
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", o.GetKind(), o.GetAPIVersion(), o.GetNamespace(), o.GetName(), restore)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	vols := append([]k8sagent.Volume(nil), rec.Volumes...)
	sort.Slice(vols, func(i, j int) bool { return vols[i].Claim < vols[j].Claim })
	fmt.Fprintln(a.Stdout)
	tw = cli.NewTable(a.Stdout)
	fmt.Fprintln(tw, "CLAIM\tMODE\tSTORAGE CLASS\tSIZE\tSNAPSHOT")
	for _, v := range vols {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", v.Claim, v.VolumeMode, v.StorageClass, units.FormatBytes(v.Size), v.Snapshot[:12])
	}
	return tw.Flush()
}
