# Sourced by the GitLab jobs: turns the job's ID tokens into short-lived cloud credentials, no stored keys.
#   AWS: the SDKs and the Pulumi aws provider assume $PLINTH_AWS_ROLE_ARN with the web identity token file.
#   GCP: an external-account credential file that trades $GCP_ID_TOKEN for $PLINTH_GCP_SERVICE_ACCOUNT.
# shellcheck shell=bash
umask 077
_plinth_oidc_dir=$(mktemp -d)
printf '%s' "$AWS_ID_TOKEN" >"$_plinth_oidc_dir/aws-token"
export AWS_ROLE_ARN="$PLINTH_AWS_ROLE_ARN"
export AWS_WEB_IDENTITY_TOKEN_FILE="$_plinth_oidc_dir/aws-token"
export AWS_ROLE_SESSION_NAME="gitlab-$CI_PROJECT_ID-$CI_JOB_ID"
printf '%s' "$GCP_ID_TOKEN" >"$_plinth_oidc_dir/gcp-token"
cat >"$_plinth_oidc_dir/gcp.json" <<JSON
{
  "type": "external_account",
  "audience": "//iam.googleapis.com/$PLINTH_GCP_WORKLOAD_IDENTITY_PROVIDER",
  "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
  "token_url": "https://sts.googleapis.com/v1/token",
  "credential_source": {"file": "$_plinth_oidc_dir/gcp-token"},
  "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/$PLINTH_GCP_SERVICE_ACCOUNT:generateAccessToken"
}
JSON
export GOOGLE_APPLICATION_CREDENTIALS="$_plinth_oidc_dir/gcp.json"
