# Shared by deploy.sh, rollback.sh and teardown.sh (sourced, not run).
# Environment:
#   BASB_COMPOSE          compose command (default: docker-compose)
#   BASB_DOCKER           docker command (default: docker)
#   BASB_PROJECT          compose project name (default: basb-staging)
#   BASB_DEPLOY_STATE     folder with `current` (the deployed tag) and `passed` (the tags whose gate
#                         passed on this host, newest last) (default: deploy/.state)
#   BASB_READY_TIMEOUT    seconds to wait for every service to be healthy (default: 180)
#   BASB_ALERTMANAGER_URL Alertmanager the rollback check polls until the stack's alerts resolve
#                         (default: none, the check is skipped with a message)
#   BASB_ALERT_STACK      value of the `stack` label of the stack's alerts (default: the project name)
#   BASB_ALERTS_TIMEOUT   seconds the rollback check waits for the alerts to resolve (default: 300)
#   BASB_ALERTS_POLL      seconds between two polls of Alertmanager (default: 5)
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

valid_tag() { [[ $1 =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]]; }
current_tag() { cat "$STATE_DIR/current" 2>/dev/null || true; }
# The release to roll back to: the newest one whose gate passed on this host (deploy.sh --passed).
last_passed() { tail -n 1 "$STATE_DIR/passed" 2>/dev/null || true; }
passed_tags() { cat "$STATE_DIR/passed" 2>/dev/null || true; }

# Record `tag` as the newest release that passed the gate (once: an earlier line of it is dropped).
record_passed() {
    local tag=$1 kept
    mkdir -p "$STATE_DIR"
    kept=$(grep -vxF -- "$tag" "$STATE_DIR/passed" 2>/dev/null || true)
    printf '%s\n' ${kept:+"$kept"} "$tag" >"$STATE_DIR/passed.tmp"
    mv "$STATE_DIR/passed.tmp" "$STATE_DIR/passed"
}

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
            BASB_TAG=$tag compose logs --tail=20 "${SERVICES[@]}" >&2 || true
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

# The stack's alerts that are firing in Alertmanager (not silenced, inhibited or resolved), one
# `name{service=...}` a line; the watchdog alert, which always fires by design, is not one of them.
# Fails when Alertmanager does not answer.
active_alerts() {
    local url=${BASB_ALERTMANAGER_URL%/}
    curl -fsS --max-time 10 -G "$url/api/v2/alerts" \
        --data-urlencode active=true --data-urlencode silenced=false --data-urlencode inhibited=false \
        --data-urlencode "filter=stack=\"${BASB_ALERT_STACK:-$PROJECT}\"" \
        --data-urlencode 'filter=alertname!~".*Watchdog"' |
        python3 -c '
import json, sys
for alert in json.load(sys.stdin):
    labels = alert.get("labels", {})
    where = ",".join(f"{k}={labels[k]}" for k in ("service", "instance", "environment") if k in labels)
    print(labels.get("alertname", "?") + (f"{{{where}}}" if where else ""))
'
}

# The rollback check: wait (bounded) until none of the stack's alerts fires any more.
wait_alerts_resolved() {
    local timeout=${BASB_ALERTS_TIMEOUT:-300} poll=${BASB_ALERTS_POLL:-5} deadline alerts
    if [[ -z ${BASB_ALERTMANAGER_URL:-} ]]; then
        log "rollback: not waiting for alerts to resolve: no BASB_ALERTMANAGER_URL given"
        return 0
    fi
    deadline=$((SECONDS + timeout))
    while :; do
        if alerts=$(active_alerts); then
            if [[ -z $alerts ]]; then
                log "rollback: no alert of stack ${BASB_ALERT_STACK:-$PROJECT} is firing in $BASB_ALERTMANAGER_URL"
                return 0
            fi
            log "rollback: waiting for $(wc -l <<<"$alerts") firing alert(s) to resolve: $(paste -sd' ' <<<"$alerts")"
        else
            alerts="Alertmanager at $BASB_ALERTMANAGER_URL does not answer"
            log "rollback: $alerts"
        fi
        if ((SECONDS >= deadline)); then
            log "rollback: still firing after ${timeout}s: $(paste -sd' ' <<<"$alerts")" >&2
            return 1
        fi
        sleep "$poll"
    done
}
