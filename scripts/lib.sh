# Shared shell helpers for scripts/*: sourced, not run.
# Progress lines say which step, and how long the whole run has taken so far.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export EDGE_CLUSTER_CACHE=${EDGE_CLUSTER_CACHE:-$HOME/.cache/edge-cluster}
export CONTAINERS_CONF=$REPO/lab/containers.conf
_T0=${_T0:-$(date +%s)}
export _T0

step() { printf '[%s +%4ss] %s\n' "$(basename "$0")" "$(( $(date +%s) - _T0 ))" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# Activate the project virtualenv, creating it first when missing or stale.
use_venv() {
  "$REPO/scripts/venv" >&2
  # shellcheck disable=SC1091
  source "$REPO/.venv/bin/activate"
  export ANSIBLE_CONFIG=$REPO/ansible.cfg
}
