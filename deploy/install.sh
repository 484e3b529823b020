#!/bin/sh
# install.sh -- deploys the StackState AWS integration's CloudFormation stacks into
# the AWS account and region of the credentials (the product page's manual install).
#
#   ./install.sh BASE_URL API_KEY CONFIGURATION_ID                  full install
#   ./install.sh --topo-cron-only [--topo-cron-bucket BUCKET] [--topo-cron-role ROLE_ARN] \
#       BASE_URL API_KEY CONFIGURATION_ID                           minimal install
#   AWS_PROFILE=profile-name ./install.sh ...
#   AWS_ROLE_ARN=iam-role-arn ./install.sh ...
#
# Also: --profile, --role-arn, --session-name, --external-id (override AWS_PROFILE,
# AWS_ROLE_ARN, AWS_ROLE_SESSION_NAME, AWS_EXTERNAL_ID), --region, --dry-run.
# ./install.sh --help lists every option. Running it again updates the stacks.
set -u
. "$(cd "$(dirname "$0")" && pwd)/awstopo.sh"
if [ -d "$here/cloudformation" ] && [ -n "$package" ]; then   # the manual install zip's layout
    awstopo_run install --templates "$here/cloudformation" --package "$package" "$@"
else
    awstopo_run install "$@"
fi
