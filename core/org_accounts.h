/* org_accounts.h -- the accounts of an AWS Organization, for one central
 * awstopo scanning many accounts (docs/cli.md, "Many accounts").
 *
 * The configuration's [organization] section says where the accounts come
 * from and how to reach them:
 *
 *   [organization]
 *   role_name = StackStateTopoRole   ; the role stackstate-topo-role deploys in every account
 *   external_id = 8f2c0b7e           ; its external id
 *   ous = ou-a1b2-prod0001           ; only these OUs and the OUs below them (default: all)
 *   exclude = 444444444444           ; accounts to leave out
 *   regions = eu-west-1              ; the listed accounts' regions (default: the scan's)
 *   profile = management             ; credentials for Organizations (default: the
 *   role_arn = arn:...               ;   command's credential options, then the chain)
 *
 * `awstopo config accounts` lists them next to the configured [account]
 * sections, and writes them as [account] sections (--format ini).
 */
#ifndef AWSTOPO_ORG_ACCOUNTS_H
#define AWSTOPO_ORG_ACCOUNTS_H

#include <stddef.h>

#include "client.h"
#include "model.h"
#include "util.h"

#define ORG_DEFAULT_ROLE "StackStateTopoRole"   /* stackstate-topo-role's RoleName default */

typedef struct org_options {
    char *role_name;       /* default ORG_DEFAULT_ROLE */
    char *external_id;
    char *profile, *role_arn, *session_name;   /* Organizations' credentials */
    strlist ous;           /* empty: the whole organization */
    strlist exclude;
    strlist regions;
} org_options;

/* Reads the [organization] items ("key=value", config.h) into o; each
 * problem (unknown key, malformed OU id, account id or role name) is
 * appended to problems. Free o with org_options_free. */
void org_options_from_config(org_options *o, const strlist *items, strlist *problems);
void org_options_free(org_options *o);

typedef struct org_account {
    char *id;
    char *name;            /* as Organizations knows it */
    int management;        /* the organization's management account */
} org_account;

typedef struct org_accounts {
    org_account *items;    /* ACTIVE accounts, sorted by id, excluded ones left out */
    size_t len;
    char *management;      /* the management account's id */
} org_accounts;

/* Lists the accounts (of o->ous and every OU below, or all) through
 * Organizations with client c. Returns 0, or -1 with err naming the call
 * and AWS's error. Free out with org_accounts_free. */
int org_list_accounts(aws_client *c, model_registry *models, const org_options *o, org_accounts *out,
                      char *err, size_t errlen);
void org_accounts_free(org_accounts *a);

#endif
