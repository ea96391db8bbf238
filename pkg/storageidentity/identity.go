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

// Package storageidentity keeps petset-apiserver from serving a storage that
// is not the one the cluster knows.
//
// kube-controller-manager's garbage collector deletes a dependent when a live
// read of its owner answers 404. A server started on empty or wrong storage (a
// fresh etcd, a wrong --etcd-prefix, a restore gone wrong) answers 404 for
// every PetSet, and the collector would delete every pet in the cluster. So
// the server records an identity both in its storage (a key under its etcd
// prefix) and in the cluster (a ConfigMap), compares them on every start, and
// on a mismatch serves nothing but its health endpoints, which say what is
// wrong: the aggregator then marks the API unavailable and the collector
// deletes nothing.
package storageidentity

import (
	"context"
	"errors"
	"fmt"
)

// Identity names one storage: a random identifier chosen when the storage is
// first used by a server that checks identities.
type Identity string

// Side is one of the two places an identity is recorded.
type Side interface {
	// Get returns the identity recorded there, and false if none is.
	Get(ctx context.Context) (Identity, bool, error)
	// CreateIfAbsent records id unless an identity is recorded already,
	// and returns the identity recorded afterwards: id, or the one that
	// was there (two servers starting together agree on one).
	CreateIfAbsent(ctx context.Context, id Identity) (Identity, error)
	// Replace records id whatever was recorded.
	Replace(ctx context.Context, id Identity) error
	// Describe names the place, for messages.
	Describe() string
}

// Outcome is the result of a check.
type Outcome struct {
	// Identity is the identity both sides agree on, when they do.
	Identity Identity
	// Mismatch explains why the storage must not be served; empty when
	// it may.
	Mismatch string
	// Action says what the check recorded, for the log.
	Action string
}

// OK reports whether the storage may be served.
func (o Outcome) OK() bool { return o.Mismatch == "" }

// Check compares the identity recorded in the storage with the one recorded
// in the cluster, recording what is missing when that is safe:
//
//   - neither has one: a first start; the storage's identity is created and
//     then recorded in the cluster.
//   - only the storage has one: the cluster's record was lost (or this is the
//     first start of a server that checks identities on this cluster); it is
//     recorded again.
//   - only the cluster has one: the storage is not the one the cluster knew
//     (empty, wrong prefix, a restore from before the identity existed):
//     a mismatch.
//   - both, different: a mismatch.
//
// With adopt, a mismatch is resolved in favour of the storage: it gets an
// identity if it has none, and the cluster's record is replaced. That is the
// operator's decision after checking that the storage is right.
func Check(ctx context.Context, storage, cluster Side, adopt bool, newIdentity func() Identity) (Outcome, error) {
	stored, inStorage, err := storage.Get(ctx)
	if err != nil {
		return Outcome{}, fmt.Errorf("read the storage identity from %s: %w", storage.Describe(), err)
	}
	recorded, inCluster, err := cluster.Get(ctx)
	if err != nil {
		return Outcome{}, fmt.Errorf("read the storage identity recorded in %s: %w", cluster.Describe(), err)
	}

	switch {
	case inStorage && inCluster && stored == recorded:
		return Outcome{Identity: stored, Action: "identities match"}, nil
	case !inStorage && !inCluster:
		id, err := storage.CreateIfAbsent(ctx, newIdentity())
		if err != nil {
			return Outcome{}, fmt.Errorf("record a new storage identity in %s: %w", storage.Describe(), err)
		}
		return recordInCluster(ctx, cluster, id, "recorded a new storage identity")
	case inStorage && !inCluster:
		return recordInCluster(ctx, cluster, stored, "recorded the storage identity in the cluster again")
	}

	var mismatch string
	if !inStorage {
		mismatch = fmt.Sprintf("the storage %s has no identity, but %s records that this cluster's PetSets were kept in a storage with identity %s: "+
			"the server was started on empty or wrong storage (a new etcd, a wrong --etcd-prefix, a restore from an older backup)",
			storage.Describe(), cluster.Describe(), recorded)
	} else {
		mismatch = fmt.Sprintf("the storage %s has identity %s, but %s records identity %s: the server was started on another storage than the one "+
			"this cluster's PetSets were kept in (another etcd, a wrong --etcd-prefix, a restore of another cluster)",
			storage.Describe(), stored, cluster.Describe(), recorded)
	}
	if !adopt {
		return Outcome{Mismatch: mismatch + ". Serving it would make every PetSet disappear and the garbage collector delete every pet, " +
			"so the server serves nothing until this is resolved: start it on the right storage, or, if this storage is the one to keep, " +
			"restart it once with --adopt-storage-identity."}, nil
	}
	id := stored
	if !inStorage {
		if id, err = storage.CreateIfAbsent(ctx, newIdentity()); err != nil {
			return Outcome{}, fmt.Errorf("record a new storage identity in %s: %w", storage.Describe(), err)
		}
	}
	if err := cluster.Replace(ctx, id); err != nil {
		return Outcome{}, fmt.Errorf("record the adopted storage identity in %s: %w", cluster.Describe(), err)
	}
	return Outcome{Identity: id, Action: "adopted the storage as asked by --adopt-storage-identity: " + mismatch}, nil
}

func recordInCluster(ctx context.Context, cluster Side, id Identity, action string) (Outcome, error) {
	recorded, err := cluster.CreateIfAbsent(ctx, id)
	if err != nil {
		return Outcome{}, fmt.Errorf("record the storage identity in %s: %w", cluster.Describe(), err)
	}
	if recorded != id {
		// Another server recorded another identity meanwhile: only a
		// server on another storage can have done that.
		return Outcome{}, fmt.Errorf("%w: %s recorded identity %s while this server recorded %s", errRace, cluster.Describe(), recorded, id)
	}
	return Outcome{Identity: id, Action: action}, nil
}

// errRace is returned when the cluster's record changed during a check; the
// check is made again.
var errRace = errors.New("the recorded storage identity changed during the check")
