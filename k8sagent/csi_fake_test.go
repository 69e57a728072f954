package k8sagent_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	snapclient "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// testDriver is the CSI driver the fake controller serves; volumes are regular files whose
// path is the volume handle.
const testDriver = "file.csi.cairn.test"

// fakeCSI plays the CSI snapshot controller and the external provisioner for testDriver:
// a VolumeSnapshot copies its source claim's file and becomes ready; a pending claim gets a
// new PersistentVolume backed by a new file (a copy of its snapshot data source, or zeros).
type fakeCSI struct {
	t    *testing.T
	kube kubernetes.Interface
	snap snapclient.Interface
	dir  string

	mu    sync.Mutex
	snaps map[string]string // namespace/name of a VolumeSnapshot → file holding its data
	n     int
}

func startFakeCSI(ctx context.Context, t *testing.T, kube kubernetes.Interface, snap snapclient.Interface) *fakeCSI {
	f := &fakeCSI{t: t, kube: kube, snap: snap, dir: t.TempDir(), snaps: map[string]string{}}
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Add(2)
	go func() {
		defer wg.Done()
		f.loop(ctx, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return snap.SnapshotV1().VolumeSnapshots("").Watch(ctx, o)
		}, func(ctx context.Context, o any) error { return f.snapshot(ctx, o.(*snapv1.VolumeSnapshot)) })
	}()
	go func() {
		defer wg.Done()
		f.loop(ctx, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return kube.CoreV1().PersistentVolumeClaims("").Watch(ctx, o)
		}, func(ctx context.Context, o any) error { return f.provision(ctx, o.(*corev1.PersistentVolumeClaim)) })
	}()
	return f
}

// loop watches from now on (and replays current objects) until ctx ends.
func (f *fakeCSI) loop(ctx context.Context, watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error), handle func(context.Context, any) error) {
	for ctx.Err() == nil {
		w, err := watchFn(ctx, metav1.ListOptions{SendInitialEvents: nil})
		if err != nil {
			return
		}
		for ev := range w.ResultChan() {
			if ev.Type != watch.Added && ev.Type != watch.Modified {
				continue
			}
			if err := handle(ctx, ev.Object); err != nil && ctx.Err() == nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				f.t.Logf("fake CSI: %v", err)
			}
		}
		w.Stop()
	}
}

func (f *fakeCSI) newFile() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	return filepath.Join(f.dir, fmt.Sprintf("vol-%d", f.n))
}

// claimFile returns the file backing a bound claim.
func claimFile(ctx context.Context, kube kubernetes.Interface, ns, claim string) (string, error) {
	pvc, err := kube.CoreV1().PersistentVolumeClaims(ns).Get(ctx, claim, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if pvc.Spec.VolumeName == "" {
		return "", fmt.Errorf("claim %s/%s is not bound", ns, claim)
	}
	pv, err := kube.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if pv.Spec.CSI == nil {
		return "", fmt.Errorf("volume %s is not CSI", pv.Name)
	}
	return pv.Spec.CSI.VolumeHandle, nil
}

func (f *fakeCSI) snapshot(ctx context.Context, vs *snapv1.VolumeSnapshot) error {
	if vs.Status != nil && vs.Status.ReadyToUse != nil && *vs.Status.ReadyToUse || vs.DeletionTimestamp != nil {
		return nil
	}
	if vs.Spec.VolumeSnapshotClassName == nil {
		return nil
	}
	class, err := f.snap.SnapshotV1().VolumeSnapshotClasses().Get(ctx, *vs.Spec.VolumeSnapshotClassName, metav1.GetOptions{})
	if err != nil || class.Driver != testDriver {
		return err // other drivers never get ready
	}
	src, err := claimFile(ctx, f.kube, vs.Namespace, *vs.Spec.Source.PersistentVolumeClaimName)
	if err != nil {
		return err
	}
	dst := f.newFile()
	size, err := copyFile(dst, src)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.snaps[vs.Namespace+"/"+vs.Name] = dst
	f.mu.Unlock()
	contentName := "snapcontent-" + string(vs.UID)
	content := &snapv1.VolumeSnapshotContent{
		ObjectMeta: metav1.ObjectMeta{Name: contentName},
		Spec: snapv1.VolumeSnapshotContentSpec{
			VolumeSnapshotRef:       corev1.ObjectReference{Namespace: vs.Namespace, Name: vs.Name, UID: vs.UID},
			DeletionPolicy:          snapv1.VolumeSnapshotContentDelete,
			Driver:                  testDriver,
			VolumeSnapshotClassName: vs.Spec.VolumeSnapshotClassName,
			Source:                  snapv1.VolumeSnapshotContentSource{SnapshotHandle: &dst},
		},
	}
	if _, err := f.snap.SnapshotV1().VolumeSnapshotContents().Create(ctx, content, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	ready := true
	q := resource.NewQuantity(size, resource.BinarySI)
	vs = vs.DeepCopy()
	vs.Status = &snapv1.VolumeSnapshotStatus{BoundVolumeSnapshotContentName: &contentName, ReadyToUse: &ready, RestoreSize: q}
	_, err = f.snap.SnapshotV1().VolumeSnapshots(vs.Namespace).UpdateStatus(ctx, vs, metav1.UpdateOptions{})
	return err
}

func (f *fakeCSI) provision(ctx context.Context, pvc *corev1.PersistentVolumeClaim) error {
	if pvc.Spec.VolumeName != "" || pvc.DeletionTimestamp != nil || pvc.Spec.StorageClassName == nil {
		return nil
	}
	sc, err := f.kube.StorageV1().StorageClasses().Get(ctx, *pvc.Spec.StorageClassName, metav1.GetOptions{})
	if err != nil || sc.Provisioner != testDriver {
		return err
	}
	size := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	file := f.newFile()
	if ds := pvc.Spec.DataSource; ds != nil && ds.Kind == "VolumeSnapshot" {
		f.mu.Lock()
		src, ok := f.snaps[pvc.Namespace+"/"+ds.Name]
		f.mu.Unlock()
		if !ok {
			return fmt.Errorf("claim %s/%s: unknown snapshot %s", pvc.Namespace, pvc.Name, ds.Name)
		}
		if _, err := copyFile(file, src); err != nil {
			return err
		}
	} else if err := os.WriteFile(file, nil, 0o600); err != nil {
		return err
	}
	if err := os.Truncate(file, max(size.Value(), fileSize(file))); err != nil {
		return err
	}
	mode := corev1.PersistentVolumeFilesystem
	if pvc.Spec.VolumeMode != nil {
		mode = *pvc.Spec.VolumeMode
	}
	pvName := "pvc-" + string(pvc.UID)
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: pvName},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
			AccessModes:                   pvc.Spec.AccessModes,
			VolumeMode:                    &mode,
			StorageClassName:              sc.Name,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
			ClaimRef:                      &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID},
			PersistentVolumeSource:        corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: testDriver, VolumeHandle: file}},
		},
	}
	if _, err := f.kube.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		return err
	}
	return bindClaim(ctx, f.kube, pvc, pvName)
}

// bindClaim sets the claim's volumeName and marks it Bound.
func bindClaim(ctx context.Context, kube kubernetes.Interface, pvc *corev1.PersistentVolumeClaim, pv string) error {
	pvc = pvc.DeepCopy()
	pvc.Spec.VolumeName = pv
	pvc, err := kube.CoreV1().PersistentVolumeClaims(pvc.Namespace).Update(ctx, pvc, metav1.UpdateOptions{})
	if err != nil {
		return err
	}
	pvc.Status.Phase = corev1.ClaimBound
	pvc.Status.Capacity = pvc.Spec.Resources.Requests
	pvc.Status.AccessModes = pvc.Spec.AccessModes
	_, err = kube.CoreV1().PersistentVolumeClaims(pvc.Namespace).UpdateStatus(ctx, pvc, metav1.UpdateOptions{})
	return err
}

func fileSize(p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func copyFile(dst, src string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return n, err
}

var _ = strings.Cut
