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
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// expectationsTimeout bounds how long a write may stay unobserved before the
// controller stops waiting for the informer and acts on what it sees.
const expectationsTimeout = 5 * time.Minute

// petExpectations remembers, per PetSet key, the pet writes that the pod
// informer has not reflected yet. While one is outstanding the controller
// takes no new action for that PetSet, so a stale cache can neither cause a
// duplicate create nor a second delete, nor a scaling decision made on a view
// that misses the controller's own last write.
//
// Unlike counting expectations, a write is considered observed by looking at
// the informer's current content (by pod name and UID), so no event can be
// counted twice. One fact comes from the pod event handlers instead: the
// deletion of a created pod (observeDeletion). A pet deleted right after its
// creation, before a sync saw it in the cache, is never in the cache at a
// sync, and must not hold the PetSet until the expectation expires. Acting on
// that fact is safe with any cache: the pod is gone.
type petExpectations struct {
	clock clock.PassiveClock

	mu   sync.Mutex
	sets map[string]*setExpectations
}

type setExpectations struct {
	// creates maps a pod name to its pending creation.
	creates map[string]createExpectation
	// deletes maps a pod name to the deleted pod's UID and the time.
	deletes map[string]deleteExpectation
}

type createExpectation struct {
	// uid is the created pod's UID, known once the create request
	// returned.
	uid types.UID
	// deletedUID is the UID of the last pod of that name the informer
	// reported deleted since the create was decided.
	deletedUID types.UID
	when       time.Time
}

type deleteExpectation struct {
	uid  types.UID
	when time.Time
}

func newPetExpectations(c clock.PassiveClock) *petExpectations {
	return &petExpectations{clock: c, sets: map[string]*setExpectations{}}
}

func (e *petExpectations) get(key string) *setExpectations {
	s, ok := e.sets[key]
	if !ok {
		s = &setExpectations{creates: map[string]createExpectation{}, deletes: map[string]deleteExpectation{}}
		e.sets[key] = s
	}
	return s
}

// expectCreate records that the pod podName is about to be created for the
// PetSet key. It is called before the create request, as the informer may
// report the pod's deletion before the request returns; createdAs or
// createFailed follows.
func (e *petExpectations) expectCreate(key, podName string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.get(key).creates[podName] = createExpectation{when: e.clock.Now()}
}

// createdAs records the UID of the pod created after expectCreate.
func (e *petExpectations) createdAs(key, podName string, uid types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.sets[key]
	if !ok {
		return
	}
	if c, ok := s.creates[podName]; ok {
		c.uid = uid
		s.creates[podName] = c
	}
}

// createFailed drops the expectation of a create that did not happen.
func (e *petExpectations) createFailed(key, podName string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s, ok := e.sets[key]; ok {
		delete(s.creates, podName)
		if len(s.creates) == 0 && len(s.deletes) == 0 {
			delete(e.sets, key)
		}
	}
}

// expectDelete records that the pod podName with the given UID was deleted
// for the PetSet key.
func (e *petExpectations) expectDelete(key, podName string, uid types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.get(key).deletes[podName] = deleteExpectation{uid: uid, when: e.clock.Now()}
}

// observeDeletion records that the informer reported pod, a pet of the
// PetSet key, deleted. If it is a pod the controller created, its creation
// needs no further observation.
func (e *petExpectations) observeDeletion(key string, pod *v1.Pod) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.sets[key]
	if !ok {
		return
	}
	if c, ok := s.creates[pod.Name]; ok {
		c.deletedUID = pod.UID
		s.creates[pod.Name] = c
	}
}

// forget drops every expectation of the PetSet key.
func (e *petExpectations) forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.sets, key)
}

// pendingFor returns how long the oldest expectation of the PetSet key may
// still be waited for, and false when nothing is expected. The controller
// syncs the PetSet again by then: if the informer never reports a write, no
// event would.
func (e *petExpectations) pendingFor(key string) (time.Duration, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.sets[key]
	if !ok {
		return 0, false
	}
	var oldest time.Time
	for _, c := range s.creates {
		if oldest.IsZero() || c.when.Before(oldest) {
			oldest = c.when
		}
	}
	for _, d := range s.deletes {
		if oldest.IsZero() || d.when.Before(oldest) {
			oldest = d.when
		}
	}
	if oldest.IsZero() {
		return 0, false
	}
	return max(0, expectationsTimeout-e.clock.Since(oldest)), true
}

// satisfied reports whether every write recorded for the PetSet key is
// visible in pods (the PetSet's pods as the informer sees them): a created
// pod is present (or was reported deleted), a deleted pod is terminating,
// gone, or replaced by another UID. Observed and expired expectations are
// dropped.
func (e *petExpectations) satisfied(logger klog.Logger, key string, pods []*v1.Pod) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.sets[key]
	if !ok {
		return true
	}
	byName := make(map[string]*v1.Pod, len(pods))
	for _, pod := range pods {
		byName[pod.Name] = pod
	}
	now := e.clock.Now()
	for name, c := range s.creates {
		if _, seen := byName[name]; seen || (c.uid != "" && c.deletedUID == c.uid) {
			delete(s.creates, name)
			continue
		}
		if now.Sub(c.when) > expectationsTimeout {
			logger.V(2).Info("Pod creation not observed in time, no longer waiting", "petSet", key, "pod", name)
			delete(s.creates, name)
		}
	}
	for name, exp := range s.deletes {
		pod, seen := byName[name]
		if !seen || pod.UID != exp.uid || isTerminating(pod) {
			delete(s.deletes, name)
			continue
		}
		if now.Sub(exp.when) > expectationsTimeout {
			logger.V(2).Info("Pod deletion not observed in time, no longer waiting", "petSet", key, "pod", name)
			delete(s.deletes, name)
		}
	}
	if len(s.creates) == 0 && len(s.deletes) == 0 {
		delete(e.sets, key)
		return true
	}
	logger.V(4).Info("Waiting for the informer to observe pet writes", "petSet", key,
		"pendingCreates", len(s.creates), "pendingDeletes", len(s.deletes))
	return false
}
