#!/usr/bin/env bash
# Stop and remove the BASB staging stack's service containers. The monitoring stack (compose
# profile `monitoring`) keeps running, so it sees the stack go and come back, unless
# --with-monitoring is given; the network goes with the last container. The vault volume is kept
# unless --delete-vault is given (back it up first: basb-vault backup); Prometheus' data volume is
# always kept. Images and the deploy state (deploy/.state: the current tag and the tags that
# passed the gate) are kept, so `deploy.sh "$(cat deploy/.state/current)"` starts the same
# release again.
#
#   deploy/scripts/teardown.sh [--with-monitoring] [--delete-vault]
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

usage="usage: teardown.sh [--with-monitoring] [--delete-vault]"
with_monitoring=false delete_vault=false
for arg in "$@"; do
    case $arg in
        --with-monitoring) with_monitoring=true ;;
        --delete-vault) delete_vault=true ;;
        *) die "$usage" ;;
    esac
done

export BASB_TAG
BASB_TAG=$(current_tag)
if $with_monitoring; then
    compose --profile monitoring down --remove-orphans
    what="services, monitoring and network removed"
else
    # `down` would remove the monitoring profile's containers too: remove the services by name.
    compose rm --stop --force vault-init "${SERVICES[@]}"
    remaining=$("${DOCKER[@]}" ps -aq --filter "label=com.docker.compose.project=$PROJECT")
    if [[ -z $remaining ]]; then
        compose down --remove-orphans  # nothing else runs: the network goes too
        what="services and network removed"
    else
        what="services removed; monitoring kept running ($(wc -l <<<"$remaining") containers; --with-monitoring removes it)"
    fi
fi
if $delete_vault; then
    "${DOCKER[@]}" volume rm "${PROJECT}_vault"
    what+=", vault volume deleted"
fi
log "teardown: project $PROJECT: $what"
