package k8sagent

import (
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// LabelTemporary marks every object the agent creates for its own use (value: the backup or
// restore run id); such objects are never captured and are always deleted afterwards.
const LabelTemporary = "cairn.io/temporary"

// excludedResources are never captured: events are history, not state; metrics and reviews are
// virtual.
var excludedResources = map[schema.GroupResource]bool{
	{Group: "", Resource: "events"}:                                        true,
	{Group: "events.k8s.io", Resource: "events"}:                           true,
	{Group: "metrics.k8s.io", Resource: "pods"}:                            true,
	{Group: "metrics.k8s.io", Resource: "nodes"}:                           true,
	{Group: "authorization.k8s.io", Resource: "localsubjectaccessreviews"}: true,
}

// CapturedResource is one API resource discovery selected for capture.
type CapturedResource struct {
	GVR  schema.GroupVersionResource
	Kind string
}

// SelectResources picks, from discovery's preferred resource lists, the namespaced resources
// to capture: listable (list and get verbs), not a subresource, not excluded. Each group
// contributes once, at the version the server prefers; the result is sorted.
func SelectResources(lists []*metav1.APIResourceList) []CapturedResource {
	var out []CapturedResource
	seen := map[schema.GroupResource]bool{}
	for _, l := range lists {
		if l == nil {
			continue
		}
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if !r.Namespaced || strings.Contains(r.Name, "/") {
				continue
			}
			if !slices.Contains(r.Verbs, "list") || !slices.Contains(r.Verbs, "get") {
				continue
			}
			gr := schema.GroupResource{Group: gv.Group, Resource: r.Name}
			if excludedResources[gr] || seen[gr] {
				continue
			}
			seen[gr] = true
			out = append(out, CapturedResource{GVR: gv.WithResource(r.Name), Kind: r.Kind})
		}
	}
	slices.SortFunc(out, func(a, b CapturedResource) int {
		if c := strings.Compare(a.GVR.Group, b.GVR.Group); c != 0 {
			return c
		}
		return strings.Compare(a.GVR.Resource, b.GVR.Resource)
	})
	return out
}
