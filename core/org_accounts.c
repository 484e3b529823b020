/* org_accounts.c -- the accounts of an AWS Organization (see org_accounts.h). */
#include "org_accounts.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "aws_json.h"
#include "buf.h"
#include "config.h"

/* ---- the [organization] section ---- */

static int all_of(const char *s, size_t min, size_t max, const char *extra)
{
    size_t n = strlen(s);
    if (n < min || n > max) return 0;
    for (; *s; s++)
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || (extra && strchr(extra, *s)))) return 0;
    return 1;
}

/* r-xxxx (a root) or ou-xxxx-xxxxxxxx, as Organizations spells them. */
static int valid_parent_id(const char *s)
{
    if (strncmp(s, "r-", 2) == 0) return all_of(s + 2, 4, 32, NULL);
    if (strncmp(s, "ou-", 3) != 0) return 0;
    const char *dash = strchr(s + 3, '-');
    if (!dash) return 0;
    char *root = xstrndup(s + 3, (size_t)(dash - s - 3));
    int ok = all_of(root, 4, 32, NULL) && all_of(dash + 1, 8, 32, NULL);
    free(root);
    return ok;
}

static int valid_account_id(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!isdigit((unsigned char)s[n])) return 0;
    return n == 12;
}

static int valid_role_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("+=,.@_-", *s)) return 0;
    return 1;
}

/* Appends the items of a list value, each checked with valid(). */
static void set_list(strlist *l, const char *value, int (*valid)(const char *), const char *what, strlist *problems)
{
    strlist items = {0};
    split_list(value, &items);
    for (size_t i = 0; i < items.len; i++) {
        if (valid && !valid(items.items[i]))
            strlist_addf(problems, "[organization] '%s' is not %s", items.items[i], what);
        else
            strlist_add(l, items.items[i]);
    }
    strlist_free(&items);
}

static void set_option(org_options *o, const char *key, const char *value, strlist *problems)
{
    if (strcmp(key, "role_name") == 0) {
        if (!valid_role_name(value)) strlist_addf(problems, "[organization] role_name '%s' is not an IAM role name", value);
        else config_set(&o->role_name, value);
    } else if (strcmp(key, "external_id") == 0) config_set(&o->external_id, value);
    else if (strcmp(key, "profile") == 0) config_set(&o->profile, value);
    else if (strcmp(key, "role_arn") == 0) {
        if (strncmp(value, "arn:", 4) != 0) strlist_addf(problems, "[organization] role_arn '%s' is not an ARN", value);
        else config_set(&o->role_arn, value);
    } else if (strcmp(key, "session_name") == 0) config_set(&o->session_name, value);
    else if (strcmp(key, "ous") == 0) set_list(&o->ous, value, valid_parent_id, "an OU or root id (ou-xxxx-xxxxxxxx, r-xxxx)", problems);
    else if (strcmp(key, "exclude") == 0) set_list(&o->exclude, value, valid_account_id, "a 12-digit account id", problems);
    else if (strcmp(key, "regions") == 0) set_list(&o->regions, value, NULL, NULL, problems);
    else strlist_addf(problems, "[organization] unknown key '%s' (role_name, external_id, ous, exclude, regions, "
                                "profile, role_arn, session_name)", key);
}

void org_options_from_config(org_options *o, const strlist *items, strlist *problems)
{
    memset(o, 0, sizeof *o);
    for (size_t i = 0; i < items->len; i++) {
        const char *item = items->items[i];
        const char *eq = strchr(item, '=');
        char *key = xstrndup(item, (size_t)(eq - item));
        set_option(o, key, eq + 1, problems);
        free(key);
    }
}

void org_options_free(org_options *o)
{
    free(o->role_name);
    free(o->external_id);
    free(o->profile);
    free(o->role_arn);
    free(o->session_name);
    strlist_free(&o->ous);
    strlist_free(&o->exclude);
    strlist_free(&o->regions);
    memset(o, 0, sizeof *o);
}

/* ---- Organizations ---- */

typedef struct lister {
    aws_client *client;
    model_registry *models;
    char *err;
    size_t errlen;
} lister;

/* One Organizations call; the parsed answer (caller deletes), or NULL with err. */
static cJSON *org_call(lister *l, const char *op, const cJSON *params)
{
    char *text = cJSON_PrintUnformatted(params);
    aws_call_error e = {0};
    char *resp = aws_call_json(l->client, l->models, "organizations", op, text, NULL, &e);
    cJSON_free(text);
    if (!resp) {
        set_err(l->err, l->errlen, "organizations %s: %s%s%s", op, e.code[0] ? e.code : "no answer",
                e.message[0] ? ": " : "", e.message);
        return NULL;
    }
    cJSON *doc = cJSON_Parse(resp);
    free(resp);
    if (!doc) set_err(l->err, l->errlen, "organizations %s: the answer is not JSON", op);
    return doc;
}

/* Calls op for parent (NULL: none) page by page; adds each item of the
 * answer's list `key` to out, as JSON text. */
static int each_page(lister *l, const char *op, const char *parent, const char *key, strlist *out)
{
    cJSON *params = cJSON_CreateObject();
    if (parent) cJSON_AddStringToObject(params, "ParentId", parent);
    int rc = 0;
    for (;;) {
        cJSON *page = org_call(l, op, params);
        if (!page) {
            rc = -1;
            break;
        }
        const cJSON *item;
        cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(page, key)) {
            char *text = cJSON_PrintUnformatted(item);
            strlist_add(out, text);
            cJSON_free(text);
        }
        const cJSON *token = cJSON_GetObjectItemCaseSensitive(page, "NextToken");
        int more = cJSON_IsString(token) && *token->valuestring;
        if (more) {
            cJSON_DeleteItemFromObject(params, "NextToken");
            cJSON_AddStringToObject(params, "NextToken", token->valuestring);
        }
        cJSON_Delete(page);
        if (!more) break;
    }
    cJSON_Delete(params);
    return rc;
}

static const char *field(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int listed(const strlist *l, const char *s)
{
    for (size_t i = 0; l && i < l->len; i++)
        if (strcmp(l->items[i], s) == 0) return 1;
    return 0;
}

/* Adds the ACTIVE, not excluded accounts of the JSON items, once each. */
static void add_accounts(org_accounts *out, const strlist *items, const org_options *o)
{
    for (size_t i = 0; i < items->len; i++) {
        cJSON *a = cJSON_Parse(items->items[i]);
        const char *id = field(a, "Id"), *status = field(a, "Status");
        int dup = 0;
        for (size_t j = 0; id && j < out->len; j++) dup |= strcmp(out->items[j].id, id) == 0;
        if (id && !dup && (!status || strcmp(status, "ACTIVE") == 0) && !listed(&o->exclude, id)) {
            out->items = xrealloc(out->items, (out->len + 1) * sizeof *out->items);
            org_account *x = &out->items[out->len++];
            x->id = xstrdup(id);
            x->name = xstrdup(field(a, "Name") ? field(a, "Name") : id);
            x->management = out->management && strcmp(out->management, id) == 0;
        }
        cJSON_Delete(a);
    }
}

/* The accounts of the OUs in `todo` and of every OU below them. */
static int walk_ous(lister *l, const org_options *o, org_accounts *out)
{
    strlist todo = {0}, items = {0};
    for (size_t i = 0; i < o->ous.len; i++) strlist_add(&todo, o->ous.items[i]);
    int rc = 0;
    for (size_t i = 0; i < todo.len && rc == 0; i++) {   /* todo grows as child OUs are found */
        strlist_free(&items);
        rc = each_page(l, "ListAccountsForParent", todo.items[i], "Accounts", &items);
        if (rc == 0) add_accounts(out, &items, o);
        strlist_free(&items);
        if (rc == 0) rc = each_page(l, "ListOrganizationalUnitsForParent", todo.items[i], "OrganizationalUnits", &items);
        for (size_t j = 0; rc == 0 && j < items.len; j++) {
            cJSON *ou = cJSON_Parse(items.items[j]);
            const char *id = field(ou, "Id");
            if (id && !listed(&todo, id)) strlist_add(&todo, id);
            cJSON_Delete(ou);
        }
    }
    strlist_free(&items);
    strlist_free(&todo);
    return rc;
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const org_account *)a)->id, ((const org_account *)b)->id);
}

int org_list_accounts(aws_client *c, model_registry *models, const org_options *o, org_accounts *out,
                      char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    lister l = { c, models, err, errlen };
    cJSON *none = cJSON_CreateObject();
    cJSON *org = org_call(&l, "DescribeOrganization", none);
    cJSON_Delete(none);
    if (!org) return -1;
    const char *mgmt = field(cJSON_GetObjectItemCaseSensitive(org, "Organization"), "MasterAccountId");
    out->management = mgmt ? xstrdup(mgmt) : NULL;
    cJSON_Delete(org);
    int rc;
    if (o->ous.len) {
        rc = walk_ous(&l, o, out);
    } else {
        strlist items = {0};
        rc = each_page(&l, "ListAccounts", NULL, "Accounts", &items);
        if (rc == 0) add_accounts(out, &items, o);
        strlist_free(&items);
    }
    if (rc < 0) {
        org_accounts_free(out);
        return -1;
    }
    if (out->len) qsort(out->items, out->len, sizeof *out->items, by_id);
    return 0;
}

void org_accounts_free(org_accounts *a)
{
    for (size_t i = 0; i < a->len; i++) {
        free(a->items[i].id);
        free(a->items[i].name);
    }
    free(a->items);
    free(a->management);
    memset(a, 0, sizeof *a);
}
