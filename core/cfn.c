/* cfn.c -- a CloudFormation stack through a change set, and its deletion,
 * waited for with the stack events as progress (see cfn.h). */
#include "cfn.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cli.h"
#include "util.h"

/* Follows one stack's events: prints the new ones, keeps failure reasons. */
typedef struct watch {
    const cfn_ctx *c;
    char stack_id[512];
    char last[160];     /* EventId of the newest event already seen */
    buf reasons;        /* "Logical: reason" of failed resources, "; "-separated */
} watch;

static void pause_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0) {}
}

static cJSON *call(const cfn_ctx *c, const char *op, cJSON *params, aws_call_error *e)
{
    return aws_call_cjson(c->client, c->models, "cloudformation", op, params, NULL, e);
}

static const char *str(const cJSON *o, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static int absent(const aws_call_error *e)
{
    return strcmp(e->code, "ValidationError") == 0 && strstr(e->message, "does not exist");
}

int cfn_describe(const cfn_ctx *c, const char *stack, cJSON **desc, char *err, size_t errlen)
{
    *desc = NULL;
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "StackName", stack);
    aws_call_error e;
    cJSON *r = call(c, "DescribeStacks", p, &e);
    if (!r) {
        if (absent(&e)) return 0;
        set_err(err, errlen, "%s: DescribeStacks: %s: %s", stack, e.code, e.message);
        return -1;
    }
    cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "Stacks"), 0);
    if (first) *desc = cJSON_DetachItemViaPointer(cJSON_GetObjectItemCaseSensitive(r, "Stacks"), first);
    cJSON_Delete(r);
    return 0;
}

const char *cfn_tag(const cJSON *desc, const char *key)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(desc, "Tags")) {
        const char *k = str(t, "Key");
        if (k && strcmp(k, key) == 0) return str(t, "Value");
    }
    return NULL;
}

static void print_event(watch *w, const cJSON *ev)
{
    const char *logical = str(ev, "LogicalResourceId"), *type = str(ev, "ResourceType");
    const char *status = str(ev, "ResourceStatus"), *reason = str(ev, "ResourceStatusReason");
    if (!logical || !status) return;
    /* a resource's start is noise; the stack's start, and every end, is progress */
    int stack_event = type && strcmp(type, "AWS::CloudFormation::Stack") == 0;
    if (w->c->progress && (stack_event || !has_suffix(status, "_IN_PROGRESS")))
        fprintf(w->c->progress, "    %-34s %-34s %s%s%s\n", logical, type ? type : "", status,
                reason ? "  " : "", reason ? reason : "");
    /* a cancelled resource is not why the stack failed */
    if (has_suffix(status, "_FAILED") && reason && !strstr(reason, "cancelled")) {
        if (w->reasons.len) buf_puts(&w->reasons, "; ");
        buf_printf(&w->reasons, "%s: %s", logical, reason);
    }
}

/* Prints the events newer than w->last (oldest first). With print 0 only
 * moves w->last to the newest event (the starting point). */
static int watch_events(watch *w, int print, char *err, size_t errlen)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "StackName", w->stack_id);
    aws_call_error e;
    cJSON *r = call(w->c, "DescribeStackEvents", p, &e);
    if (!r) {
        if (absent(&e)) return 0;
        set_err(err, errlen, "DescribeStackEvents: %s: %s", e.code, e.message);
        return -1;
    }
    cJSON *events = cJSON_GetObjectItemCaseSensitive(r, "StackEvents");
    int n = cJSON_GetArraySize(events), fresh = 0;
    while (fresh < n) {   /* newest first: the new ones precede the last seen */
        const char *id = str(cJSON_GetArrayItem(events, fresh), "EventId");
        if (id && strcmp(id, w->last) == 0) break;
        fresh++;
    }
    for (int i = fresh - 1; print && i >= 0; i--) print_event(w, cJSON_GetArrayItem(events, i));
    if (fresh > 0) snprintf(w->last, sizeof w->last, "%s", str(cJSON_GetArrayItem(events, 0), "EventId"));
    cJSON_Delete(r);
    return 0;
}

/* Polls until the stack is in no *_IN_PROGRESS state; its status in status
 * ("DELETE_COMPLETE" once a deleted stack cannot be described any more). */
static int wait_stack(watch *w, char *status, size_t slen, char *err, size_t errlen)
{
    time_t deadline = time(NULL) + w->c->timeout_s;
    for (int first = 1;; first = 0) {
        if (!first) pause_ms(w->c->poll_ms);
        cJSON *d = NULL;
        if (watch_events(w, 1, err, errlen) < 0 || cfn_describe(w->c, w->stack_id, &d, err, errlen) < 0)
            return -1;
        snprintf(status, slen, "%s", d ? (str(d, "StackStatus") ? str(d, "StackStatus") : "") : "DELETE_COMPLETE");
        cJSON_Delete(d);
        if (!has_suffix(status, "_IN_PROGRESS")) return watch_events(w, 1, err, errlen);
        if (time(NULL) > deadline)
            return set_err(err, errlen, "still %s after %ld s; see the stack's events in the console",
                           status, w->c->timeout_s);
    }
}

static int watch_start(watch *w, const cfn_ctx *c, const char *stack_id, char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    w->c = c;
    snprintf(w->stack_id, sizeof w->stack_id, "%s", stack_id);
    return watch_events(w, 0, err, errlen);
}

int cfn_delete(const cfn_ctx *c, const char *stack, int *existed, char *err, size_t errlen)
{
    cJSON *d = NULL;
    *existed = 0;
    if (cfn_describe(c, stack, &d, err, errlen) < 0) return -1;
    if (!d) return 0;
    *existed = 1;
    watch w;
    int rc = watch_start(&w, c, str(d, "StackId") ? str(d, "StackId") : stack, err, errlen);
    cJSON_Delete(d);
    if (rc == 0) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "StackName", stack);
        aws_call_error e;
        cJSON *r = call(c, "DeleteStack", p, &e);
        if (!r) rc = set_err(err, errlen, "%s: DeleteStack: %s: %s", stack, e.code, e.message);
        cJSON_Delete(r);
    }
    char status[64];
    if (rc == 0 && (rc = wait_stack(&w, status, sizeof status, err, errlen)) == 0 &&
        strcmp(status, "DELETE_COMPLETE") != 0)
        rc = set_err(err, errlen, "%s: %s: %s", stack, status, w.reasons.len ? buf_cstr(&w.reasons) : "(no reason given)");
    buf_free(&w.reasons);
    return rc;
}

cJSON *cfn_kv_list(const cfn_kv *kv, size_t n, const char *kname, const char *vname)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, kname, kv[i].key);
        cJSON_AddStringToObject(o, vname, kv[i].value);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

/* Whether the stack must be created, updated, or first deleted (a failed
 * create leaves ROLLBACK_COMPLETE, which only a delete gets out of). */
static int choose_kind(const cfn_ctx *c, const char *stack, const char **kind, char *err, size_t errlen)
{
    cJSON *d = NULL;
    if (cfn_describe(c, stack, &d, err, errlen) < 0) return -1;
    const char *st = d ? str(d, "StackStatus") : NULL;
    int rc = 0;
    *kind = "UPDATE";
    if (!st || strcmp(st, "REVIEW_IN_PROGRESS") == 0) {
        *kind = "CREATE";
    } else if (strcmp(st, "ROLLBACK_COMPLETE") == 0 || strcmp(st, "ROLLBACK_FAILED") == 0) {
        int existed;
        if (c->progress) fprintf(c->progress, "    (deleting the earlier failed attempt, %s)\n", st);
        rc = cfn_delete(c, stack, &existed, err, errlen);
        *kind = "CREATE";
    } else if (has_suffix(st, "_IN_PROGRESS") || has_suffix(st, "_FAILED")) {
        rc = set_err(err, errlen, "%s is %s; wait for it to finish (or fix it) and run again", stack, st);
    }
    cJSON_Delete(d);
    return rc;
}

static cJSON *change_set_params(const char *stack, const char *kind, const char *template, const cfn_kv *params,
                                size_t nparams, const cfn_kv *tags, size_t ntags)
{
    char name[64];
    snprintf(name, sizeof name, "awstopo-%ld", (long)time(NULL));
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "StackName", stack);
    cJSON_AddStringToObject(p, "ChangeSetName", name);
    cJSON_AddStringToObject(p, "ChangeSetType", kind);
    cJSON_AddStringToObject(p, "TemplateBody", template);
    cJSON_AddItemToObject(p, "Parameters", cfn_kv_list(params, nparams, "ParameterKey", "ParameterValue"));
    cJSON_AddItemToObject(p, "Tags", cfn_kv_list(tags, ntags, "Key", "Value"));
    cJSON *caps = cJSON_AddArrayToObject(p, "Capabilities");
    cJSON_AddItemToArray(caps, cJSON_CreateString("CAPABILITY_IAM"));
    cJSON_AddItemToArray(caps, cJSON_CreateString("CAPABILITY_NAMED_IAM"));
    return p;
}

/* Waits for the change set; 1 = ready to execute, 0 = no changes, -1 error. */
static int wait_change_set(const cfn_ctx *c, const char *id, char *err, size_t errlen)
{
    time_t deadline = time(NULL) + c->timeout_s;
    for (int first = 1;; first = 0) {
        if (!first) pause_ms(c->poll_ms);
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "ChangeSetName", id);
        aws_call_error e;
        cJSON *r = call(c, "DescribeChangeSet", p, &e);
        if (!r) return set_err(err, errlen, "DescribeChangeSet: %s: %s", e.code, e.message);
        const char *st = str(r, "Status") ? str(r, "Status") : "";
        const char *why = str(r, "StatusReason") ? str(r, "StatusReason") : "";
        int rc = 2;
        if (strcmp(st, "CREATE_COMPLETE") == 0) rc = 1;
        else if (strcmp(st, "FAILED") == 0 && (strstr(why, "didn't contain changes") || strstr(why, "No updates")))
            rc = 0;
        else if (strcmp(st, "FAILED") == 0) rc = set_err(err, errlen, "the change set failed: %s", why);
        else if (time(NULL) > deadline) rc = set_err(err, errlen, "the change set is still %s", st);
        cJSON_Delete(r);
        if (rc != 2) return rc;
    }
}

static int delete_change_set(const cfn_ctx *c, const char *id)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "ChangeSetName", id);
    aws_call_error e;
    cJSON *r = call(c, "DeleteChangeSet", p, &e);
    cJSON_Delete(r);
    return r ? 0 : -1;
}

static cJSON *outputs_of(const cfn_ctx *c, const char *stack, char *err, size_t errlen)
{
    cJSON *d = NULL;
    if (cfn_describe(c, stack, &d, err, errlen) < 0) return NULL;
    cJSON *out = cJSON_CreateObject(), *o;
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(d, "Outputs")) {
        if (str(o, "OutputKey") && str(o, "OutputValue"))
            cJSON_AddStringToObject(out, str(o, "OutputKey"), str(o, "OutputValue"));
    }
    cJSON_Delete(d);
    return out;
}

/* Executes a ready change set and waits; 0 when the stack got there. */
static int execute(const cfn_ctx *c, const char *stack, const char *kind, const char *cs_id, const char *stack_id,
                   char *err, size_t errlen)
{
    watch w;
    if (watch_start(&w, c, stack_id, err, errlen) < 0) return -1;
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "ChangeSetName", cs_id);
    aws_call_error e;
    cJSON *r = call(c, "ExecuteChangeSet", p, &e);
    int rc = r ? 0 : set_err(err, errlen, "ExecuteChangeSet: %s: %s", e.code, e.message);
    cJSON_Delete(r);
    char status[64] = "";
    if (rc == 0) rc = wait_stack(&w, status, sizeof status, err, errlen);
    const char *want = strcmp(kind, "CREATE") == 0 ? "CREATE_COMPLETE" : "UPDATE_COMPLETE";
    if (rc == 0 && strcmp(status, want) != 0) {
        rc = set_err(err, errlen, "%s ended %s: %s", stack, status,
                     w.reasons.len ? buf_cstr(&w.reasons) : "(no reason given in its events)");
        buf_free(&w.reasons);
        int existed;
        char derr[256];
        /* a failed create leaves an empty ROLLBACK_COMPLETE stack: gone, a re-run starts clean */
        if (strcmp(kind, "CREATE") == 0 && cfn_delete(c, stack, &existed, derr, sizeof derr) < 0 && c->progress)
            fprintf(c->progress, "    (could not delete the rolled-back stack: %s)\n", derr);
    }
    buf_free(&w.reasons);
    return rc;
}

int cfn_deploy(const cfn_ctx *c, const char *stack, const char *template, const cfn_kv *params,
               size_t nparams, const cfn_kv *tags, size_t ntags, cfn_outcome *outcome,
               cJSON **outputs, char *err, size_t errlen)
{
    const char *kind;
    if (outputs) *outputs = NULL;
    if (choose_kind(c, stack, &kind, err, errlen) < 0) return -1;
    aws_call_error e;
    cJSON *r = call(c, "CreateChangeSet", change_set_params(stack, kind, template, params, nparams, tags, ntags), &e);
    if (!r) return set_err(err, errlen, "%s: CreateChangeSet: %s: %s", stack, e.code, e.message);
    char cs_id[512], stack_id[512];
    snprintf(cs_id, sizeof cs_id, "%s", str(r, "Id") ? str(r, "Id") : "");
    snprintf(stack_id, sizeof stack_id, "%s", str(r, "StackId") ? str(r, "StackId") : stack);
    cJSON_Delete(r);
    int ready = wait_change_set(c, cs_id, err, errlen), rc = 0;
    if (ready < 0) {
        delete_change_set(c, cs_id);
        return -1;
    }
    if (ready == 0) {
        delete_change_set(c, cs_id);
        *outcome = CFN_UNCHANGED;
    } else {
        *outcome = strcmp(kind, "CREATE") == 0 ? CFN_CREATED : CFN_UPDATED;
        rc = execute(c, stack, kind, cs_id, stack_id, err, errlen);
    }
    if (rc == 0 && outputs && !(*outputs = outputs_of(c, stack, err, errlen))) rc = -1;
    return rc;
}
