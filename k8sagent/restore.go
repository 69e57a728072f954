package k8sagent

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"
)

// RestoreOptions describe one restore.
type RestoreOptions struct {
	// TargetNamespace is where the application goes ("": the captured namespace).
	TargetNamespace string
	// StorageClass and MapStorageClass remap the claims' storage classes.
	StorageClass    string
	MapStorageClass map[string]string
	// AllowExistingNamespace restores into an existing namespace; objects that exist there
	// are left alone and reported in RestoreResult.Existing.
	AllowExistingNamespace bool
	// SnapshotClass for the staging snapshots of Filesystem volumes ("": the driver's default).
	SnapshotClass string
	// Timeout bounds each wait (snapshot ready, claim bound, CRD established); 0: 10 minutes.
	Timeout time.Duration
	// Parallel is how many volumes move at once; 0: 2.
	Parallel int
}

// RestoreResult lists what a restore did, as "Kind namespace/name" strings.
type RestoreResult struct {
	Namespace string            `json:"namespace"`
	Created   []string          `json:"created"`
	Existing  []string          `json:"existing,omitempty"`
	Skipped   map[string]string `json:"skipped,omitempty"` // object → reason
	Volumes   int               `json:"volumes"`
}

// createdRef is an object this restore created (for rollback).
type createdRef struct {
	gvr       schema.GroupVersionResource
	namespace string
	name      string
}

type restoreRun struct {
	a       *Agent
	opts    RestoreOptions
	rec     *AppBackup
	runID   string
	log     *slog.Logger
	mapper  *restmapper.DeferredDiscoveryRESTMapper
	res     *RestoreResult
	mu      sync.Mutex
	created []createdRef
	tmp     cleanupList
}

// Restore recreates the application of rec in order (Namespace, CRDs, cluster roles and
// storage classes if missing, ServiceAccounts/RBAC, ConfigMaps/Secrets, claims populated by
// movers, Services, workloads, other resources, Ingresses), after Transform and without the
// objects SkipReason names. It refuses an existing target namespace (ErrNamespaceExists)
// unless opts allow it, and checks storage and snapshot classes before creating anything. On
// failure it deletes what it created.
func (a *Agent) Restore(ctx context.Context, rec *AppBackup, opts RestoreOptions) (res *RestoreResult, err error) {
	if opts.TargetNamespace == "" {
		opts.TargetNamespace = rec.Namespace
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Minute
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 2
	}
	run := &restoreRun{a: a, opts: opts, rec: rec, runID: newRunID(),
		res:    &RestoreResult{Namespace: opts.TargetNamespace, Skipped: map[string]string{}},
		mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(a.Discovery))}
	run.log = a.Log.With("namespace", opts.TargetNamespace, "restore", run.runID)
	ns := opts.TargetNamespace
	_, err = a.Kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	switch {
	case err == nil && !opts.AllowExistingNamespace:
		return nil, fmt.Errorf("namespace %q: %w (choose another --to-namespace, or delete it first)", ns, ErrNamespaceExists)
	case err != nil && !apierrors.IsNotFound(err):
		return nil, apiError(err, "get namespace %q", ns)
	}
	plan := run.plan()
	if err := run.preflight(ctx, plan); err != nil {
		return nil, err
	}
	defer run.tmp.run(context.WithoutCancel(ctx), run.log)
	defer func() {
		if err != nil {
			run.rollback(context.WithoutCancel(ctx))
		}
	}()
	var claims []Object
	for i, o := range plan {
		if o.GetKind() == "PersistentVolumeClaim" && o.GetAPIVersion() == "v1" {
			claims = append(claims, o)
			if i+1 < len(plan) && plan[i+1].GetKind() == "PersistentVolumeClaim" {
				continue
			}
			if err := run.restoreClaims(ctx, claims); err != nil {
				return nil, err
			}
			continue
		}
		if err := run.create(ctx, o); err != nil {
			return nil, err
		}
	}
	run.log.Info("restore finished", "created", len(run.res.Created), "skipped", len(run.res.Skipped))
	return run.res, nil
}

// plan transforms and orders the objects to restore, noting the skipped ones.
func (r *restoreRun) plan() []Object {
	topts := TransformOptions{Namespace: r.opts.TargetNamespace, StorageClass: r.opts.StorageClass, MapStorageClass: r.opts.MapStorageClass}
	var out []Object
	for _, o := range r.rec.Objects {
		if why := SkipReason(o, r.rec.Objects); why != "" {
			r.res.Skipped[describe(o)] = why
			continue
		}
		out = append(out, Transform(o, topts))
	}
	RestoreOrder(out)
	return out
}

// preflight checks, before anything is created, that every claim's target storage class
// exists and that Filesystem volumes have a VolumeSnapshotClass for its provisioner.
func (r *restoreRun) preflight(ctx context.Context, plan []Object) error {
	for _, o := range plan {
		if o.GetKind() != "PersistentVolumeClaim" || o.GetAPIVersion() != "v1" {
			continue
		}
		v, ok := r.rec.Volume(o.GetName())
		sc, _, _ := nestedString(o, "spec", "storageClassName")
		if sc == "" {
			if ok && v.VolumeMode == "Filesystem" {
				return fmt.Errorf("claim %s: restoring a Filesystem volume needs a storage class: pass --storage-class", o.GetName())
			}
			continue
		}
		cls, err := r.a.Kube.StorageV1().StorageClasses().Get(ctx, sc, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			if _, captured := findKind(plan, "StorageClass", sc); captured {
				continue // created from the capture in an earlier phase
			}
			return fmt.Errorf("claim %s: storage class %q does not exist on this cluster (remap it with --storage-class or --map-sc old=new)", o.GetName(), sc)
		}
		if err != nil {
			return apiError(err, "get storage class %q", sc)
		}
		if ok && v.VolumeMode == "Filesystem" {
			if _, err := r.a.snapshotClassFor(ctx, cls.Provisioner, r.opts.SnapshotClass); err != nil {
				return fmt.Errorf("claim %s (Filesystem volumes are restored through a snapshot): %w", o.GetName(), err)
			}
		}
	}
	return nil
}

func findKind(objs []Object, kind, name string) (Object, bool) {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o, true
		}
	}
	return Object{}, false
}

func describe(o Object) string {
	if ns := o.GetNamespace(); ns != "" {
		return o.GetKind() + " " + ns + "/" + o.GetName()
	}
	return o.GetKind() + " " + o.GetName()
}

// resourceFor maps obj's kind to its resource (rediscovering once after new CRDs).
func (r *restoreRun) resourceFor(o Object) (*meta.RESTMapping, error) {
	gvk := o.GroupVersionKind()
	m, err := r.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		r.mapper.Reset()
		m, err = r.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: the cluster does not serve %s: %w", describe(o), gvk, err)
	}
	return m, nil
}

// create creates one object; an existing one is reported, not replaced.
func (r *restoreRun) create(ctx context.Context, o Object) error {
	m, err := r.resourceFor(o)
	if err != nil {
		return err
	}
	var ri interface {
		Create(context.Context, *unstructured.Unstructured, metav1.CreateOptions, ...string) (*unstructured.Unstructured, error)
	}
	clusterScoped := m.Scope.Name() == meta.RESTScopeNameRoot
	if clusterScoped {
		ri = r.a.Dynamic.Resource(m.Resource)
	} else {
		ri = r.a.Dynamic.Resource(m.Resource).Namespace(o.GetNamespace())
	}
	u := o.Unstructured.DeepCopy()
	_, err = ri.Create(ctx, u, metav1.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err):
		r.addResult(&r.res.Existing, describe(o))
		return nil
	case err != nil:
		return apiError(err, "create %s", describe(o))
	}
	r.mu.Lock()
	r.created = append(r.created, createdRef{m.Resource, o.GetNamespace(), o.GetName()})
	r.mu.Unlock()
	r.addResult(&r.res.Created, describe(o))
	if o.GetKind() == "CustomResourceDefinition" {
		return r.waitEstablished(ctx, o.GetName())
	}
	return nil
}

func (r *restoreRun) addResult(list *[]string, s string) {
	r.mu.Lock()
	*list = append(*list, s)
	r.mu.Unlock()
}

// waitEstablished waits until the CRD serves its resources.
func (r *restoreRun) waitEstablished(ctx context.Context, name string) error {
	c := r.a.Dynamic.Resource(gvrCRD)
	get := func(ctx context.Context, n string, o metav1.GetOptions) (*unstructured.Unstructured, error) {
		return c.Get(ctx, n, o)
	}
	_, err := waitFor(ctx, r.opts.Timeout, "CustomResourceDefinition "+name+" to be established", name, get, c.Watch,
		func(u *unstructured.Unstructured) (bool, error) {
			conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
			for _, c := range conds {
				m, _ := c.(map[string]any)
				if m["type"] == "Established" && m["status"] == "True" {
					return true, nil
				}
			}
			return false, nil
		})
	if err == nil {
		r.mapper.Reset()
	}
	return err
}

// restoreClaims creates the claims, populating those with captured data through movers.
func (r *restoreRun) restoreClaims(ctx context.Context, claims []Object) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.opts.Parallel)
	for _, c := range claims {
		v, ok := r.rec.Volume(c.GetName())
		if !ok {
			if err := r.create(ctx, c); err != nil {
				return err
			}
			continue
		}
		g.Go(func() error { return r.restoreVolume(gctx, c, v) })
	}
	return g.Wait()
}

// restoreVolume creates claim c with the data of v. A Block volume is written directly; a
// Filesystem volume is written to a Block staging claim, snapshotted, and c is created from
// that snapshot (allow-volume-mode-change).
func (r *restoreRun) restoreVolume(ctx context.Context, c Object, v Volume) error {
	var pvc corev1.PersistentVolumeClaim
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(c.Object, &pvc); err != nil {
		return fmt.Errorf("claim %s: %w", c.GetName(), err)
	}
	ns, kube := pvc.Namespace, r.a.Kube.CoreV1().PersistentVolumeClaims(pvc.Namespace)
	sc := ""
	if pvc.Spec.StorageClassName != nil {
		sc = *pvc.Spec.StorageClassName
	}
	size := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if data := resource.NewQuantity(v.Size, resource.BinarySI); size.Cmp(*data) < 0 {
		size = *data
	}
	mover := func(claim string) error {
		spec := MoverSpec{Name: tempName("cairn-mover", pvc.Name, r.runID), Namespace: ns, Claim: claim, RunID: r.runID,
			Args: []string{"mover", "restore", "--device", MoverDevicePath, "--snapshot", v.Snapshot}}
		if err := r.a.Mover.RunMover(ctx, spec); err != nil {
			return fmt.Errorf("claim %s: %w", pvc.Name, err)
		}
		return nil
	}
	if v.VolumeMode == string(corev1.PersistentVolumeBlock) {
		if err := r.create(ctx, c); err != nil {
			return err
		}
		if err := mover(pvc.Name); err != nil {
			return err
		}
		r.addVolume()
		return nil
	}
	staging := tempName("cairn-dst", pvc.Name, r.runID)
	block := corev1.PersistentVolumeBlock
	st := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: staging, Namespace: ns, Labels: map[string]string{LabelTemporary: r.runID}},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, VolumeMode: &block,
			StorageClassName: &sc,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
		},
	}
	r.tmp.add(func(ctx context.Context) error {
		return ignoreNotFound(kube.Delete(ctx, staging, metav1.DeleteOptions{}), "delete claim "+staging)
	})
	if _, err := kube.Create(ctx, st, metav1.CreateOptions{}); err != nil {
		return apiError(err, "create staging claim %s/%s", ns, staging)
	}
	if err := mover(staging); err != nil {
		return err
	}
	cls, err := r.a.Kube.StorageV1().StorageClasses().Get(ctx, sc, metav1.GetOptions{})
	if err != nil {
		return apiError(err, "get storage class %q", sc)
	}
	class, err := r.a.snapshotClassFor(ctx, cls.Provisioner, r.opts.SnapshotClass)
	if err != nil {
		return err
	}
	snapName := tempName("cairn-snap", pvc.Name, r.runID)
	r.tmp.add(func(ctx context.Context) error {
		err := r.a.Snap.SnapshotV1().VolumeSnapshots(ns).Delete(ctx, snapName, metav1.DeleteOptions{})
		return ignoreNotFound(err, "delete VolumeSnapshot "+snapName)
	})
	if err := r.a.createSnapshot(ctx, ns, snapName, staging, class, r.runID); err != nil {
		return err
	}
	vs, err := r.a.waitSnapshotReady(ctx, ns, snapName, r.opts.Timeout)
	if err != nil {
		return fmt.Errorf("claim %s: %w", pvc.Name, err)
	}
	if err := r.a.allowModeChange(ctx, *vs.Status.BoundVolumeSnapshotContentName); err != nil {
		return err
	}
	group := snapshotGroup
	final := c.Unstructured.DeepCopy()
	src := map[string]any{"apiGroup": group, "kind": "VolumeSnapshot", "name": snapName}
	_ = unstructured.SetNestedMap(final.Object, src, "spec", "dataSource")
	if err := r.create(ctx, Object{*final}); err != nil {
		return err
	}
	// The staging snapshot may go only once the claim has its volume, unless binding waits
	// for a pod (then the snapshot controller's source-protection finalizer defers deletion).
	if cls.VolumeBindingMode == nil || *cls.VolumeBindingMode != storagev1.VolumeBindingWaitForFirstConsumer {
		if err := r.a.waitClaimBound(ctx, ns, pvc.Name, r.opts.Timeout); err != nil {
			return err
		}
	}
	r.addVolume()
	return nil
}

func (r *restoreRun) addVolume() {
	r.mu.Lock()
	r.res.Volumes++
	r.mu.Unlock()
}

// rollback deletes what this restore created, newest first.
func (r *restoreRun) rollback(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	r.mu.Lock()
	created := slices.Clone(r.created)
	r.mu.Unlock()
	bg := metav1.DeletePropagationBackground
	for _, c := range slices.Backward(created) {
		var err error
		if c.namespace == "" {
			err = r.a.Dynamic.Resource(c.gvr).Delete(ctx, c.name, metav1.DeleteOptions{PropagationPolicy: &bg})
		} else {
			err = r.a.Dynamic.Resource(c.gvr).Namespace(c.namespace).Delete(ctx, c.name, metav1.DeleteOptions{PropagationPolicy: &bg})
		}
		if err != nil && !apierrors.IsNotFound(err) {
			r.log.Warn("rollback: could not delete", "resource", c.gvr.Resource, "namespace", c.namespace, "name", c.name, "error", err)
		}
	}
}
