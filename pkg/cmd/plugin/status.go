/*
Copyright The PetSet Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	petsetclient "github.com/petsets/client-go/clientset/versioned"
	petsetinformers "github.com/petsets/client-go/informers/externalversions/apps/v1alpha1"
	petsetlisters "github.com/petsets/client-go/listers/apps/v1alpha1"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/kubectl/pkg/util/templates"
)

var (
	statusLong = templates.LongDesc(`
		Show the status of the rollout of a PetSet.

		By default 'rollout status' watches the PetSet and its pets until the
		rollout is done: the controller has observed the PetSet's current
		generation, every pet is Running and Ready, and every pet at or above
		the partition runs status.updateRevision. It prints a line each time
		that changes.

		It serves every update strategy. RollingUpdate is followed as 'kubectl
		rollout status statefulset' follows it, partition included. Under
		OnDelete it reports the pets still to be deleted by hand, under Recreate
		the pets of an older revision still to go.

		With --timeout it gives up after that long and exits non-zero; with
		--watch=false it prints the status once. --revision=N fails unless
		the template being rolled out is revision N (see 'rollout history').`)

	statusExample = templates.Examples(`
		# Watch the rollout of PetSet web until it is done
		kubectl petset rollout status web

		# Give up, with a non-zero exit, if it is not done within 5 minutes
		kubectl petset rollout status web --timeout 5m

		# Print the status once
		kubectl petset rollout status web --watch=false`)
)

// StatusOptions are the inputs of `rollout status`.
type StatusOptions struct {
	Name      string
	Namespace string
	// Watch waits until the rollout is done; otherwise the status is
	// printed once.
	Watch bool
	// Timeout bounds the wait; 0 waits forever.
	Timeout time.Duration
	// Revision, when positive, is the revision number the update revision
	// must have.
	Revision int64

	PetSets petsetclient.Interface
	Kube    kubernetes.Interface
	Out     io.Writer
}

func newStatusCommand(clients Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &StatusOptions{Watch: true, Out: streams.Out}
	cmd := &cobra.Command{
		Use:                   "status NAME [--timeout DURATION] [--watch=false] [--revision N]",
		DisableFlagsInUseLine: true,
		Short:                 "Show the status of the rollout of a PetSet",
		Long:                  statusLong,
		Example:               statusExample,
		Args:                  exactlyOneName,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Timeout < 0 {
				return usageError{cmd: cmd, err: errors.New("--timeout must not be negative")}
			}
			if o.Revision < 0 {
				return usageError{cmd: cmd, err: errors.New("--revision must not be negative")}
			}
			var err error
			o.Name = args[0]
			if o.Namespace, o.PetSets, o.Kube, err = setClients(clients); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().BoolVarP(&o.Watch, "watch", "w", o.Watch, "Watch the status of the rollout until it's done.")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 0, "The length of time to wait before giving up (exit code 1), zero means never. Any other values should contain a corresponding time unit (e.g. 1s, 2m, 3h).")
	cmd.Flags().Int64Var(&o.Revision, "revision", 0, "Pin to a specific revision for showing its status: fail if the template being rolled out is another revision. Defaults to 0 (last revision).")
	return cmd
}

// Run prints the status of the rollout, and with Watch follows it until it
// is done, the PetSet goes, or Timeout passes.
func (o *StatusOptions) Run(ctx context.Context) error {
	set, err := getPetSet(ctx, o.PetSets, o.Namespace, o.Name)
	if err != nil {
		return err
	}
	selector, err := selectorOf(set)
	if err != nil {
		return err
	}
	// A first read of the pets: it reports a missing permission at once
	// rather than as a watch that never syncs.
	list, err := o.Kube.CoreV1().Pods(o.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return fmt.Errorf("listing the pets of petset %q: %w", o.Name, err)
	}
	pods := make([]*corev1.Pod, 0, len(list.Items))
	for i := range list.Items {
		pods = append(pods, &list.Items[i])
	}
	revisions := &revisionPin{want: o.Revision, namespace: o.Namespace, kube: o.Kube}
	if !o.Watch {
		msg, _, err := revisions.status(ctx, set, pods)
		if err != nil {
			return err
		}
		fmt.Fprint(o.Out, msg)
		return nil
	}

	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	last, err := o.watch(ctx, set.UID, selector, revisions)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || o.Timeout == 0 {
		return err
	}
	if last == "" {
		return fmt.Errorf("timed out after %s waiting for the rollout of petset %q", o.Timeout, o.Name)
	}
	return fmt.Errorf("timed out after %s waiting for the rollout of petset %q: %s", o.Timeout, o.Name,
		strings.TrimSuffix(strings.TrimSpace(last), "..."))
}

// watch follows the PetSet (a watch with a field selector on its name) and
// its pets (a watch with its selector), decides the status on every change
// and prints it when it differs from the last one printed. It returns when
// the rollout is done, and the last status printed.
func (o *StatusOptions) watch(ctx context.Context, uid types.UID, selector labels.Selector, revisions *revisionPin) (string, error) {
	ctx, cancel := context.WithCancel(ctx)
	setInformer := petsetinformers.NewFilteredPetSetInformer(o.PetSets, o.Namespace, 0, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc},
		func(opts *metav1.ListOptions) {
			opts.FieldSelector = fields.OneTermEqualSelector("metadata.name", o.Name).String()
		})
	podInformer := coreinformers.NewFilteredPodInformer(o.Kube, o.Namespace, 0, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc},
		func(opts *metav1.ListOptions) {
			opts.LabelSelector = selector.String()
		})
	changed := make(chan struct{}, 1)
	notify := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { signal(changed) },
		UpdateFunc: func(any, any) { signal(changed) },
		DeleteFunc: func(any) { signal(changed) },
	}
	if _, err := setInformer.AddEventHandler(notify); err != nil {
		cancel()
		return "", err
	}
	if _, err := podInformer.AddEventHandler(notify); err != nil {
		cancel()
		return "", err
	}
	var wg sync.WaitGroup
	wg.Go(func() { setInformer.RunWithContext(ctx) })
	wg.Go(func() { podInformer.RunWithContext(ctx) })
	defer func() {
		cancel()
		wg.Wait()
	}()
	if !cache.WaitForCacheSync(ctx.Done(), setInformer.HasSynced, podInformer.HasSynced) {
		return "", fmt.Errorf("watching petset %q and its pets: %w", o.Name, context.Cause(ctx))
	}
	sets := petsetlisters.NewPetSetLister(setInformer.GetIndexer())
	pods := corelisters.NewPodLister(podInformer.GetIndexer())

	var last string
	for {
		set, err := sets.PetSets(o.Namespace).Get(o.Name)
		if apierrors.IsNotFound(err) || (err == nil && set.UID != uid) {
			return last, fmt.Errorf("petset %q has been deleted", o.Name)
		}
		if err != nil {
			return last, err
		}
		pets, err := pods.Pods(o.Namespace).List(selector)
		if err != nil {
			return last, err
		}
		msg, done, err := revisions.status(ctx, set, pets)
		if err != nil {
			return last, err
		}
		if msg != last {
			fmt.Fprint(o.Out, msg)
			last = msg
		}
		if done {
			return last, nil
		}
		select {
		case <-ctx.Done():
			return last, context.Cause(ctx)
		case <-changed:
		}
	}
}

// signal sends on a channel of capacity one without blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// revisionPin checks, for --revision, that the update revision has the
// number asked for; it reads each revision once.
type revisionPin struct {
	want      int64
	namespace string
	kube      kubernetes.Interface
	numbers   map[string]int64
}

// status is rolloutStatus, failing first when the PetSet's update revision
// is not the one pinned.
func (p *revisionPin) status(ctx context.Context, set *appsv1alpha1.PetSet, pods []*corev1.Pod) (string, bool, error) {
	if p.want > 0 && observed(set) && set.Status.UpdateRevision != "" {
		name := set.Status.UpdateRevision
		number, ok := p.numbers[name]
		if !ok {
			rev, err := p.kube.AppsV1().ControllerRevisions(p.namespace).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return "", false, fmt.Errorf("reading the update revision %s of petset %q: %w", name, set.Name, err)
			}
			if p.numbers == nil {
				p.numbers = map[string]int64{}
			}
			number = rev.Revision
			p.numbers[name] = number
		}
		if number != p.want {
			return "", false, fmt.Errorf("desired revision (%d) is different from the running revision (%d)", p.want, number)
		}
	}
	return rolloutStatus(set, pods)
}

// progressDeadlineExceeded is the reason of the Progressing condition once
// spec.progressDeadlineSeconds passed without progress.
const progressDeadlineExceeded = "ProgressDeadlineExceeded"

// observed reports whether the controller has observed the PetSet's
// current generation.
func observed(set *appsv1alpha1.PetSet) bool {
	return set.Status.ObservedGeneration != nil && *set.Status.ObservedGeneration >= set.Generation
}

// rolloutStatus decides whether the rollout of set is done given its pods,
// and says what it waits for, in the words of `kubectl rollout status
// statefulset` where they apply ("pets" for "pods"):
//
//   - the controller must have observed the PetSet's generation (and so
//     written status.updateRevision for its template);
//   - the Progressing condition False with reason ProgressDeadlineExceeded
//     is an error, as kubectl rollout status deployment makes it;
//   - every pet 0..replicas-1 must be Running and Ready (not terminating,
//     not paused);
//   - every pet at or above the partition (0 but for RollingUpdate) must run
//     status.updateRevision. Under RollingUpdate that is "N out of M new
//     pets have been updated"; under OnDelete the others wait for someone to
//     delete them; under Recreate they are on their way out.
//
// Pets of ordinal replicas and above (a scale-down in progress) are left
// out, as kubectl leaves them out.
func rolloutStatus(set *appsv1alpha1.PetSet, pods []*corev1.Pod) (string, bool, error) {
	if set.DeletionTimestamp != nil {
		return "", false, fmt.Errorf("petset %q is being deleted", set.Name)
	}
	if !observed(set) {
		return "Waiting for petset spec update to be observed...\n", false, nil
	}
	if c := meta.FindStatusCondition(set.Status.Conditions, appsv1alpha1.PetSetProgressing); c != nil &&
		c.Status == metav1.ConditionFalse && c.Reason == progressDeadlineExceeded {
		return "", false, fmt.Errorf("petset %q exceeded its progress deadline: %s", set.Name, c.Message)
	}
	update := set.Status.UpdateRevision
	if update == "" {
		return "Waiting for the petset controller to record the revision of the template...\n", false, nil
	}
	replicas, partition, strategy := replicasOf(set), partitionOf(set), strategyOf(set)

	pets := petsByOrdinal(set, pods)
	notReady, updated := 0, 0
	var old []string // highest ordinal first
	for ordinal := replicas - 1; ordinal >= 0; ordinal-- {
		pod := pets[ordinal]
		if pod == nil || !petReady(pod) {
			notReady++
		}
		if pod == nil || ordinal < partition {
			continue
		}
		switch {
		case petRevision(pod) != update:
			old = append(old, pod.Name)
		case pod.DeletionTimestamp == nil:
			updated++
		}
	}

	switch strategy {
	case appsv1alpha1.OnDeletePetSetStrategyType:
		if len(old) > 0 {
			return fmt.Sprintf("waiting for %d pets to be deleted (OnDelete: %s %s an older revision than %s)...\n",
				len(old), nameList(old), runVerb(len(old)), update), false, nil
		}
	case appsv1alpha1.RecreatePetSetStrategyType:
		if len(old) > 0 {
			return fmt.Sprintf("waiting for %d pets of an older revision to be deleted (Recreate: %s)...\n",
				len(old), nameList(old)), false, nil
		}
	}
	if notReady > 0 {
		return fmt.Sprintf("Waiting for %d pets to be ready...\n", notReady), false, nil
	}
	if strategy != appsv1alpha1.RollingUpdatePetSetStrategyType {
		return fmt.Sprintf("petset roll out complete: %d pets at revision %s...\n", updated, update), true, nil
	}
	if partition > 0 {
		if want := replicas - partition; updated < want {
			return fmt.Sprintf("Waiting for partitioned roll out to finish: %d out of %d new pets have been updated...\n",
				updated, want), false, nil
		}
		return fmt.Sprintf("partitioned roll out complete: %d new pets have been updated...\n", updated), true, nil
	}
	if updated < replicas {
		return fmt.Sprintf("waiting for petset rolling update to complete %d pets at revision %s...\n", updated, update), false, nil
	}
	return fmt.Sprintf("petset rolling update complete %d pets at revision %s...\n", updated, update), true, nil
}

// nameList joins up to five names, then says how many more there are.
func nameList(names []string) string {
	const shown = 5
	if len(names) <= shown {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:shown], ", "), len(names)-shown)
}

func runVerb(n int) string {
	if n == 1 {
		return "runs"
	}
	return "run"
}
