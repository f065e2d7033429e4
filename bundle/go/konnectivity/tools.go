//go:build tools

// Package tools pins the commands this module builds, so that go mod tidy keeps their
// dependencies in go.mod and go.sum (the usual tools.go pattern).
package tools

import (
	_ "sigs.k8s.io/apiserver-network-proxy/cmd/agent"
	_ "sigs.k8s.io/apiserver-network-proxy/cmd/server"
)
