#!/usr/bin/env bash
# The pipeline's plinth commands, one phase per call, run the same way by the GitHub Actions workflow, the GitLab
# CI pipeline and the Go test that proves the sequence against the local cloud (examples/ci/ci_test.go).
#
#   plinth-ci.sh merge-request [STACK...]  validate, policy check and preview --save-plan of each stack (default:
#                                          preproduction production); plans and previews go to $PLINTH_PLAN_DIR
#   plinth-ci.sh apply STACK               up --plan $PLINTH_PLAN_DIR/STACK.plan.json: exactly the reviewed plan
#                                          (exit 7: the promotion gate refused production; 8: the plan is stale)
#   plinth-ci.sh drift STACK               the nightly drift check: exit 5 when the cloud drifted
#
# plinth's own exit code is the script's, so the CI job fails with it. The engine flags come from the
# environment: PLINTH_BACKEND, PLINTH_SECRETS_PROVIDER, PLINTH_CLOUD (plinth's documented variables).
set -euo pipefail

PLINTH=${PLINTH:-plinth}
# A CI job plans and applies; it never runs the live local cloud's hosts (on as root with --cloud local).
export PLINTH_LOCAL_LIVE=${PLINTH_LOCAL_LIVE:-0}
PLAN_DIR=${PLINTH_PLAN_DIR:-plans}

# summary prints a line to the job log and, on GitHub, to the run's summary page.
summary() {
	printf '%s\n' "$*"
	if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
		printf '%s\n' "$*" >>"$GITHUB_STEP_SUMMARY"
	fi
}

merge_request() {
	[ $# -gt 0 ] || set -- preproduction production
	mkdir -p "$PLAN_DIR"
	for stack in "$@"; do
		"$PLINTH" validate --stack "$stack"
	done
	for stack in "$@"; do
		"$PLINTH" policy check --stack "$stack"
	done
	for stack in "$@"; do
		"$PLINTH" preview --stack "$stack" --save-plan "$PLAN_DIR/$stack.plan.json" | tee "$PLAN_DIR/$stack.preview.txt"
	done
	summary "### plinth plans"
	summary ""
	summary "| stack | changes | plan |"
	summary "|---|---|---|"
	for stack in "$@"; do
		changes=$(sed -n "s/^preview $stack: //p" "$PLAN_DIR/$stack.preview.txt" | tail -n 1)
		sha=$(sha256sum "$PLAN_DIR/$stack.plan.json" | cut -c1-12)
		summary "| $stack | ${changes:-see the preview} | $stack.plan.json (sha256 $sha…) |"
	done
}

apply() {
	[ $# -eq 1 ] || { echo "usage: plinth-ci.sh apply STACK" >&2; exit 2; }
	local plan="$PLAN_DIR/$1.plan.json"
	[ -f "$plan" ] || { echo "plinth-ci: no saved plan $plan: run the merge-request phase first" >&2; exit 2; }
	"$PLINTH" up --stack "$1" --plan "$plan"
}

drift() {
	[ $# -eq 1 ] || { echo "usage: plinth-ci.sh drift STACK" >&2; exit 2; }
	"$PLINTH" drift --stack "$1"
}

phase=${1:-}
[ $# -gt 0 ] && shift
case "$phase" in
merge-request) merge_request "$@" ;;
apply) apply "$@" ;;
drift) drift "$@" ;;
*)
	echo "usage: plinth-ci.sh merge-request [STACK...] | apply STACK | drift STACK" >&2
	exit 2
	;;
esac
