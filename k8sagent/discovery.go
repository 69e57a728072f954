package k8sagent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
)

var (
	gvrNamespace    = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	gvrPV           = schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumes"}
	gvrStorageClass = schema.GroupVersionResource{Group: "storage.k8s.io", Version: "v1", Resource: "storageclasses"}
	gvrCRD          = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	gvrClusterRole  = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}
)

// Inventory is what discovery found for one namespace.
type Inventory struct {
	Namespace string
	// Objects are the namespaced objects and their cluster-scoped dependencies (the Namespace,
	// PersistentVolumes bound to captured claims, their StorageClasses, CRDs of captured
	// custom resources, ClusterRoles bound by captured RoleBindings).
	Objects []Object
}

// Claims returns the captured PersistentVolumeClaims.
func (inv *Inventory) Claims() []Object {
	var out []Object
	for _, o := range inv.Objects {
		if o.GetKind() == "PersistentVolumeClaim" && o.GetAPIVersion() == "v1" {
			out = append(out, o)
		}
	}
	return out
}

// Find returns the captured object of kind and name (namespace "" for cluster-scoped ones).
func (inv *Inventory) Find(kind, namespace, name string) (Object, bool) {
	for _, o := range inv.Objects {
		if o.GetKind() == kind && o.GetNamespace() == namespace && o.GetName() == name {
			return o, true
		}
	}
	return Object{}, false
}

// apiError wraps err from an API call with what was attempted, marking permission problems
// with ErrForbidden.
func apiError(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) {
		return fmt.Errorf("%s: %w: %v (grant the agent the cairn-agent ClusterRole, see deploy/rbac.yaml)", what, ErrForbidden, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Discover captures every listable namespaced resource of namespace across all API groups
// (custom resources included), narrowed by selector (nil: everything), plus the
// cluster-scoped objects they depend on. Objects labelled LabelTemporary are skipped. A
// resource the agent may not list is an error wrapping ErrForbidden: a partial capture would
// restore a broken application.
func Discover(ctx context.Context, dc discovery.DiscoveryInterface, dyn dynamic.Interface, namespace string, selector labels.Selector, log *slog.Logger) (*Inventory, error) {
	if log == nil {
		log = slog.Default()
	}
	nsObj, err := dyn.Resource(gvrNamespace).Get(ctx, namespace, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("namespace %q: %w", namespace, ErrNamespaceNotFound)
	}
	if err != nil {
		return nil, apiError(err, "get namespace %q", namespace)
	}
	lists, err := dc.ServerPreferredNamespacedResources()
	if err != nil {
		var gdf *discovery.ErrGroupDiscoveryFailed
		if !errors.As(err, &gdf) || len(lists) == 0 {
			return nil, apiError(err, "discover API resources")
		}
		// An unavailable aggregated API (e.g. metrics) must not stop a backup.
		log.Warn("some API groups could not be discovered; their resources are not captured", "error", err)
	}
	inv := &Inventory{Namespace: namespace, Objects: []Object{{*nsObj}}}
	sel := ""
	if selector != nil && !selector.Empty() {
		sel = selector.String()
	}
	resources := SelectResources(lists)
	for _, r := range resources {
		l, err := dyn.Resource(r.GVR).Namespace(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
				continue // the resource went away since discovery
			}
			return nil, apiError(err, "list %s in namespace %q", r.GVR.GroupResource(), namespace)
		}
		for _, item := range l.Items {
			if _, tmp := item.GetLabels()[LabelTemporary]; tmp {
				continue
			}
			if item.GetAPIVersion() == "" {
				item.SetAPIVersion(r.GVR.GroupVersion().String())
			}
			if item.GetKind() == "" {
				item.SetKind(r.Kind)
			}
			inv.Objects = append(inv.Objects, Object{item})
		}
	}
	if err := inv.addDependencies(ctx, dyn, resources); err != nil {
		return nil, err
	}
	sortObjects(inv.Objects)
	return inv, nil
}

// addDependencies adds the cluster-scoped objects the captured ones depend on.
func (inv *Inventory) addDependencies(ctx context.Context, dyn dynamic.Interface, resources []CapturedResource) error {
	type key struct {
		gvr  schema.GroupVersionResource
		name string
	}
	var want []key
	add := func(gvr schema.GroupVersionResource, name string) {
		k := key{gvr, name}
		if name != "" && !slices.Contains(want, k) {
			want = append(want, k)
		}
	}
	for _, o := range inv.Objects {
		switch {
		case o.GetKind() == "PersistentVolumeClaim" && o.GetAPIVersion() == "v1":
			name, _, _ := unstructured.NestedString(o.Object, "spec", "volumeName")
			add(gvrPV, name)
			sc, _, _ := unstructured.NestedString(o.Object, "spec", "storageClassName")
			add(gvrStorageClass, sc)
		case o.GetKind() == "RoleBinding" && o.GroupVersionKind().Group == "rbac.authorization.k8s.io":
			kind, _, _ := unstructured.NestedString(o.Object, "roleRef", "kind")
			if kind == "ClusterRole" {
				name, _, _ := unstructured.NestedString(o.Object, "roleRef", "name")
				add(gvrClusterRole, name)
			}
		}
	}
	// CRDs of captured custom resources: a CRD is named <plural>.<group>.
	for _, r := range resources {
		if r.GVR.Group == "" {
			continue
		}
		for _, o := range inv.Objects {
			if o.GroupVersionKind().Group == r.GVR.Group && o.GetKind() == r.Kind && o.GetNamespace() != "" {
				add(gvrCRD, r.GVR.Resource+"."+r.GVR.Group)
				break
			}
		}
	}
	for i := 0; i < len(want); i++ {
		k := want[i]
		obj, err := dyn.Resource(k.gvr).Get(ctx, k.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue // a built-in group (no CRD), or a StorageClass/ClusterRole that is gone
		}
		if err != nil {
			return apiError(err, "get %s %q", k.gvr.GroupResource(), k.name)
		}
		if k.gvr == gvrPV {
			// The StorageClass of the PV, in case the claim did not name one.
			sc, _, _ := unstructured.NestedString(obj.Object, "spec", "storageClassName")
			if sc != "" && !slices.Contains(want, key{gvrStorageClass, sc}) {
				want = append(want, key{gvrStorageClass, sc})
			}
		}
		inv.Objects = append(inv.Objects, Object{*obj})
	}
	return nil
}
