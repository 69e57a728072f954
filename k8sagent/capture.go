package k8sagent

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/cairnbackup/cairn/repo"
)

// BackupOptions describe one application backup.
type BackupOptions struct {
	Namespace string
	Selector  labels.Selector // nil: the whole namespace
	// SnapshotClass names the VolumeSnapshotClass; "": the default class of each volume's driver.
	SnapshotClass string
	// SnapshotTimeout bounds the wait for each VolumeSnapshot to become ready; 0: 10 minutes.
	SnapshotTimeout time.Duration
	// Parallel is how many volumes move at once; 0: 2.
	Parallel int
	// Hostname recorded in the repository snapshots ("": the cluster namespace).
	Hostname string
}

// ManifestName is the repository snapshot name of namespace's application records.
func ManifestName(namespace string) string { return "k8s/" + namespace + "/manifests" }

// VolumeName is the repository snapshot name of a claim's data.
func VolumeName(namespace, claim string) string { return "k8s/" + namespace + "/pvc/" + claim }

// plannedVolume is one claim to capture.
type plannedVolume struct {
	claim        string
	mode         corev1.PersistentVolumeMode
	storageClass string
	size         resource.Quantity
	class        string // VolumeSnapshotClass
}

// Backup captures the application in opts.Namespace: manifests, then (between the pre and
// post hooks) a VolumeSnapshot of every bound claim, then each volume's data through a mover.
// The application record is written last, so a failed backup records nothing. It returns
// the record and the repository snapshot holding it.
func (a *Agent) Backup(ctx context.Context, opts BackupOptions) (*AppBackup, *repo.Snapshot, error) {
	if opts.SnapshotTimeout <= 0 {
		opts.SnapshotTimeout = 10 * time.Minute
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 2
	}
	runID := newRunID()
	log := a.Log.With("namespace", opts.Namespace, "backup", runID)
	inv, err := Discover(ctx, a.Discovery, a.Dynamic, opts.Namespace, opts.Selector, log)
	if err != nil {
		return nil, nil, err
	}
	vols, err := a.planVolumes(ctx, inv, opts.SnapshotClass)
	if err != nil {
		return nil, nil, err
	}
	var pods []Object
	for _, o := range inv.Objects {
		if o.GetKind() == "Pod" && o.GetAPIVersion() == "v1" {
			pods = append(pods, o)
		}
	}
	hooks, err := ParseHooks(pods)
	if err != nil {
		return nil, nil, err
	}
	rec := &AppBackup{Version: RecordVersion, ID: runID, Namespace: opts.Namespace, Time: time.Now().UTC(), Objects: inv.Objects}
	if opts.Selector != nil && !opts.Selector.Empty() {
		rec.Selector = opts.Selector.String()
	}

	var cleanups cleanupList
	defer cleanups.run(context.WithoutCancel(ctx), log)

	if err := a.snapshotAll(ctx, opts, runID, vols, hooks, &cleanups, log); err != nil {
		return nil, nil, err
	}
	results := make([]Volume, len(vols))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Parallel)
	for i, v := range vols {
		g.Go(func() error {
			vol, err := a.moveOut(gctx, opts, runID, v, &cleanups, log)
			results[i] = vol
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	rec.Volumes = results
	data, err := EncodeRecord(rec)
	if err != nil {
		return nil, nil, err
	}
	snap, err := a.Repo.Backup(ctx, bytes.NewReader(data), repo.BackupOptions{
		Name:     ManifestName(opts.Namespace),
		Hostname: opts.Hostname,
		Tags:     []string{TagKind + "=app", TagNamespace + "=" + opts.Namespace, TagAppBackup + "=" + runID},
		SizeHint: int64(len(data)),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store application record: %w", err)
	}
	log.Info("application backup stored", "snapshot", snap.ID.Short(), "objects", len(rec.Objects), "volumes", len(rec.Volumes))
	return rec, snap, nil
}

// planVolumes checks every captured claim before anything is created: bound to a CSI volume,
// with a VolumeSnapshotClass for its driver.
func (a *Agent) planVolumes(ctx context.Context, inv *Inventory, wantClass string) ([]plannedVolume, error) {
	var out []plannedVolume
	for _, o := range inv.Claims() {
		var pvc corev1.PersistentVolumeClaim
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &pvc); err != nil {
			return nil, fmt.Errorf("claim %s: %w", o.GetName(), err)
		}
		if pvc.Status.Phase != corev1.ClaimBound || pvc.Spec.VolumeName == "" {
			a.Log.Warn("claim is not bound; only its manifest is captured", "claim", pvc.Name, "phase", pvc.Status.Phase)
			continue
		}
		pvObj, ok := inv.Find("PersistentVolume", "", pvc.Spec.VolumeName)
		if !ok {
			return nil, fmt.Errorf("claim %s: %w: its PersistentVolume %s is gone", pvc.Name, ErrUnsupportedVolume, pvc.Spec.VolumeName)
		}
		var pv corev1.PersistentVolume
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(pvObj.Object, &pv); err != nil {
			return nil, fmt.Errorf("volume %s: %w", pv.Name, err)
		}
		if pv.Spec.CSI == nil {
			return nil, fmt.Errorf("claim %s: %w: PersistentVolume %s is not a CSI volume", pvc.Name, ErrUnsupportedVolume, pv.Name)
		}
		class, err := a.snapshotClassFor(ctx, pv.Spec.CSI.Driver, wantClass)
		if err != nil {
			return nil, fmt.Errorf("claim %s: %w", pvc.Name, err)
		}
		v := plannedVolume{claim: pvc.Name, mode: corev1.PersistentVolumeFilesystem, class: class,
			size: pvc.Spec.Resources.Requests[corev1.ResourceStorage]}
		if pvc.Spec.VolumeMode != nil {
			v.mode = *pvc.Spec.VolumeMode
		}
		if q, ok := pvc.Status.Capacity[corev1.ResourceStorage]; ok {
			v.size = q
		}
		if pvc.Spec.StorageClassName != nil {
			v.storageClass = *pvc.Spec.StorageClassName
		} else {
			v.storageClass = pv.Spec.StorageClassName
		}
		out = append(out, v)
	}
	return out, nil
}

// snapshotAll runs the pre hooks, creates every VolumeSnapshot, waits until all are ready
// and runs the post hooks (always, once pre hooks began).
func (a *Agent) snapshotAll(ctx context.Context, opts BackupOptions, runID string, vols []plannedVolume, hooks Hooks, cleanups *cleanupList, log *slog.Logger) (err error) {
	if len(vols) == 0 {
		return nil
	}
	if len(hooks.Pre) > 0 || len(hooks.Post) > 0 {
		defer func() {
			perr := RunHooks(context.WithoutCancel(ctx), a.Exec, hooks.Post, log)
			if err == nil {
				err = perr
			}
		}()
	}
	if err := RunHooks(ctx, a.Exec, hooks.Pre, log); err != nil {
		return err
	}
	for _, v := range vols {
		name := tempName("cairn-snap", v.claim, runID)
		cleanups.add(func(ctx context.Context) error {
			err := a.Snap.SnapshotV1().VolumeSnapshots(opts.Namespace).Delete(ctx, name, metav1.DeleteOptions{})
			return ignoreNotFound(err, "delete VolumeSnapshot "+name)
		})
		if err := a.createSnapshot(ctx, opts.Namespace, name, v.claim, v.class, runID); err != nil {
			return err
		}
	}
	for _, v := range vols {
		if _, err := a.waitSnapshotReady(ctx, opts.Namespace, tempName("cairn-snap", v.claim, runID), opts.SnapshotTimeout); err != nil {
			return fmt.Errorf("claim %s: %w", v.claim, err)
		}
	}
	log.Info("volume snapshots ready", "count", len(vols))
	return nil
}

// moveOut streams one ready VolumeSnapshot into the repository through a Block claim and a
// mover, and returns the volume's record.
func (a *Agent) moveOut(ctx context.Context, opts BackupOptions, runID string, v plannedVolume, cleanups *cleanupList, log *slog.Logger) (Volume, error) {
	ns := opts.Namespace
	snapName := tempName("cairn-snap", v.claim, runID)
	vs, err := a.Snap.SnapshotV1().VolumeSnapshots(ns).Get(ctx, snapName, metav1.GetOptions{})
	if err != nil {
		return Volume{}, apiError(err, "get VolumeSnapshot %s", snapName)
	}
	size := v.size
	if vs.Status != nil && vs.Status.RestoreSize != nil && !vs.Status.RestoreSize.IsZero() {
		size = *vs.Status.RestoreSize
	}
	if v.mode != corev1.PersistentVolumeBlock {
		if err := a.allowModeChange(ctx, *vs.Status.BoundVolumeSnapshotContentName); err != nil {
			return Volume{}, err
		}
	}
	tmp := tempName("cairn-src", v.claim, runID)
	pvc := claimFromSnapshot(ns, tmp, snapName, v.storageClass, corev1.PersistentVolumeBlock, size, map[string]string{LabelTemporary: runID})
	cleanups.add(func(ctx context.Context) error {
		err := a.Kube.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, tmp, metav1.DeleteOptions{})
		return ignoreNotFound(err, "delete claim "+tmp)
	})
	if _, err := a.Kube.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		return Volume{}, apiError(err, "create claim %s/%s from snapshot", ns, tmp)
	}
	spec := MoverSpec{Name: tempName("cairn-mover", v.claim, runID), Namespace: ns, Claim: tmp, RunID: runID,
		Args: []string{"mover", "backup", "--device", MoverDevicePath, "--name", VolumeName(ns, v.claim),
			"--tag", TagKind + "=volume", "--tag", TagNamespace + "=" + ns, "--tag", TagAppBackup + "=" + runID,
			"--tag", TagPVC + "=" + v.claim}}
	if opts.Hostname != "" {
		spec.Args = append(spec.Args, "--host", opts.Hostname)
	}
	if err := a.Mover.RunMover(ctx, spec); err != nil {
		return Volume{}, fmt.Errorf("claim %s: %w", v.claim, err)
	}
	snap, err := a.findVolumeSnapshot(ctx, runID, v.claim)
	if err != nil {
		return Volume{}, err
	}
	log.Info("volume stored", "claim", v.claim, "snapshot", snap.ID.Short(), "size", snap.Size)
	return Volume{Claim: v.claim, Snapshot: snap.ID.String(), Size: snap.Size, VolumeMode: string(v.mode), StorageClass: v.storageClass}, nil
}

// findVolumeSnapshot finds the repository snapshot a mover wrote for claim in run runID.
func (a *Agent) findVolumeSnapshot(ctx context.Context, runID, claim string) (*repo.Snapshot, error) {
	all, err := a.Repo.Snapshots(ctx)
	if err != nil {
		return nil, fmt.Errorf("list repository snapshots: %w", err)
	}
	for _, s := range slices.Backward(all) {
		if hasTag(s, TagAppBackup+"="+runID) && hasTag(s, TagPVC+"="+claim) && hasTag(s, TagKind+"=volume") {
			return s, nil
		}
	}
	return nil, fmt.Errorf("claim %s: %w: the mover finished but wrote no snapshot tagged %s=%s", claim, ErrMoverFailed, TagAppBackup, runID)
}

func hasTag(s *repo.Snapshot, tag string) bool { return slices.Contains(s.Tags, tag) }

// tagValue returns the value of the first key=value tag with key.
func tagValue(s *repo.Snapshot, key string) string {
	for _, t := range s.Tags {
		if v, ok := strings.CutPrefix(t, key+"="); ok {
			return v
		}
	}
	return ""
}

// cleanupList collects deletions of temporary objects, run in reverse order.
type cleanupList struct {
	mu  sync.Mutex
	fns []func(context.Context) error
}

func (c *cleanupList) add(fn func(context.Context) error) {
	c.mu.Lock()
	c.fns = append(c.fns, fn)
	c.mu.Unlock()
}

// run deletes everything recorded, last first, with its own deadline; failures are logged
// (the objects carry LabelTemporary, so they can be found and removed by hand).
func (c *cleanupList) run(ctx context.Context, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	c.mu.Lock()
	fns := c.fns
	c.fns = nil
	c.mu.Unlock()
	for _, fn := range slices.Backward(fns) {
		if err := fn(ctx); err != nil {
			log.Warn("cleanup failed; delete objects labelled "+LabelTemporary+" by hand", "error", err)
		}
	}
}

func ignoreNotFound(err error, what string) error {
	if err == nil || apierrors.IsNotFound(err) {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}
