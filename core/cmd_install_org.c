/* cmd_install_org.c -- `awstopo install --organization` and `awstopo
 * uninstall --organization`: the stackstate-topo-role template in every
 * account of an AWS Organization (or of some OUs), as a service-managed
 * StackSet with auto-deployment (stackset.c), for one central awstopo that
 * scans them all (docs/install.md, "Many accounts").
 *
 * Run with the management account's (or a delegated StackSets
 * administrator's) credentials, in the region that administers the StackSet.
 * The role is IAM, global in each account: one region deploys it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfn.h"
#include "cli.h"
#include "config.h"
#include "install.h"
#include "install_store.h"
#include "org_accounts.h"
#include "stackset.h"
#include "stackset_install.h"
#include "util.h"

#define STACK_SET "stackstate-topo-role"
#define TAG_VERSION "stackstate:awstopo-version"
#define TAG_CONFIG "stackstate:configuration-id"

static const char help[] =
    "usage: awstopo install --organization [--topo-cron-only] [--ou OU,...] [--regions R,...] [--no-trail]\n"
    "                       [credential options] BASE_URL API_KEY CONFIGURATION_ID\n"
    "       awstopo install --organization [--ou OU,...] [--regions REGION]\n"
    "                       --topo-role-external-id ID [--topo-role-name NAME] [--central-account ID]\n"
    "                       [credential options] CONFIGURATION_ID\n"
    "       awstopo uninstall --organization [credential options] CONFIGURATION_ID\n"
    "\n"
    "With BASE_URL and API_KEY: the Lambda install -- full, or minimal with --topo-cron-only --\n"
    "in every account of the AWS Organization (or of the OUs given and the OUs below them)\n"
    "and every region given, as the service-managed StackSet " STACKSET_INSTALL_NAME "\n"
    "(deploy/cloudformation/stackstate-topo-stackset-full / -minimal: one stack per account\n"
    "and region). The Lambda package goes to a bucket per region in this account,\n"
    "stackstate-topo-org-CONFIGURATION_ID-ACCOUNT-REGION, which the organization may read\n"
    "(Lambda takes code from its own region only); the API key is a NoEcho parameter each\n"
    "stack keeps in a Secrets Manager secret the functions read. The full install's trail is\n"
    "made in the first region only (--no-trail: none, for accounts that have one).\n"
    "\n"
    "With CONFIGURATION_ID alone: the stackstate-topo-role template -- a read-only role\n"
    "trusting the central account with an external id -- for one central awstopo that scans\n"
    "every account, as the service-managed StackSet " STACK_SET "; then\n"
    "`awstopo config accounts --organization` lists the accounts to scan.\n"
    "\n"
    "Both: auto-deployment is on (accounts that join a target OU later get the stacks,\n"
    "accounts that leave lose them); running it again updates the StackSet and adds OUs and\n"
    "regions. Run it with the management account's (or a delegated StackSets\n"
    "administrator's) credentials; StackSets' trusted access with Organizations must be\n"
    "enabled. The management account gets no instance (a service-managed StackSet never\n"
    "deploys there). uninstall --organization deletes both StackSets' instances, the\n"
    "StackSets and the code buckets.\n"
    "\n"
    "  --ou OU,...               target OUs (ou-...) or the root (r-...); default: the root\n"
    "  --regions R,...           where the stacks go (default: --region); the role: one region\n"
    "  --topo-cron-only          the minimal install: the hourly cron function alone\n"
    "  --no-trail                the full install without its CloudTrail trail\n"
    "  --package ZIP             the Lambda package (default: build/awstopo-lambda-x86_64.zip)\n"
    "  --topo-role-external-id   the external id the central awstopo presents (required)\n"
    "  --topo-role-name NAME     default " ORG_DEFAULT_ROLE "\n"
    "  --central-account ID      the account awstopo runs in (default: the credentials' account)\n"
    "  --templates DIR           the CloudFormation templates (default: deploy/cloudformation)\n"
    "\n"
    "Exit codes: 0 done, 2 failed (the failed accounts, regions and reasons are printed), 64 usage.\n";

typedef struct org_install {
    common_options co;
    const char *config_id, *ous, *regions, *external_id, *role_name, *central, *templates_dir;
    const char *base_url, *api_key, *package;   /* base_url: the Lambda install */
    int uninstall, cron_only, no_trail;
} org_install;

static int parse(org_install *o, int argc, char **argv)
{
    const char *pos[3];
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        int rc;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(help, stdout);
            return 1;
        } else if (strcmp(argv[i], "--organization") == 0) {
            continue;
        } else if (strcmp(argv[i], "--topo-cron-only") == 0) {
            o->cron_only = 1;
        } else if (strcmp(argv[i], "--no-trail") == 0) {
            o->no_trail = 1;
        } else if ((rc = take_value(argc, argv, &i, "--ou", &o->ous)) != 0 ||
                   (rc = take_value(argc, argv, &i, "--regions", &o->regions)) != 0 ||
                   (rc = take_value(argc, argv, &i, "--topo-role-external-id", &o->external_id)) != 0 ||
                   (rc = take_value(argc, argv, &i, "--topo-role-name", &o->role_name)) != 0 ||
                   (rc = take_value(argc, argv, &i, "--central-account", &o->central)) != 0 ||
                   (rc = take_value(argc, argv, &i, "--templates", &o->templates_dir)) != 0 ||
                   (rc = take_value(argc, argv, &i, "--package", &o->package)) != 0 ||
                   (rc = common_option(&o->co, argc, argv, &i)) != 0) {
            if (rc < 0) return -1;
        } else if ((argv[i][0] == '-' && argv[i][1]) || npos == 3) {
            cli_error("%s --organization: unexpected argument '%s' (see awstopo install --organization --help)",
                      argv[0], argv[i]);
            return -1;
        } else {
            pos[npos++] = argv[i];
        }
    }
    if (npos != 1 && !(npos == 3 && !o->uninstall)) {
        fputs(help, stderr);
        return -1;
    }
    o->config_id = pos[npos - 1];
    if (npos == 3) {
        o->base_url = pos[0];
        o->api_key = pos[1];
    }
    /* each path's own options */
    const char *role_only = o->external_id ? "--topo-role-external-id" : o->role_name ? "--topo-role-name"
                          : o->central ? "--central-account" : NULL;
    const char *lambda_only = o->cron_only ? "--topo-cron-only" : o->no_trail ? "--no-trail"
                            : o->package ? "--package" : NULL;
    if (o->base_url && role_only) {
        cli_error("%s --organization: %s is for the stackstate-topo-role StackSet (CONFIGURATION_ID alone), not the "
                  "Lambda install (BASE_URL API_KEY CONFIGURATION_ID)", argv[0], role_only);
        return -1;
    }
    if (!o->base_url && !o->uninstall && lambda_only) {
        cli_error("%s --organization: %s is for the Lambda install: give BASE_URL API_KEY CONFIGURATION_ID", argv[0],
                  lambda_only);
        return -1;
    }
    return 0;
}

static int validate(const org_install *o, strlist *ous, strlist *regions)
{
    if (!install_check_ids(o->config_id, o->uninstall ? NULL : o->base_url)) return -1;
    if (o->uninstall) return 0;
    if (o->base_url && !*o->api_key) {
        cli_error("API_KEY is empty");
        return -1;
    }
    if (!o->base_url && (!o->external_id || strlen(o->external_id) < 2)) {
        cli_error("install --organization: --topo-role-external-id ID is required (at least 2 characters): the "
                  "central awstopo presents it when it assumes the role");
        return -1;
    }
    /* the [organization] checks of the configuration file, for the same values */
    strlist items = {0}, problems = {0};
    if (o->ous) strlist_addf(&items, "ous=%s", o->ous);
    if (o->role_name) strlist_addf(&items, "role_name=%s", o->role_name);
    org_options oo;
    org_options_from_config(&oo, &items, &problems);
    for (size_t i = 0; i < oo.ous.len; i++) strlist_add(ous, oo.ous.items[i]);
    org_options_free(&oo);
    strlist_free(&items);
    int bad = problems.len > 0;
    for (size_t i = 0; i < problems.len; i++) cli_error("install --organization: %s", problems.items[i]);
    strlist_free(&problems);
    if (bad) return -1;
    if (o->central && (strlen(o->central) != 12 || strspn(o->central, "0123456789") != 12)) {
        cli_error("--central-account '%s': a 12-digit account id", o->central);
        return -1;
    }
    if (o->regions) split_list(o->regions, regions);
    if (!o->base_url && regions->len > 1) {
        cli_error("--regions: one region: the role is an IAM role, global in each account, and a second region's "
                  "stack would try to create it again");
        return -1;
    }
    return 0;
}

static int deploy(const org_install *o, const stackset_ctx *sc, const cfn_ctx *cc, const strlist *ous,
                  const strlist *regions, char *err, size_t errlen)
{
    char *body = install_template(o->templates_dir ? o->templates_dir : install_templates_dir(), STACK_SET, err,
                                  errlen);
    if (!body) return -1;
    char central[32];
    if (o->central) snprintf(central, sizeof central, "%s", o->central);
    else if (store_account_id(cc, central, sizeof central, err, errlen) < 0) {
        free(body);
        return -1;
    }
    cfn_kv params[] = {
        { "AwstopoVersion", AWSTOPO_VERSION }, { "ConfigurationId", o->config_id },
        { "CentralAccountId", central }, { "ExternalId", o->external_id },
        { "RoleName", o->role_name ? o->role_name : ORG_DEFAULT_ROLE },
    };
    cfn_kv tags[] = { { TAG_CONFIG, o->config_id }, { TAG_VERSION, AWSTOPO_VERSION } };
    stackset_spec spec = { STACK_SET, body, "StackState awstopo: read-only role for a central awstopo", params, 5,
                           tags, 2, "CAPABILITY_NAMED_IAM", ous, regions };
    printf("install --organization: %s (role %s trusting account %s) to %s, region %s\n", STACK_SET,
           o->role_name ? o->role_name : ORG_DEFAULT_ROLE, central, ous->len ? o->ous : "the whole organization",
           regions->items[0]);
    int rc = stackset_deploy(sc, &spec, err, errlen);
    free(body);
    return rc;
}

int install_organization(int argc, char **argv, int uninstall)
{
    org_install o = { .uninstall = uninstall };
    int rc = parse(&o, argc, argv);
    if (rc != 0) return rc > 0 ? EXIT_OK : EXIT_USAGE;
    strlist ous = {0}, regions = {0};
    if (validate(&o, &ous, &regions) < 0) {
        strlist_free(&ous);
        strlist_free(&regions);
        return EXIT_USAGE;
    }
    char err[2048];
    char *mpath = model_search_path(&o.co);
    model_registry *models = model_registry_new(mpath);
    free(mpath);
    aws_client *client = make_client(&o.co, models, err, sizeof err);
    if (!client) {
        cli_error("%s", err);
        model_registry_free(models);
        return EXIT_FAILURE_;
    }
    if (!regions.len) strlist_add(&regions, client_region(client));
    const char *poll = getenv("AWSTOPO_INSTALL_POLL_MS");
    long poll_ms = poll && *poll ? atol(poll) : 5000;
    stackset_ctx sc = { client, models, stdout, poll_ms, 3600 };
    cfn_ctx cc = { client, models, stdout, poll_ms, 3600 };
    stackset_install si = { &o.co, models, client, o.config_id, o.base_url, o.api_key,
                            o.package ? o.package : install_package_path(), o.templates_dir, !o.cron_only,
                            !o.no_trail, &ous, &regions, poll_ms };
    if (uninstall) {
        cfn_kv owner = { TAG_CONFIG, o.config_id };
        int existed = 0;
        rc = stackset_install_remove(&si, err, sizeof err);
        if (rc == 0) rc = stackset_remove(&sc, STACK_SET, &owner, &existed, err, sizeof err);
        if (rc == 0 && !existed) printf("stack set %s: not there\n", STACK_SET);
        if (rc == 0) printf("uninstalled --organization: configuration %s\n", o.config_id);
    } else if (o.base_url) {
        rc = stackset_install_deploy(&si, err, sizeof err);
        if (rc == 0) printf("installed --organization: configuration %s\n", o.config_id);
    } else {
        rc = deploy(&o, &sc, &cc, &ous, &regions, err, sizeof err);
        if (rc == 0) printf("install --organization: done; `awstopo config accounts --organization` lists the "
                            "accounts\n");
    }
    if (rc < 0) {
        cli_error("%s --organization: %s", argv[0], err);
        if (!uninstall && o.base_url && strstr(err, "stack instances failed"))
            cli_error("the other instances are in place; once the cause is fixed, run it again (failed instances "
                      "are retried), or remove it all: awstopo uninstall --organization %s", o.config_id);
        if (strstr(err, "enable organizations access") || strstr(err, "trusted access"))
            cli_error("enable StackSets' trusted access first: aws cloudformation activate-organizations-access");
    }
    strlist_free(&ous);
    strlist_free(&regions);
    client_free(client);
    model_registry_free(models);
    return rc < 0 ? EXIT_FAILURE_ : EXIT_OK;
}
