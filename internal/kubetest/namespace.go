package kubetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// removeFinalizers is a JSON merge patch that clears metadata.finalizers.
var removeFinalizers = []byte(`{"metadata":{"finalizers":null}}`)

// ForceDeleteNamespace deletes the namespace name and every namespaced object in it, doing the
// work of the absent namespace controller: it deletes the objects (grace period 0), clears
// finalizers that hold them (such as kubernetes.io/pvc-protection), then finalizes the
// namespace through its /finalize subresource. It returns when the namespace is gone (at once
// if it does not exist) or ctx ends.
func (c *Cluster) ForceDeleteNamespace(ctx context.Context, name string) error {
	cfg := c.RESTConfig()
	cfg.WarningHandler = rest.NoWarnings{} // deprecated kinds (v1 Endpoints) are listed on purpose
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("force-delete namespace %s: client: %w", name, err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("force-delete namespace %s: dynamic client: %w", name, err)
	}
	// Deleting the namespace first puts it in Terminating, which stops new objects in it.
	err = cs.CoreV1().Namespaces().Delete(ctx, name, deleteNow())
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("force-delete namespace %s: %w", name, err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return fmt.Errorf("force-delete namespace %s: discovery client: %w", name, err)
	}
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		left, err := purgeNamespace(ctx, disc, dyn, name)
		if err != nil {
			return fmt.Errorf("force-delete namespace %s: %w", name, err)
		}
		if left == 0 {
			gone, err := finalizeNamespace(ctx, cs, name)
			if err != nil {
				return fmt.Errorf("force-delete namespace %s: %w", name, err)
			}
			if gone {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("force-delete namespace %s: %d objects left: %w", name, left, ctx.Err())
		case <-tick.C:
		}
	}
}

// deleteNow deletes without a grace period and without orphaning or foreground finalizers.
func deleteNow() metav1.DeleteOptions {
	zero := int64(0)
	bg := metav1.DeletePropagationBackground
	return metav1.DeleteOptions{GracePeriodSeconds: &zero, PropagationPolicy: &bg}
}

// purgeNamespace deletes every object of every listable, deletable namespaced resource in ns
// and clears the finalizers of those it finds. It returns how many objects it found.
func purgeNamespace(ctx context.Context, disc *discovery.DiscoveryClient, dyn dynamic.Interface, ns string) (int, error) {
	lists, err := disc.ServerPreferredNamespacedResourcesWithContext(ctx)
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return 0, fmt.Errorf("discover namespaced resources: %w", err)
	}
	found := 0
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			return found, fmt.Errorf("parse group version %q: %w", list.GroupVersion, err)
		}
		for _, r := range list.APIResources {
			if strings.Contains(r.Name, "/") || !hasVerbs(r.Verbs, "list", "delete") {
				continue
			}
			client := dyn.Resource(gv.WithResource(r.Name)).Namespace(ns)
			objs, err := client.List(ctx, metav1.ListOptions{})
			if err != nil {
				if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
					continue
				}
				return found, fmt.Errorf("list %s in %s: %w", r.Name, ns, err)
			}
			for _, o := range objs.Items {
				found++
				if err := client.Delete(ctx, o.GetName(), deleteNow()); err != nil && !apierrors.IsNotFound(err) {
					return found, fmt.Errorf("delete %s %s/%s: %w", r.Name, ns, o.GetName(), err)
				}
				if len(o.GetFinalizers()) == 0 {
					continue
				}
				_, err := client.Patch(ctx, o.GetName(), types.MergePatchType, removeFinalizers, metav1.PatchOptions{})
				if err != nil && !apierrors.IsNotFound(err) {
					return found, fmt.Errorf("clear finalizers of %s %s/%s: %w", r.Name, ns, o.GetName(), err)
				}
			}
		}
	}
	return found, nil
}

func hasVerbs(have metav1.Verbs, want ...string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// finalizeNamespace clears the namespace's finalizers (spec, through /finalize, and
// metadata) and reports whether it is gone.
func finalizeNamespace(ctx context.Context, cs kubernetes.Interface, name string) (bool, error) {
	nsClient := cs.CoreV1().Namespaces()
	ns, err := nsClient.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("get namespace: %w", err)
	}
	if len(ns.Finalizers) > 0 {
		_, err := nsClient.Patch(ctx, name, types.MergePatchType, removeFinalizers, metav1.PatchOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return false, fmt.Errorf("clear namespace finalizers: %w", err)
		}
	}
	if len(ns.Spec.Finalizers) > 0 {
		ns.Spec.Finalizers = []corev1.FinalizerName{}
		_, err := nsClient.Finalize(ctx, ns, metav1.UpdateOptions{})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return false, fmt.Errorf("finalize namespace: %w", err)
		}
	}
	_, err = nsClient.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("get namespace: %w", err)
	}
	return false, nil
}
