/* stackset.c -- a service-managed StackSet deployed and removed (stackset.h). */
#include "stackset.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"

/* One CloudFormation call; the parsed answer (caller deletes), or NULL with
 * err ("cloudformation Op: Code: message") and e->code for the caller to test. */
static cJSON *cf_call(const stackset_ctx *c, const char *op, const cJSON *params, aws_call_error *e, char *err,
                      size_t errlen)
{
    char *text = cJSON_PrintUnformatted(params);
    memset(e, 0, sizeof *e);
    char *resp = aws_call_json(c->client, c->models, "cloudformation", op, text, NULL, e);
    memset(text, 0, strlen(text));   /* a NoEcho parameter (the API key, an external id) was in it */
    cJSON_free(text);
    if (!resp) {
        set_err(err, errlen, "cloudformation %s: %s%s%s", op, e->code[0] ? e->code : "no answer",
                e->message[0] ? ": " : "", e->message);
        return NULL;
    }
    cJSON *doc = cJSON_Parse(resp);
    free(resp);
    if (!doc) set_err(err, errlen, "cloudformation %s: the answer is not JSON", op);
    return doc;
}

static void progress(const stackset_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(const stackset_ctx *c, const char *fmt, ...)
{
    if (!c->progress) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(c->progress, fmt, ap);
    va_end(ap);
    fflush(c->progress);
}

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static cJSON *string_array(const strlist *l)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; l && i < l->len; i++) cJSON_AddItemToArray(a, cJSON_CreateString(l->items[i]));
    return a;
}

static cJSON *named(const char *name)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "StackSetName", name);
    return p;
}

/* The stack set's description in *desc (caller deletes), NULL when there is none. */
static int describe(const stackset_ctx *c, const char *name, cJSON **desc, char *err, size_t errlen)
{
    aws_call_error e;
    cJSON *p = named(name);
    cJSON *r = cf_call(c, "DescribeStackSet", p, &e, err, errlen);
    cJSON_Delete(p);
    *desc = NULL;
    if (!r) return strcmp(e.code, "StackSetNotFoundException") == 0 ? 0 : -1;
    *desc = cJSON_DetachItemFromObjectCaseSensitive(r, "StackSet");
    cJSON_Delete(r);
    return 0;
}

static const char *tag_of(const cJSON *desc, const char *key)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(desc, "Tags")) {
        const char *k = str(t, "Key");
        if (k && strcmp(k, key) == 0) return str(t, "Value");
    }
    return NULL;
}

static int owned(const cJSON *desc, const char *name, const cfn_kv *owner, char *err, size_t errlen)
{
    if (!owner) return 0;
    const char *v = tag_of(desc, owner->key);
    if (v && strcmp(v, owner->value) == 0) return 0;
    return set_err(err, errlen, "stack set %s belongs to %s %s, not %s: left alone", name, owner->key,
                   v ? v : "(no tag)", owner->value);
}

/* Every instance of the stack set (ListStackInstances, all pages). */
static cJSON *instances(const stackset_ctx *c, const char *name, char *err, size_t errlen)
{
    cJSON *all = cJSON_CreateArray(), *p = named(name);
    for (;;) {
        aws_call_error e;
        cJSON *r = cf_call(c, "ListStackInstances", p, &e, err, errlen);
        if (!r) {
            cJSON_Delete(all);
            all = NULL;
            break;
        }
        cJSON *s, *list = cJSON_GetObjectItemCaseSensitive(r, "Summaries");
        while (list && (s = cJSON_DetachItemFromArray(list, 0)) != NULL) cJSON_AddItemToArray(all, s);
        const char *token = str(r, "NextToken");
        cJSON_DeleteItemFromObject(p, "NextToken");
        if (token && *token) cJSON_AddStringToObject(p, "NextToken", token);
        cJSON_Delete(r);
        if (!cJSON_GetObjectItemCaseSensitive(p, "NextToken")) break;
    }
    cJSON_Delete(p);
    return all;
}

/* The instances that are not CURRENT, "account/region: reason; ..." into b. */
static void failed_instances(const stackset_ctx *c, const char *name, buf *b)
{
    char err[256];
    cJSON *all = instances(c, name, err, sizeof err);
    const cJSON *i;
    int n = 0;
    cJSON_ArrayForEach(i, all) {
        const char *status = str(i, "Status");
        if (status && strcmp(status, "CURRENT") == 0) continue;
        const char *reason = str(i, "StatusReason");
        buf_printf(b, "%s%s/%s: %s", n++ ? "; " : "", str(i, "Account") ? str(i, "Account") : "?",
                   str(i, "Region") ? str(i, "Region") : "?", reason ? reason : status ? status : "?");
    }
    if (!all) buf_printf(b, "(the instances could not be listed: %s)", err);
    cJSON_Delete(all);
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Waits for the operation; 0 when it SUCCEEDED, else -1 with the failed instances. */
static int wait_operation(const stackset_ctx *c, const char *name, const char *op_id, const char *what, char *err,
                          size_t errlen)
{
    time_t start = time(NULL);
    for (int first = 1;; first = 0) {
        if (!first) sleep_ms(c->poll_ms > 0 ? c->poll_ms : 2000);
        aws_call_error e;
        cJSON *p = named(name);
        cJSON_AddStringToObject(p, "OperationId", op_id);
        cJSON *r = cf_call(c, "DescribeStackSetOperation", p, &e, err, errlen);
        cJSON_Delete(p);
        if (!r) return -1;
        const cJSON *op = cJSON_GetObjectItemCaseSensitive(r, "StackSetOperation");
        char status[32];
        snprintf(status, sizeof status, "%s", str(op, "Status") ? str(op, "Status") : "?");
        int done = strcmp(status, "RUNNING") != 0 && strcmp(status, "QUEUED") != 0 && strcmp(status, "STOPPING") != 0;
        int ok = strcmp(status, "SUCCEEDED") == 0;
        buf why = {0};
        if (done && !ok) {
            const char *reason = str(op, "StatusReason");
            buf_printf(&why, "stack set %s: %s %s%s%s: ", name, what, status, reason ? ": " : "", reason ? reason : "");
            failed_instances(c, name, &why);
        }
        cJSON_Delete(r);   /* status is a copy */
        if (done) {
            progress(c, "  %s: %s\n", what, status);
            if (!ok) set_err(err, errlen, "%s", why.data);
            buf_free(&why);
            return ok ? 0 : -1;
        }
        if (c->timeout_s > 0 && time(NULL) - start > c->timeout_s)
            return set_err(err, errlen, "stack set %s: %s still %s after %ld s", name, what, status, c->timeout_s);
    }
}

/* Calls op (which answers an OperationId) and waits for the operation. */
static int run_operation(const stackset_ctx *c, const char *name, const char *op, cJSON *params, const char *what,
                         char *err, size_t errlen)
{
    aws_call_error e;
    cJSON *r = cf_call(c, op, params, &e, err, errlen);
    if (!r) return -1;
    char *id = str(r, "OperationId") ? xstrdup(str(r, "OperationId")) : NULL;
    cJSON_Delete(r);
    int rc = id ? wait_operation(c, name, id, what, err, errlen)
                : set_err(err, errlen, "cloudformation %s: no OperationId in the answer", op);
    free(id);
    return rc;
}

/* The organization's root id (ListRoots): the target when no OU is given. */
static char *root_id(const stackset_ctx *c, char *err, size_t errlen)
{
    cJSON *p = cJSON_CreateObject();
    char *text = cJSON_PrintUnformatted(p);
    cJSON_Delete(p);
    aws_call_error e = {0};
    char *resp = aws_call_json(c->client, c->models, "organizations", "ListRoots", text, NULL, &e);
    cJSON_free(text);
    if (!resp) {
        set_err(err, errlen, "organizations ListRoots: %s%s%s", e.code[0] ? e.code : "no answer",
                e.message[0] ? ": " : "", e.message);
        return NULL;
    }
    cJSON *r = cJSON_Parse(resp);
    free(resp);
    const char *id = str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "Roots"), 0), "Id");
    char *out = id ? xstrdup(id) : NULL;
    if (!out) set_err(err, errlen, "organizations ListRoots: no root in the answer");
    cJSON_Delete(r);
    return out;
}

/* CreateStackSet's or UpdateStackSet's parameters. */
static cJSON *set_params(const stackset_spec *s, int create)
{
    cJSON *p = named(s->name);
    cJSON_AddStringToObject(p, "TemplateBody", s->template_body);
    if (s->description) cJSON_AddStringToObject(p, "Description", s->description);
    cJSON_AddItemToObject(p, "Parameters", cfn_kv_list(s->params, s->nparams, "ParameterKey", "ParameterValue"));
    cJSON_AddItemToObject(p, "Tags", cfn_kv_list(s->tags, s->ntags, "Key", "Value"));
    if (s->capability) {
        cJSON *caps = cJSON_AddArrayToObject(p, "Capabilities");
        cJSON_AddItemToArray(caps, cJSON_CreateString(s->capability));
    }
    cJSON *auto_dep = cJSON_AddObjectToObject(p, "AutoDeployment");
    cJSON_AddBoolToObject(auto_dep, "Enabled", 1);
    cJSON_AddBoolToObject(auto_dep, "RetainStacksOnAccountRemoval", 0);
    if (create) cJSON_AddStringToObject(p, "PermissionModel", "SERVICE_MANAGED");
    return p;
}

static int listed_in(const cJSON *array, const char *field, const char *v)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, array) {
        const char *s = field ? str(x, field) : (cJSON_IsString(x) ? x->valuestring : NULL);
        if (s && strcmp(s, v) == 0) return 1;
    }
    return 0;
}

/* Are all targets (OU x region) already covered by the stack set? */
static int covered(const stackset_ctx *c, const stackset_spec *s, const cJSON *desc, const strlist *ous, char *err,
                   size_t errlen)
{
    const cJSON *have = cJSON_GetObjectItemCaseSensitive(desc, "OrganizationalUnitIds");
    for (size_t i = 0; i < ous->len; i++)
        if (!listed_in(have, NULL, ous->items[i])) return 0;
    cJSON *all = instances(c, s->name, err, errlen);
    if (!all) return -1;
    int yes = 1;
    for (size_t i = 0; i < s->regions->len; i++) yes &= listed_in(all, "Region", s->regions->items[i]);
    cJSON_Delete(all);
    return yes;
}

static int create_instances(const stackset_ctx *c, const stackset_spec *s, const strlist *ous, char *err,
                            size_t errlen)
{
    cJSON *p = named(s->name);
    cJSON *targets = cJSON_AddObjectToObject(p, "DeploymentTargets");
    cJSON_AddItemToObject(targets, "OrganizationalUnitIds", string_array(ous));
    cJSON_AddItemToObject(p, "Regions", string_array(s->regions));
    cJSON *prefs = cJSON_AddObjectToObject(p, "OperationPreferences");
    cJSON_AddNumberToObject(prefs, "FailureTolerancePercentage", 0);
    cJSON_AddNumberToObject(prefs, "MaxConcurrentPercentage", 100);
    cJSON_AddStringToObject(prefs, "RegionConcurrencyType", "PARALLEL");
    buf what = {0};
    buf_printf(&what, "instances in %zu OU(s) x %zu region(s)", ous->len, s->regions->len);
    progress(c, "stack set %s: %s\n", s->name, what.data);
    int rc = run_operation(c, s->name, "CreateStackInstances", p, what.data, err, errlen);
    buf_free(&what);
    cJSON_Delete(p);
    return rc;
}

int stackset_deploy(const stackset_ctx *c, const stackset_spec *s, char *err, size_t errlen)
{
    cJSON *desc;
    if (describe(c, s->name, &desc, err, errlen) < 0) return -1;
    int rc = 0;
    if (!desc) {
        aws_call_error e;
        cJSON *p = set_params(s, 1);
        cJSON *r = cf_call(c, "CreateStackSet", p, &e, err, errlen);
        cJSON_Delete(p);
        if (!r) return -1;
        cJSON_Delete(r);
        progress(c, "stack set %s: created (service-managed, auto-deployment on)\n", s->name);
        if (describe(c, s->name, &desc, err, errlen) < 0 || !desc)
            return desc ? -1 : set_err(err, errlen, "stack set %s: not there after CreateStackSet", s->name);
    } else if (owned(desc, s->name, s->ntags ? &s->tags[0] : NULL, err, errlen) < 0) {
        rc = -1;
    } else {
        progress(c, "stack set %s: updating its template and parameters\n", s->name);
        cJSON *p = set_params(s, 0);
        rc = run_operation(c, s->name, "UpdateStackSet", p, "update", err, errlen);
        cJSON_Delete(p);
    }
    strlist ous = {0};
    for (size_t i = 0; s->ous && i < s->ous->len; i++) strlist_add(&ous, s->ous->items[i]);
    if (rc == 0 && ous.len == 0) {
        char *root = root_id(c, err, errlen);
        if (root) strlist_add(&ous, root);
        else rc = -1;
        free(root);
    }
    int have = rc == 0 ? covered(c, s, desc, &ous, err, errlen) : -1;
    if (have < 0) rc = -1;
    else if (have) progress(c, "stack set %s: every target OU and region has its instances\n", s->name);
    else rc = create_instances(c, s, &ous, err, errlen);
    strlist_free(&ous);
    cJSON_Delete(desc);
    return rc;
}

int stackset_remove(const stackset_ctx *c, const char *name, const cfn_kv *owner, int *existed, char *err,
                    size_t errlen)
{
    cJSON *desc;
    *existed = 0;
    if (describe(c, name, &desc, err, errlen) < 0) return -1;
    if (!desc) return 0;
    *existed = 1;
    int rc = owned(desc, name, owner, err, errlen);
    cJSON *all = rc == 0 ? instances(c, name, err, errlen) : NULL;
    if (rc == 0 && !all) rc = -1;
    if (rc == 0 && cJSON_GetArraySize(all) > 0) {
        /* every OU and region the instances are in */
        cJSON *ous = cJSON_CreateArray(), *regions = cJSON_CreateArray();
        const cJSON *i, *ou;
        cJSON_ArrayForEach(ou, cJSON_GetObjectItemCaseSensitive(desc, "OrganizationalUnitIds"))
            if (cJSON_IsString(ou)) cJSON_AddItemToArray(ous, cJSON_CreateString(ou->valuestring));
        cJSON_ArrayForEach(i, all) {
            const char *o = str(i, "OrganizationalUnitId"), *r = str(i, "Region");
            if (o && !listed_in(ous, NULL, o)) cJSON_AddItemToArray(ous, cJSON_CreateString(o));
            if (r && !listed_in(regions, NULL, r)) cJSON_AddItemToArray(regions, cJSON_CreateString(r));
        }
        cJSON *p = named(name);
        cJSON *targets = cJSON_AddObjectToObject(p, "DeploymentTargets");
        cJSON_AddItemToObject(targets, "OrganizationalUnitIds", ous);
        cJSON_AddItemToObject(p, "Regions", regions);
        cJSON_AddBoolToObject(p, "RetainStacks", 0);
        progress(c, "stack set %s: deleting its %d instance(s)\n", name, cJSON_GetArraySize(all));
        rc = run_operation(c, name, "DeleteStackInstances", p, "instances deleted", err, errlen);
        cJSON_Delete(p);
    }
    cJSON_Delete(all);
    cJSON_Delete(desc);
    if (rc < 0) return -1;
    aws_call_error e;
    cJSON *p = named(name);
    cJSON *r = cf_call(c, "DeleteStackSet", p, &e, err, errlen);
    cJSON_Delete(p);
    if (!r) return -1;
    cJSON_Delete(r);
    progress(c, "stack set %s: deleted\n", name);
    return 0;
}
