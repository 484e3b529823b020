/* stackset_install.h -- the Lambda install (minimal or full) in every account
 * of an AWS Organization: `awstopo install --organization BASE_URL API_KEY
 * CONFIGURATION_ID` (docs/install.md, "Many accounts").
 *
 * The template is deploy/cloudformation/stackstate-topo-stackset-minimal or
 * -full: one stack per account and region with every function, the API key in
 * a Secrets Manager secret the stack creates from a NoEcho parameter.
 * Lambda reads a function's code only from a bucket in the function's region,
 * so the management account gets one bucket per target region,
 * stackstate-topo-org-<configuration id>-<account>-<region>, holding the
 * package under its content-addressed key, with a policy that lets the
 * organization's principals read it (aws:PrincipalOrgID). Then the
 * service-managed StackSet stackstate-topo-install (stackset.c).
 * Removing: the StackSet's instances and the StackSet, then those buckets.
 *
 * Progress goes to stdout; errors are returned in err.
 */
#ifndef AWSTOPO_STACKSET_INSTALL_H
#define AWSTOPO_STACKSET_INSTALL_H

#include "cli.h"
#include "model.h"
#include "util.h"

#define STACKSET_INSTALL_NAME "stackstate-topo-install"

typedef struct stackset_install {
    const common_options *co;      /* credentials; a client per region is made from them */
    model_registry *models;        /* not owned */
    aws_client *client;            /* not owned; the StackSet's administration region */
    const char *config_id, *base_url, *api_key;
    const char *package;           /* the Lambda zip */
    const char *templates_dir;
    int full;                      /* the full install, else the minimal (cron only) */
    int create_trail;              /* full: the stacks create a trail (in regions->items[0]) */
    const strlist *ous;            /* target OUs; empty: the organization's root */
    const strlist *regions;        /* at least one */
    long poll_ms;
} stackset_install;

/* Buckets, package, StackSet and instances; 0, or -1 with err (a failed
 * instance is named with its account, region and reason). */
int stackset_install_deploy(const stackset_install *s, char *err, size_t errlen);

/* The StackSet (if it is this configuration's) and the code buckets; what
 * is not there is skipped. 0, or -1 with err. */
int stackset_install_remove(const stackset_install *s, char *err, size_t errlen);

#endif
