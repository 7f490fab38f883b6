# Shared by deploy.sh, rollback.sh and teardown.sh (sourced, not run).
# Environment:
#   BASB_COMPOSE        compose command (default: docker-compose)
#   BASB_DOCKER         docker command (default: docker)
#   BASB_PROJECT        compose project name (default: basb-staging)
#   BASB_DEPLOY_STATE   folder with `current` (deployed tag) and `history` (earlier tags, newest last)
#                       (default: deploy/.state)
#   BASB_READY_TIMEOUT  seconds to wait for every service to be healthy (default: 180)
# shellcheck shell=bash

DEPLOY_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COMPOSE_FILE="$DEPLOY_DIR/compose.yaml"
STATE_DIR=${BASB_DEPLOY_STATE:-$DEPLOY_DIR/.state}
PROJECT=${BASB_PROJECT:-basb-staging}
READY_TIMEOUT=${BASB_READY_TIMEOUT:-180}
SERVICES=(vault capture organize distill express search)
read -r -a DOCKER <<<"${BASB_DOCKER:-docker}"
read -r -a COMPOSE_CMD <<<"${BASB_COMPOSE:-docker-compose}"

log() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
die() { log "error: $*" >&2; exit 1; }

compose() { "${COMPOSE_CMD[@]}" -f "$COMPOSE_FILE" -p "$PROJECT" "$@"; }

current_tag() { cat "$STATE_DIR/current" 2>/dev/null || true; }
previous_tag() { tail -n 1 "$STATE_DIR/history" 2>/dev/null || true; }

# Every image of the release must exist locally: a deploy never pulls from a registry.
require_images() {
    local tag=$1 service missing=()
    for service in "${SERVICES[@]}"; do
        "${DOCKER[@]}" image inspect "basb/$service:$tag" >/dev/null 2>&1 || missing+=("basb/$service:$tag")
    done
    if ((${#missing[@]})); then
        die "images missing: ${missing[*]}; build them first (make images, tagged $tag)"
    fi
}

# Start (or update) the stack on `tag` and wait until every service's MCP healthcheck passes.
bring_up() {
    local tag=$1
    log "deploy: starting basb/*:$tag (project $PROJECT)"
    BASB_TAG=$tag compose up -d --remove-orphans
    wait_healthy "$tag"
}

wait_healthy() {
    local tag=$1 deadline=$((SECONDS + READY_TIMEOUT)) service id status pending
    while :; do
        pending=()
        for service in "${SERVICES[@]}"; do
            id=$(BASB_TAG=$tag compose ps -q "$service")
            status=$("${DOCKER[@]}" inspect --format '{{.State.Health.Status}}' "$id" 2>/dev/null || echo missing)
            [[ $status == healthy ]] || pending+=("$service=$status")
        done
        if ((${#pending[@]} == 0)); then
            log "deploy: all ${#SERVICES[@]} services healthy on $tag"
            return 0
        fi
        if ((SECONDS >= deadline)); then
            log "deploy: not healthy after ${READY_TIMEOUT}s: ${pending[*]}" >&2
            BASB_TAG=$tag compose logs --tail=20 >&2 || true
            for service in "${SERVICES[@]}"; do  # what each healthcheck said last
                id=$(BASB_TAG=$tag compose ps -q "$service")
                printf '%s healthcheck: %s\n' "$service" "$("${DOCKER[@]}" inspect \
                    --format '{{range .State.Health.Log}}{{.Output}}{{end}}' "$id" 2>/dev/null | grep . | tail -n 1)" >&2
            done
            return 1
        fi
        sleep 2
    done
}
