/* cfn.h -- one CloudFormation stack deployed or deleted, and waited for.
 *
 * Deploying goes through a change set, so that the same call creates a stack
 * or updates it in place:
 *
 *   DescribeStacks -> absent / REVIEW_IN_PROGRESS: CREATE;
 *                     ROLLBACK_COMPLETE (a failed create): deleted, then CREATE;
 *                     a *_COMPLETE state: UPDATE; still in progress: error
 *   CreateChangeSet -> DescribeChangeSet until ready ("no changes" = unchanged)
 *   ExecuteChangeSet -> DescribeStacks until done, each new stack event printed
 *
 * A failed create is rolled back by CloudFormation and then deleted here (a
 * ROLLBACK_COMPLETE stack can only be deleted); a failed update is left in
 * UPDATE_ROLLBACK_COMPLETE, i.e. as it was. Either way the reasons of the
 * failed resources' events come back in err.
 *
 * Progress goes to the FILE given in cfn_ctx (one line per stack event);
 * errors are returned, never printed.
 */
#ifndef AWSTOPO_CFN_H
#define AWSTOPO_CFN_H

#include <stdio.h>

#include "aws_json.h"

typedef struct cfn_ctx {
    aws_client *client;          /* not owned */
    model_registry *models;      /* not owned */
    FILE *progress;              /* stack events go here; NULL = nowhere */
    long poll_ms;                /* between polls (the first poll is immediate) */
    long timeout_s;              /* give up waiting after this long */
} cfn_ctx;

typedef struct cfn_kv {
    const char *key, *value;
} cfn_kv;

/* [{kname: key, vname: value}, ...] (Parameters, Tags) for a call's JSON; caller deletes. */
struct cJSON *cfn_kv_list(const cfn_kv *kv, size_t n, const char *kname, const char *vname);

typedef enum { CFN_CREATED, CFN_UPDATED, CFN_UNCHANGED } cfn_outcome;

/* Deploys template (JSON text, sent as TemplateBody) as stack with the
 * parameters and tags (stack tags, which CloudFormation also puts on the
 * resources). On success returns 0, *outcome and, if outputs is not NULL,
 * the stack's outputs as a cJSON object {OutputKey: OutputValue} (caller
 * frees). On failure -1 with the reason in err. */
int cfn_deploy(const cfn_ctx *c, const char *stack, const char *template, const cfn_kv *params,
               size_t nparams, const cfn_kv *tags, size_t ntags, cfn_outcome *outcome,
               struct cJSON **outputs, char *err, size_t errlen);

/* The stack's description (DescribeStacks' Stacks[0], caller frees) in *desc,
 * or NULL when it does not exist. 0, or -1 with err when the call failed. */
int cfn_describe(const cfn_ctx *c, const char *stack, struct cJSON **desc, char *err, size_t errlen);

/* The value of tag key on a stack description, or NULL. */
const char *cfn_tag(const struct cJSON *desc, const char *key);

/* Deletes the stack and waits until it is gone. A stack that does not exist
 * is fine (returns 0, *existed = 0). -1 with the failed resources' reasons. */
int cfn_delete(const cfn_ctx *c, const char *stack, int *existed, char *err, size_t errlen);

#endif
