/* cmd_install.c -- `awstopo install` and `awstopo uninstall`: the product
 * page's stacks in an AWS account (docs/install.md).
 *
 * Install: the account id (bucket name), the bucket (the user's, or one made
 * for the configuration), the Lambda package under a content-addressed key,
 * the API key as an SSM SecureString, then each stack through a change set
 * (cfn.c) in the order cron, kinesis, cloudtrail, cwevents, publisher (the
 * last two take the stream from the kinesis stack's outputs). If a stack
 * fails, what this run created is removed again, newest first.
 * Uninstall: the stacks in reverse order, each stack's buckets emptied first
 * (all versions: CloudTrail's bucket too), the parameter, the bucket made for
 * the configuration; what is already gone is skipped, so it can be repeated.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfn.h"
#include "cli.h"
#include "install.h"
#include "install_checks.h"
#include "install_store.h"
#include "model.h"
#include "util.h"

#define NSTACKS 5
#define TEMPLATE_BODY_MAX 51200   /* CloudFormation's limit for an inline TemplateBody */
#define TAG_VERSION "stackstate:awstopo-version"
#define TAG_CONFIG "stackstate:configuration-id"

enum { CRON, KINESIS, CLOUDTRAIL, CWEVENTS, PUBLISHER };
static const char *const stack_names[NSTACKS] = {
    "stackstate-topo-cron", "stackstate-topo-kinesis", "stackstate-topo-cloudtrail",
    "stackstate-topo-cwevents", "stackstate-topo-publisher",
};

static const char install_help[] =
    "usage: awstopo install [--topo-cron-only] [--topo-cron-bucket BUCKET] [--topo-cron-role ROLE_ARN]\n"
    "                       [--profile P] [--role-arn ARN] [--session-name N] [--external-id ID]\n"
    "                       [--region R] [--create-trail] [--dry-run] BASE_URL API_KEY CONFIGURATION_ID\n"
    "\n"
    "Deploys the StackState AWS integration into the account and region of the\n"
    "credentials as CloudFormation stacks: stackstate-topo-cron, -kinesis, -cloudtrail,\n"
    "-cwevents and -publisher (a full install), or stackstate-topo-cron alone, which\n"
    "sends the whole topology every hour (--topo-cron-only). Running it again updates\n"
    "the stacks in place.\n"
    "\n"
    "  BASE_URL               StackState's URL (the functions send to BASE_URL/stsAgent/intake)\n"
    "  API_KEY                StackState's API key: kept as an SSM SecureString parameter,\n"
    "                         /stackstate/awstopo/CONFIGURATION_ID/api-key, never in a template\n"
    "  CONFIGURATION_ID       the StackPack instance's configuration id (letters, digits, -)\n"
    "  --topo-cron-only       the minimal install: only the stackstate-topo-cron stack\n"
    "  --topo-cron-bucket B   upload the Lambda package to this existing bucket (default: create\n"
    "                         stackstate-topo-CONFIGURATION_ID-ACCOUNT-REGION)\n"
    "  --topo-cron-role ARN   the cron function runs as this existing role of the account (it must\n"
    "                         trust lambda.amazonaws.com and needs a policy like\n"
    "                         policies/sts-topo-cron-policy.json); default: the stack makes one\n"
    "  --create-trail         make the stackstate-topo-cloudtrail trail even when the account\n"
    "                         already has a multi-region trail that is logging (default: use that one)\n"
    "  --dry-run              print the plan (stacks, create or update, parameters, resources)\n"
    "                         and change nothing (read-only calls only)\n"
    "  --templates DIR        the CloudFormation templates (default: deploy/cloudformation of\n"
    "                         the data directory, or cloudformation/ next to it)\n"
    "  --package ZIP          the Lambda package (default: build/awstopo-lambda-x86_64.zip, see\n"
    "                         `make lambda`)\n"
    "  --profile, --role-arn, --session-name, --external-id, --region, --endpoint-url\n"
    "                         as for every command (AWS_PROFILE, AWS_ROLE_ARN, ...; options win)\n"
    "\n"
    "Every stack and resource is tagged " TAG_VERSION " and " TAG_CONFIG ".\n"
    "Many accounts: `awstopo install --organization --help` (this install in every account of an\n"
    "AWS Organization as a StackSet, or a read-only role there for one central awstopo).\n"
    "Exit codes: 0 installed, 2 failed (what this run created is removed again), 64 usage.\n";

static const char uninstall_help[] =
    "usage: awstopo uninstall [--profile P] [--role-arn ARN] [--session-name N] [--external-id ID]\n"
    "                         [--region R] CONFIGURATION_ID\n"
    "\n"
    "Removes what `awstopo install` deployed for CONFIGURATION_ID: the stacks in reverse\n"
    "order (stackstate-topo-publisher, -cwevents, -cloudtrail, -kinesis, -cron), each\n"
    "stack's buckets emptied first (every object version, the CloudTrail bucket's too),\n"
    "the API key parameter and the bucket install created. A bucket or role given with\n"
    "--topo-cron-bucket / --topo-cron-role is left alone. Stacks of another configuration\n"
    "id are not touched. What is already gone is skipped: running it twice, or after a\n"
    "failed install, succeeds.\n"
    "Exit codes: 0 nothing left, 2 something could not be removed (the reason is printed), 64 usage.\n";

typedef struct install {
    common_options co;
    int cron_only, dry_run, force_trail;
    const char *base_url, *api_key, *config_id, *user_bucket, *user_role, *templates_dir, *package;
    cfn_ctx cfn;
    char account[32], bucket[64], key[192], param[160];
    const char *create_trail;     /* the cloudtrail stack's CreateTrail: "true", or "false" when the account has one */
    char *templates[NSTACKS];     /* minified template text, NULL when not deployed */
    buf zip;
    cfn_kv tags[2];
} install;

static int nstacks(const install *in) { return in->cron_only ? 1 : NSTACKS; }

static int valid_config_id(const char *s)
{
    if (!*s || strlen(s) > 64) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-'))
            return 0;
    return 1;
}

int install_check_ids(const char *config_id, const char *base_url)
{
    if (!valid_config_id(config_id)) {
        cli_error("CONFIGURATION_ID '%s': letters, digits and '-' only, at most 64", config_id);
        return 0;
    }
    if (base_url && strncmp(base_url, "https://", 8) != 0 && strncmp(base_url, "http://", 7) != 0) {
        cli_error("BASE_URL '%s': an http:// or https:// URL", base_url);
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------ inputs */

static char *path_in(const char *dir, const char *name)
{
    buf p = {0};
    buf_printf(&p, "%s/%s", dir, name);
    return buf_steal(&p);
}

static int file_exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

/* The template as compact JSON (the cwevents template is near the inline limit). */
char *install_template(const char *dir, const char *stack, char *err, size_t errlen)
{
    char name[96];
    snprintf(name, sizeof name, "%s.json", stack);
    char *path = path_in(dir, name);
    buf text = {0};
    char *out = NULL;
    int rc = read_file(path, &text, 0);
    cJSON *t = rc == 0 ? cJSON_ParseWithLength(text.data, text.len) : NULL;
    if (rc != 0) set_err(err, errlen, "cannot read %s (--templates DIR)", path);
    else if (!t) set_err(err, errlen, "%s is not JSON", path);
    else if (!(out = cJSON_PrintUnformatted(t))) set_err(err, errlen, "out of memory");
    else if (strlen(out) > TEMPLATE_BODY_MAX) {
        set_err(err, errlen, "%s is %zu bytes minified, over CloudFormation's %d-byte TemplateBody limit",
                path, strlen(out), TEMPLATE_BODY_MAX);
        free(out);
        out = NULL;
    }
    cJSON_Delete(t);
    buf_free(&text);
    free(path);
    return out;
}

static int load_template(install *in, int i, char *err, size_t errlen)
{
    in->templates[i] = install_template(in->templates_dir, stack_names[i], err, errlen);
    return in->templates[i] ? 0 : -1;
}

const char *install_templates_dir(void)
{
    static char tdir[4096];
    if (!*tdir) {
        snprintf(tdir, sizeof tdir, "%s/deploy/cloudformation", data_dir());
        char *probe = path_in(tdir, "stackstate-topo-cron.json");
        if (!file_exists(probe)) snprintf(tdir, sizeof tdir, "%s/cloudformation", data_dir());
        free(probe);
    }
    return tdir;
}

const char *install_package_path(void)
{
    static char pkg[4096];
    if (!*pkg) {
        snprintf(pkg, sizeof pkg, "%s/build/awstopo-lambda-x86_64.zip", data_dir());
        if (!file_exists(pkg)) snprintf(pkg, sizeof pkg, "%s/awstopo-lambda-x86_64.zip", data_dir());
    }
    return pkg;
}

static void default_paths(install *in)
{
    if (!in->templates_dir) in->templates_dir = install_templates_dir();
    if (!in->package) in->package = install_package_path();
}

/* Templates and package read, the package's content-addressed key. */
static int load_inputs(install *in, char *err, size_t errlen)
{
    default_paths(in);
    for (int i = 0; i < nstacks(in); i++)
        if (load_template(in, i, err, errlen) < 0) return -1;
    if (read_file(in->package, &in->zip, 0) != 0)
        return set_err(err, errlen, "cannot read the Lambda package %s (build it with `make lambda`, or --package ZIP)",
                       in->package);
    store_package_key(&in->zip, in->key, sizeof in->key);
    snprintf(in->param, sizeof in->param, "/stackstate/awstopo/%s/api-key", in->config_id);
    return 0;
}

/* ------------------------------------------------------------ parameters */

typedef struct stack_params {
    cfn_kv kv[12];
    size_t n;
} stack_params;

static void add(stack_params *p, const char *k, const char *v)
{
    p->kv[p->n].key = k;
    p->kv[p->n++].value = v;
}

/* The parameters of stack i; the stream's from the kinesis stack's outputs
 * (NULL in a dry run before it exists: shown as "(from stackstate-topo-kinesis)"). */
static void params_for(const install *in, int i, const cJSON *stream, stack_params *p)
{
    static const char later[] = "(from stackstate-topo-kinesis)";
    p->n = 0;
    add(p, "AwstopoVersion", AWSTOPO_VERSION);
    add(p, "ConfigurationId", in->config_id);
    if (i == CRON || i == CWEVENTS || i == PUBLISHER) {
        add(p, "StackStateUrl", in->base_url);
        add(p, "ApiKeyParameterName", in->param);
        add(p, "CodeBucket", in->bucket);
        add(p, "CodeKey", in->key);
    }
    if (i == CRON) add(p, "RoleArn", in->user_role ? in->user_role : "");
    if (i == CLOUDTRAIL) add(p, "CreateTrail", in->create_trail ? in->create_trail : "true");
    if (i == CWEVENTS || i == PUBLISHER) {
        const char *arn = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(stream, "StreamArn"));
        add(p, "StreamArn", arn ? arn : later);
    }
    if (i == CWEVENTS) {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(stream, "StreamName"));
        add(p, "StreamName", name ? name : later);
    }
}

/* ------------------------------------------------------------ dry run */

static void print_resources(const char *template)
{
    cJSON *t = cJSON_Parse(template), *r;
    printf("      resources (%d):", cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(t, "Resources")));
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(t, "Resources")) {
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "Type"));
        const char *cond = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "Condition"));
        printf("\n        %-28s %s%s%s%s", r->string, type ? type : "?", cond ? "  (if " : "", cond ? cond : "",
               cond ? ")" : "");
    }
    printf("\n");
    cJSON_Delete(t);
}

static int print_plan(install *in, char *err, size_t errlen)
{
    printf("plan (dry run, nothing is changed):\n");
    for (int i = 0; i < nstacks(in); i++) {
        cJSON *d = NULL;
        if (cfn_describe(&in->cfn, stack_names[i], &d, err, errlen) < 0) return -1;
        const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "StackStatus"));
        printf("  %d. %s: %s%s%s\n", i + 1, stack_names[i], d ? "update (now " : "create", d && st ? st : "",
               d ? ")" : "");
        cJSON_Delete(d);
        stack_params p;
        params_for(in, i, NULL, &p);
        for (size_t k = 0; k < p.n; k++)
            printf("      %-22s %s\n", p.kv[k].key, *p.kv[k].value ? p.kv[k].value : "(empty)");
        print_resources(in->templates[i]);
    }
    return 0;
}

/* ------------------------------------------------------------ install */

typedef struct undo {
    int bucket, param;
    int stacks[NSTACKS];    /* created by this run */
    int updated[NSTACKS];   /* updated by this run (stay so: they work with the stacks as they are) */
    int failed;             /* the stack that failed, or -1 */
} undo;

/* Removes what this run created, newest first; how many removals failed. */
static int roll_back(install *in, const undo *u)
{
    char err[1024];
    int existed, failures = 0;
    size_t objects;
    printf("rolling back what this run created:\n");
    for (int i = NSTACKS - 1; i >= 0; i--) {
        if (!u->stacks[i]) continue;
        printf("  deleting stack %s\n", stack_names[i]);
        fflush(stdout);
        if (cfn_delete(&in->cfn, stack_names[i], &existed, err, sizeof err) < 0 && ++failures)
            cli_error("%s", err);
    }
    if (u->param && store_delete_secret(&in->cfn, in->param, &existed, err, sizeof err) == 0)
        printf("  deleted parameter %s\n", in->param);
    else if (u->param && ++failures)
        cli_error("%s", err);
    if (u->bucket && store_bucket_remove(&in->cfn, in->bucket, &existed, &objects, err, sizeof err) == 0)
        printf("  deleted bucket %s (%zu object versions)\n", in->bucket, objects);
    else if (u->bucket && ++failures)
        cli_error("%s", err);
    return failures;
}

/* The bucket: the user's must exist; ours is created when missing. */
static int prepare_bucket(install *in, undo *u, char *err, size_t errlen)
{
    int exists = store_bucket_exists(&in->cfn, in->bucket, err, errlen);
    if (exists < 0) return -1;
    if (in->user_bucket) {
        if (!exists) return set_err(err, errlen, "--topo-cron-bucket %s: no such bucket", in->bucket);
        printf("bucket    %s (given)\n", in->bucket);
        return 0;
    }
    if (!exists) {
        if (store_bucket_create(&in->cfn, in->bucket, in->tags, 2, err, errlen) < 0) return -1;
        u->bucket = 1;
    }
    printf("bucket    %s (%s)\n", in->bucket, exists ? "exists" : "created");
    return 0;
}

static int upload(install *in, undo *u, char *err, size_t errlen)
{
    int uploaded, created;
    if (store_put_object(&in->cfn, in->bucket, in->key, &in->zip, in->tags, 2, &uploaded, err, errlen) < 0)
        return -1;
    printf("package   s3://%s/%s (%.1f MiB, %s)\n", in->bucket, in->key, in->zip.len / 1048576.0,
           uploaded ? "uploaded" : "already there");
    if (store_put_secret(&in->cfn, in->param, in->api_key, in->tags, 2, &created, err, errlen) < 0) return -1;
    u->param = created;
    printf("API key   SSM SecureString %s (%s)\n", in->param, created ? "created" : "updated");
    return 0;
}

static int deploy_stacks(install *in, undo *u, char *err, size_t errlen)
{
    static const char *const said[] = { "created", "updated", "unchanged" };
    cJSON *stream = NULL;
    int rc = 0;
    for (int i = 0; i < nstacks(in) && rc == 0; i++) {
        stack_params p;
        params_for(in, i, stream, &p);
        printf("stack     %s\n", stack_names[i]);
        fflush(stdout);
        cfn_outcome how;
        cJSON *outputs = NULL;
        rc = cfn_deploy(&in->cfn, stack_names[i], in->templates[i], p.kv, p.n, in->tags, 2, &how,
                        i == KINESIS ? &outputs : NULL, err, errlen);
        if (rc == 0) {
            u->stacks[i] = how == CFN_CREATED;
            u->updated[i] = how == CFN_UPDATED;
            printf("          %s: %s\n", stack_names[i], said[how]);
        } else {
            u->failed = i;
        }
        if (outputs) stream = outputs;
    }
    cJSON_Delete(stream);
    return rc;
}

/* Before anything changes: the user's role as Lambda needs it, and whether the
 * account already has a multi-region trail (then the cloudtrail stack makes none). */
static int look_around(install *in, char *err, size_t errlen)
{
    if (in->user_role) {
        if (check_function_role(&in->cfn, in->user_role, in->account, err, errlen) < 0) return -1;
        printf("role      %s (given; trusts Lambda)\n", in->user_role);
    }
    if (in->cron_only) return 0;
    if (in->force_trail) {
        in->create_trail = "true";
        printf("trail     stackstate-topo-%s (--create-trail)\n", in->config_id);
        return 0;
    }
    char own[128], name[256], home[64];
    snprintf(own, sizeof own, "stackstate-topo-%s", in->config_id);
    int found = check_existing_trail(&in->cfn, own, name, sizeof name, home, sizeof home, err, errlen);
    if (found < 0) return -1;
    in->create_trail = found ? "false" : "true";
    if (found)
        printf("trail     the account's multi-region trail %s (home region %s) is logging: no second one "
               "(CreateTrail=false; --create-trail makes one anyway)\n", name, home);
    else
        printf("trail     no other multi-region trail is logging: stackstate-topo-cloudtrail has its own, %s\n", own);
    return 0;
}

static int run_install(install *in)
{
    char err[2048];
    undo u = { .failed = -1 };
    if (load_inputs(in, err, sizeof err) < 0 ||
        store_account_id(&in->cfn, in->account, sizeof in->account, err, sizeof err) < 0) {
        cli_error("install: %s", err);
        return EXIT_FAILURE_;
    }
    if (in->user_bucket) snprintf(in->bucket, sizeof in->bucket, "%s", in->user_bucket);
    else store_bucket_name(in->bucket, sizeof in->bucket, in->config_id, in->account, client_region(in->cfn.client));
    printf("awstopo %s: %s install of configuration %s into account %s, region %s\n", AWSTOPO_VERSION,
           in->cron_only ? "minimal (stackstate-topo-cron only)" : "full", in->config_id, in->account,
           client_region(in->cfn.client));
    if (look_around(in, err, sizeof err) < 0) {
        cli_error("install: %s", err);
        return EXIT_FAILURE_;
    }
    if (in->dry_run) {
        printf("bucket    %s (%s)\npackage   s3://%s/%s (%.1f MiB)\nAPI key   SSM SecureString %s\n", in->bucket,
               in->user_bucket ? "given" : "created if missing", in->bucket, in->key, in->zip.len / 1048576.0,
               in->param);
        if (print_plan(in, err, sizeof err) == 0) return EXIT_OK;
        cli_error("install: %s", err);
        return EXIT_FAILURE_;
    }
    if (prepare_bucket(in, &u, err, sizeof err) == 0 && upload(in, &u, err, sizeof err) == 0 &&
        deploy_stacks(in, &u, err, sizeof err) == 0) {
        printf("installed: %d stack%s, configuration %s\n", nstacks(in), nstacks(in) > 1 ? "s" : "", in->config_id);
        return EXIT_OK;
    }
    cli_error("install failed: %s", err);
    if (u.failed >= 0 && strstr(err, "ended UPDATE_ROLLBACK_COMPLETE")) {
        /* a re-install: CloudFormation put the stack back as it was */
        buf before = {0};
        for (int i = 0; i < u.failed; i++)
            if (u.updated[i]) buf_printf(&before, "%s%s", before.len ? ", " : "", stack_names[i]);
        cli_error("%s is back to its previous version (CloudFormation rolled the update back) and the stacks after "
                  "it were not touched: the previous install keeps running%s%s%s", stack_names[u.failed],
                  before.len ? "; updated by this run before it: " : "", before.len ? buf_cstr(&before) : "",
                  before.len ? " (they stay so)" : "");
        buf_free(&before);
    }
    fflush(stderr);
    fflush(stdout);
    int created = u.bucket || u.param;
    for (int i = 0; i < NSTACKS; i++) created |= u.stacks[i];
    if (!created) cli_error("install failed (see above); this run created nothing that needs removing");
    else if (roll_back(in, &u) == 0) cli_error("install failed (see above); what this run created was removed again");
    else cli_error("install failed (see above), and so did removing some of what it created: `awstopo uninstall %s`",
                   in->config_id);
    return EXIT_FAILURE_;
}

/* ------------------------------------------------------------ uninstall */

/* Refuses a stack of another configuration (same stack name, another
 * StackPack instance). 1 = there and ours, 0 = not there, -1 = refuse/error. */
static int stack_is_ours(install *in, int i, char *err, size_t errlen)
{
    cJSON *d = NULL;
    if (cfn_describe(&in->cfn, stack_names[i], &d, err, errlen) < 0) return -1;
    if (!d) return 0;
    const char *id = cfn_tag(d, TAG_CONFIG);
    int rc = 1;
    if (id && strcmp(id, in->config_id) != 0)
        rc = set_err(err, errlen, "%s belongs to configuration %s, not %s: left alone", stack_names[i], id,
                     in->config_id);
    cJSON_Delete(d);
    return rc;
}

/* Empties the stack's S3 buckets (CloudFormation deletes only empty ones). */
static int empty_stack_buckets(install *in, int i, char *err, size_t errlen)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "StackName", stack_names[i]);
    aws_call_error e;
    cJSON *r = aws_call_cjson(in->cfn.client, in->cfn.models, "cloudformation", "ListStackResources", p, NULL, &e), *res;
    if (!r) return set_err(err, errlen, "%s: ListStackResources: %s: %s", stack_names[i], e.code, e.message);
    int rc = 0;
    cJSON_ArrayForEach(res, cJSON_GetObjectItemCaseSensitive(r, "StackResourceSummaries")) {
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res, "ResourceType"));
        const char *phys = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res, "PhysicalResourceId"));
        if (rc < 0 || !type || strcmp(type, "AWS::S3::Bucket") != 0 || !phys || !*phys) continue;
        int existed;
        size_t objects;
        rc = store_bucket_remove(&in->cfn, phys, &existed, &objects, err, errlen);
        if (rc == 0 && existed) printf("          emptied and deleted bucket %s (%zu object versions)\n", phys, objects);
    }
    cJSON_Delete(r);
    return rc;
}

static int remove_stacks(install *in, char *err, size_t errlen)
{
    int ours[NSTACKS];
    for (int i = 0; i < NSTACKS; i++)   /* every stack checked before any is deleted */
        if ((ours[i] = stack_is_ours(in, i, err, errlen)) < 0) return -1;
    for (int i = NSTACKS - 1; i >= 0; i--) {
        if (!ours[i]) {
            printf("stack     %s: not there\n", stack_names[i]);
            continue;
        }
        printf("stack     %s: deleting\n", stack_names[i]);
        fflush(stdout);
        int existed;
        if (empty_stack_buckets(in, i, err, errlen) < 0 || cfn_delete(&in->cfn, stack_names[i], &existed, err, errlen) < 0)
            return -1;
        printf("          %s: deleted\n", stack_names[i]);
    }
    return 0;
}

static int run_uninstall(install *in)
{
    char err[2048];
    int existed;
    size_t objects;
    if (store_account_id(&in->cfn, in->account, sizeof in->account, err, sizeof err) < 0) {
        cli_error("uninstall: %s", err);
        return EXIT_FAILURE_;
    }
    store_bucket_name(in->bucket, sizeof in->bucket, in->config_id, in->account, client_region(in->cfn.client));
    snprintf(in->param, sizeof in->param, "/stackstate/awstopo/%s/api-key", in->config_id);
    printf("awstopo %s: uninstall of configuration %s from account %s, region %s\n", AWSTOPO_VERSION, in->config_id,
           in->account, client_region(in->cfn.client));
    int rc = remove_stacks(in, err, sizeof err);
    if (rc == 0 && (rc = store_delete_secret(&in->cfn, in->param, &existed, err, sizeof err)) == 0)
        printf("API key   %s: %s\n", in->param, existed ? "deleted" : "not there");
    if (rc == 0 && (rc = store_bucket_remove(&in->cfn, in->bucket, &existed, &objects, err, sizeof err)) == 0) {
        if (existed) printf("bucket    %s: emptied (%zu object versions) and deleted\n", in->bucket, objects);
        else printf("bucket    %s: not there\n", in->bucket);
    }
    if (rc == 0) {
        printf("uninstalled: configuration %s\n", in->config_id);
        return EXIT_OK;
    }
    cli_error("uninstall failed: %s", err);
    return EXIT_FAILURE_;
}

/* ------------------------------------------------------------ command line */

static int parse(install *in, int argc, char **argv, int uninstall)
{
    const char *pos[3];
    int npos = 0, want = uninstall ? 1 : 3;
    for (int i = 1; i < argc; i++) {
        int rc;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(uninstall ? uninstall_help : install_help, stdout);
            return 1;
        } else if (!uninstall && strcmp(argv[i], "--topo-cron-only") == 0) {
            in->cron_only = 1;
        } else if (!uninstall && strcmp(argv[i], "--dry-run") == 0) {
            in->dry_run = 1;
        } else if (!uninstall && strcmp(argv[i], "--create-trail") == 0) {
            in->force_trail = 1;
        } else if (!uninstall && ((rc = take_value(argc, argv, &i, "--topo-cron-bucket", &in->user_bucket)) != 0 ||
                                  (rc = take_value(argc, argv, &i, "--topo-cron-role", &in->user_role)) != 0 ||
                                  (rc = take_value(argc, argv, &i, "--templates", &in->templates_dir)) != 0 ||
                                  (rc = take_value(argc, argv, &i, "--package", &in->package)) != 0)) {
            if (rc < 0) return -1;
        } else if ((rc = common_option(&in->co, argc, argv, &i)) != 0) {
            if (rc < 0) return -1;
        } else if ((argv[i][0] == '-' && argv[i][1]) || npos == want) {
            cli_error("%s: unexpected argument '%s' (see awstopo %s --help)", argv[0], argv[i], argv[0]);
            return -1;
        } else {
            pos[npos++] = argv[i];
        }
    }
    if (npos != want) {
        fputs(uninstall ? uninstall_help : install_help, stderr);
        return -1;
    }
    in->config_id = pos[want - 1];
    if (!uninstall) {
        in->base_url = pos[0];
        in->api_key = pos[1];
    }
    return 0;
}

/* Checks what can be checked before any call. */
static int validate(const install *in)
{
    if (!install_check_ids(in->config_id, in->base_url)) return -1;
    if (in->api_key && !*in->api_key) {
        cli_error("API_KEY is empty");
        return -1;
    }
    if (in->force_trail && in->cron_only) {
        cli_error("--create-trail is for the full install (--topo-cron-only makes no trail)");
        return -1;
    }
    if (in->user_role && strncmp(in->user_role, "arn:", 4) != 0) {
        cli_error("--topo-cron-role '%s': a role ARN (arn:aws:iam::ACCOUNT:role/NAME)", in->user_role);
        return -1;
    }
    return 0;
}

static int run(int argc, char **argv, int uninstall)
{
    for (int i = 1; i < argc; i++)   /* the StackSet path has its own options (cmd_install_org.c) */
        if (strcmp(argv[i], "--organization") == 0) return install_organization(argc, argv, uninstall);
    install in = {0};
    int rc = parse(&in, argc, argv, uninstall);
    if (rc != 0) return rc > 0 ? EXIT_OK : EXIT_USAGE;
    if (validate(&in) < 0) return EXIT_USAGE;
    in.tags[0] = (cfn_kv){ TAG_VERSION, AWSTOPO_VERSION };
    in.tags[1] = (cfn_kv){ TAG_CONFIG, in.config_id };
    char err[1024];
    char *mpath = model_search_path(&in.co);
    model_registry *models = model_registry_new(mpath);
    free(mpath);
    aws_client *client = make_client(&in.co, models, err, sizeof err);
    if (!client) {
        cli_error("%s", err);
        model_registry_free(models);
        return EXIT_FAILURE_;
    }
    const char *poll = getenv("AWSTOPO_INSTALL_POLL_MS");
    in.cfn = (cfn_ctx){ client, models, stdout, poll && *poll ? atol(poll) : 5000, 3600 };
    rc = uninstall ? run_uninstall(&in) : run_install(&in);
    for (int i = 0; i < NSTACKS; i++) free(in.templates[i]);
    buf_free(&in.zip);
    client_free(client);
    model_registry_free(models);
    return rc;
}

int cmd_install(int argc, char **argv) { return run(argc, argv, 0); }
int cmd_uninstall(int argc, char **argv) { return run(argc, argv, 1); }
