package k8sagent

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TransformOptions say how captured objects change on restore.
type TransformOptions struct {
	// Namespace is the target namespace ("" keeps the captured one).
	Namespace string
	// StorageClass, when set, replaces every claim's storage class.
	StorageClass string
	// MapStorageClass maps old storage class names to new ones (after StorageClass is
	// checked: StorageClass wins).
	MapStorageClass map[string]string
}

// mapStorageClass returns the storage class a claim of class sc gets on restore.
func (t TransformOptions) mapStorageClass(sc string) string {
	if t.StorageClass != "" {
		return t.StorageClass
	}
	if n, ok := t.MapStorageClass[sc]; ok {
		return n
	}
	return sc
}

// recreatingOwners maps a kind to the controller kinds that recreate it: objects controlled
// by one of them are not restored (the restored controller makes them again).
var recreatingOwners = map[string][]string{
	"Pod":                {"ReplicaSet", "Job", "StatefulSet", "DaemonSet", "ReplicationController"},
	"ReplicaSet":         {"Deployment"},
	"Job":                {"CronJob"},
	"ControllerRevision": {"StatefulSet", "DaemonSet"},
	"EndpointSlice":      {"Service"},
}

// strippedAnnotations are written by controllers about the captured cluster's state.
var strippedAnnotations = []string{
	"pv.kubernetes.io/bind-completed",
	"pv.kubernetes.io/bound-by-controller",
	"volume.beta.kubernetes.io/storage-provisioner",
	"volume.kubernetes.io/storage-provisioner",
	"volume.kubernetes.io/selected-node",
	"deployment.kubernetes.io/revision",
	"kubectl.kubernetes.io/restartedAt",
}

// SkipReason reports why obj is not restored ("" when it is). all is the whole capture (to
// see whether a Service with a selector manages an Endpoints object).
func SkipReason(obj Object, all []Object) string {
	kind := obj.GetKind()
	if ref := metav1.GetControllerOfNoCopy(&obj); ref != nil {
		for _, k := range recreatingOwners[kind] {
			if ref.Kind == k {
				return fmt.Sprintf("recreated by its controller %s %s", ref.Kind, ref.Name)
			}
		}
	}
	switch kind {
	case "Event", "PersistentVolume", "VolumeSnapshotContent":
		return "not restored (cluster state, recreated from the repository data)"
	case "VolumeSnapshot":
		return "not restored (volume data comes from the repository)"
	case "EndpointSlice":
		if obj.GetLabels()["endpointslice.kubernetes.io/managed-by"] == "endpointslice-controller.k8s.io" {
			return "managed by the EndpointSlice controller"
		}
	case "Endpoints":
		for _, s := range all {
			if s.GetKind() == "Service" && s.GetAPIVersion() == "v1" && s.GetName() == obj.GetName() && s.GetNamespace() == obj.GetNamespace() {
				if sel, ok, _ := unstructured.NestedMap(s.Object, "spec", "selector"); ok && len(sel) > 0 {
					return "managed by the endpoints controller"
				}
			}
		}
	case "ConfigMap":
		if obj.GetName() == "kube-root-ca.crt" {
			return "published into every namespace by the cluster"
		}
	case "Secret":
		if t, _, _ := unstructured.NestedString(obj.Object, "type"); t == "kubernetes.io/service-account-token" {
			return "service account tokens are issued by the cluster"
		}
	}
	if _, tmp := obj.GetLabels()[LabelTemporary]; tmp {
		return "temporary object of a cairn run"
	}
	return ""
}

// Transform returns a copy of obj ready to create on the target cluster: server-set metadata
// (uid, resourceVersion, creationTimestamp, managedFields, generation, ownerReferences, ...)
// and status removed, cluster-specific fields (clusterIP(s), node ports, nodeName, a claim's
// volumeName and dataSource) removed, the namespace and storage classes remapped.
func Transform(obj Object, opts TransformOptions) Object {
	out := Object{*obj.DeepCopy()}
	u := &out.Unstructured
	for _, f := range []string{"uid", "resourceVersion", "creationTimestamp", "managedFields", "generation",
		"selfLink", "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences", "finalizers"} {
		unstructured.RemoveNestedField(u.Object, "metadata", f)
	}
	if ann := u.GetAnnotations(); ann != nil {
		for _, a := range strippedAnnotations {
			delete(ann, a)
		}
		if len(ann) == 0 {
			ann = nil
		}
		u.SetAnnotations(ann)
	}
	unstructured.RemoveNestedField(u.Object, "status")
	oldNS := u.GetNamespace()
	if opts.Namespace != "" && oldNS != "" {
		u.SetNamespace(opts.Namespace)
	}
	group := u.GroupVersionKind().Group
	switch u.GetKind() {
	case "Namespace":
		if opts.Namespace != "" {
			u.SetName(opts.Namespace)
		}
		unstructured.RemoveNestedField(u.Object, "spec", "finalizers")
		if l := u.GetLabels(); l != nil && opts.Namespace != "" {
			if _, ok := l["kubernetes.io/metadata.name"]; ok {
				l["kubernetes.io/metadata.name"] = opts.Namespace
				u.SetLabels(l)
			}
		}
	case "Service":
		if ip, _, _ := unstructured.NestedString(u.Object, "spec", "clusterIP"); ip != "None" {
			unstructured.RemoveNestedField(u.Object, "spec", "clusterIP")
			unstructured.RemoveNestedField(u.Object, "spec", "clusterIPs")
		}
		unstructured.RemoveNestedField(u.Object, "spec", "healthCheckNodePort")
		if ports, ok, _ := unstructured.NestedSlice(u.Object, "spec", "ports"); ok {
			for _, p := range ports {
				if m, ok := p.(map[string]any); ok {
					delete(m, "nodePort")
				}
			}
			_ = unstructured.SetNestedSlice(u.Object, ports, "spec", "ports")
		}
	case "Pod":
		unstructured.RemoveNestedField(u.Object, "spec", "nodeName")
	case "PersistentVolumeClaim":
		unstructured.RemoveNestedField(u.Object, "spec", "volumeName")
		unstructured.RemoveNestedField(u.Object, "spec", "dataSource")
		unstructured.RemoveNestedField(u.Object, "spec", "dataSourceRef")
		if sc, ok, _ := unstructured.NestedString(u.Object, "spec", "storageClassName"); ok || opts.StorageClass != "" {
			if n := opts.mapStorageClass(sc); n != "" {
				_ = unstructured.SetNestedField(u.Object, n, "spec", "storageClassName")
			}
		}
	case "RoleBinding", "ClusterRoleBinding":
		if group == "rbac.authorization.k8s.io" && opts.Namespace != "" {
			if subs, ok, _ := unstructured.NestedSlice(u.Object, "subjects"); ok {
				for _, s := range subs {
					if m, ok := s.(map[string]any); ok && m["kind"] == "ServiceAccount" && m["namespace"] == oldNS {
						m["namespace"] = opts.Namespace
					}
				}
				_ = unstructured.SetNestedSlice(u.Object, subs, "subjects")
			}
		}
	case "Job":
		if group == "batch" {
			// The controller-uid selector and labels name the captured Job's uid.
			unstructured.RemoveNestedField(u.Object, "spec", "selector")
			for _, path := range [][]string{{"spec", "template", "metadata", "labels"}} {
				if l, ok, _ := unstructured.NestedStringMap(u.Object, path...); ok {
					for _, k := range []string{"controller-uid", "batch.kubernetes.io/controller-uid", "job-name", "batch.kubernetes.io/job-name"} {
						delete(l, k)
					}
					_ = unstructured.SetNestedStringMap(u.Object, l, path...)
				}
			}
		}
	}
	return out
}
