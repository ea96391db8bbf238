//go:build tools

// Package tools pins kwok, which simulates the node and its pods for the
// local cluster. kwok v0.8.0 is built against k8s.io/* v0.36, so it keeps its
// own module instead of being forced onto the v0.37 staging modules.
package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
