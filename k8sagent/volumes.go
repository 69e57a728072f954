package k8sagent

import (
	"context"
	"fmt"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// CSI snapshot annotations.
const (
	// AnnotationAllowVolumeModeChange on a VolumeSnapshotContent lets a claim of another
	// volume mode be created from it (Filesystem volume → Block claim for the mover).
	AnnotationAllowVolumeModeChange = "snapshot.storage.kubernetes.io/allow-volume-mode-change"
	// AnnotationDefaultSnapshotClass marks the default VolumeSnapshotClass of a driver.
	AnnotationDefaultSnapshotClass = "snapshot.storage.kubernetes.io/is-default-class"
)

const snapshotGroup = "snapshot.storage.k8s.io"

// snapshotClassFor returns the VolumeSnapshotClass to use for driver: want when given (it
// must serve driver), else the driver's default class, else its only class.
func (a *Agent) snapshotClassFor(ctx context.Context, driver, want string) (string, error) {
	classes, err := a.Snap.SnapshotV1().VolumeSnapshotClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return "", fmt.Errorf("%w: the VolumeSnapshot API (snapshot.storage.k8s.io/v1) is not installed", ErrNoSnapshotClass)
		}
		return "", apiError(err, "list VolumeSnapshotClasses")
	}
	var match []snapv1.VolumeSnapshotClass
	for _, c := range classes.Items {
		if c.Driver != driver {
			continue
		}
		if want != "" && c.Name == want {
			return c.Name, nil
		}
		match = append(match, c)
	}
	if want != "" {
		return "", fmt.Errorf("%w: VolumeSnapshotClass %q does not exist or does not serve driver %q", ErrNoSnapshotClass, want, driver)
	}
	for _, c := range match {
		if c.Annotations[AnnotationDefaultSnapshotClass] == "true" {
			return c.Name, nil
		}
	}
	if len(match) == 1 {
		return match[0].Name, nil
	}
	if len(match) == 0 {
		return "", fmt.Errorf("%w: driver %q (create one, see docs/KUBERNETES.md)", ErrNoSnapshotClass, driver)
	}
	return "", fmt.Errorf("%w: driver %q has %d classes and none is the default; pick one with --snapshot-class", ErrNoSnapshotClass, driver, len(match))
}

// createSnapshot creates a VolumeSnapshot of claim.
func (a *Agent) createSnapshot(ctx context.Context, ns, name, claim, class, runID string) error {
	vs := &snapv1.VolumeSnapshot{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{LabelTemporary: runID}},
		Spec: snapv1.VolumeSnapshotSpec{
			Source:                  snapv1.VolumeSnapshotSource{PersistentVolumeClaimName: &claim},
			VolumeSnapshotClassName: &class,
		},
	}
	if _, err := a.Snap.SnapshotV1().VolumeSnapshots(ns).Create(ctx, vs, metav1.CreateOptions{}); err != nil {
		return apiError(err, "create VolumeSnapshot %s/%s of claim %s", ns, name, claim)
	}
	return nil
}

// waitSnapshotReady waits until the VolumeSnapshot is readyToUse and bound to a content.
func (a *Agent) waitSnapshotReady(ctx context.Context, ns, name string, timeout time.Duration) (*snapv1.VolumeSnapshot, error) {
	c := a.Snap.SnapshotV1().VolumeSnapshots(ns)
	return waitFor(ctx, timeout, fmt.Sprintf("VolumeSnapshot %s/%s to become ready", ns, name), name, c.Get, c.Watch,
		func(vs *snapv1.VolumeSnapshot) (bool, error) {
			st := vs.Status
			if st == nil {
				return false, nil
			}
			if st.Error != nil && st.Error.Message != nil && (st.ReadyToUse == nil || !*st.ReadyToUse) {
				a.Log.Warn("VolumeSnapshot reports an error", "snapshot", name, "error", *st.Error.Message)
			}
			return st.ReadyToUse != nil && *st.ReadyToUse && st.BoundVolumeSnapshotContentName != nil, nil
		})
}

// allowModeChange annotates the snapshot's content so a claim of another volume mode may be
// created from it.
func (a *Agent) allowModeChange(ctx context.Context, content string) error {
	patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:"true"}}}`, AnnotationAllowVolumeModeChange)
	_, err := a.Snap.SnapshotV1().VolumeSnapshotContents().Patch(ctx, content, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return apiError(err, "annotate VolumeSnapshotContent %s", content)
	}
	return nil
}

// claimFromSnapshot builds a claim restored from VolumeSnapshot snap.
func claimFromSnapshot(ns, name, snap, storageClass string, mode corev1.PersistentVolumeMode, size resource.Quantity, labels map[string]string) *corev1.PersistentVolumeClaim {
	group := snapshotGroup
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			VolumeMode:  &mode,
			DataSource:  &corev1.TypedLocalObjectReference{APIGroup: &group, Kind: "VolumeSnapshot", Name: snap},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
		},
	}
	if storageClass != "" {
		pvc.Spec.StorageClassName = &storageClass
	}
	return pvc
}

// waitClaimBound waits until claim is Bound.
func (a *Agent) waitClaimBound(ctx context.Context, ns, name string, timeout time.Duration) error {
	c := a.Kube.CoreV1().PersistentVolumeClaims(ns)
	_, err := waitFor(ctx, timeout, fmt.Sprintf("claim %s/%s to be bound", ns, name), name, c.Get, c.Watch,
		func(p *corev1.PersistentVolumeClaim) (bool, error) { return p.Status.Phase == corev1.ClaimBound, nil })
	return err
}
