// Builds the flannel CNI meta-plugin from containernetworking/plugins v0.9.1, its last home before
// it moved to flannel-io/cni-plugin (which the module proxy reachable here does not serve). It reads
// /run/flannel/subnet.env and delegates to bridge + host-local, as the newer copy does.
module edge-cluster.invalid/bundle/flannel-cni

go 1.14

require github.com/containernetworking/plugins v0.9.1
