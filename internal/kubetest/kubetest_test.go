package kubetest_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/cairnbackup/cairn/internal/kubetest"
)

var (
	vsGVR      = schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshots"}
	vsClassGVR = schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshotclasses"}
	cmGVR      = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
)

func clients(t *testing.T, cfg *rest.Config) (kubernetes.Interface, dynamic.Interface) {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs, dyn
}

// TestCluster starts one cluster and checks what the Kubernetes agent's tests rely on.
func TestCluster(t *testing.T) {
	c := kubetest.Start(t)
	cs, dyn := clients(t, c.RESTConfig())
	ctx := t.Context()

	t.Run("ForceDeleteNamespace", func(t *testing.T) { testForceDelete(ctx, t, c, cs, dyn) })
	t.Run("ForceDeleteMissingNamespace", func(t *testing.T) {
		if err := c.ForceDeleteNamespace(ctx, "never-created"); err != nil {
			t.Fatalf("ForceDeleteNamespace of a missing namespace: %v", err)
		}
	})
	t.Run("RBAC", func(t *testing.T) { testRBAC(ctx, t, c, cs) })
	t.Run("PodsAndJobsWithoutControllers", func(t *testing.T) { testWorkloads(ctx, t, cs) })
	t.Run("Kubeconfig", func(t *testing.T) {
		cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig())
		if err != nil {
			t.Fatal(err)
		}
		kcs, _ := clients(t, cfg)
		if _, err := kcs.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
			t.Fatalf("get namespace default through the kubeconfig: %v", err)
		}
	})
	t.Run("Kubectl", func(t *testing.T) {
		kubectl := kubetest.KubectlBinary(t)
		manifest := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dry\n  namespace: default\ndata:\n  k: v\n"
		cmd := exec.CommandContext(ctx, kubectl, "--kubeconfig", c.Kubeconfig(), "apply", "--dry-run=server", "-f", "-")
		cmd.Stdin = strings.NewReader(manifest)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "configmap/dry created (server dry run)") {
			t.Fatalf("kubectl apply --dry-run=server: %v: %s", err, out)
		}
		if _, err := cs.CoreV1().ConfigMaps("default").Get(ctx, "dry", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("dry run created the ConfigMap: %v", err)
		}
	})
	t.Run("VolumeSnapshotClass", func(t *testing.T) {
		class := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
			"metadata":       map[string]any{"name": "csi-test"},
			"driver":         "hostpath.csi.k8s.io",
			"deletionPolicy": "Delete",
		}}
		if _, err := dyn.Resource(vsClassGVR).Create(ctx, class, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create VolumeSnapshotClass: %v", err)
		}
		bad := class.DeepCopy()
		bad.SetName("csi-bad")
		bad.Object["deletionPolicy"] = "Sometimes" // the CRD's schema allows Delete or Retain
		if _, err := dyn.Resource(vsClassGVR).Create(ctx, bad, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
			t.Fatalf("create VolumeSnapshotClass with a bad deletionPolicy: got %v, want Invalid", err)
		}
	})
	t.Run("Logs", func(t *testing.T) {
		logs := c.Logs()
		for _, want := range []string{"=== etcd ===", "=== kube-apiserver ===", "--secure-port="} {
			if !strings.Contains(logs, want) {
				t.Errorf("Logs() lacks %q", want)
			}
		}
	})
}

func testForceDelete(ctx context.Context, t *testing.T, c *kubetest.Cluster, cs kubernetes.Interface, dyn dynamic.Interface) {
	const ns = "shop"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cm := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "settings", "finalizers": []any{"cairn.test/hold"}},
		"data":     map[string]any{"k": "v"},
	}}
	if _, err := dyn.Resource(cmGVR).Namespace(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create ConfigMap: %v", err)
	}
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			},
		},
	}
	pvc, err := cs.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create PVC: %v", err)
	}
	if len(pvc.Finalizers) == 0 {
		t.Errorf("PVC has no finalizers; expected kubernetes.io/pvc-protection from admission")
	}
	vs := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
		"metadata": map[string]any{"name": "data-snap"},
		"spec": map[string]any{
			"volumeSnapshotClassName": "csi-test",
			"source":                  map[string]any{"persistentVolumeClaimName": "data"},
		},
	}}
	if _, err := dyn.Resource(vsGVR).Namespace(ns).Create(ctx, vs, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create VolumeSnapshot: %v", err)
	}

	for _, tc := range []struct {
		gvr  schema.GroupVersionResource
		want string
	}{{cmGVR, "settings"}, {vsGVR, "data-snap"}, {schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"}, "data"}} {
		list, err := dyn.Resource(tc.gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatalf("list %s: %v", tc.gvr.Resource, err)
		}
		if len(list.Items) != 1 || list.Items[0].GetName() != tc.want {
			t.Fatalf("list %s = %d items, want just %q", tc.gvr.Resource, len(list.Items), tc.want)
		}
	}

	dctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := c.ForceDeleteNamespace(dctx, ns); err != nil {
		t.Fatalf("ForceDeleteNamespace: %v", err)
	}
	if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("namespace after ForceDeleteNamespace: got %v, want NotFound", err)
	}
	// Its objects are gone too: a namespace of the same name starts empty.
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("re-create namespace: %v", err)
	}
	for _, gvr := range []schema.GroupVersionResource{cmGVR, vsGVR, {Version: "v1", Resource: "persistentvolumeclaims"}} {
		list, err := dyn.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatalf("list %s: %v", gvr.Resource, err)
		}
		if len(list.Items) != 0 {
			t.Errorf("re-created namespace holds %d old %s", len(list.Items), gvr.Resource)
		}
	}
	if err := c.ForceDeleteNamespace(dctx, ns); err != nil {
		t.Fatalf("ForceDeleteNamespace of an empty namespace: %v", err)
	}
}

func testRBAC(ctx context.Context, t *testing.T, c *kubetest.Cluster, admin kubernetes.Interface) {
	const ns = "rbac"
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	user, _ := clients(t, c.RESTConfigFor("alice", "backup-operators"))
	_, err := user.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("list configmaps without RBAC: got %v, want Forbidden", err)
	}

	// Granting the group a Role makes the same request pass (once the authorizer's cache has it).
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "read-configmaps"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"list"}}},
	}
	if _, err := admin.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "operators-read-configmaps"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "backup-operators"}},
	}
	if _, err := admin.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		_, err := user.CoreV1().ConfigMaps(ns).List(wctx, metav1.ListOptions{})
		if err == nil {
			break
		}
		if !apierrors.IsForbidden(err) {
			t.Fatalf("list configmaps with RBAC: %v", err)
		}
		select {
		case <-wctx.Done():
			t.Fatalf("list configmaps still forbidden after the RoleBinding: %v", err)
		case <-tick.C:
		}
	}
	// Only what was granted: other verbs and namespaces stay forbidden.
	if _, err := user.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("create configmap with list-only RBAC: got %v, want Forbidden", err)
	}
	if _, err := user.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("list configmaps in another namespace: got %v, want Forbidden", err)
	}
}

// testWorkloads checks that pods (privileged, without a service account) and Jobs can be
// created although no controller or kubelet runs.
func testWorkloads(ctx context.Context, t *testing.T, cs kubernetes.Interface) {
	const ns = "workloads"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	privileged := true
	spec := corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever,
		Containers: []corev1.Container{{
			Name: "mover", Image: "example.invalid/cairn:test",
			SecurityContext: &corev1.SecurityContext{Privileged: &privileged},
		}},
	}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: spec}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create privileged pod: %v", err)
	}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "j"},
		Spec:       batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: spec}},
	}
	if _, err := cs.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create job: %v", err)
	}
}

// TestStartUnavailable checks that a cluster whose binaries cannot run skips the test (it
// would fail it with CI=true).
func TestStartUnavailable(t *testing.T) {
	if os.Getenv("CI") == "true" {
		t.Skip("with CI=true an unavailable cluster fails the test, which cannot be checked from inside it")
	}
	t.Setenv(kubetest.EnvAPIServerBinary, "/nonexistent/kube-apiserver")
	t.Setenv(kubetest.EnvEtcdBinary, "/nonexistent/etcd")
	skipped := false
	done := make(chan struct{})
	// Start calls t.Skip (runtime.Goexit) in a subtest; observe it from the parent.
	t.Run("inner", func(t *testing.T) {
		defer close(done)
		defer func() { skipped = t.Skipped() }()
		kubetest.Start(t)
	})
	<-done
	if !skipped {
		t.Fatal("Start with missing binaries did not skip")
	}
}
