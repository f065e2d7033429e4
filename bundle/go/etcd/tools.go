//go:build tools

// Package tools pins the commands this module builds, so that go mod tidy keeps their
// dependencies in go.mod and go.sum (the usual tools.go pattern).
package tools

import (
	_ "go.etcd.io/etcd/etcdctl/v3"
)
