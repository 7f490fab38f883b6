#!/usr/bin/env bash
# Stop and remove the BASB staging stack's containers and network. The vault volume is kept
# unless --delete-vault is given (back it up first: basb-vault backup). Images and the deploy
# state (deploy/.state: current tag and history) are kept, so `deploy.sh "$(cat
# deploy/.state/current)"` starts the same release again.
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
log "teardown: project $PROJECT removed${volumes:+, vault volume deleted}"
