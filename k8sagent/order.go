package k8sagent

import (
	"slices"
	"strings"
)

// Restore phases, in the order objects are created.
const (
	PhaseNamespace = iota
	PhaseCRD
	PhaseClusterConfig // StorageClasses, ClusterRoles
	PhaseIdentity      // ServiceAccounts, Roles, RoleBindings
	PhaseConfig        // ConfigMaps, Secrets, LimitRanges, ResourceQuotas, NetworkPolicies
	PhaseVolume        // PersistentVolumeClaims, populated by movers
	PhaseService       // Services (and the Endpoints of selector-less ones)
	PhaseWorkload      // Deployments, StatefulSets, DaemonSets, Jobs, CronJobs, Pods, ...
	PhaseOther         // custom resources and everything else
	PhaseIngress       // Ingresses
)

// phaseOf is the restore phase of a kind (group "" is the core group).
func phaseOf(group, kind string) int {
	switch kind {
	case "Namespace":
		return PhaseNamespace
	case "CustomResourceDefinition":
		return PhaseCRD
	case "StorageClass", "ClusterRole", "ClusterRoleBinding", "PriorityClass":
		return PhaseClusterConfig
	case "ServiceAccount", "Role", "RoleBinding":
		return PhaseIdentity
	case "ConfigMap", "Secret", "LimitRange", "ResourceQuota", "NetworkPolicy", "PodDisruptionBudget":
		return PhaseConfig
	case "PersistentVolumeClaim":
		return PhaseVolume
	case "Service", "Endpoints", "EndpointSlice":
		return PhaseService
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob",
		"Pod", "HorizontalPodAutoscaler":
		if group == "" || group == "apps" || group == "batch" || group == "autoscaling" {
			return PhaseWorkload
		}
	case "Ingress":
		return PhaseIngress
	}
	return PhaseOther
}

// RestoreOrder sorts objects into restore order: by phase, then by kind, namespace and name
// (stable, so equal inputs give equal plans).
func RestoreOrder(objs []Object) {
	slices.SortStableFunc(objs, func(a, b Object) int {
		pa, pb := phaseOf(a.GroupVersionKind().Group, a.GetKind()), phaseOf(b.GroupVersionKind().Group, b.GetKind())
		if pa != pb {
			return pa - pb
		}
		for _, p := range [][2]string{{a.GetKind(), b.GetKind()}, {a.GetNamespace(), b.GetNamespace()}, {a.GetName(), b.GetName()}} {
			if c := strings.Compare(p[0], p[1]); c != 0 {
				return c
			}
		}
		return 0
	})
}
