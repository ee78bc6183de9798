#!/usr/bin/env bash
# The pull-request gate without a CI system: the guardrails over every tenant file and its
# rendering, then the ring order of the change. Run from a checkout of the pull request:
#   examples/ci/rollout-gate.sh origin/main live/ [status.yaml]
# Exit 0 when both pass, 1 when either denies, 2 on bad input.
set -euo pipefail
base_ref="${1:?usage: rollout-gate.sh BASE_REF FLEET_DIR [STATUS_FILE]}"
fleet="${2:?usage: rollout-gate.sh BASE_REF FLEET_DIR [STATUS_FILE]}"
status="${3:-}"

work="$(mktemp -d)"
trap 'git worktree remove --force "$work/base" 2>/dev/null || true; rm -rf "$work"' EXIT

# 1. Guardrails: each tenant file of the head fleet, with what it renders.
status_code=0
while IFS= read -r -d '' tenant; do
    out="$work/render/$(basename "$tenant" .yaml)"
    ledger-topology render "$tenant" --out "$out" --quiet
    ledger-policy check "$tenant" "$out" || status_code=1
done < <(find "$fleet" -name '*.yaml' -print0 | sort -z)

# 2. Ring order: the base fleet, checked out beside this one.
git worktree add --detach "$work/base" "$base_ref" >/dev/null
args=(rollout check --base "$work/base/$fleet" --head "$fleet")
[ -n "$status" ] && args+=(--status "$status")
ledger-topology "${args[@]}" || status_code=$?
exit "$status_code"
