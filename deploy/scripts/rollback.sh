#!/usr/bin/env bash
# Roll the BASB staging stack back to the newest release that passed the gate on this host
# (recorded by `deploy.sh --passed`), or to TAG, one of those releases; wait until it is healthy,
# then until none of the stack's alerts fires in Alertmanager (BASB_ALERTMANAGER_URL; skipped with
# a message without it).
#
#   deploy/scripts/rollback.sh [TAG]
#
# Exit status: 0 rolled back and no alert firing, 1 the rollback failed, 3 the release is live but
# alerts still fire after BASB_ALERTS_TIMEOUT seconds. See lib.sh for the environment variables.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

[[ $# -le 1 ]] || die "usage: rollback.sh [TAG] (default: the last release that passed the gate)"
running=$(current_tag)
if [[ $# -eq 1 ]]; then
    target=$1
    grep -qxF -- "$target" "$STATE_DIR/passed" 2>/dev/null ||
        die "$target never passed the gate here; releases that did (newest last): $(passed_tags | paste -sd' ')"
else
    target=$(last_passed)
    [[ -n $target ]] || die "no release passed the gate here ($STATE_DIR/passed is empty); nothing to roll back to"
fi
log "rollback: ${running:-?} -> $target (passed the gate)"
require_images "$target"
bring_up "$target" || die "rollback to $target is not healthy either; escalate (docs/runbooks/procedures/rollback.md)"
echo "$target" >"$STATE_DIR/current"
log "rollback: $target is live"
wait_alerts_resolved || {
    log "rollback: $target is live but alerts still fire; follow their runbooks (docs/runbooks/procedures/rollback.md)" >&2
    exit 3
}
