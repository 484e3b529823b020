/* config.h -- awstopo's configuration file (docs/cli.md, "The configuration file").
 *
 * An INI file; later sections and flags refine earlier ones:
 *
 *   [stackstate]
 *   url = https://stackstate.example.com/receiver
 *   api_key = ${STS_API_KEY}          ; ${VAR} reads the environment
 *   instance = production-aws          ; the StackPack's AWS instance name
 *   spool = /var/lib/awstopo/spool
 *   spool_max_mb = 256
 *
 *   [scan]
 *   regions = eu-west-1, us-east-1     ; or: all
 *   services = ec2, vpc, s3            ; mapping names; default: every mapping
 *   shrink_fraction = 0.5              ; shrink guard (docs/cli.md); 0 = off
 *   allow_shrink = false               ; true: send a shrunken snapshot as complete
 *   retry_budget = 300s                ; how long a scan retries one AWS call (90, 5m, ...)
 *
 *   [metrics]                          ; awstopo metrics (docs/metrics.md)
 *   max_metrics_per_hour = 100000
 *   aws.ec2.instance = CPUUtilization, StatusCheckFailed
 *
 *   [organization]                     ; the accounts of an AWS Organization (org_accounts.h)
 *   role_name = StackStateTopoRole
 *   ous = ou-a1b2-prod0001
 *   [daemon]                           ; awstopo run (docs/daemon.md)
 *   listen = 127.0.0.1:9377
 *   scan_interval = 1h
 *   kinesis_stream = stackstate-topo
 *
 *   [account production]               ; one per account; none = the default credentials
 *   profile = prod
 *   role_arn = arn:aws:iam::111122223333:role/StackStateAwsIntegration
 *   external_id = ...
 *   session_name = awstopo
 *   regions = eu-west-1                ; overrides [scan] regions for this account
 *
 * Precedence: flags, then environment variables (AWSTOPO_STACKSTATE_URL,
 * AWSTOPO_API_KEY, AWSTOPO_INSTANCE, AWSTOPO_REGIONS, AWSTOPO_SERVICES,
 * AWSTOPO_SPOOL, AWSTOPO_RETRY_BUDGET), then the file.
 */
#ifndef AWSTOPO_CONFIG_H
#define AWSTOPO_CONFIG_H

#include <stddef.h>

#include "util.h"

typedef struct account_config {
    char *name;
    char *profile;
    char *role_arn;
    char *external_id;
    char *session_name;
    char *account_id;     /* skips the GetCallerIdentity lookup */
    strlist regions;      /* empty = the scan's */
} account_config;

typedef struct awstopo_config {
    char *stackstate_url;
    char *api_key;        /* secret */
    char *instance;
    char *spool_dir;
    size_t spool_max_mb;
    strlist regions;      /* "all" = every region of the partition */
    strlist services;
    double shrink_fraction;   /* shrink guard; meaningful when shrink_set */
    int shrink_set;
    int allow_shrink;
    long retry_budget_s;      /* [scan] retry_budget; 0 = not set (AWSTOPO_RETRY_BUDGET or 300 s) */
    strlist metrics;      /* [metrics] items, "key=value" (metrics.h reads them) */
    strlist organization; /* [organization] items, "key=value" (org_accounts.h reads them) */
    strlist daemon;       /* [daemon] items, "key=value" (daemon.h reads them) */
    account_config *accounts;
    size_t naccounts;
    strlist problems;     /* "file:line: what is wrong" */
} awstopo_config;

/* Reads path (NULL: only the environment). Problems are collected, not
 * fatal; returns -1 only when the file cannot be read. */
int config_load(awstopo_config *c, const char *path, char *err, size_t errlen);
/* The environment variables above, over what the file said. */
void config_apply_env(awstopo_config *c);
void config_free(awstopo_config *c);
/* Splits "a, b c" into items appended to l. */
void split_list(const char *s, strlist *l);
/* Replaces (frees) *field with a copy of value. */
void config_set(char **field, const char *value);

int cmd_config(int argc, char **argv);
/* awstopo config accounts (cmd_config_accounts.c) */
int cmd_config_accounts(int argc, char **argv);

#endif
