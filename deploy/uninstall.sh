#!/bin/sh
# uninstall.sh -- removes what install.sh deployed for a configuration: the stacks in
# reverse order, their buckets (emptied first, every object version), the API key
# parameter and the bucket install.sh created. What is already gone is skipped.
#
#   ./uninstall.sh CONFIGURATION_ID
#   AWS_PROFILE=profile-name ./uninstall.sh CONFIGURATION_ID
#   AWS_ROLE_ARN=iam-role-arn ./uninstall.sh CONFIGURATION_ID
#
# Also: --profile, --role-arn, --session-name, --external-id (override AWS_PROFILE,
# AWS_ROLE_ARN, AWS_ROLE_SESSION_NAME, AWS_EXTERNAL_ID), --region.
set -u
. "$(cd "$(dirname "$0")" && pwd)/awstopo.sh"
awstopo_run uninstall "$@"
