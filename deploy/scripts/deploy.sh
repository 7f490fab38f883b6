#!/usr/bin/env bash
# Deploy release TAG of the BASB staging stack (deploy/compose.yaml) and wait until every service
# answers its MCP healthcheck; then, once the gate has passed on it, record it as a release to
# roll back to. Only releases recorded this way are rollback targets: a deploy that failed, or
# whose gate failed, never is.
#
#   deploy/scripts/deploy.sh TAG                       deploy TAG (it becomes `current`)
#   deploy/scripts/deploy.sh --passed TAG GATE_JSON    record TAG as passed: TAG is current and
#                                                      GATE_JSON (the gate's gate.json, or the
#                                                      merge of its shards) is a full run that passed
#
# On failure the stack is left as it is (logs are printed) and nothing is recorded: run
# deploy/scripts/rollback.sh. See lib.sh for the environment variables.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

usage="usage: deploy.sh TAG | deploy.sh --passed TAG GATE_JSON"

# What keeps GATE_JSON from proving that TAG passed (empty when it does).
gate_objection() {
    python3 - "$1" <<'PY'
import json, sys
path = sys.argv[1]
try:
    with open(path, encoding="utf-8") as handle:
        gate = json.load(handle)
except (OSError, ValueError) as exc:
    print(f"{path}: not a readable gate.json ({exc})")
    sys.exit()
if not isinstance(gate, dict) or gate.get("verdict") != "pass":
    print(f"{path}: verdict is {gate.get('verdict') if isinstance(gate, dict) else None!r}, not 'pass'")
elif not (gate.get("scope") or {}).get("full"):
    reasons = ", ".join((gate.get("scope") or {}).get("reasons") or []) or "unknown"
    print(f"{path}: a partial run ({reasons}); merge every shard first (basb-report merge)")
PY
}

if [[ ${1:-} == --passed ]]; then
    [[ $# -eq 3 && -n $2 && -n $3 ]] || die "$usage"
    tag=$2 report=$3
    valid_tag "$tag" || die "not a valid image tag: $tag"
    running=$(current_tag)
    [[ $running == "$tag" ]] || die "$tag is not the deployed release (current: ${running:-none}); not recorded"
    objection=$(gate_objection "$report")
    [[ -z $objection ]] || die "$tag not recorded as passed: $objection"
    record_passed "$tag"
    log "deploy: $tag passed the gate; rollback.sh returns to it"
    exit 0
fi

[[ $# -eq 1 && -n $1 ]] || die "$usage"
tag=$1
valid_tag "$tag" || die "not a valid image tag: $tag"

require_images "$tag"
mkdir -p "$STATE_DIR"
good=$(last_passed)
if ! bring_up "$tag"; then
    die "deploy of $tag failed; roll back with deploy/scripts/rollback.sh${good:+ (to $good, the last release that passed the gate)}"
fi
echo "$tag" >"$STATE_DIR/current"
log "deploy: $tag is live; run the gate, then: deploy/scripts/deploy.sh --passed $tag basb-report/gate.json"
