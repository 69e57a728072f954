package kubetest

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// crdFS holds the snapshot.storage.k8s.io CRDs of external-snapshotter (see crds/README.md).
//
//go:embed crds/*.yaml
var crdFS embed.FS

// snapshotGroupVersion is the API the installed CRDs serve.
const snapshotGroupVersion = "snapshot.storage.k8s.io/v1"

// crdCreateDelay is how long after a CRD is Established the API server holds creates.
const crdCreateDelay = 2 * time.Second

var crdGVR = schema.GroupVersionResource{
	Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions",
}

// snapshotCRDs decodes the embedded CRD manifests.
func snapshotCRDs() ([]*unstructured.Unstructured, error) {
	names, err := crdFS.ReadDir("crds")
	if err != nil {
		return nil, fmt.Errorf("read embedded CRDs: %w", err)
	}
	var out []*unstructured.Unstructured
	for _, e := range names {
		if path.Ext(e.Name()) != ".yaml" {
			continue
		}
		data, err := crdFS.ReadFile("crds/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("read embedded CRD %s: %w", e.Name(), err)
		}
		dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			obj := &unstructured.Unstructured{}
			if err := dec.Decode(&obj.Object); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return nil, fmt.Errorf("decode CRD %s: %w", e.Name(), err)
			}
			if len(obj.Object) == 0 {
				continue
			}
			if obj.GetKind() != "CustomResourceDefinition" {
				return nil, fmt.Errorf("decode CRD %s: unexpected kind %q", e.Name(), obj.GetKind())
			}
			out = append(out, obj)
		}
	}
	return out, nil
}

// installCRDs creates the VolumeSnapshot CRDs and waits until they are Established and
// their resources appear in discovery.
func installCRDs(ctx context.Context, cfg *rest.Config) error {
	crds, err := snapshotCRDs()
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("dynamic client: %w", err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return fmt.Errorf("discovery client: %w", err)
	}
	client := dyn.Resource(crdGVR)
	var resources []string
	for _, crd := range crds {
		if _, err := client.Create(ctx, crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create CRD %s: %w", crd.GetName(), err)
		}
		plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
		resources = append(resources, plural)
	}
	var established time.Time // the latest Established transition
	err = poll(ctx, nil, func() error {
		for _, crd := range crds {
			got, err := client.Get(ctx, crd.GetName(), metav1.GetOptions{})
			if err != nil {
				return fmt.Errorf("get CRD %s: %w", crd.GetName(), err)
			}
			at, ok := crdEstablished(got)
			if !ok {
				return fmt.Errorf("CRD %s not established", crd.GetName())
			}
			if at.After(established) {
				established = at
			}
		}
		list, err := disc.ServerResourcesForGroupVersionWithContext(ctx, snapshotGroupVersion)
		if err != nil {
			return fmt.Errorf("discover %s: %w", snapshotGroupVersion, err)
		}
		for _, r := range resources {
			if !slices.ContainsFunc(list.APIResources, func(a metav1.APIResource) bool { return a.Name == r }) {
				return fmt.Errorf("%s/%s not in discovery yet", snapshotGroupVersion, r)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// The API server delays every create of a custom resource by 2s while its CRD has been
	// Established for less than 2s (apiextensions-apiserver customresource_handler.go, for HA
	// servers). Wait that window out once here rather than in each test's first create.
	// The server compares against the same (second-truncated) condition time.
	wait := time.NewTimer(time.Until(established.Add(crdCreateDelay + 50*time.Millisecond)))
	defer wait.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("wait for new CRDs to accept creates: %w", ctx.Err())
	case <-wait.C:
		return nil
	}
}

// crdEstablished reports whether a CRD's Established condition is True, and since when.
func crdEstablished(crd *unstructured.Unstructured) (time.Time, bool) {
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if ok && m["type"] == "Established" && m["status"] == "True" {
			ts, _ := m["lastTransitionTime"].(string)
			at, err := time.Parse(time.RFC3339, ts)
			if err != nil {
				at = time.Now() // unknown: assume just now, which only waits longer
			}
			return at, true
		}
	}
	return time.Time{}, false
}
