// Package kubetest starts a real kube-apiserver backed by a real etcd for integration tests
// of cairn's Kubernetes agent: no fake clientset, no kubelet, no controllers.
//
// Start launches etcd and kube-apiserver on 127.0.0.1 (free ports, temporary directories, a
// freshly generated CA, serving certificate and service-account key), installs the CSI
// VolumeSnapshot CRDs (snapshot.storage.k8s.io/v1) and waits until the API serves them. The
// Cluster hands out admin client configurations (RESTConfig, Kubeconfig), configurations for
// unprivileged users (RESTConfigFor, for RBAC tests) and ForceDeleteNamespace, which does the
// work of the absent namespace controller. Everything stops when the test ends.
//
// The binaries come from $CAIRN_KUBE_APISERVER_BIN and $CAIRN_ETCD_BIN, else from
// scripts/kube.sh, which builds the versions pinned in tools/kube/go.mod once into a cache.
// KubectlBinary gives a kubectl of the same version, e.g. for `kubectl apply --dry-run=server`
// against Kubeconfig().
//
// # Caveats
//
//   - Only the API server runs: no controller manager, scheduler, kubelet or CSI snapshot
//     controller. Pods and Jobs are stored but never run; VolumeSnapshots never become ready
//     unless the test sets their status; namespaces are only removed by ForceDeleteNamespace;
//     there is no garbage collector for ownerReferences.
//   - The ServiceAccount admission plugin is disabled (there is no token controller to create
//     "default" service accounts), so pods need no service account to be created.
//     Privileged containers are allowed. The watch cache is off (lists read etcd directly).
//   - When the binaries cannot be had or the servers do not start, the test is skipped
//     locally but fails when CI=true. The first use in a fresh cache builds kube-apiserver,
//     which takes many minutes: run scripts/kube.sh before `go test`.
//   - Each Start costs a few seconds (apiserver start-up and CRD establishment) and a few
//     hundred MB of memory; prefer one cluster per test that needs isolation, not per subtest.
//   - Free ports are picked by binding :0 and closing, so another process could take one in
//     between; a server that exits before it is ready is retried on fresh ports.
package kubetest
