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

// Package validation validates PetSets on create, on update and on updates
// of their status.
//
// The pod template and the claim templates are Kubernetes core types, and
// they are checked with Kubernetes' own validation code: the template is
// converted to the internal core type kube-apiserver validates and handed to
// k8s.io/kubernetes/pkg/apis/core/validation, with the pod validation options
// kube-apiserver computes for the same template. A PetSet is therefore
// refused for exactly the pod template problems a StatefulSet (or any other
// workload) would be refused for, and the error paths stay rooted at
// spec.template.
package validation

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	"github.com/petsets/petset/pkg/apis/apps"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	podutil "k8s.io/kubernetes/pkg/api/pod"
	core "k8s.io/kubernetes/pkg/apis/core"
	k8sapiv1 "k8s.io/kubernetes/pkg/apis/core/v1"
	corevalidation "k8s.io/kubernetes/pkg/apis/core/validation"
)

// ForbiddenUpdateMessage is the detail of the errors refusing a change to a
// part of the spec that is fixed once the PetSet exists.
const ForbiddenUpdateMessage = "updates to petset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds', 'progressDeadlineSeconds', 'podRemovalPolicy', 'volumeClaimUpdatePolicy', 'revisionHistoryLimit' and the claim templates' storage requests, labels and annotations are forbidden"

// ValidatePetSetName checks the name of a PetSet. It must be a DNS-1123
// label: it is the stem of the pets' pod names and host names. Prefix
// indicates the name will be used as part of generation, in which case a
// trailing dash is allowed.
func ValidatePetSetName(name string, prefix bool) []string {
	return apimachineryvalidation.NameIsDNSLabel(name, prefix)
}

// ValidatePetSet validates a PetSet that is being created.
//
// Besides the rules every update checks again, a new PetSet must have a name
// and claim templates whose pets and claims can exist (see
// validatePetAndClaimNames); the name and the claim templates never change
// afterwards, so that is checked on create only, and a PetSet stored before
// the rule stays updatable and deletable.
func ValidatePetSet(petSet *apps.PetSet) field.ErrorList {
	metaPath := field.NewPath("metadata")
	allErrs := apimachineryvalidation.ValidateObjectMeta(&petSet.ObjectMeta, true, ValidatePetSetName, metaPath)
	specPath := field.NewPath("spec")
	allErrs = append(allErrs, validatePetAndClaimNames(petSet, metaPath.Child("name"), specPath.Child("volumeClaimTemplates"))...)
	allErrs = append(allErrs, validatePetSetSpec(&petSet.Spec, nil, specPath)...)
	allErrs = append(allErrs, validateReservedLabels(&petSet.Spec, nil, specPath)...)
	return allErrs
}

// maxOrdinal is the largest ordinal a pet can have (replicas is an int32),
// the longest suffix of the names of its pod and claims.
var maxOrdinal = strconv.Itoa(math.MaxInt32)

// validatePetAndClaimNames refuses a PetSet whose pets or claims could not be
// created:
//   - the PetSet name may not be longer than MaxPetSetNameLength: a pet's
//     name <petset>-<ordinal> is its pod name, its hostname and a label
//     value, and <petset>-<revision hash> is a label value, all limited to
//     63 characters;
//   - a claim <claim>-<petset>-<ordinal> must be a DNS subdomain for every
//     ordinal, up to the largest.
//
// Names that are invalid on their own are reported by the name checks
// already and are skipped here.
func validatePetAndClaimNames(petSet *apps.PetSet, namePath, claimsPath *field.Path) field.ErrorList {
	name := petSet.Name
	if name == "" || len(ValidatePetSetName(name, false)) > 0 {
		return nil
	}
	var allErrs field.ErrorList
	if len(name) > appsv1alpha1.MaxPetSetNameLength {
		err := field.TooLongCharacters(namePath, name, appsv1alpha1.MaxPetSetNameLength)
		err.Detail += fmt.Sprintf(", so that the names of its pets (<name>-<ordinal>) and its revision labels (<name>-<hash>) fit in %d characters",
			utilvalidation.DNS1123LabelMaxLength)
		allErrs = append(allErrs, err)
	}
	for i, claim := range petSet.Spec.VolumeClaimTemplates {
		if claim.Name == "" || len(utilvalidation.IsDNS1123Label(claim.Name)) > 0 {
			continue
		}
		allErrs = append(allErrs, validateClaimNameFits(claim.Name, name, claimsPath.Index(i).Child("metadata", "name"))...)
	}
	return allErrs
}

// validateClaimNameFits checks that the claims of the claim template
// claimName in the PetSet petSetName, <claim>-<petset>-<ordinal>, are DNS
// subdomains for every ordinal, up to the largest.
func validateClaimNameFits(claimName, petSetName string, fldPath *field.Path) field.ErrorList {
	longest := claimName + "-" + petSetName + "-" + maxOrdinal
	var allErrs field.ErrorList
	for _, msg := range utilvalidation.IsDNS1123Subdomain(longest) {
		allErrs = append(allErrs, field.Invalid(fldPath, claimName,
			fmt.Sprintf("the claims of this template, <claim>-<petset>-<ordinal> (up to %q), must be valid names: %s", longest, msg)))
	}
	return allErrs
}

// ReservedLabelMessage is the detail of the errors refusing a label key the
// PetSet controller owns.
func ReservedLabelMessage(key string) string {
	return fmt.Sprintf("the label key %q is reserved for the PetSet controller, which sets it on the pets and their claims", key)
}

// validateReservedLabels refuses the label keys the controller owns
// (ReservedLabelKeys) in the selector, the pod template's labels and the
// claim templates' labels: the controller sets them on every pet and claim,
// and a user's value would be overwritten or select the wrong objects.
//
// oldSpec is the stored spec on an update and nil on a create. On an update
// only keys the stored object does not have at the same place are refused,
// so that a PetSet stored before the rule stays updatable.
func validateReservedLabels(spec, oldSpec *apps.PetSetSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	forbid := func(present, allowed sets.Set[string], path func(key string) *field.Path) {
		for _, key := range appsv1alpha1.ReservedLabelKeys {
			if present.Has(key) && !allowed.Has(key) {
				allErrs = append(allErrs, field.Forbidden(path(key), ReservedLabelMessage(key)))
			}
		}
	}

	selectorPath := fldPath.Child("selector")
	if spec.Selector != nil {
		var oldMatchLabels, oldExpressionKeys sets.Set[string]
		if oldSpec != nil && oldSpec.Selector != nil {
			oldMatchLabels = sets.KeySet(oldSpec.Selector.MatchLabels)
			for _, req := range oldSpec.Selector.MatchExpressions {
				oldExpressionKeys = oldExpressionKeys.Union(sets.New(req.Key))
			}
		}
		matchLabelsPath := selectorPath.Child("matchLabels")
		forbid(sets.KeySet(spec.Selector.MatchLabels), oldMatchLabels, func(key string) *field.Path { return matchLabelsPath.Key(key) })
		for i, req := range spec.Selector.MatchExpressions {
			keyPath := selectorPath.Child("matchExpressions").Index(i).Child("key")
			forbid(sets.New(req.Key), oldExpressionKeys, func(string) *field.Path { return keyPath })
		}
	}

	var oldTemplateLabels sets.Set[string]
	if oldSpec != nil {
		oldTemplateLabels = sets.KeySet(oldSpec.Template.Labels)
	}
	templateLabelsPath := fldPath.Child("template", "metadata", "labels")
	forbid(sets.KeySet(spec.Template.Labels), oldTemplateLabels, func(key string) *field.Path { return templateLabelsPath.Key(key) })

	// A claim template is matched with the stored one of the same name.
	oldClaimLabels := map[string]sets.Set[string]{}
	if oldSpec != nil {
		for _, claim := range oldSpec.VolumeClaimTemplates {
			oldClaimLabels[claim.Name] = sets.KeySet(claim.Labels).Union(oldClaimLabels[claim.Name])
		}
	}
	for i, claim := range spec.VolumeClaimTemplates {
		labelsPath := fldPath.Child("volumeClaimTemplates").Index(i).Child("metadata", "labels")
		forbid(sets.KeySet(claim.Labels), oldClaimLabels[claim.Name], func(key string) *field.Path { return labelsPath.Key(key) })
	}
	return allErrs
}

// ValidatePetSetUpdate validates an update of a PetSet: the new object must
// be valid, and once a PetSet exists only spec.replicas, spec.template (as a
// whole; its labels must still match the selector), spec.updateStrategy and
// spec.revisionHistoryLimit may change, as for an apps/v1 StatefulSet. The
// PetSet's own metadata (labels, annotations, ...) follows the usual update
// rules.
//
// Problems the stored object already had (reserved label keys included) are
// not reported again, so that a PetSet stored under older, looser rules can
// still be scaled, relabelled and finalized.
func ValidatePetSetUpdate(petSet, oldPetSet *apps.PetSet) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMetaUpdate(&petSet.ObjectMeta, &oldPetSet.ObjectMeta, field.NewPath("metadata"))

	specPath := field.NewPath("spec")
	if specErrs := validatePetSetSpec(&petSet.Spec, &oldPetSet.Spec, specPath); len(specErrs) > 0 {
		oldErrs := validatePetSetSpec(&oldPetSet.Spec, &oldPetSet.Spec, specPath)
		allErrs = append(allErrs, withoutPreexisting(specErrs, oldErrs)...)
	}
	allErrs = append(allErrs, validatePetSetSpecUpdate(&petSet.Spec, &oldPetSet.Spec, specPath)...)
	allErrs = append(allErrs, validateReservedLabels(&petSet.Spec, &oldPetSet.Spec, specPath)...)
	return allErrs
}

// ValidatePetSetStatusUpdate validates an update through the status
// subresource.
func ValidatePetSetStatusUpdate(petSet, oldPetSet *apps.PetSet) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMetaUpdate(&petSet.ObjectMeta, &oldPetSet.ObjectMeta, field.NewPath("metadata"))
	statusPath := field.NewPath("status")
	allErrs = append(allErrs, validatePetSetStatus(&petSet.Status, statusPath)...)
	if n, old := petSet.Status.CollisionCount, oldPetSet.Status.CollisionCount; old != nil && (n == nil || *n < *old) {
		var value any
		if n != nil {
			value = *n
		}
		allErrs = append(allErrs, field.Invalid(statusPath.Child("collisionCount"), value, "cannot be decreased"))
	}
	return allErrs
}

// validatePetSetSpec validates a spec on its own. oldSpec is the stored
// spec on an update and nil on a create; it only loosens the pod validation
// options the way kube-apiserver does for objects that already use a
// since-tightened form.
func validatePetSetSpec(spec, oldSpec *apps.PetSetSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList

	allErrs = append(allErrs, apimachineryvalidation.ValidateNonnegativeField(int64(spec.Replicas), fldPath.Child("replicas"))...)

	// An empty service name is allowed here; the registry warns about it.
	if spec.ServiceName != "" {
		for _, msg := range utilvalidation.IsDNS1123Label(spec.ServiceName) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("serviceName"), spec.ServiceName, msg))
		}
	}

	selector, errs := validateSelector(spec.Selector, fldPath.Child("selector"))
	allErrs = append(allErrs, errs...)

	claimNames, errs := validateVolumeClaimTemplates(spec.VolumeClaimTemplates, fldPath.Child("volumeClaimTemplates"))
	allErrs = append(allErrs, errs...)

	var oldTemplate *corev1.PodTemplateSpec
	if oldSpec != nil {
		oldTemplate = &oldSpec.Template
	}
	allErrs = append(allErrs, validatePodTemplate(&spec.Template, oldTemplate, selector, claimNames, fldPath.Child("template"))...)

	allErrs = append(allErrs, validateUpdateStrategy(&spec.UpdateStrategy, fldPath.Child("updateStrategy"))...)
	if spec.RevisionHistoryLimit != nil {
		allErrs = append(allErrs, apimachineryvalidation.ValidateNonnegativeField(int64(*spec.RevisionHistoryLimit), fldPath.Child("revisionHistoryLimit"))...)
	}

	switch spec.PodManagementPolicy {
	case "", apps.OrderedReadyPodManagement, apps.ParallelPodManagement:
		// Empty means the default, OrderedReady.
	default:
		allErrs = append(allErrs, field.Invalid(fldPath.Child("podManagementPolicy"), spec.PodManagementPolicy,
			fmt.Sprintf("must be '%s' or '%s'", apps.OrderedReadyPodManagement, apps.ParallelPodManagement)))
	}
	allErrs = append(allErrs, apimachineryvalidation.ValidateNonnegativeField(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))...)
	if d := spec.ProgressDeadlineSeconds; d != nil {
		path := fldPath.Child("progressDeadlineSeconds")
		switch {
		case *d <= 0:
			allErrs = append(allErrs, field.Invalid(path, *d, "must be greater than 0"))
		case *d <= spec.MinReadySeconds:
			allErrs = append(allErrs, field.Invalid(path, *d, "must be greater than minReadySeconds"))
		}
	}
	allErrs = append(allErrs, validateOrdinals(spec, fldPath.Child("ordinals", "start"))...)
	if policy := spec.PersistentVolumeClaimRetentionPolicy; policy != nil {
		policyPath := fldPath.Child("persistentVolumeClaimRetentionPolicy")
		allErrs = append(allErrs, validateRetentionPolicyType(policy.WhenDeleted, policyPath.Child("whenDeleted"))...)
		allErrs = append(allErrs, validateRetentionPolicyType(policy.WhenScaled, policyPath.Child("whenScaled"))...)
	}
	switch spec.VolumeClaimUpdatePolicy {
	case "", apps.OnClaimDeleteVolumeClaimUpdatePolicy, apps.InPlaceVolumeClaimUpdatePolicy:
		// Empty means the default, OnClaimDelete.
	default:
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("volumeClaimUpdatePolicy"), spec.VolumeClaimUpdatePolicy,
			[]string{string(apps.OnClaimDeleteVolumeClaimUpdatePolicy), string(apps.InPlaceVolumeClaimUpdatePolicy)}))
	}
	switch spec.PodRemovalPolicy {
	case "", apps.DeletePodRemovalPolicy, apps.EvictPodRemovalPolicy:
		// Empty means the default, Delete.
	default:
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("podRemovalPolicy"), spec.PodRemovalPolicy,
			[]string{string(apps.DeletePodRemovalPolicy), string(apps.EvictPodRemovalPolicy)}))
	}
	return allErrs
}

// validateOrdinals checks spec.ordinals.start: it is >= 0, as apps/v1
// requires, and the highest ordinal, start+replicas-1, is at most
// math.MaxInt32, the ordinal the name checks of validatePetAndClaimNames
// assume as the longest; so every pet and claim name of a PetSet that
// passed them fits whatever start and replicas become.
func validateOrdinals(spec *apps.PetSetSpec, startPath *field.Path) field.ErrorList {
	if spec.Ordinals == nil {
		return nil
	}
	start := spec.Ordinals.Start
	if start < 0 {
		return apimachineryvalidation.ValidateNonnegativeField(int64(start), startPath)
	}
	if highest := int64(start) + int64(spec.Replicas) - 1; highest > math.MaxInt32 {
		return field.ErrorList{field.Invalid(startPath, start,
			fmt.Sprintf("the highest ordinal, start + replicas - 1 = %d, must be at most %d", highest, math.MaxInt32))}
	}
	return nil
}

// supportedRetentionPolicies are the values of whenDeleted and whenScaled.
var supportedRetentionPolicies = []string{
	string(apps.RetainPersistentVolumeClaimRetentionPolicyType),
	string(apps.DeletePersistentVolumeClaimRetentionPolicyType),
}

// validateRetentionPolicyType accepts Retain and Delete, as apps/v1 does.
func validateRetentionPolicyType(policy apps.PersistentVolumeClaimRetentionPolicyType, fldPath *field.Path) field.ErrorList {
	switch policy {
	case apps.RetainPersistentVolumeClaimRetentionPolicyType, apps.DeletePersistentVolumeClaimRetentionPolicyType:
		return nil
	}
	return field.ErrorList{field.NotSupported(fldPath, policy, supportedRetentionPolicies)}
}

// supportedUpdateStrategies are the values of spec.updateStrategy.type.
var supportedUpdateStrategies = []string{
	string(apps.OnDeletePetSetStrategyType),
	string(apps.RollingUpdatePetSetStrategyType),
	string(apps.RecreatePetSetStrategyType),
}

// supportedUnhealthyPodPolicies are the values of
// spec.updateStrategy.rollingUpdate.unhealthyPodPolicy.
var supportedUnhealthyPodPolicies = []string{
	string(apps.WaitUnhealthyPodPolicy),
	string(apps.ReplaceOldRevisionUnhealthyPodPolicy),
}

// validateUpdateStrategy checks spec.updateStrategy: a known type (empty
// means the default, OnDelete), rollingUpdate only with RollingUpdate, a
// partition >= 0 and a maxUnavailable that is a number >= 1 or a percentage
// between 1% and 100%, as apps/v1 requires, and a known unhealthyPodPolicy.
func validateUpdateStrategy(strategy *apps.PetSetUpdateStrategy, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	switch strategy.Type {
	case "", apps.OnDeletePetSetStrategyType, apps.RecreatePetSetStrategyType:
		if strategy.RollingUpdate != nil {
			allErrs = append(allErrs, field.Forbidden(fldPath.Child("rollingUpdate"),
				fmt.Sprintf("only allowed for updateStrategy '%s'", apps.RollingUpdatePetSetStrategyType)))
		}
	case apps.RollingUpdatePetSetStrategyType:
		if ru := strategy.RollingUpdate; ru != nil {
			ruPath := fldPath.Child("rollingUpdate")
			if ru.Partition != nil {
				allErrs = append(allErrs, apimachineryvalidation.ValidateNonnegativeField(int64(*ru.Partition), ruPath.Child("partition"))...)
			}
			if ru.MaxUnavailable != nil {
				allErrs = append(allErrs, validateMaxUnavailable(ru.MaxUnavailable, ruPath.Child("maxUnavailable"))...)
			}
			switch ru.UnhealthyPodPolicy {
			case "", apps.WaitUnhealthyPodPolicy, apps.ReplaceOldRevisionUnhealthyPodPolicy:
			default:
				allErrs = append(allErrs, field.NotSupported(ruPath.Child("unhealthyPodPolicy"), ru.UnhealthyPodPolicy, supportedUnhealthyPodPolicies))
			}
		}
	default:
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("type"), strategy.Type, supportedUpdateStrategies))
	}
	return allErrs
}

// validateMaxUnavailable accepts an integer >= 1 or a percentage "N%" with
// 1 <= N <= 100.
func validateMaxUnavailable(v *intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	switch v.Type {
	case intstr.Int:
		if v.IntVal < 1 {
			return field.ErrorList{field.Invalid(fldPath, v.IntVal, "must be greater than or equal to 1")}
		}
	case intstr.String:
		if len(utilvalidation.IsValidPercent(v.StrVal)) > 0 {
			return field.ErrorList{field.Invalid(fldPath, v.StrVal, "must be an integer or a percentage (e.g. '5%')")}
		}
		n, err := strconv.Atoi(strings.TrimSuffix(v.StrVal, "%"))
		if err != nil || n < 1 || n > 100 {
			return field.ErrorList{field.Invalid(fldPath, v.StrVal, "must be a percentage between 1% and 100%")}
		}
	default:
		return field.ErrorList{field.Invalid(fldPath, v, "must be an integer or a percentage (e.g. '5%')")}
	}
	return nil
}

// validateSelector checks that the selector is set, valid and not empty, and
// returns it parsed; the returned selector is nil when it is unusable.
func validateSelector(ls *metav1.LabelSelector, fldPath *field.Path) (labels.Selector, field.ErrorList) {
	if ls == nil {
		return nil, field.ErrorList{field.Required(fldPath, "")}
	}
	allErrs := metav1validation.ValidateLabelSelector(ls, metav1validation.LabelSelectorValidationOptions{}, fldPath)
	if len(ls.MatchLabels)+len(ls.MatchExpressions) == 0 {
		allErrs = append(allErrs, field.Invalid(fldPath, ls, "empty selector is invalid for petset"))
	}
	if len(allErrs) > 0 {
		return nil, allErrs
	}
	selector, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		return nil, field.ErrorList{field.Invalid(fldPath, ls, err.Error())}
	}
	return selector, nil
}

// validateVolumeClaimTemplates validates the claim templates and returns the
// names usable as volumes of the pod template: the valid names, each once.
func validateVolumeClaimTemplates(claims []corev1.PersistentVolumeClaim, fldPath *field.Path) ([]string, field.ErrorList) {
	var allErrs field.ErrorList
	var names []string
	seen := sets.New[string]()
	opts := corevalidation.ValidationOptionsForPersistentVolumeClaimCreate()

	for i := range claims {
		claim := &claims[i]
		idxPath := fldPath.Index(i)
		metaPath := idxPath.Child("metadata")

		// The claim name is the name of the volume the containers mount and
		// the stem of the claims the pets get (<claim>-<petset>-<ordinal>).
		namePath := metaPath.Child("name")
		if claim.Name == "" {
			allErrs = append(allErrs, field.Required(namePath, ""))
		} else if msgs := utilvalidation.IsDNS1123Label(claim.Name); len(msgs) > 0 {
			for _, msg := range msgs {
				allErrs = append(allErrs, field.Invalid(namePath, claim.Name, msg))
			}
		} else if seen.Has(claim.Name) {
			allErrs = append(allErrs, field.Duplicate(namePath, claim.Name))
		} else {
			seen.Insert(claim.Name)
			names = append(names, claim.Name)
		}
		allErrs = append(allErrs, metav1validation.ValidateLabels(claim.Labels, metaPath.Child("labels"))...)
		allErrs = append(allErrs, apimachineryvalidation.ValidateAnnotations(claim.Annotations, metaPath.Child("annotations"))...)

		specPath := idxPath.Child("spec")
		var spec core.PersistentVolumeClaimSpec
		if err := k8sapiv1.Convert_v1_PersistentVolumeClaimSpec_To_core_PersistentVolumeClaimSpec(&claim.Spec, &spec, nil); err != nil {
			allErrs = append(allErrs, field.InternalError(specPath, fmt.Errorf("converting the claim template: %w", err)))
			continue
		}
		allErrs = append(allErrs, storageRequestPaths(corevalidation.ValidatePersistentVolumeClaimSpec(&spec, specPath, opts), specPath)...)
	}
	return names, allErrs
}

// storageRequestPaths points the errors Kubernetes reports about the storage
// request at the field that holds it, resources.requests[storage] (they are
// reported under resources[storage]).
func storageRequestPaths(errs field.ErrorList, specPath *field.Path) field.ErrorList {
	reported := specPath.Child("resources").Key(string(corev1.ResourceStorage)).String()
	actual := specPath.Child("resources", "requests").Key(string(corev1.ResourceStorage)).String()
	for _, err := range errs {
		if err.Field == reported {
			err.Field = actual
		}
	}
	return errs
}

// validatePodTemplate validates the pod template the way kube-apiserver
// validates the template of a StatefulSet, plus the PetSet rules: the
// selector matches the template labels and the pets always restart.
func validatePodTemplate(template, oldTemplate *corev1.PodTemplateSpec, selector labels.Selector, claimNames []string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList

	if selector != nil && !selector.Matches(labels.Set(template.Labels)) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("metadata", "labels"), template.Labels, "`selector` does not match template `labels`"))
	}

	coreTemplate, err := podTemplateForValidation(template, claimNames)
	if err != nil {
		return append(allErrs, field.InternalError(fldPath, err))
	}
	var coreOldTemplate *core.PodTemplateSpec
	if oldTemplate != nil {
		if coreOldTemplate, err = podTemplateForValidation(oldTemplate, claimNames); err != nil {
			return append(allErrs, field.InternalError(fldPath, err))
		}
	}
	opts := podutil.GetValidationOptionsFromPodTemplate(coreTemplate, coreOldTemplate)
	allErrs = append(allErrs, corevalidation.ValidatePodTemplateSpec(coreTemplate, fldPath, opts)...)

	specPath := fldPath.Child("spec")
	if template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		allErrs = append(allErrs, field.NotSupported(specPath.Child("restartPolicy"), template.Spec.RestartPolicy, []string{string(corev1.RestartPolicyAlways)}))
	}
	if template.Spec.ActiveDeadlineSeconds != nil {
		allErrs = append(allErrs, field.Forbidden(specPath.Child("activeDeadlineSeconds"), "not supported in a petset: pets run until they are deleted"))
	}
	return allErrs
}

// podTemplateForValidation returns the template as the pets will see it,
// converted to the internal core type the Kubernetes validation works on:
//   - every claim template is a volume (a claim of that name), so the
//     containers can mount it; a claim template takes precedence over a
//     template volume of the same name, which it replaces in place, so that
//     the indices of the other volumes in the errors stay those of the
//     request;
//   - the hostname and subdomain are left out: the controller sets them on
//     every pet (from its name and spec.serviceName).
func podTemplateForValidation(template *corev1.PodTemplateSpec, claimNames []string) (*core.PodTemplateSpec, error) {
	t := template.DeepCopy()
	t.Spec.Hostname = ""
	t.Spec.Subdomain = ""

	claims := sets.New(claimNames...)
	replaced := sets.New[string]()
	for i := range t.Spec.Volumes {
		if name := t.Spec.Volumes[i].Name; claims.Has(name) {
			t.Spec.Volumes[i] = claimVolume(name)
			replaced.Insert(name)
		}
	}
	for _, name := range claimNames {
		if !replaced.Has(name) {
			t.Spec.Volumes = append(t.Spec.Volumes, claimVolume(name))
		}
	}

	out := &core.PodTemplateSpec{}
	if err := k8sapiv1.Convert_v1_PodTemplateSpec_To_core_PodTemplateSpec(t, out, nil); err != nil {
		return nil, fmt.Errorf("converting the pod template: %w", err)
	}
	return out, nil
}

// claimVolume is the volume a claim template gives each pet.
func claimVolume(name string) corev1.Volume {
	return corev1.Volume{
		Name: name,
		VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name},
		},
	}
}

// validatePetSetSpecUpdate refuses, as apps/v1 does for StatefulSets, every
// change of the spec but those of spec.replicas, spec.ordinals,
// spec.template, spec.updateStrategy,
// spec.persistentVolumeClaimRetentionPolicy, spec.minReadySeconds,
// spec.podRemovalPolicy and spec.revisionHistoryLimit, naming each changed
// field.
func validatePetSetSpecUpdate(spec, oldSpec *apps.PetSetSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if podManagementPolicyOf(spec) != podManagementPolicyOf(oldSpec) {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("podManagementPolicy"), ForbiddenUpdateMessage))
	}
	if spec.ServiceName != oldSpec.ServiceName {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("serviceName"), ForbiddenUpdateMessage))
	}
	if !apiequality.Semantic.DeepEqual(spec.Selector, oldSpec.Selector) {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("selector"), ForbiddenUpdateMessage))
	}
	allErrs = append(allErrs, validateClaimTemplatesUpdate(spec.VolumeClaimTemplates, oldSpec.VolumeClaimTemplates, fldPath.Child("volumeClaimTemplates"))...)
	return allErrs
}

// validateClaimTemplatesUpdate allows a claim template's storage request to
// grow (never to shrink) and its labels and annotations to change; any other
// change of the claim templates, adding or removing one included, is
// refused, naming the template (or the list, when their number changed).
func validateClaimTemplatesUpdate(claims, oldClaims []corev1.PersistentVolumeClaim, fldPath *field.Path) field.ErrorList {
	if len(claims) != len(oldClaims) {
		return field.ErrorList{field.Forbidden(fldPath, ForbiddenUpdateMessage)}
	}
	var allErrs field.ErrorList
	for i := range claims {
		path := fldPath.Index(i)
		request, oldRequest := claims[i].Spec.Resources.Requests[corev1.ResourceStorage], oldClaims[i].Spec.Resources.Requests[corev1.ResourceStorage]
		if request.Cmp(oldRequest) < 0 {
			allErrs = append(allErrs, field.Forbidden(path.Child("spec", "resources", "requests").Key(string(corev1.ResourceStorage)),
				fmt.Sprintf("a claim template's storage request may grow, never shrink (from %s)", oldRequest.String())))
		}
		if !apiequality.Semantic.DeepEqual(claimTemplateFixedPart(&claims[i]), claimTemplateFixedPart(&oldClaims[i])) {
			allErrs = append(allErrs, field.Forbidden(path, ClaimTemplateUpdateMessage))
		}
	}
	return allErrs
}

// ClaimTemplateUpdateMessage is the detail of the refusal of a change of a
// claim template beyond what may change.
const ClaimTemplateUpdateMessage = "updates to a claim template may only grow its storage request or change its labels and annotations"

// claimTemplateFixedPart returns a copy of claim without what may change:
// its labels, annotations and storage request.
func claimTemplateFixedPart(claim *corev1.PersistentVolumeClaim) *corev1.PersistentVolumeClaim {
	fixed := claim.DeepCopy()
	fixed.Labels, fixed.Annotations = nil, nil
	delete(fixed.Spec.Resources.Requests, corev1.ResourceStorage)
	if len(fixed.Spec.Resources.Requests) == 0 {
		fixed.Spec.Resources.Requests = nil
	}
	return fixed
}

// podManagementPolicyOf returns the policy of spec, the default
// OrderedReady when it is empty (an object stored before the field
// existed).
func podManagementPolicyOf(spec *apps.PetSetSpec) apps.PodManagementPolicyType {
	if spec.PodManagementPolicy == "" {
		return apps.OrderedReadyPodManagement
	}
	return spec.PodManagementPolicy
}

// withoutPreexisting drops from errs the errors the old object has as well.
func withoutPreexisting(errs, oldErrs field.ErrorList) field.ErrorList {
	var out field.ErrorList
	for _, err := range errs {
		preexisting := false
		for _, oldErr := range oldErrs {
			if err.Type == oldErr.Type && err.Field == oldErr.Field && err.Detail == oldErr.Detail &&
				apiequality.Semantic.DeepEqual(err.BadValue, oldErr.BadValue) {
				preexisting = true
				break
			}
		}
		if !preexisting {
			out = append(out, err)
		}
	}
	return out
}

// validatePetSetStatus validates the counters of a status.
func validatePetSetStatus(status *apps.PetSetStatus, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	allErrs = append(allErrs, apimachineryvalidation.ValidateNonnegativeField(int64(status.Replicas), fldPath.Child("replicas"))...)
	allErrs = append(allErrs, apimachineryvalidation.ValidateNonnegativeField(int64(status.ReadyReplicas), fldPath.Child("readyReplicas"))...)
	if status.ReadyReplicas > status.Replicas {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("readyReplicas"), status.ReadyReplicas, "cannot be greater than status.replicas"))
	}
	if status.ObservedGeneration != nil {
		allErrs = append(allErrs, apimachineryvalidation.ValidateNonnegativeField(*status.ObservedGeneration, fldPath.Child("observedGeneration"))...)
	}
	for _, c := range []struct {
		name  string
		value int32
	}{{"currentReplicas", status.CurrentReplicas}, {"updatedReplicas", status.UpdatedReplicas}} {
		allErrs = append(allErrs, apimachineryvalidation.ValidateNonnegativeField(int64(c.value), fldPath.Child(c.name))...)
		if c.value > status.Replicas {
			allErrs = append(allErrs, field.Invalid(fldPath.Child(c.name), c.value, "cannot be greater than status.replicas"))
		}
	}
	if status.CollisionCount != nil {
		allErrs = append(allErrs, apimachineryvalidation.ValidateNonnegativeField(int64(*status.CollisionCount), fldPath.Child("collisionCount"))...)
	}
	availablePath := fldPath.Child("availableReplicas")
	allErrs = append(allErrs, apimachineryvalidation.ValidateNonnegativeField(int64(status.AvailableReplicas), availablePath)...)
	if status.AvailableReplicas > status.Replicas {
		allErrs = append(allErrs, field.Invalid(availablePath, status.AvailableReplicas, "cannot be greater than status.replicas"))
	}
	if status.AvailableReplicas > status.ReadyReplicas {
		allErrs = append(allErrs, field.Invalid(availablePath, status.AvailableReplicas, "cannot be greater than status.readyReplicas"))
	}
	allErrs = append(allErrs, metav1validation.ValidateConditions(status.Conditions, fldPath.Child("conditions"))...)
	return allErrs
}
