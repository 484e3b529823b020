/* cmd_config_accounts.c -- `awstopo config accounts`: the accounts one
 * awstopo scans, from the configuration's [account] sections and from the
 * AWS Organization ([organization], --organization), and the [account]
 * sections that would add the organization's accounts (--format ini).
 *
 * The organization's accounts are reached through the role the
 * stackstate-topo-role StackSet deploys in each of them (`awstopo install
 * --organization`, docs/install.md); the management account gets no role
 * from a service-managed StackSet, so it is listed but not written out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "config.h"
#include "org_accounts.h"

static const char help[] =
    "usage: awstopo config accounts [FILE] [--organization] [--ou OU,...] [--role-name NAME]\n"
    "                               [--format table|ini] [credential options]\n"
    "\n"
    "Lists the accounts a scan with this configuration reaches: its [account] sections,\n"
    "and with --organization (or an [organization] section) every ACTIVE account of the\n"
    "AWS Organization, or of the OUs given and the OUs below them, through the role the\n"
    "stackstate-topo-role StackSet deploys there (arn:...:role/ROLE_NAME, with the\n"
    "section's external_id). --format ini prints the [account] sections that add the\n"
    "organization's accounts not yet configured, to append to the file.\n"
    "\n"
    "options:\n"
    "  --organization      ask AWS Organizations (ListAccounts; the management account's\n"
    "                      credentials: the options below, else the section's profile/role_arn)\n"
    "  --ou OU,...         only these OUs or roots and the OUs below them (overrides ous =)\n"
    "  --role-name NAME    the role in each account (overrides role_name =; default " ORG_DEFAULT_ROLE ")\n"
    "  --format table|ini  table (default) or [account] sections\n"
    "  --profile, --role-arn, --external-id, --session-name, --region, --endpoint-url\n"
    "                      credentials and endpoint for Organizations\n"
    "\n"
    "FILE defaults to AWSTOPO_CONFIG. Exit codes: 0 listed, 2 the file has problems or\n"
    "Organizations refused (the message names the call and AWS's error), 64 usage.\n";

typedef struct accounts_cli {
    common_options co;
    const char *file;
    const char *ous;
    const char *role_name;
    const char *format;
    int organization;
} accounts_cli;

static int parse(accounts_cli *a, int argc, char **argv)
{
    a->file = getenv("AWSTOPO_CONFIG");
    a->format = "table";
    int file_given = 0;
    for (int i = 1; i < argc; i++) {
        int rc;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(help, stdout);
            return 1;
        } else if ((rc = common_option(&a->co, argc, argv, &i)) != 0 ||
                   (rc = take_value(argc, argv, &i, "--ou", &a->ous)) != 0 ||
                   (rc = take_value(argc, argv, &i, "--role-name", &a->role_name)) != 0 ||
                   (rc = take_value(argc, argv, &i, "--format", &a->format)) != 0) {
            if (rc < 0) return -1;
        } else if (strcmp(argv[i], "--organization") == 0) {
            a->organization = 1;
        } else if (argv[i][0] != '-' && !file_given) {
            a->file = argv[i];
            file_given = 1;
        } else {
            cli_error("config accounts: unexpected '%s' (see awstopo config accounts --help)", argv[i]);
            return -1;
        }
    }
    if (strcmp(a->format, "table") != 0 && strcmp(a->format, "ini") != 0) {
        cli_error("config accounts: --format is table or ini, not '%s'", a->format);
        return -1;
    }
    return 0;
}

/* The account id an [account] section names: account_id, or its role's. */
static char *configured_id(const account_config *ac)
{
    if (ac->account_id) return xstrdup(ac->account_id);
    const char *r = ac->role_arn;
    const char *p = r ? strstr(r, ":iam::") : NULL;   /* arn:PARTITION:iam::ACCOUNT:role/NAME */
    if (!p) return NULL;
    p += 6;
    const char *end = strchr(p, ':');
    return end ? xstrndup(p, (size_t)(end - p)) : NULL;
}

static void print_configured(const awstopo_config *c)
{
    if (!c->naccounts) {
        printf("%-20s %-14s %-13s %s\n", "default", "(looked up)", "credentials", "the command's credentials");
        return;
    }
    for (size_t i = 0; i < c->naccounts; i++) {
        const account_config *ac = &c->accounts[i];
        char *id = configured_id(ac);
        buf how = {0};
        if (ac->role_arn) buf_printf(&how, "role %s%s", ac->role_arn, ac->external_id ? " (external id)" : "");
        else if (ac->profile) buf_printf(&how, "profile %s", ac->profile);
        else buf_puts(&how, "the command's credentials");
        if (ac->regions.len) buf_printf(&how, ", regions %s%s", ac->regions.items[0], ac->regions.len > 1 ? ",..." : "");
        printf("%-20s %-14s %-13s %s\n", ac->name, id ? id : "(looked up)", "config", how.data);
        buf_free(&how);
        free(id);
    }
}

static int is_configured(const awstopo_config *c, const char *id)
{
    for (size_t i = 0; i < c->naccounts; i++) {
        char *cid = configured_id(&c->accounts[i]);
        int same = cid && strcmp(cid, id) == 0;
        free(cid);
        if (same) return 1;
    }
    return 0;
}

/* A section name from the account's name: letters, digits, '.', '_', '-'. */
static char *section_name(const org_account *a, const awstopo_config *c)
{
    buf b = {0};
    for (const char *p = a->name; *p; p++) {
        char ch = *p;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr("._-", ch);
        buf_putc(&b, ok ? ch : '-');
    }
    for (size_t i = 0; i < c->naccounts; i++)
        if (strcmp(c->accounts[i].name, b.data) == 0) buf_printf(&b, "-%s", a->id);
    return buf_steal(&b);
}

static void print_org(const awstopo_config *c, const org_options *o, const org_accounts *acc, const char *partition,
                      int ini)
{
    const char *role = o->role_name ? o->role_name : ORG_DEFAULT_ROLE;
    for (size_t i = 0; i < acc->len; i++) {
        const org_account *a = &acc->items[i];
        int configured = is_configured(c, a->id);
        if (ini) {
            if (a->management) printf("; %s (%s): the management account; the StackSet deploys no role there\n\n",
                                      a->id, a->name);
            if (a->management || configured) continue;
            char *name = section_name(a, c);
            printf("[account %s]\naccount_id = %s\nrole_arn = arn:%s:iam::%s:role/%s\n", name, a->id, partition,
                   a->id, role);
            if (o->external_id) printf("external_id = %s\n", o->external_id);
            if (o->regions.len) {
                printf("regions =");
                for (size_t r = 0; r < o->regions.len; r++) printf("%s %s", r ? "," : "", o->regions.items[r]);
                printf("\n");
            }
            printf("\n");
            free(name);
            continue;
        }
        buf how = {0};
        if (a->management) buf_puts(&how, "management account: its own credentials (no StackSet role there)");
        else if (configured) buf_puts(&how, "configured above");
        else buf_printf(&how, "role arn:%s:iam::%s:role/%s%s", partition, a->id, role,
                        o->external_id ? " (external id)" : "");
        printf("%-20s %-14s %-13s %s\n", a->name, a->id, "organization", how.data);
        buf_free(&how);
    }
}

/* Organizations' credentials: the command's options, else the section's. */
static aws_client *org_client(const accounts_cli *a, const org_options *o, model_registry *models, char *err,
                              size_t errlen)
{
    common_options co = a->co;
    if (!co.profile && !co.role_arn) {
        co.profile = o->profile;
        co.role_arn = o->role_arn;
        if (!co.session_name) co.session_name = o->session_name;
    }
    return make_client(&co, models, err, errlen);
}

static int list_org(const accounts_cli *a, const awstopo_config *c, org_options *o)
{
    if (a->ous) strlist_free(&o->ous), split_list(a->ous, &o->ous);
    if (a->role_name) config_set(&o->role_name, a->role_name);
    char err[1024];
    char *mpath = model_search_path(&a->co);
    model_registry *models = model_registry_new(mpath);
    aws_client *client = org_client(a, o, models, err, sizeof err);
    org_accounts acc = {0};
    int rc = client && org_list_accounts(client, models, o, &acc, err, sizeof err) == 0 ? EXIT_OK : EXIT_FAILURE_;
    if (rc == EXIT_OK) print_org(c, o, &acc, client_partition(client, client_region(client)),
                                 strcmp(a->format, "ini") == 0);
    else cli_error("config accounts: %s", err);
    org_accounts_free(&acc);
    if (client) client_free(client);
    model_registry_free(models);
    free(mpath);
    return rc;
}

int cmd_config_accounts(int argc, char **argv)
{
    accounts_cli a = {0};
    int prc = parse(&a, argc, argv);
    if (prc) return prc > 0 ? EXIT_OK : EXIT_USAGE;
    awstopo_config c;
    char err[512];
    if (config_load(&c, a.file, err, sizeof err) < 0) {
        cli_error("config accounts: %s", err);
        return EXIT_FAILURE_;
    }
    org_options o;
    org_options_from_config(&o, &c.organization, &c.problems);
    int rc = EXIT_OK;
    if (c.problems.len) {
        for (size_t i = 0; i < c.problems.len; i++) cli_error("%s", c.problems.items[i]);
        rc = EXIT_FAILURE_;
    } else {
        if (strcmp(a.format, "table") == 0) {
            printf("%-20s %-14s %-13s %s\n", "NAME", "ACCOUNT", "FROM", "CREDENTIALS");
            print_configured(&c);
        }
        if (a.organization || c.organization.len || a.ous) rc = list_org(&a, &c, &o);
    }
    org_options_free(&o);
    config_free(&c);
    return rc;
}
