/* install_checks.h -- what `awstopo install` looks up in the account before it
 * deploys (docs/install.md): a CloudTrail trail the account already has, and
 * the role given with --topo-cron-role.
 *
 * Read-only calls through the cfn_ctx's client; errors are returned in err,
 * nothing is printed.
 */
#ifndef AWSTOPO_INSTALL_CHECKS_H
#define AWSTOPO_INSTALL_CHECKS_H

#include <stddef.h>

#include "cfn.h"

/* A multi-region trail that is logging, other than the one named own (the
 * cloudtrail stack's, which an update must keep): cloudtrail DescribeTrails
 * (shadow trails included: a multi-region trail made in another region, an
 * organization trail), then GetTrailStatus of each multi-region one.
 * 1 with its name in name (and home region in region), 0 none, -1 error. */
int check_existing_trail(const cfn_ctx *c, const char *own, char *name, size_t namelen, char *region,
                         size_t regionlen, char *err, size_t errlen);

/* The --topo-cron-role: in this account (Lambda runs a function only as a role of
 * its own account), existing (iam GetRole), and trusting lambda.amazonaws.com
 * with sts:AssumeRole. 0, or -1 with what is wrong in err. */
int check_function_role(const cfn_ctx *c, const char *role_arn, const char *account, char *err, size_t errlen);

#endif
