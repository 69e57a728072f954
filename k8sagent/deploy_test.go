package k8sagent_test

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/yaml"

	"github.com/cairnbackup/cairn/internal/kubetest"
	"github.com/cairnbackup/cairn/k8sagent"
)

// readManifests decodes every document of the deploy/*.yaml files.
func readManifests(t *testing.T) []*unstructured.Unstructured {
	files, err := filepath.Glob("../deploy/*.yaml")
	if err != nil || len(files) < 4 {
		t.Fatalf("deploy manifests: %v (%d files)", err, len(files))
	}
	var out []*unstructured.Unstructured
	for _, f := range files {
		fh, err := os.Open(f)
		must(t, err)
		dec := yaml.NewYAMLOrJSONDecoder(fh, 4096)
		for {
			var m map[string]any
			if err := dec.Decode(&m); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if m != nil {
				out = append(out, &unstructured.Unstructured{Object: m})
			}
		}
		fh.Close()
	}
	return out
}

// deployDryRun applies deploy/ with a server-side dry run (kubectl apply --dry-run=server),
// after creating the namespace for real, and dry-runs a mover Job made from the template.
func deployDryRun(t *testing.T, e *env) {
	objs := asObjects(readManifests(t))
	k8sagent.RestoreOrder(objs)
	resources := map[string]schema.GroupVersionResource{
		"Namespace": {Version: "v1", Resource: "namespaces"}, "ServiceAccount": {Version: "v1", Resource: "serviceaccounts"},
		"Secret": {Version: "v1", Resource: "secrets"}, "ConfigMap": {Version: "v1", Resource: "configmaps"},
		"ClusterRole":        {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"},
		"ClusterRoleBinding": {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"},
		"Deployment":         {Group: "apps", Version: "v1", Resource: "deployments"},
	}
	var template *batchv1.Job
	for i := range objs {
		o := &objs[i].Unstructured
		gvr, ok := resources[o.GetKind()]
		if !ok {
			t.Errorf("deploy/ has an unexpected kind %s", o.GetKind())
			continue
		}
		opts := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
		if o.GetKind() == "Namespace" {
			opts = metav1.CreateOptions{} // namespaced objects need it to exist
		}
		var err error
		if o.GetNamespace() == "" {
			_, err = e.dyn.Resource(gvr).Create(e.ctx, o, opts)
		} else {
			_, err = e.dyn.Resource(gvr).Namespace(o.GetNamespace()).Create(e.ctx, o, opts)
		}
		if err != nil {
			t.Errorf("%s %s: %v", o.GetKind(), o.GetName(), err)
		}
		if o.GetKind() == "ConfigMap" && o.GetName() == "cairn-mover-template" {
			s, _, _ := unstructured.NestedString(o.Object, "data", "job.yaml")
			job, err := k8sagent.ParseJobTemplate([]byte(s))
			if err != nil {
				t.Fatalf("mover template: %v", err)
			}
			template = job
		}
	}
	if template == nil {
		t.Fatal("deploy/ has no cairn-mover-template ConfigMap")
	}
	jl := &k8sagent.JobLauncher{Client: e.kube, Image: "cairn:test", Template: template}
	job := jl.JobSpec(k8sagent.MoverSpec{Name: "cairn-mover-x", Namespace: "cairn-system", Claim: "c", RunID: "0123456789abcdef",
		Args: []string{"mover", "backup", "--device", k8sagent.MoverDevicePath}}, "cairn-repository")
	if _, err := e.kube.BatchV1().Jobs("cairn-system").Create(e.ctx, job, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Errorf("mover Job from the template: %v", err)
	}
	if c := job.Spec.Template.Spec.Containers[0]; c.Image != "cairn:test" || len(c.VolumeDevices) != 1 || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("mover Job from the template lost its settings: %+v", c)
	}

	// What the README tells a cluster admin to run, with the real kubectl (the namespace
	// exists now, so every object is validated by the server).
	kubectl := kubetest.KubectlBinary(t)
	out, err := exec.CommandContext(e.ctx, kubectl, "--kubeconfig", e.cluster.Kubeconfig(),
		"apply", "--dry-run=server", "-f", "../deploy/").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl apply --dry-run=server -f deploy/: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "(server dry run)"); n < len(objs) {
		t.Errorf("kubectl validated %d objects, deploy/ has %d:\n%s", n, len(objs), out)
	}
}

func asObjects(us []*unstructured.Unstructured) []k8sagent.Object {
	out := make([]k8sagent.Object, len(us))
	for i, u := range us {
		out[i] = k8sagent.Object{Unstructured: *u}
	}
	return out
}

var _ runtime.Object = (*batchv1.Job)(nil)

// deployRBAC binds a user to the ClusterRole of deploy/rbac.yaml and runs a backup and a
// restore as that user: the least privilege must be enough.
func deployRBAC(t *testing.T, e *env) {
	for _, o := range readManifests(t) {
		if o.GetKind() != "ClusterRole" {
			continue
		}
		o.SetName("cairn-agent-test")
		_, err := e.dyn.Resource(schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}).Create(e.ctx, o, metav1.CreateOptions{})
		must(t, err)
	}
	must(t, create(e.ctx, e.kube.RbacV1().ClusterRoleBindings(), &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "cairn-agent-test"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cairn-agent-test"},
		Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "cairn-agent-user"}},
	}))
	a := e.agent(t, e.cluster.RESTConfigFor("cairn-agent-user"))
	rec, _, err := a.Backup(e.ctx, k8sagent.BackupOptions{Namespace: "shop-copy", SnapshotTimeout: time.Minute})
	if err != nil {
		t.Fatalf("backup with the deploy/ RBAC: %v", err)
	}
	if _, err := a.Restore(e.ctx, rec, k8sagent.RestoreOptions{TargetNamespace: "shop-rbac", Timeout: time.Minute}); err != nil {
		t.Fatalf("restore with the deploy/ RBAC: %v", err)
	}
}
