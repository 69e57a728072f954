package k8sagent

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func obj(m map[string]any) Object { return Object{unstructured.Unstructured{Object: m}} }

func TestTransform(t *testing.T) {
	meta := func(extra map[string]any) map[string]any {
		m := map[string]any{"name": "x", "namespace": "shop", "uid": "u", "resourceVersion": "7",
			"creationTimestamp": "2024-01-01T00:00:00Z", "managedFields": []any{}, "generation": int64(3)}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name string
		in   map[string]any
		opts TransformOptions
		want map[string]any
	}{
		{"service drops cluster IPs and node ports",
			map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": meta(nil), "status": map[string]any{},
				"spec": map[string]any{"clusterIP": "10.0.0.5", "clusterIPs": []any{"10.0.0.5"},
					"ports": []any{map[string]any{"port": int64(80), "nodePort": int64(30080)}}}},
			TransformOptions{Namespace: "copy"},
			map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "x", "namespace": "copy"},
				"spec": map[string]any{"ports": []any{map[string]any{"port": int64(80)}}}}},
		{"headless service keeps None",
			map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": meta(nil), "spec": map[string]any{"clusterIP": "None"}},
			TransformOptions{},
			map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "x", "namespace": "shop"},
				"spec": map[string]any{"clusterIP": "None"}}},
		{"pod loses nodeName",
			map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": meta(nil), "spec": map[string]any{"nodeName": "n1", "hostname": "h"}},
			TransformOptions{},
			map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "x", "namespace": "shop"},
				"spec": map[string]any{"hostname": "h"}}},
		{"claim: storage class map, binding fields and annotations dropped",
			map[string]any{"apiVersion": "v1", "kind": "PersistentVolumeClaim",
				"metadata": meta(map[string]any{"annotations": map[string]any{"pv.kubernetes.io/bind-completed": "yes", "keep": "me"}}),
				"spec": map[string]any{"storageClassName": "old", "volumeName": "pv-1",
					"dataSource": map[string]any{"kind": "VolumeSnapshot", "name": "s"}}},
			TransformOptions{MapStorageClass: map[string]string{"old": "new"}},
			map[string]any{"apiVersion": "v1", "kind": "PersistentVolumeClaim",
				"metadata": map[string]any{"name": "x", "namespace": "shop", "annotations": map[string]any{"keep": "me"}},
				"spec":     map[string]any{"storageClassName": "new"}}},
		{"claim: --storage-class wins over the map",
			map[string]any{"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta(nil), "spec": map[string]any{"storageClassName": "old"}},
			TransformOptions{StorageClass: "fast", MapStorageClass: map[string]string{"old": "new"}},
			map[string]any{"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": map[string]any{"name": "x", "namespace": "shop"},
				"spec": map[string]any{"storageClassName": "fast"}}},
		{"role binding subjects follow the namespace",
			map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta(nil),
				"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": "a", "namespace": "shop"},
					map[string]any{"kind": "ServiceAccount", "name": "b", "namespace": "other"}}},
			TransformOptions{Namespace: "copy"},
			map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": map[string]any{"name": "x", "namespace": "copy"},
				"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": "a", "namespace": "copy"},
					map[string]any{"kind": "ServiceAccount", "name": "b", "namespace": "other"}}}},
		{"namespace renamed",
			map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "shop", "uid": "u",
				"labels": map[string]any{"kubernetes.io/metadata.name": "shop"}}, "spec": map[string]any{"finalizers": []any{"kubernetes"}}},
			TransformOptions{Namespace: "copy"},
			map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "copy",
				"labels": map[string]any{"kubernetes.io/metadata.name": "copy"}}, "spec": map[string]any{}}},
		{"owner references and finalizers dropped",
			map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(map[string]any{"ownerReferences": []any{map[string]any{"kind": "X"}},
				"finalizers": []any{"f"}}), "data": map[string]any{"k": "v"}},
			TransformOptions{},
			map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "x", "namespace": "shop"},
				"data": map[string]any{"k": "v"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := obj(tt.in)
			before := in.DeepCopy()
			got := Transform(in, tt.opts)
			if !reflect.DeepEqual(got.Object, tt.want) {
				t.Errorf("Transform =\n %v\nwant\n %v", got.Object, tt.want)
			}
			if !reflect.DeepEqual(in.Object, before.Object) {
				t.Error("Transform modified its input")
			}
		})
	}
}

func TestSkipReason(t *testing.T) {
	ctrl := func(kind string) map[string]any {
		return map[string]any{"name": "x", "namespace": "shop", "ownerReferences": []any{
			map[string]any{"apiVersion": "v1", "kind": kind, "name": "o", "uid": "u", "controller": true}}}
	}
	svc := obj(map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "web", "namespace": "shop"},
		"spec": map[string]any{"selector": map[string]any{"app": "web"}}})
	manual := obj(map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "ext", "namespace": "shop"}, "spec": map[string]any{}})
	all := []Object{svc, manual}
	tests := []struct {
		name string
		o    map[string]any
		skip bool
	}{
		{"pod of a replica set", map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": ctrl("ReplicaSet")}, true},
		{"pod of a job", map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": ctrl("Job")}, true},
		{"bare pod", map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p"}}, false},
		{"pod owned by a custom controller", map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": ctrl("MyOperator")}, false},
		{"replica set of a deployment", map[string]any{"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": ctrl("Deployment")}, true},
		{"job of a cron job", map[string]any{"apiVersion": "batch/v1", "kind": "Job", "metadata": ctrl("CronJob")}, true},
		{"endpoints of a selector service", map[string]any{"apiVersion": "v1", "kind": "Endpoints", "metadata": map[string]any{"name": "web", "namespace": "shop"}}, true},
		{"endpoints of a manual service", map[string]any{"apiVersion": "v1", "kind": "Endpoints", "metadata": map[string]any{"name": "ext", "namespace": "shop"}}, false},
		{"controller endpoint slice", map[string]any{"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
			"metadata": map[string]any{"name": "s", "labels": map[string]any{"endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}}}, true},
		{"persistent volume", map[string]any{"apiVersion": "v1", "kind": "PersistentVolume", "metadata": map[string]any{"name": "pv"}}, true},
		{"root CA config map", map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "kube-root-ca.crt"}}, true},
		{"token secret", map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "t"}, "type": "kubernetes.io/service-account-token"}, true},
		{"plain secret", map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "t"}, "type": "Opaque"}, false},
		{"cairn temporary", map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "t", "labels": map[string]any{LabelTemporary: "1"}}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			why := SkipReason(obj(tt.o), all)
			if (why != "") != tt.skip {
				t.Errorf("SkipReason = %q, want skip=%v", why, tt.skip)
			}
		})
	}
}

func TestRestoreOrder(t *testing.T) {
	kinds := [][2]string{{"networking.k8s.io/v1", "Ingress"}, {"apps/v1", "Deployment"}, {"example.io/v1", "Widget"}, {"v1", "Service"},
		{"v1", "PersistentVolumeClaim"}, {"v1", "Secret"}, {"v1", "ConfigMap"}, {"rbac.authorization.k8s.io/v1", "RoleBinding"},
		{"v1", "ServiceAccount"}, {"apiextensions.k8s.io/v1", "CustomResourceDefinition"}, {"v1", "Namespace"}, {"batch/v1", "CronJob"}}
	var objs []Object
	for _, k := range kinds {
		objs = append(objs, obj(map[string]any{"apiVersion": k[0], "kind": k[1], "metadata": map[string]any{"name": "a"}}))
	}
	RestoreOrder(objs)
	var got []string
	for _, o := range objs {
		got = append(got, o.GetKind())
	}
	want := []string{"Namespace", "CustomResourceDefinition", "RoleBinding", "ServiceAccount", "ConfigMap", "Secret",
		"PersistentVolumeClaim", "Service", "CronJob", "Deployment", "Widget", "Ingress"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order %v\nwant  %v", got, want)
	}
}
