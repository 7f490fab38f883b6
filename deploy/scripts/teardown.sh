#!/usr/bin/env bash
# Stop and remove the BASB staging stack's containers and network. The vault volume is kept
# unless --delete-vault is given (back it up first: basb-vault backup). Images are kept.
#
#   deploy/scripts/teardown.sh [--delete-vault]
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

volumes=()
case ${1:-} in
    "") ;;
    --delete-vault) volumes=(--volumes) ;;
    *) die "usage: teardown.sh [--delete-vault]" ;;
esac
BASB_TAG=$(current_tag) compose --profile monitoring down --remove-orphans "${volumes[@]}"
rm -f "$STATE_DIR/current"
log "teardown: project $PROJECT removed${volumes:+, vault volume deleted}"
