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

package petset

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	petsetdefaults "github.com/petsets/petset/pkg/apis/apps/v1alpha1"
)

// changeCauseAnnotation is the annotation `kubectl rollout history` (and
// `kubectl petset rollout history`) shows as a revision's CHANGE-CAUSE.
const changeCauseAnnotation = "kubernetes.io/change-cause"

// revisionHashLength is the length of the hash suffix of a revision name,
// as apps/v1's.
const revisionHashLength = 10

// maxCollisionAttempts bounds the name collisions resolved within one sync;
// the collision count is kept in the status, so the next sync goes on.
const maxCollisionAttempts = 5

// revisionControlInterface reads and writes the ControllerRevisions that
// hold a PetSet's templates.
type revisionControlInterface interface {
	// ListRevisions returns the revisions set controls, from the cache.
	ListRevisions(set *appsv1alpha1.PetSet) ([]*appsv1.ControllerRevision, error)
	// GetRevision reads a revision from the API server.
	GetRevision(ctx context.Context, namespace, name string) (*appsv1.ControllerRevision, error)
	CreateRevision(ctx context.Context, rev *appsv1.ControllerRevision) (*appsv1.ControllerRevision, error)
	UpdateRevision(ctx context.Context, rev *appsv1.ControllerRevision) (*appsv1.ControllerRevision, error)
	DeleteRevision(ctx context.Context, rev *appsv1.ControllerRevision) error
}

// realRevisionControl implements revisionControlInterface with a clientset
// and the ControllerRevision informer's indexer, which carries the
// controller index (addControllerIndex): a sync reads the revisions of its
// own PetSet and the orphans of its namespace, never the whole namespace.
type realRevisionControl struct {
	client  kubernetes.Interface
	indexer cache.Indexer
}

// revisionsByIndex returns the cached revisions under indexKey of the
// controller index that are in set's namespace and match its selector.
func (rc *realRevisionControl) revisionsByIndex(set *appsv1alpha1.PetSet, indexKey string) ([]*appsv1.ControllerRevision, error) {
	selector, err := getSelector(set)
	if err != nil {
		return nil, err
	}
	all, err := byControllerIndex[*appsv1.ControllerRevision](rc.indexer, indexKey, set.Namespace)
	if err != nil {
		return nil, fmt.Errorf("list revisions of PetSet %s/%s: %w", set.Namespace, set.Name, err)
	}
	revs := make([]*appsv1.ControllerRevision, 0, len(all))
	for _, rev := range all {
		if selector.Matches(labels.Set(rev.Labels)) {
			revs = append(revs, rev)
		}
	}
	return revs, nil
}

// ListRevisions returns the revisions whose controller is set and that match
// its selector.
func (rc *realRevisionControl) ListRevisions(set *appsv1alpha1.PetSet) ([]*appsv1.ControllerRevision, error) {
	return rc.revisionsByIndex(set, controllerIndexKeyForUID(set.UID))
}

// ListOrphanRevisions returns the revisions of set's namespace that have no
// controller, match set's selector and are named after set (<set>-<hash>):
// those a PetSet of the same name left when it was deleted with
// --cascade=orphan.
func (rc *realRevisionControl) ListOrphanRevisions(set *appsv1alpha1.PetSet) ([]*appsv1.ControllerRevision, error) {
	all, err := rc.revisionsByIndex(set, controllerIndexKeyForOrphans(set.Namespace))
	if err != nil {
		return nil, err
	}
	var orphans []*appsv1.ControllerRevision
	for _, rev := range all {
		if revisionNamedAfter(set.Name, rev.Name) {
			orphans = append(orphans, rev)
		}
	}
	return orphans, nil
}

// revisionNamedAfter reports whether name is a revision name of the PetSet
// named set: <set>-<hash>, the hash holding no dash.
func revisionNamedAfter(set, name string) bool {
	hash, ok := strings.CutPrefix(name, set+"-")
	return ok && hash != "" && !strings.Contains(hash, "-")
}

// AdoptRevision makes set the controller of the orphan revision rev. The
// revision's UID in the patch makes it fail if the name now belongs to
// another revision.
func (rc *realRevisionControl) AdoptRevision(ctx context.Context, set *appsv1alpha1.PetSet, rev *appsv1.ControllerRevision) error {
	ref := newControllerRef(set)
	ref.BlockOwnerDeletion = ptr.To(true)
	patch, err := json.Marshal(ownerRefPatch{Metadata: ownerRefPatchMeta{OwnerReferences: []any{ref}, UID: rev.UID}})
	if err != nil {
		return fmt.Errorf("build adoption patch for revision %s/%s: %w", rev.Namespace, rev.Name, err)
	}
	if _, err := rc.client.AppsV1().ControllerRevisions(rev.Namespace).Patch(ctx, rev.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("adopt revision %s/%s: %w", rev.Namespace, rev.Name, err)
	}
	return nil
}

func (rc *realRevisionControl) GetRevision(ctx context.Context, namespace, name string) (*appsv1.ControllerRevision, error) {
	return rc.client.AppsV1().ControllerRevisions(namespace).Get(ctx, name, metav1.GetOptions{})
}

func (rc *realRevisionControl) CreateRevision(ctx context.Context, rev *appsv1.ControllerRevision) (*appsv1.ControllerRevision, error) {
	return rc.client.AppsV1().ControllerRevisions(rev.Namespace).Create(ctx, rev, metav1.CreateOptions{})
}

func (rc *realRevisionControl) UpdateRevision(ctx context.Context, rev *appsv1.ControllerRevision) (*appsv1.ControllerRevision, error) {
	return rc.client.AppsV1().ControllerRevisions(rev.Namespace).Update(ctx, rev, metav1.UpdateOptions{})
}

func (rc *realRevisionControl) DeleteRevision(ctx context.Context, rev *appsv1.ControllerRevision) error {
	uid := rev.UID
	return rc.client.AppsV1().ControllerRevisions(rev.Namespace).Delete(ctx, rev.Name,
		metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
}

// revisionData is what a revision holds: the pod template, under the path
// it has in a PetSet, as apps/v1 does for StatefulSets.
type revisionData struct {
	Spec revisionSpec `json:"spec"`
}

type revisionSpec struct {
	Template v1.PodTemplateSpec `json:"template"`
	// VolumeClaimTemplates are the claim templates, held only under
	// volumeClaimUpdatePolicy InPlace, where a change of them is an update
	// of the PetSet's claims.
	VolumeClaimTemplates []v1.PersistentVolumeClaim `json:"volumeClaimTemplates,omitempty"`
}

// revisionSpecOf returns what a revision of set holds: its pod template, and
// under volumeClaimUpdatePolicy InPlace its claim templates.
func revisionSpecOf(set *appsv1alpha1.PetSet) revisionSpec {
	spec := revisionSpec{Template: set.Spec.Template}
	if set.Spec.VolumeClaimUpdatePolicy == appsv1alpha1.InPlaceVolumeClaimUpdatePolicy {
		spec.VolumeClaimTemplates = set.Spec.VolumeClaimTemplates
	}
	return spec
}

// hashRevision returns the 10-character hash of a revision's data and the
// collision count. It only names revisions: whether a revision holds a
// template is decided by comparing templates semantically.
func hashRevision(data []byte, collisionCount int32) string {
	h := fnv.New32a()
	h.Write(data)
	var count [4]byte
	binary.BigEndian.PutUint32(count[:], uint32(collisionCount))
	h.Write(count[:])
	return rand.SafeEncodeString(fmt.Sprintf("%0*d", revisionHashLength, h.Sum32()))
}

// revisionName returns the name of the revision of set with the given hash.
func revisionName(set *appsv1alpha1.PetSet, hash string) string {
	return set.Name + "-" + hash
}

// newRevision returns the revision of set's current template with the given
// collision count and revision number, owned by set, with set's
// kubernetes.io/change-cause annotation.
func newRevision(set *appsv1alpha1.PetSet, collisionCount int32, number int64) (*appsv1.ControllerRevision, error) {
	data, err := canonicalJSON(revisionData{Spec: revisionSpecOf(set)})
	if err != nil {
		return nil, fmt.Errorf("encode the template of PetSet %s/%s: %w", set.Namespace, set.Name, err)
	}
	ref := newControllerRef(set)
	blockOwnerDeletion := true
	ref.BlockOwnerDeletion = &blockOwnerDeletion
	// apps/v1 copies every annotation of the StatefulSet; the change
	// cause is the one a revision's readers use, and the others (a
	// last-applied-configuration among them) would only make it bigger.
	var annotations map[string]string
	if cause, ok := set.Annotations[changeCauseAnnotation]; ok {
		annotations = map[string]string{changeCauseAnnotation: cause}
	}
	return &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name:            revisionName(set, hashRevision(data, collisionCount)),
			Namespace:       set.Namespace,
			Labels:          maps.Clone(set.Spec.Template.Labels),
			Annotations:     annotations,
			OwnerReferences: []metav1.OwnerReference{*ref},
		},
		Data:     runtime.RawExtension{Raw: data},
		Revision: number,
	}, nil
}

// canonicalJSON encodes v as the API server re-encodes a revision's data
// when it applies a patch to the revision (through a map: keys sorted,
// compact). The API server refuses any change of a revision's data, byte for
// byte, so data in another key order would make every patch of the revision
// fail; the garbage collector's removal of the owner reference when a PetSet
// is deleted with --cascade=orphan among them.
func canonicalJSON(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	decoder := json.NewDecoder(bytes.NewReader(raw))
	decoder.UseNumber()
	var generic any
	if err := decoder.Decode(&generic); err != nil {
		return nil, err
	}
	return json.Marshal(generic)
}

// revisionTemplate decodes the template a revision holds, with the defaults
// the server gives a PetSet's template, so that a revision written by
// another server version compares equal to the same template read now.
func revisionTemplate(rev *appsv1.ControllerRevision) (*v1.PodTemplateSpec, error) {
	spec, err := decodeRevision(rev)
	if err != nil {
		return nil, err
	}
	return &spec.Template, nil
}

// decodeRevision decodes what a revision holds, with the server's defaults.
func decodeRevision(rev *appsv1.ControllerRevision) (*revisionSpec, error) {
	raw := rev.Data.Raw
	if raw == nil && rev.Data.Object != nil {
		var err error
		if raw, err = json.Marshal(rev.Data.Object); err != nil {
			return nil, fmt.Errorf("encode revision %s/%s: %w", rev.Namespace, rev.Name, err)
		}
	}
	var set appsv1alpha1.PetSet
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, fmt.Errorf("decode revision %s/%s: %w", rev.Namespace, rev.Name, err)
	}
	return defaultedRevisionSpec(revisionSpec{Template: set.Spec.Template, VolumeClaimTemplates: set.Spec.VolumeClaimTemplates}), nil
}

// defaultedRevisionSpec returns spec with the server's defaults.
func defaultedRevisionSpec(spec revisionSpec) *revisionSpec {
	set := appsv1alpha1.PetSet{Spec: appsv1alpha1.PetSetSpec{Template: *spec.Template.DeepCopy()}}
	for _, claim := range spec.VolumeClaimTemplates {
		set.Spec.VolumeClaimTemplates = append(set.Spec.VolumeClaimTemplates, *claim.DeepCopy())
	}
	petsetdefaults.SetObjectDefaults_PetSet(&set)
	return &revisionSpec{Template: set.Spec.Template, VolumeClaimTemplates: set.Spec.VolumeClaimTemplates}
}

// revisionHolds reports whether rev holds what a revision of set holds (its
// template, and under InPlace its claim templates), compared semantically
// with the server's defaults applied to both: never byte for byte, so that a
// change of serialization or of the defaults does not make a template look
// new.
func revisionHolds(rev *appsv1.ControllerRevision, set *appsv1alpha1.PetSet) bool {
	return holds(rev, defaultedRevisionSpec(revisionSpecOf(set)))
}

// holds reports whether rev holds want, a defaulted revision spec.
func holds(rev *appsv1.ControllerRevision, want *revisionSpec) bool {
	held, err := decodeRevision(rev)
	if err != nil {
		return false
	}
	return apiequality.Semantic.DeepEqual(held, want)
}

// sortRevisions sorts revisions by revision number, then name.
func sortRevisions(revisions []*appsv1.ControllerRevision) {
	slices.SortFunc(revisions, func(a, b *appsv1.ControllerRevision) int {
		if a.Revision != b.Revision {
			if a.Revision < b.Revision {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
}

// revisionState is what a sync knows of a PetSet's revisions.
type revisionState struct {
	// current is the revision pets below the partition keep; update the
	// revision of the current template.
	current, update *appsv1.ControllerRevision
	// currentTemplate and updateTemplate are their decoded templates.
	currentTemplate, updateTemplate *v1.PodTemplateSpec
	collisionCount                  int32
	revisions                       []*appsv1.ControllerRevision
}

// syncRevisions finds or creates the revision of set's current template:
// an existing revision that holds it semantically is reused (a rollback
// to an earlier template bumps that revision's number); otherwise one is
// created, named after the hash of the template and the collision count. A
// name taken by a revision of another template is a collision: the count
// is incremented and a new name tried. The current revision is the one
// status.currentRevision names, or the update revision when there is none.
func (c *defaultPetSetControl) syncRevisions(ctx context.Context, set *appsv1alpha1.PetSet) (*revisionState, error) {
	logger := klog.FromContext(ctx)
	revisions, err := c.revisions.ListRevisions(set)
	if err != nil {
		return nil, err
	}
	revisions = slices.Clone(revisions)
	sortRevisions(revisions)
	state := &revisionState{revisions: revisions}
	if set.Status.CollisionCount != nil {
		state.collisionCount = *set.Status.CollisionCount
	}
	var maxNumber int64
	if n := len(revisions); n > 0 {
		maxNumber = revisions[n-1].Revision
	}

	// What a revision of the PetSet holds, defaulted once for every
	// comparison below.
	want := defaultedRevisionSpec(revisionSpecOf(set))
	var update *appsv1.ControllerRevision
	for i := len(revisions) - 1; i >= 0; i-- {
		if holds(revisions[i], want) {
			update = revisions[i]
			break
		}
	}
	for attempt := 0; update == nil; attempt++ {
		if attempt == maxCollisionAttempts {
			return state, fmt.Errorf("no free revision name for PetSet %s/%s after %d collisions", set.Namespace, set.Name, attempt)
		}
		rev, err := newRevision(set, state.collisionCount, maxNumber+1)
		if err != nil {
			return state, err
		}
		created, err := c.revisions.CreateRevision(ctx, rev)
		if err == nil {
			logger.V(2).Info("Created revision", "petSet", klog.KObj(set), "revision", created.Name, "number", created.Revision)
			update = created
			state.revisions = append(state.revisions, created)
			break
		}
		if !apierrors.IsAlreadyExists(err) {
			return state, fmt.Errorf("create revision %s/%s: %w", rev.Namespace, rev.Name, err)
		}
		existing, err := c.revisions.GetRevision(ctx, rev.Namespace, rev.Name)
		if err != nil {
			return state, fmt.Errorf("read revision %s/%s: %w", rev.Namespace, rev.Name, err)
		}
		if ref := metav1.GetControllerOfNoCopy(existing); ref != nil && ref.UID == set.UID && holds(existing, want) {
			// The cache was behind.
			update = existing
			if !slices.ContainsFunc(state.revisions, func(r *appsv1.ControllerRevision) bool { return r.Name == existing.Name }) {
				state.revisions = append(state.revisions, existing)
			}
			break
		}
		state.collisionCount++
		logger.V(2).Info("Revision name collision", "petSet", klog.KObj(set), "revision", rev.Name, "collisionCount", state.collisionCount)
	}
	if update.Revision < maxNumber {
		// A rollback to an earlier template: that revision is the
		// newest again.
		bumped := update.DeepCopy()
		bumped.Revision = maxNumber + 1
		written, err := c.revisions.UpdateRevision(ctx, bumped)
		if err != nil {
			return state, fmt.Errorf("update the number of revision %s/%s: %w", update.Namespace, update.Name, err)
		}
		logger.V(2).Info("Reused revision", "petSet", klog.KObj(set), "revision", written.Name, "number", written.Revision)
		for i, r := range state.revisions {
			if r.Name == written.Name {
				state.revisions[i] = written
			}
		}
		update = written
	}
	state.update = update
	state.current = update
	if name := set.Status.CurrentRevision; name != "" && name != update.Name {
		for _, r := range state.revisions {
			if r.Name == name {
				state.current = r
				break
			}
		}
	}
	if state.updateTemplate, err = revisionTemplate(state.update); err != nil {
		return state, err
	}
	state.currentTemplate = state.updateTemplate
	if state.current != state.update {
		if state.currentTemplate, err = revisionTemplate(state.current); err != nil {
			return state, err
		}
	}
	return state, nil
}

// truncateHistory deletes, oldest first, the revisions beyond
// spec.revisionHistoryLimit that neither a pet nor the status uses.
func (c *defaultPetSetControl) truncateHistory(ctx context.Context, set *appsv1alpha1.PetSet, state *revisionState, pets []*v1.Pod) error {
	limit := 10
	if set.Spec.RevisionHistoryLimit != nil {
		limit = int(*set.Spec.RevisionHistoryLimit)
	}
	live := map[string]bool{state.current.Name: true, state.update.Name: true}
	for _, pod := range pets {
		if name := revisionOf(pod); name != "" {
			live[name] = true
		}
	}
	var history []*appsv1.ControllerRevision
	for _, rev := range state.revisions {
		if !live[rev.Name] {
			history = append(history, rev)
		}
	}
	sortRevisions(history)
	var errs []error
	for i := 0; i < len(history)-limit; i++ {
		rev := history[i]
		if err := c.revisions.DeleteRevision(ctx, rev); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete revision %s/%s: %w", rev.Namespace, rev.Name, err))
			continue
		}
		klog.FromContext(ctx).V(2).Info("Deleted revision beyond the history limit", "petSet", klog.KObj(set), "revision", rev.Name)
	}
	return errors.Join(errs...)
}

// revisionOf returns the name of the revision a pet was created from.
func revisionOf(pod *v1.Pod) string {
	return pod.Labels[appsv1alpha1.ControllerRevisionHashLabel]
}

// podRunsTemplate reports whether an existing pod runs template: its spec
// is, semantically, the spec newPet builds from template, once the fields
// the API server, its admission plugins and the kubelet set on a pod are
// left aside (the node, the service account and its token volume, the
// tolerations added by admission, the priority), and it carries the
// template's labels and annotations. It lets pets created before revisions
// existed be labelled in place instead of restarted.
func podRunsTemplate(set *appsv1alpha1.PetSet, template *v1.PodTemplateSpec, pod *v1.Pod) bool {
	for k, v := range template.Labels {
		if pod.Labels[k] != v {
			return false
		}
	}
	for k, v := range template.Annotations {
		if k == appsv1alpha1.PetSetInitAnnotation {
			// The debugging hook is meant to be changed on the pets.
			continue
		}
		if pod.Annotations[k] != v {
			return false
		}
	}
	want := newPetFromTemplate(set, template, getOrdinal(pod), "").Spec
	got := *pod.Spec.DeepCopy()
	// The API server defaults a pod's requests to its limits.
	defaultRequestsToLimits(&want)
	defaultRequestsToLimits(&got)
	got.NodeName = want.NodeName
	got.Priority = want.Priority
	if want.PriorityClassName == "" {
		got.PriorityClassName = ""
	}
	if want.ServiceAccountName == "" {
		got.ServiceAccountName = ""
	}
	if want.DeprecatedServiceAccount == "" {
		got.DeprecatedServiceAccount = ""
	}
	if want.PreemptionPolicy == nil {
		got.PreemptionPolicy = nil
	}
	got.Tolerations = slices.DeleteFunc(slices.Clone(got.Tolerations), func(t v1.Toleration) bool {
		return isAdmissionToleration(t) && !slices.ContainsFunc(want.Tolerations, func(w v1.Toleration) bool {
			return apiequality.Semantic.DeepEqual(w, t)
		})
	})
	if len(got.Tolerations) == 0 && len(want.Tolerations) == 0 {
		got.Tolerations = want.Tolerations
	}
	injected := map[string]bool{}
	got.Volumes = slices.DeleteFunc(slices.Clone(got.Volumes), func(vol v1.Volume) bool {
		if strings.HasPrefix(vol.Name, "kube-api-access-") && vol.Projected != nil &&
			!slices.ContainsFunc(want.Volumes, func(w v1.Volume) bool { return w.Name == vol.Name }) {
			injected[vol.Name] = true
			return true
		}
		return false
	})
	if len(got.Volumes) == 0 && len(want.Volumes) == 0 {
		got.Volumes = want.Volumes
	}
	stripMounts := func(containers []v1.Container, wanted []v1.Container) {
		for i := range containers {
			containers[i].VolumeMounts = slices.DeleteFunc(slices.Clone(containers[i].VolumeMounts), func(m v1.VolumeMount) bool {
				return injected[m.Name]
			})
			if i < len(wanted) && len(containers[i].VolumeMounts) == 0 && len(wanted[i].VolumeMounts) == 0 {
				containers[i].VolumeMounts = wanted[i].VolumeMounts
			}
		}
	}
	stripMounts(got.InitContainers, want.InitContainers)
	stripMounts(got.Containers, want.Containers)
	return apiequality.Semantic.DeepEqual(want, got)
}

// defaultRequestsToLimits sets each container's missing requests to its
// limits, as the API server's pod defaults do.
func defaultRequestsToLimits(spec *v1.PodSpec) {
	for _, containers := range [][]v1.Container{spec.InitContainers, spec.Containers} {
		for i := range containers {
			r := &containers[i].Resources
			for name, limit := range r.Limits {
				if _, ok := r.Requests[name]; !ok {
					if r.Requests == nil {
						r.Requests = v1.ResourceList{}
					}
					r.Requests[name] = limit.DeepCopy()
				}
			}
		}
	}
}

// isAdmissionToleration reports whether t is one of the tolerations the
// DefaultTolerationSeconds admission plugin adds to every pod.
func isAdmissionToleration(t v1.Toleration) bool {
	return (t.Key == v1.TaintNodeNotReady || t.Key == v1.TaintNodeUnreachable) &&
		t.Operator == v1.TolerationOpExists && t.Effect == v1.TaintEffectNoExecute
}

// withUpdateRevision returns pets as the decisions should see them, and the
// pets to relabel: a pet at another revision whose pod template is the update
// revision's (the revisions differ only in the claim templates, under
// volumeClaimUpdatePolicy InPlace) runs the update revision already, so it
// counts as updated and gets the update revision's label in place, rather
// than being replaced.
func withUpdateRevision(pets []*v1.Pod, state *revisionState) ([]*v1.Pod, []*v1.Pod) {
	var same map[string]bool
	var relabel []*v1.Pod
	out := pets
	for i, pod := range pets {
		revision := revisionOf(pod)
		if revision == "" || revision == state.update.Name || isTerminating(pod) {
			continue
		}
		if same == nil {
			same = state.sameTemplate()
		}
		if !same[revision] {
			continue
		}
		if len(relabel) == 0 {
			out = slices.Clone(pets)
		}
		relabel = append(relabel, pod)
		updated := pod.DeepCopy()
		updated.Labels[appsv1alpha1.ControllerRevisionHashLabel] = state.update.Name
		out[i] = updated
	}
	return out, relabel
}

// sameTemplate returns the names of the revisions other than the update
// revision whose pod template is the update revision's.
func (s *revisionState) sameTemplate() map[string]bool {
	out := map[string]bool{}
	for _, rev := range s.revisions {
		if rev.Name == s.update.Name {
			continue
		}
		if template, err := revisionTemplate(rev); err == nil && apiequality.Semantic.DeepEqual(template, s.updateTemplate) {
			out[rev.Name] = true
		}
	}
	return out
}
