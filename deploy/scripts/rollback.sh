#!/usr/bin/env bash
# Roll the BASB staging stack back to the tag that ran before the current one (the last line of
# the deploy history), wait until it is healthy, and drop that line from the history.
#
#   deploy/scripts/rollback.sh
#
# See lib.sh for the environment variables.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

[[ $# -eq 0 ]] || die "usage: rollback.sh (it returns to the previous deployed tag)"
previous=$(previous_tag)
running=$(current_tag)
[[ -n $previous ]] || die "no previous tag in $STATE_DIR/history; nothing to roll back to"
log "rollback: ${running:-?} -> $previous"
require_images "$previous"
bring_up "$previous" || die "rollback to $previous is not healthy either; escalate (docs/runbooks/procedures/rollback.md)"
sed -i '$d' "$STATE_DIR/history"
echo "$previous" >"$STATE_DIR/current"
log "rollback: $previous is live"
