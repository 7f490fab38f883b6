#!/usr/bin/env bash
# Deploy release TAG of the BASB staging stack (deploy/compose.yaml) and wait until every service
# answers its MCP healthcheck. The tag that was running is appended to the history, so
# rollback.sh can return to it; images of earlier tags are never removed by these scripts.
#
#   deploy/scripts/deploy.sh 1.1
#
# On failure the stack is left as it is (logs are printed) and the current tag is not changed:
# run deploy/scripts/rollback.sh. See lib.sh for the environment variables.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

[[ $# -eq 1 && -n $1 ]] || die "usage: deploy.sh TAG (e.g. deploy.sh 1.0)"
tag=$1
[[ $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "not a valid image tag: $tag"

require_images "$tag"
mkdir -p "$STATE_DIR"
running=$(current_tag)
if ! bring_up "$tag"; then
    die "deploy of $tag failed; roll back with deploy/scripts/rollback.sh${running:+ (back to $running)}"
fi
if [[ -n $running && $running != "$tag" ]]; then
    echo "$running" >>"$STATE_DIR/history"
fi
echo "$tag" >"$STATE_DIR/current"
log "deploy: $tag is live${running:+ (previous: $running)}"
