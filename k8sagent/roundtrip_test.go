package k8sagent_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	snapclient "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/crypto"
	"github.com/cairnbackup/cairn/internal/kubetest"
	"github.com/cairnbackup/cairn/k8sagent"
	"github.com/cairnbackup/cairn/k8sagent/mover"
	"github.com/cairnbackup/cairn/repo"
)

const testPassword = "k8s-test-password"

// fileMover runs the mover entrypoint in-process with the arguments the Job would get, on the
// file backing the claim. It also checks the Job the JobLauncher would create with a
// server-side dry run.
type fileMover struct {
	t       *testing.T
	kube    kubernetes.Interface
	repoDir string
	runs    atomic.Int32
}

func (m *fileMover) RunMover(ctx context.Context, spec k8sagent.MoverSpec) error {
	// In-cluster, the Job's pod could not start before its claim is bound.
	if err := waitBound(ctx, m.kube, spec.Namespace, spec.Claim); err != nil {
		return err
	}
	jl := &k8sagent.JobLauncher{Client: m.kube, Image: "cairn:test"}
	job := jl.JobSpec(spec, spec.Name)
	if _, err := m.kube.BatchV1().Jobs(spec.Namespace).Create(ctx, job, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		return err
	}
	file, err := claimFile(ctx, m.kube, spec.Namespace, spec.Claim)
	if err != nil {
		return err
	}
	args := job.Spec.Template.Spec.Containers[0].Args
	if args[0] != "mover" {
		m.t.Errorf("Job args %q do not start with mover", args)
	}
	var local []string
	for _, a := range args[1:] {
		local = append(local, strings.ReplaceAll(a, k8sagent.MoverDevicePath, file))
	}
	env := map[string]string{"CAIRN_REPO": m.repoDir, "CAIRN_PASSWORD": testPassword, "CAIRN_CACHE_DIR": "off"}
	var out, errb bytes.Buffer
	err = mover.Run(ctx, local, mover.Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }})
	m.runs.Add(1)
	if err != nil {
		m.t.Logf("mover output: %s %s", out.String(), errb.String())
		return err
	}
	if !strings.Contains(out.String(), `"type":"summary"`) {
		m.t.Errorf("mover printed no summary line: %s", out.String())
	}
	return nil
}

func waitBound(ctx context.Context, kube kubernetes.Interface, ns, name string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c := kube.CoreV1().PersistentVolumeClaims(ns)
	for {
		pvc, err := c.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if pvc.Spec.VolumeName != "" {
			return nil
		}
		w, err := c.Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String(), ResourceVersion: pvc.ResourceVersion})
		if err != nil {
			return err
		}
		for ev := range w.ResultChan() {
			if p, ok := ev.Object.(*corev1.PersistentVolumeClaim); ok && ev.Type == watch.Modified && p.Spec.VolumeName != "" {
				break
			}
		}
		w.Stop()
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

type env struct {
	ctx     context.Context
	cluster *kubetest.Cluster
	cfg     *rest.Config
	kube    kubernetes.Interface
	dyn     dynamic.Interface
	snap    snapclient.Interface
	repo    *repo.Repository
	repoDir string
	csi     *fakeCSI
	mover   *fileMover
}

func newEnv(t *testing.T) *env {
	c := kubetest.Start(t)
	ctx := t.Context()
	e := &env{ctx: ctx, cluster: c, cfg: c.RESTConfig()}
	e.kube = kubernetes.NewForConfigOrDie(e.cfg)
	e.dyn = dynamic.NewForConfigOrDie(e.cfg)
	e.snap = snapclient.NewForConfigOrDie(e.cfg)
	e.repoDir = filepath.Join(t.TempDir(), "repo")
	kdf := crypto.TestKDFParams()
	r, err := repo.Init(ctx, e.repoDir, repo.InitOptions{Password: []byte(testPassword), KDF: &kdf, CacheDir: "off"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	e.repo = r
	e.csi = startFakeCSI(ctx, t, e.kube, e.snap)
	e.mover = &fileMover{t: t, kube: e.kube, repoDir: e.repoDir}
	for _, sc := range []string{"fast", "fast2"} {
		must(t, create(ctx, e.kube.StorageV1().StorageClasses(), &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: sc}, Provisioner: testDriver}))
	}
	must(t, create(ctx, e.snap.SnapshotV1().VolumeSnapshotClasses(), &snapv1.VolumeSnapshotClass{
		ObjectMeta: metav1.ObjectMeta{Name: "files"}, Driver: testDriver, DeletionPolicy: snapv1.VolumeSnapshotContentDelete}))
	return e
}

func (e *env) agent(t *testing.T, cfg *rest.Config) *k8sagent.Agent {
	a, err := k8sagent.NewAgent(cfg, e.repo, e.mover, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

type creator[T any] interface {
	Create(context.Context, T, metav1.CreateOptions) (T, error)
}

func create[T any](ctx context.Context, c creator[T], obj T) error {
	_, err := c.Create(ctx, obj, metav1.CreateOptions{})
	return err
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// volume creates a PV backed by a file of random data and a claim bound to it.
func (e *env) volume(t *testing.T, ns, claim, driver string, size int64, mode corev1.PersistentVolumeMode) []byte {
	data := make([]byte, size)
	rand.Read(data)
	file := filepath.Join(t.TempDir(), claim+".img")
	must(t, os.WriteFile(file, data, 0o600))
	q := *resource.NewQuantity(size, resource.BinarySI)
	sc := "fast"
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: claim, Namespace: ns, Labels: map[string]string{"app": "shop"}},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: &sc, VolumeMode: &mode, VolumeName: ns + "-" + claim,
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: q}}},
	}
	pvc, err := e.kube.CoreV1().PersistentVolumeClaims(ns).Create(e.ctx, pvc, metav1.CreateOptions{})
	must(t, err)
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: ns + "-" + claim},
		Spec: corev1.PersistentVolumeSpec{Capacity: corev1.ResourceList{corev1.ResourceStorage: q}, VolumeMode: &mode,
			AccessModes: pvc.Spec.AccessModes, StorageClassName: sc,
			ClaimRef:               &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: ns, Name: claim, UID: pvc.UID},
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: driver, VolumeHandle: file}}},
	}
	must(t, create(e.ctx, e.kube.CoreV1().PersistentVolumes(), pv))
	pvc.Status.Phase = corev1.ClaimBound
	pvc.Status.Capacity = pvc.Spec.Resources.Requests
	_, err = e.kube.CoreV1().PersistentVolumeClaims(ns).UpdateStatus(e.ctx, pvc, metav1.UpdateOptions{})
	must(t, err)
	return data
}

var widgetCRD = schema.GroupVersionResource{Group: "example.cairn.io", Version: "v1", Resource: "widgets"}

// shop creates the test application.
func (e *env) shop(t *testing.T, ns string) map[string][]byte {
	ctx := e.ctx
	must(t, create(ctx, e.kube.CoreV1().Namespaces(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	lbl := map[string]string{"app": "shop"}
	must(t, create(ctx, e.kube.CoreV1().ConfigMaps(ns), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "shop-config", Labels: lbl}, Data: map[string]string{"mode": "production"}}))
	must(t, create(ctx, e.kube.CoreV1().Secrets(ns), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "shop-secret", Labels: lbl}, Data: map[string][]byte{"token": []byte("s3cr3t")}}))
	must(t, create(ctx, e.kube.CoreV1().ServiceAccounts(ns), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: lbl}}))
	must(t, create(ctx, e.kube.RbacV1().RoleBindings(ns), &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "shop-view", Labels: lbl},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "view"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "shop", Namespace: ns}}}))
	must(t, create(ctx, e.kube.CoreV1().Services(ns), &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: lbl},
		Spec: corev1.ServiceSpec{Selector: lbl, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}))
	one := int32(1)
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: lbl},
		Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: lbl}, Spec: corev1.PodSpec{
				ServiceAccountName: "shop",
				Containers:         []corev1.Container{{Name: "web", Image: "nginx:1.27", VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}},
				Volumes:            []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}},
			}}}}
	dep, err := e.kube.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{})
	must(t, err)
	// A ReplicaSet as the Deployment controller would make it: not restored.
	yes := true
	must(t, create(ctx, e.kube.AppsV1().ReplicaSets(ns), &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "shop-abc12", Labels: lbl,
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "shop", UID: dep.UID, Controller: &yes}}},
		Spec: appsv1.ReplicaSetSpec{Selector: dep.Spec.Selector, Template: dep.Spec.Template}}))
	// A CRD and an instance.
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "widgets.example.cairn.io"},
		"spec": map[string]any{"group": "example.cairn.io", "scope": "Namespaced",
			"names": map[string]any{"plural": "widgets", "singular": "widget", "kind": "Widget"},
			"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}}}
	if _, err := e.dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}).Create(ctx, crd, metav1.CreateOptions{}); err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
	widget := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.cairn.io/v1", "kind": "Widget",
		"metadata": map[string]any{"name": "w1", "labels": map[string]any{"app": "shop"}}, "spec": map[string]any{"color": "blue"}}}
	for {
		_, err = e.dyn.Resource(widgetCRD).Namespace(ns).Create(ctx, widget, metav1.CreateOptions{})
		if err == nil || !strings.Contains(err.Error(), "the server could not find the requested resource") {
			break
		}
		// The CRD is not established yet: wait for the next change of it.
		waitCRD(t, e)
	}
	must(t, err)
	return map[string][]byte{
		"data": e.volume(t, ns, "data", testDriver, 4<<20, corev1.PersistentVolumeFilesystem),
		"raw":  e.volume(t, ns, "raw", testDriver, 1<<20+4096, corev1.PersistentVolumeBlock),
	}
}

func waitCRD(t *testing.T, e *env) {
	c := e.dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
	defer cancel()
	w, err := c.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=widgets.example.cairn.io"})
	must(t, err)
	defer w.Stop()
	for ev := range w.ResultChan() {
		u, ok := ev.Object.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			if m := c.(map[string]any); m["type"] == "Established" && m["status"] == "True" {
				return
			}
		}
	}
}

func TestKubernetesRoundTrip(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	data := e.shop(t, "shop")
	agent := e.agent(t, e.cfg)

	rec, snap, err := agent.Backup(ctx, k8sagent.BackupOptions{Namespace: "shop", SnapshotTimeout: time.Minute})
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	if len(rec.Volumes) != 2 || e.mover.runs.Load() != 2 {
		t.Fatalf("backup recorded %d volumes in %d mover runs, want 2", len(rec.Volumes), e.mover.runs.Load())
	}
	for _, want := range [][2]string{{"Namespace", "shop"}, {"CustomResourceDefinition", "widgets.example.cairn.io"},
		{"StorageClass", "fast"}, {"PersistentVolume", "shop-data"}, {"ClusterRole", "view"}, {"Widget", "w1"},
		{"Deployment", "shop"}, {"ConfigMap", "shop-config"}, {"Secret", "shop-secret"}, {"Service", "shop"}} {
		if !hasObject(rec.Objects, want[0], want[1]) {
			t.Errorf("capture lacks %s %s", want[0], want[1])
		}
	}
	assertNoTemporaries(t, e, "shop")

	list, err := k8sagent.ListBackups(ctx, e.repo, "shop")
	if err != nil || len(list) != 1 || list[0].Snapshot.ID != snap.ID {
		t.Fatalf("ListBackups = %v, %v", list, err)
	}
	loaded, _, err := k8sagent.LoadBackup(ctx, e.repo, snap.ID.String()[:12], "")
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded.Objects) != len(rec.Objects) || loaded.ID != rec.ID {
		t.Fatalf("loaded record differs: %d objects, id %s", len(loaded.Objects), loaded.ID)
	}

	must(t, e.cluster.ForceDeleteNamespace(ctx, "shop"))

	t.Run("restore in place", func(t *testing.T) {
		res, err := agent.Restore(ctx, loaded, k8sagent.RestoreOptions{Timeout: time.Minute})
		if err != nil {
			t.Fatalf("restore: %v", err)
		}
		if res.Volumes != 2 {
			t.Errorf("restored %d volumes, want 2", res.Volumes)
		}
		if _, ok := res.Skipped["ReplicaSet shop/shop-abc12"]; !ok {
			t.Errorf("the Deployment's ReplicaSet was not skipped: %v", res.Skipped)
		}
		compare(t, e, loaded, "shop", k8sagent.TransformOptions{}, data)
	})
	t.Run("restore to another namespace with storage class remap", func(t *testing.T) {
		opts := k8sagent.RestoreOptions{TargetNamespace: "shop-copy", StorageClass: "fast2", Timeout: time.Minute}
		if _, err := agent.Restore(ctx, loaded, opts); err != nil {
			t.Fatalf("restore: %v", err)
		}
		compare(t, e, loaded, "shop-copy", k8sagent.TransformOptions{Namespace: "shop-copy", StorageClass: "fast2"}, data)
		for _, c := range []string{"data", "raw"} {
			pvc, err := e.kube.CoreV1().PersistentVolumeClaims("shop-copy").Get(ctx, c, metav1.GetOptions{})
			must(t, err)
			if *pvc.Spec.StorageClassName != "fast2" {
				t.Errorf("claim %s has storage class %s, want fast2", c, *pvc.Spec.StorageClassName)
			}
		}
		rb, err := e.kube.RbacV1().RoleBindings("shop-copy").Get(ctx, "shop-view", metav1.GetOptions{})
		must(t, err)
		if rb.Subjects[0].Namespace != "shop-copy" {
			t.Errorf("RoleBinding subject namespace %q, want shop-copy", rb.Subjects[0].Namespace)
		}

		// Again into the now existing namespace: refused, nothing created.
		before := countObjects(t, e, "shop-copy")
		_, err = agent.Restore(ctx, loaded, opts)
		if !errors.Is(err, k8sagent.ErrNamespaceExists) {
			t.Fatalf("restore into an existing namespace: %v, want ErrNamespaceExists", err)
		}
		if after := countObjects(t, e, "shop-copy"); after != before {
			t.Errorf("refused restore changed the namespace: %d objects, had %d", after, before)
		}
	})
	t.Run("bad input", func(t *testing.T) { badInput(t, e) })
	t.Run("deploy manifests", func(t *testing.T) { deployDryRun(t, e) })
	t.Run("deploy RBAC suffices", func(t *testing.T) { deployRBAC(t, e) })
}

func hasObject(objs []k8sagent.Object, kind, name string) bool {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return true
		}
	}
	return false
}

// compare checks every restored object against its capture (both through Transform) and
// every volume byte for byte.
func compare(t *testing.T, e *env, rec *k8sagent.AppBackup, ns string, topts k8sagent.TransformOptions, data map[string][]byte) {
	t.Helper()
	checked := 0
	for _, o := range rec.Objects {
		if o.GetNamespace() == "" || k8sagent.SkipReason(o, rec.Objects) != "" {
			continue
		}
		gvk := o.GroupVersionKind()
		gvr, _ := metaResource(gvk.GroupVersion().WithKind(gvk.Kind))
		live, err := e.dyn.Resource(gvr).Namespace(ns).Get(e.ctx, o.GetName(), metav1.GetOptions{})
		if err != nil {
			t.Errorf("restored %s %s: %v", gvk.Kind, o.GetName(), err)
			continue
		}
		want := k8sagent.Transform(o, topts)
		got := k8sagent.Transform(k8sagent.Object{Unstructured: *live}, topts)
		if gvk.Kind == "PersistentVolumeClaim" {
			// Restored claims come from staging snapshots.
			unstructured.RemoveNestedField(got.Object, "spec", "dataSource")
			unstructured.RemoveNestedField(got.Object, "spec", "dataSourceRef")
		}
		if !reflect.DeepEqual(want.Object, got.Object) {
			t.Errorf("%s %s differs after restore:\n want %v\n got  %v", gvk.Kind, o.GetName(), want.Object, got.Object)
		}
		checked++
	}
	if checked < 9 {
		t.Errorf("compared only %d objects", checked)
	}
	for claim, want := range data {
		file, err := claimFile(e.ctx, e.kube, ns, claim)
		must(t, err)
		got, err := os.ReadFile(file)
		must(t, err)
		if len(got) < len(want) || !bytes.Equal(got[:len(want)], want) || len(bytes.Trim(got[len(want):], "\x00")) != 0 {
			t.Errorf("claim %s/%s: restored data differs (%d bytes, want %d)", ns, claim, len(got), len(want))
		}
	}
}

// metaResource maps the kinds of the test application to resources.
func metaResource(gvk schema.GroupVersionKind) (schema.GroupVersionResource, bool) {
	plural := map[string]string{"ConfigMap": "configmaps", "Secret": "secrets", "Service": "services", "ServiceAccount": "serviceaccounts",
		"Deployment": "deployments", "ReplicaSet": "replicasets", "PersistentVolumeClaim": "persistentvolumeclaims",
		"RoleBinding": "rolebindings", "Widget": "widgets", "Endpoints": "endpoints", "EndpointSlice": "endpointslices"}[gvk.Kind]
	return gvk.GroupVersion().WithResource(plural), plural != ""
}

func countObjects(t *testing.T, e *env, ns string) int {
	n := 0
	for _, r := range []schema.GroupVersionResource{{Version: "v1", Resource: "configmaps"}, {Version: "v1", Resource: "persistentvolumeclaims"},
		{Group: "apps", Version: "v1", Resource: "deployments"}, {Version: "v1", Resource: "services"}, {Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshots"}} {
		l, err := e.dyn.Resource(r).Namespace(ns).List(e.ctx, metav1.ListOptions{})
		must(t, err)
		n += len(l.Items)
	}
	return n
}

// assertNoTemporaries checks that no object labelled cairn.io/temporary is left in ns.
func assertNoTemporaries(t *testing.T, e *env, ns string) {
	t.Helper()
	sel := metav1.ListOptions{LabelSelector: k8sagent.LabelTemporary}
	pvcs, err := e.kube.CoreV1().PersistentVolumeClaims(ns).List(e.ctx, sel)
	must(t, err)
	vss, err := e.snap.SnapshotV1().VolumeSnapshots(ns).List(e.ctx, sel)
	must(t, err)
	// Deleted objects that wait for a finalizer of an absent controller (pvc-protection) count
	// as gone.
	left := 0
	for _, p := range pvcs.Items {
		if p.DeletionTimestamp == nil {
			left++
		}
	}
	for _, v := range vss.Items {
		if v.DeletionTimestamp == nil {
			left++
		}
	}
	if left != 0 {
		t.Errorf("temporary objects left in %s: %d claims, %d VolumeSnapshots", ns, len(pvcs.Items), len(vss.Items))
	}
}
