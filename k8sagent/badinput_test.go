package k8sagent_test

import (
	"errors"
	"testing"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/k8sagent"
)

func badInput(t *testing.T, e *env) {
	ctx := e.ctx
	ns := func(name string) {
		must(t, create(ctx, e.kube.CoreV1().Namespaces(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}))
	}
	t.Run("missing RBAC", func(t *testing.T) {
		ns("rbac")
		e.volume(t, "rbac", "data", testDriver, 64<<10, corev1.PersistentVolumeBlock)
		a := e.agent(t, e.cluster.RESTConfigFor("nobody"))
		_, _, err := a.Backup(ctx, k8sagent.BackupOptions{Namespace: "rbac"})
		if !errors.Is(err, k8sagent.ErrForbidden) {
			t.Fatalf("backup without RBAC: %v, want ErrForbidden", err)
		}
		t.Logf("error: %v", err)
	})
	t.Run("no VolumeSnapshotClass", func(t *testing.T) {
		ns("nosnap")
		e.volume(t, "nosnap", "data", "other.csi.cairn.test", 64<<10, corev1.PersistentVolumeBlock)
		_, _, err := e.agent(t, e.cfg).Backup(ctx, k8sagent.BackupOptions{Namespace: "nosnap"})
		if !errors.Is(err, k8sagent.ErrNoSnapshotClass) {
			t.Fatalf("backup without a snapshot class: %v, want ErrNoSnapshotClass", err)
		}
		assertNoTemporaries(t, e, "nosnap")
	})
	t.Run("snapshot never ready", func(t *testing.T) {
		ns("stuck")
		must(t, create(ctx, e.snap.SnapshotV1().VolumeSnapshotClasses(), &snapv1.VolumeSnapshotClass{
			ObjectMeta: metav1.ObjectMeta{Name: "stuck"}, Driver: "stuck.csi.cairn.test", DeletionPolicy: snapv1.VolumeSnapshotContentDelete}))
		e.volume(t, "stuck", "data", "stuck.csi.cairn.test", 64<<10, corev1.PersistentVolumeBlock)
		runs := e.mover.runs.Load()
		_, _, err := e.agent(t, e.cfg).Backup(ctx, k8sagent.BackupOptions{Namespace: "stuck", SnapshotTimeout: 2 * time.Second})
		if !errors.Is(err, k8sagent.ErrTimeout) {
			t.Fatalf("backup with a snapshot that never gets ready: %v, want ErrTimeout", err)
		}
		if e.mover.runs.Load() != runs {
			t.Error("a mover ran although the snapshot never became ready")
		}
		assertNoTemporaries(t, e, "stuck")
		list, err := k8sagent.ListBackups(ctx, e.repo, "stuck")
		if err != nil || len(list) != 0 {
			t.Errorf("a failed backup recorded %d application backups (%v)", len(list), err)
		}
	})
}
