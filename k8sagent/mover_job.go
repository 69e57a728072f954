package k8sagent

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

// MoverDevicePath is where the mover container sees the claim's block device.
const MoverDevicePath = "/dev/cairn-volume"

// MoverSpec is one volume move: read (backup) or write (restore) the Block-mode claim.
type MoverSpec struct {
	Name      string // unique DNS-1123 name for this run (the Job's name in-cluster)
	Namespace string // the claim's namespace
	Claim     string // a claim in volumeMode Block
	RunID     string // the backup or restore run (for the temporary label)
	// Args is the cairn command line after the binary name: "mover", "backup" or "restore",
	// then flags; the device is MoverDevicePath.
	Args []string
}

// MoverLauncher runs one mover to completion. In-cluster it is a JobLauncher; tests run the
// mover entrypoint in-process on a file.
type MoverLauncher interface {
	RunMover(ctx context.Context, spec MoverSpec) error
}

// JobLauncher runs movers as Kubernetes Jobs in the claim's namespace. The repository
// location and password reach the mover through a copy of RepoSecret (keys become
// environment variables: CAIRN_REPO, CAIRN_PASSWORD, and e.g. AWS_ACCESS_KEY_ID) made for each
// run and deleted with the Job.
type JobLauncher struct {
	Client              kubernetes.Interface
	Image               string // the cairn image (the binary is the entrypoint)
	RepoSecret          string
	RepoSecretNamespace string
	// Template, when set, is the base Job (see deploy/mover-job-template.yaml); its first
	// container runs the mover.
	Template *batchv1.Job
	Timeout  time.Duration // per Job; 0: 6h
	Log      *slog.Logger
}

// RunMover copies the repository secret, creates the Job, waits for it to finish and deletes
// both, also on failure.
func (l *JobLauncher) RunMover(ctx context.Context, spec MoverSpec) (err error) {
	log := l.Log
	if log == nil {
		log = slog.Default()
	}
	timeout := l.Timeout
	if timeout <= 0 {
		timeout = 6 * time.Hour
	}
	src, err := l.Client.CoreV1().Secrets(l.RepoSecretNamespace).Get(ctx, l.RepoSecret, metav1.GetOptions{})
	if err != nil {
		return apiError(err, "read repository secret %s/%s", l.RepoSecretNamespace, l.RepoSecret)
	}
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: spec.Name, Namespace: spec.Namespace, Labels: map[string]string{LabelTemporary: spec.RunID}},
		Data:       src.Data,
		Type:       corev1.SecretTypeOpaque,
	}
	cleanupCtx := context.WithoutCancel(ctx)
	if _, err := l.Client.CoreV1().Secrets(spec.Namespace).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
		return apiError(err, "create mover secret %s/%s", spec.Namespace, spec.Name)
	}
	defer func() {
		if derr := l.Client.CoreV1().Secrets(spec.Namespace).Delete(cleanupCtx, spec.Name, metav1.DeleteOptions{}); derr != nil && !apierrors.IsNotFound(derr) {
			log.Warn("could not delete the mover secret", "namespace", spec.Namespace, "name", spec.Name, "error", derr)
		}
	}()
	job := l.JobSpec(spec, spec.Name)
	jobs := l.Client.BatchV1().Jobs(spec.Namespace)
	if _, err := jobs.Create(ctx, job, metav1.CreateOptions{}); err != nil {
		return apiError(err, "create mover Job %s/%s", spec.Namespace, spec.Name)
	}
	defer func() {
		bg := metav1.DeletePropagationBackground
		if derr := jobs.Delete(cleanupCtx, spec.Name, metav1.DeleteOptions{PropagationPolicy: &bg}); derr != nil && !apierrors.IsNotFound(derr) {
			log.Warn("could not delete the mover Job", "namespace", spec.Namespace, "name", spec.Name, "error", derr)
		}
	}()
	_, err = waitFor(ctx, timeout, fmt.Sprintf("mover Job %s/%s", spec.Namespace, spec.Name), spec.Name, jobs.Get, jobs.Watch,
		func(j *batchv1.Job) (bool, error) {
			for _, c := range j.Status.Conditions {
				if c.Status != corev1.ConditionTrue {
					continue
				}
				switch c.Type {
				case batchv1.JobComplete:
					return true, nil
				case batchv1.JobFailed:
					return true, fmt.Errorf("%w: Job %s/%s: %s: %s (see the pod's log; it prints JSON lines)", ErrMoverFailed, spec.Namespace, spec.Name, c.Reason, c.Message)
				}
			}
			return false, nil
		})
	return err
}

// JobSpec returns the mover Job for spec, with its environment from secret.
func (l *JobLauncher) JobSpec(spec MoverSpec, secret string) *batchv1.Job {
	var job *batchv1.Job
	if l.Template != nil {
		job = l.Template.DeepCopy()
	} else {
		job = defaultMoverJob()
	}
	job.Name, job.Namespace, job.GenerateName = spec.Name, spec.Namespace, ""
	if job.Labels == nil {
		job.Labels = map[string]string{}
	}
	job.Labels[LabelTemporary] = spec.RunID
	job.Labels["app.kubernetes.io/component"] = "mover"
	if job.Spec.Template.Labels == nil {
		job.Spec.Template.Labels = map[string]string{}
	}
	job.Spec.Template.Labels[LabelTemporary] = spec.RunID
	pod := &job.Spec.Template.Spec
	if len(pod.Containers) == 0 {
		pod.Containers = defaultMoverJob().Spec.Template.Spec.Containers
	}
	c := &pod.Containers[0]
	if l.Image != "" {
		c.Image = l.Image
	}
	c.Args = append([]string(nil), spec.Args...)
	c.EnvFrom = append(c.EnvFrom, corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: secret}}})
	c.VolumeDevices = append(c.VolumeDevices, corev1.VolumeDevice{Name: "cairn-volume", DevicePath: MoverDevicePath})
	pod.Volumes = append(pod.Volumes, corev1.Volume{Name: "cairn-volume", VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: spec.Claim}}})
	return job
}

// defaultMoverJob is the built-in Job template (deploy/mover-job-template.yaml holds the same).
func defaultMoverJob() *batchv1.Job {
	backoff, ttl := int32(0), int32(3600)
	root, no, yes := int64(0), false, true
	return &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		Spec: batchv1.JobSpec{
			BackoffLimit:            &backoff,
			TTLSecondsAfterFinished: &ttl,
			Template: corev1.PodTemplateSpec{
				Spec: corev1.PodSpec{
					RestartPolicy:                corev1.RestartPolicyNever,
					AutomountServiceAccountToken: &no,
					Containers: []corev1.Container{{
						Name:  "mover",
						Image: "ghcr.io/cairnbackup/cairn:latest",
						Env: []corev1.EnvVar{
							{Name: "CAIRN_CACHE_DIR", Value: "/cache"},
						},
						Ports: []corev1.ContainerPort{{Name: "metrics", ContainerPort: 9090}},
						SecurityContext: &corev1.SecurityContext{
							RunAsUser: &root, AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes,
							Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
						VolumeMounts: []corev1.VolumeMount{{Name: "cache", MountPath: "/cache"}},
					}},
					Volumes: []corev1.Volume{{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
				},
			},
		},
	}
}

// ParseJobTemplate decodes a mover Job template (YAML or JSON, as in
// deploy/mover-job-template.yaml).
func ParseJobTemplate(data []byte) (*batchv1.Job, error) {
	var job batchv1.Job
	if err := yaml.UnmarshalStrict(data, &job); err != nil {
		return nil, fmt.Errorf("mover Job template: %w", err)
	}
	if len(job.Spec.Template.Spec.Containers) == 0 {
		return nil, fmt.Errorf("mover Job template: no containers")
	}
	return &job, nil
}
