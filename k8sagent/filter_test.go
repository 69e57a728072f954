package k8sagent

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSelectResources(t *testing.T) {
	rw := metav1.Verbs{"get", "list", "watch", "create"}
	lists := []*metav1.APIResourceList{
		{GroupVersion: "v1", APIResources: []metav1.APIResource{
			{Name: "configmaps", Kind: "ConfigMap", Namespaced: true, Verbs: rw},
			{Name: "pods", Kind: "Pod", Namespaced: true, Verbs: rw},
			{Name: "pods/log", Kind: "Pod", Namespaced: true, Verbs: metav1.Verbs{"get"}},
			{Name: "events", Kind: "Event", Namespaced: true, Verbs: rw},
			{Name: "nodes", Kind: "Node", Namespaced: false, Verbs: rw},
			{Name: "bindings", Kind: "Binding", Namespaced: true, Verbs: metav1.Verbs{"create"}},
		}},
		{GroupVersion: "events.k8s.io/v1", APIResources: []metav1.APIResource{{Name: "events", Kind: "Event", Namespaced: true, Verbs: rw}}},
		{GroupVersion: "example.io/v1", APIResources: []metav1.APIResource{{Name: "widgets", Kind: "Widget", Namespaced: true, Verbs: rw}}},
		{GroupVersion: "example.io/v1beta1", APIResources: []metav1.APIResource{{Name: "widgets", Kind: "Widget", Namespaced: true, Verbs: rw}}},
		{GroupVersion: "apps/v1", APIResources: []metav1.APIResource{{Name: "deployments", Kind: "Deployment", Namespaced: true, Verbs: rw}}},
		nil,
		{GroupVersion: "bad/group/version"},
	}
	var got []string
	for _, r := range SelectResources(lists) {
		got = append(got, r.GVR.String()+" "+r.Kind)
	}
	want := []string{
		"/v1, Resource=configmaps ConfigMap",
		"/v1, Resource=pods Pod",
		"apps/v1, Resource=deployments Deployment",
		"example.io/v1, Resource=widgets Widget",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SelectResources =\n %q\nwant\n %q", got, want)
	}
}

func TestTempName(t *testing.T) {
	long := "a-very-long-claim-name-that-goes-on-and-on-and-on-and-on-forever-and-ever"
	for _, claim := range []string{"data", long, "x-"} {
		n := tempName("cairn-snap", claim, "0123456789abcdef")
		if len(n) > 63 {
			t.Errorf("tempName(%q) = %q: %d characters", claim, n, len(n))
		}
	}
}
