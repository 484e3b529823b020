/* stackset.h -- a template deployed to the accounts of an AWS Organization as
 * a service-managed CloudFormation StackSet, and removed again
 * (`awstopo install --organization`, docs/install.md).
 *
 * Deploying: DescribeStackSet -> absent: CreateStackSet (SERVICE_MANAGED,
 * auto-deployment on: accounts that join a target OU later get the stack too,
 * accounts that leave lose it); present: UpdateStackSet (every instance gets
 * the new template and parameters) after checking its configuration-id tag.
 * Then CreateStackInstances for the target OUs (or the organization's root)
 * and regions not yet covered, and each operation is waited for with
 * DescribeStackSetOperation; a failed one comes back with the failed
 * instances' accounts, regions and reasons (ListStackInstances).
 * Removing: DeleteStackInstances for every OU and region of the stack set,
 * waited for, then DeleteStackSet. A stack set that does not exist is fine.
 *
 * Progress lines go to the FILE in stackset_ctx; errors are returned.
 */
#ifndef AWSTOPO_STACKSET_H
#define AWSTOPO_STACKSET_H

#include <stdio.h>

#include "aws_json.h"
#include "cfn.h"
#include "util.h"

typedef struct stackset_ctx {
    aws_client *client;          /* not owned; its region is the StackSet's administration region */
    model_registry *models;      /* not owned */
    FILE *progress;              /* NULL = nowhere */
    long poll_ms;                /* between DescribeStackSetOperation calls */
    long timeout_s;              /* per operation */
} stackset_ctx;

typedef struct stackset_spec {
    const char *name;
    const char *template_body;   /* JSON text */
    const char *description;
    const cfn_kv *params;
    size_t nparams;
    const cfn_kv *tags;     /* the first one is the owner tag a second deploy or the removal checks */
    size_t ntags;
    const char *capability;      /* "CAPABILITY_NAMED_IAM", ... or NULL */
    const strlist *ous;          /* target OUs; empty = the organization's root */
    const strlist *regions;      /* at least one */
} stackset_spec;

/* Deploys (creates or updates) the stack set and its instances; 0, or -1
 * with err (AWS's error, or the failed instances and their reasons). */
int stackset_deploy(const stackset_ctx *c, const stackset_spec *s, char *err, size_t errlen);

/* Removes the stack set's instances, then the stack set. owner (a tag, may
 * be NULL) must match the stack set's tag of that key, so that another
 * configuration's stack set is left alone. *existed says whether there was
 * one. 0, or -1 with err. */
int stackset_remove(const stackset_ctx *c, const char *name, const cfn_kv *owner, int *existed, char *err,
                    size_t errlen);

#endif
