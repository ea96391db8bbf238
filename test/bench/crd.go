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

package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/klog/v2"
)

// CRDGroup is the group of the CustomResourceDefinition that carries the
// PetSet schema; CRDName is its name.
const (
	CRDGroup = "bench.petsets.io"
	CRDName  = "petsets." + CRDGroup
)

const petSetSchemaName = "com.github.petsets.api.apps.v1alpha1.PetSet"

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// FetchPetSetSchema reads the OpenAPI v3 document of apps/v1alpha1 that
// kube-apiserver publishes for petset-apiserver and returns the PetSet
// schema as a structural CustomResourceDefinition schema (see
// StructuralSchema). The aggregator publishes the document some time after
// the APIService becomes available, so it waits for it at most timeout.
func (c *Cluster) FetchPetSetSchema(ctx context.Context, timeout time.Duration) (map[string]any, error) {
	var doc map[string]any
	var last error
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		raw, err := c.Kube.Discovery().RESTClient().Get().AbsPath("/openapi/v3/apis/apps/v1alpha1").Do(ctx).Raw()
		if err != nil {
			last = err
			return false, nil
		}
		doc = nil
		if err := json.Unmarshal(raw, &doc); err != nil {
			return false, fmt.Errorf("decoding the OpenAPI v3 document of apps/v1alpha1: %w", err)
		}
		components, _ := doc["components"].(map[string]any)
		schemas, _ := components["schemas"].(map[string]any)
		if _, ok := schemas[petSetSchemaName]; !ok {
			last = fmt.Errorf("the document has no schema %s yet", petSetSchemaName)
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the OpenAPI v3 document of apps/v1alpha1 (last: %v): %w", last, err)
	}
	return StructuralSchema(doc, petSetSchemaName)
}

// StructuralSchema returns the schema name of an OpenAPI v3 document as a
// structural schema that a CustomResourceDefinition accepts:
//
//   - every $ref is inlined (allOf: [{$ref}] merged into its parent, with
//     the parent's own keys winning);
//   - a oneOf of string and number or integer (Quantity, IntOrString)
//     becomes x-kubernetes-int-or-string;
//   - an object schema without properties (FieldsV1) keeps unknown fields;
//   - the root metadata is reduced to type: object, as the API server
//     requires;
//   - defaults that are a Go zero value ({}, "", 0, false) are dropped:
//     they describe Go struct fields, not defaults a server applies
//     (except on the keys of a list map, where a CRD requires a default
//     or the key to be required: such a key keeps its zero default, or
//     is required when the zero value is not in its enum);
//   - descriptions and the keys a CRD schema does not have
//     (x-kubernetes-patch-*, x-kubernetes-group-version-kind,
//     x-kubernetes-unions) are dropped.
//
// Everything else (types, formats, required fields, enums, the other
// defaults, list and map types) is kept as published.
func StructuralSchema(doc map[string]any, name string) (map[string]any, error) {
	components, _ := doc["components"].(map[string]any)
	schemas, _ := components["schemas"].(map[string]any)
	if schemas == nil {
		return nil, errors.New("the OpenAPI document has no components.schemas")
	}
	r := &resolver{schemas: schemas}
	root, err := r.resolveName(name)
	if err != nil {
		return nil, err
	}
	props, _ := root["properties"].(map[string]any)
	if props == nil {
		return nil, fmt.Errorf("schema %s has no properties", name)
	}
	props["metadata"] = map[string]any{"type": "object"}
	dropKey(root, zeroDefaultKey)
	return root, nil
}

// zeroDefaultKey marks, while a schema is resolved, a zero-value default
// that was dropped.
const zeroDefaultKey = "x-petset-bench-zero-default"

// dropKey deletes key from every schema under s.
func dropKey(s map[string]any, key string) {
	delete(s, key)
	if props, ok := s["properties"].(map[string]any); ok {
		for _, p := range props {
			if m, ok := p.(map[string]any); ok {
				dropKey(m, key)
			}
		}
	}
	for _, k := range []string{"items", "additionalProperties"} {
		if m, ok := s[k].(map[string]any); ok {
			dropKey(m, key)
		}
	}
}

type resolver struct {
	schemas map[string]any
	stack   []string
}

func (r *resolver) resolveName(name string) (map[string]any, error) {
	if slices.Contains(r.stack, name) {
		return nil, fmt.Errorf("schema %s refers to itself (%s)", name, strings.Join(append(r.stack, name), " -> "))
	}
	s, ok := r.schemas[name].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schema %s is not in the document", name)
	}
	r.stack = append(r.stack, name)
	defer func() { r.stack = r.stack[:len(r.stack)-1] }()
	return r.resolve(s)
}

func (r *resolver) resolve(in map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range in {
		out[k] = v
	}
	if ref, ok := out["$ref"].(string); ok {
		delete(out, "$ref")
		target, err := r.resolveName(strings.TrimPrefix(ref, "#/components/schemas/"))
		if err != nil {
			return nil, err
		}
		out = merge(out, target)
	}
	if all, ok := out["allOf"].([]any); ok {
		delete(out, "allOf")
		for _, item := range all {
			m, ok := item.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("allOf holds a %T", item)
			}
			resolved, err := r.resolve(m)
			if err != nil {
				return nil, err
			}
			out = merge(out, resolved)
		}
	}
	for _, key := range []string{"oneOf", "anyOf"} {
		alts, ok := out[key].([]any)
		if !ok {
			continue
		}
		if !scalarAlternatives(alts) {
			return nil, fmt.Errorf("%s of %v is not a choice of scalar types", key, alts)
		}
		delete(out, "oneOf")
		delete(out, "type")
		delete(out, "format")
		out["anyOf"] = []any{map[string]any{"type": "integer"}, map[string]any{"type": "string"}}
		out["x-kubernetes-int-or-string"] = true
	}
	if d, ok := out["default"]; ok && isZero(d) {
		// A Go zero value published as a default ({} for a struct, "" for
		// a string enum) is no default a server applies; kube-apiserver
		// sets defaults in Go code. A CRD would apply it and refuse it.
		// The key of a list map keeps it (below): a CRD requires one.
		delete(out, "default")
		out[zeroDefaultKey] = d
	}
	for _, key := range []string{"description", "x-kubernetes-patch-strategy", "x-kubernetes-patch-merge-key", "x-kubernetes-group-version-kind", "x-kubernetes-unions"} {
		delete(out, key)
	}
	if props, ok := out["properties"].(map[string]any); ok {
		resolved := map[string]any{}
		for name, p := range props {
			m, ok := p.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("property %s is a %T", name, p)
			}
			s, err := r.resolve(m)
			if err != nil {
				return nil, fmt.Errorf("property %s: %w", name, err)
			}
			resolved[name] = s
		}
		out["properties"] = resolved
	}
	for _, key := range []string{"items", "additionalProperties"} {
		m, ok := out[key].(map[string]any)
		if !ok {
			continue
		}
		s, err := r.resolve(m)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		out[key] = s
	}
	if keys, ok := out["x-kubernetes-list-map-keys"].([]any); ok {
		items, _ := out["items"].(map[string]any)
		props, _ := items["properties"].(map[string]any)
		for _, k := range keys {
			key, _ := k.(string)
			p, ok := props[key].(map[string]any)
			if !ok {
				continue
			}
			d, ok := p[zeroDefaultKey]
			if !ok {
				continue
			}
			if enum, ok := p["enum"].([]any); ok && !slices.Contains(enum, d) {
				// The zero value is no valid key either (Go
				// validation refuses it): the key is required.
				required, _ := items["required"].([]any)
				if !slices.Contains(required, any(key)) {
					items["required"] = append(required, key)
				}
				continue
			}
			p["default"] = d
		}
	}
	if out["type"] == "object" && out["properties"] == nil && out["additionalProperties"] == nil {
		out["x-kubernetes-preserve-unknown-fields"] = true
	}
	return out, nil
}

// isZero reports whether a published default is the zero value of its
// type.
func isZero(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	case string:
		return v == ""
	case float64:
		return v == 0
	case bool:
		return !v
	}
	return false
}

// merge returns base with the keys of extra that base does not have.
func merge(base, extra map[string]any) map[string]any {
	for k, v := range extra {
		if _, ok := base[k]; !ok {
			base[k] = v
		}
	}
	return base
}

func scalarAlternatives(alts []any) bool {
	for _, a := range alts {
		m, ok := a.(map[string]any)
		if !ok || len(m) != 1 {
			return false
		}
		switch m["type"] {
		case "string", "number", "integer":
		default:
			return false
		}
	}
	return len(alts) > 0
}

// EnsureCRD creates (or replaces the schema of) the CustomResourceDefinition
// CRDName with the given schema, with the status and scale subresources
// PetSets have, and waits until its resource is served.
func (c *Cluster) EnsureCRD(ctx context.Context, openAPISchema map[string]any, timeout time.Duration) error {
	logger := klog.FromContext(ctx)
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": CRDName},
		"spec": map[string]any{
			"group": CRDGroup,
			"scope": "Namespaced",
			"names": map[string]any{
				"plural":   "petsets",
				"singular": "petset",
				"kind":     "PetSet",
				"listKind": "PetSetList",
			},
			"versions": []any{map[string]any{
				"name":    "v1alpha1",
				"served":  true,
				"storage": true,
				"schema":  map[string]any{"openAPIV3Schema": openAPISchema},
				"subresources": map[string]any{
					"status": map[string]any{},
					"scale": map[string]any{
						"specReplicasPath":   ".spec.replicas",
						"statusReplicasPath": ".status.replicas",
					},
				},
			}},
		},
	}}
	client := c.Dynamic.Resource(crdResource)
	reqCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := client.Create(reqCtx, crd, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		logger.Info("Replacing the schema of an existing CustomResourceDefinition", "crd", CRDName)
		existing, getErr := client.Get(reqCtx, CRDName, metav1.GetOptions{})
		if getErr != nil {
			return fmt.Errorf("reading CustomResourceDefinition %s: %w", CRDName, getErr)
		}
		crd.SetResourceVersion(existing.GetResourceVersion())
		_, err = client.Update(reqCtx, crd, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("creating CustomResourceDefinition %s: %w", CRDName, err)
	}
	// Established means the API server serves the resource; a LIST
	// through the admin's client confirms it.
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		got, err := client.Get(ctx, CRDName, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		conditions, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		established := false
		for _, cond := range conditions {
			m, _ := cond.(map[string]any)
			if m["type"] == "Established" && m["status"] == "True" {
				established = true
			}
		}
		if !established {
			return false, nil
		}
		_, err = c.Dynamic.Resource(crdGVR).List(ctx, metav1.ListOptions{Limit: 1})
		return err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for CustomResourceDefinition %s to be served: %w", CRDName, err)
	}
	logger.Info("CustomResourceDefinition with the PetSet schema is served", "crd", CRDName)
	return nil
}

// DeleteCRD deletes the CustomResourceDefinition CRDName and waits (at most
// timeout) until it is gone.
func (c *Cluster) DeleteCRD(ctx context.Context, timeout time.Duration) error {
	client := c.Dynamic.Resource(crdResource)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := client.Delete(ctx, CRDName, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting CustomResourceDefinition %s: %w", CRDName, err)
	}
	err := wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		_, err := client.Get(ctx, CRDName, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		return fmt.Errorf("waiting for CustomResourceDefinition %s to be deleted: %w", CRDName, err)
	}
	return nil
}
