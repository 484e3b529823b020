/* config.c -- reading and checking the configuration file (see config.h). */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "daemon.h"
#include "metrics.h"
#include "model.h"
#include "org_accounts.h"
#include "util.h"

void config_set(char **field, const char *value)
{
    free(*field);
    *field = value ? xstrdup(value) : NULL;
}

void split_list(const char *s, strlist *l)
{
    buf item = {0};
    for (const char *p = s;; p++) {
        if (*p == ',' || *p == '\0' || isspace((unsigned char)*p)) {
            if (item.len) strlist_add(l, item.data);
            buf_clear(&item);
            if (!*p) break;
        } else {
            buf_putc(&item, *p);
        }
    }
    buf_free(&item);
}

static void problem(awstopo_config *c, const char *path, int line, const char *fmt, const char *a);

/* "${VAR}" anywhere in a value reads the environment; an unset one is a
 * problem naming it (the value then lacks it). */
static char *expand_env(awstopo_config *c, const char *path, int line, const char *v)
{
    buf out = {0};
    while (*v) {
        const char *start = strstr(v, "${");
        const char *end = start ? strchr(start, '}') : NULL;
        if (!start || !end) {
            buf_puts(&out, v);
            break;
        }
        buf_append(&out, v, (size_t)(start - v));
        char *name = xstrndup(start + 2, (size_t)(end - start - 2));
        const char *val = getenv(name);
        if (val) buf_puts(&out, val);
        else problem(c, path, line, "${%s} is not set in the environment", name);
        free(name);
        v = end + 1;
    }
    return buf_steal(&out);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

static void problem(awstopo_config *c, const char *path, int line, const char *fmt, const char *a)
{
    buf b = {0};
    if (line > 0) buf_printf(&b, "%s:%d: ", path, line);
    else buf_printf(&b, "%s: ", path);
    buf_printf(&b, fmt, a);
    strlist_add(&c->problems, b.data);
    buf_free(&b);
}

typedef enum { SEC_NONE, SEC_STACKSTATE, SEC_SCAN, SEC_ACCOUNT, SEC_METRICS, SEC_ORGANIZATION, SEC_DAEMON } section;

/* The keys of each section, for "did you mean" ([metrics] keys are
 * metrics.c's: it reports its own). */
static const char *const stackstate_keys[] = { "url", "api_key", "instance", "spool", "spool_max_mb" };
static const char *const scan_keys[] = { "regions", "services", "shrink_fraction", "allow_shrink", "retry_budget" };
static const char *const account_keys[] = { "profile", "role_arn", "external_id", "session_name", "account_id",
                                            "regions" };
static const char *const section_names[] = { "stackstate", "scan", "metrics", "organization", "daemon", "account" };

/* what: "unknown key 'x' in this section"; adds "(did you mean 'y'?)" and the known names. */
static void unknown_name(awstopo_config *c, const char *path, int n, const char *what, const char *name,
                         const char *const *known, size_t nknown)
{
    const char *near = closest_name(name, known, nknown);
    buf b = {0};
    buf_puts(&b, what);
    buf_puts(&b, " (");
    if (near) buf_printf(&b, "did you mean '%s'? ", near);
    buf_puts(&b, "known: ");
    for (size_t i = 0; i < nknown; i++) buf_printf(&b, "%s%s", i ? ", " : "", known[i]);
    buf_putc(&b, ')');
    problem(c, path, n, "%s", b.data);
    buf_free(&b);
}

#define COUNT(a) (sizeof (a) / sizeof *(a))

static int set_stackstate(awstopo_config *c, const char *key, const char *value)
{
    if (strcmp(key, "url") == 0) config_set(&c->stackstate_url, value);
    else if (strcmp(key, "api_key") == 0) config_set(&c->api_key, value);
    else if (strcmp(key, "instance") == 0) config_set(&c->instance, value);
    else if (strcmp(key, "spool") == 0) config_set(&c->spool_dir, value);
    else if (strcmp(key, "spool_max_mb") == 0) {
        char *end;
        long mb = strtol(value, &end, 10);
        if (*end || mb <= 0) return -2;
        c->spool_max_mb = (size_t)mb;
    } else return -1;
    return 0;
}

static int set_scan(awstopo_config *c, const char *key, const char *value)
{
    /* a repeated key replaces the earlier value, as for every other key */
    if (strcmp(key, "regions") == 0) strlist_free(&c->regions), split_list(value, &c->regions);
    else if (strcmp(key, "services") == 0) strlist_free(&c->services), split_list(value, &c->services);
    else if (strcmp(key, "shrink_fraction") == 0) {
        char *end;
        double f = strtod(value, &end);
        if (end == value || *end || !(f >= 0 && f <= 1)) return -3;
        c->shrink_fraction = f;
        c->shrink_set = 1;
    } else if (strcmp(key, "allow_shrink") == 0) {
        if (strcmp(value, "true") == 0) c->allow_shrink = 1;
        else if (strcmp(value, "false") == 0) c->allow_shrink = 0;
        else return -4;
    } else if (strcmp(key, "retry_budget") == 0) {
        long d = parse_duration(value);
        if (d < 0) return -5;
        c->retry_budget_s = d;
    } else return -1;
    return 0;
}

/* [metrics], [organization] and [daemon] keys are kept as "key=value" and
 * read by metrics.c (metrics_options_from_config), org_accounts.c
 * (org_options_from_config) and daemon_config.c (daemon_options_from_config),
 * which know what they mean. */
static int set_item(strlist *items, const char *key, const char *value)
{
    buf b = {0};
    buf_printf(&b, "%s=%s", key, value);
    strlist_add(items, b.data);
    buf_free(&b);
    return 0;
}

static int set_account(account_config *a, const char *key, const char *value)
{
    if (strcmp(key, "profile") == 0) config_set(&a->profile, value);
    else if (strcmp(key, "role_arn") == 0) config_set(&a->role_arn, value);
    else if (strcmp(key, "external_id") == 0) config_set(&a->external_id, value);
    else if (strcmp(key, "session_name") == 0) config_set(&a->session_name, value);
    else if (strcmp(key, "account_id") == 0) config_set(&a->account_id, value);
    else if (strcmp(key, "regions") == 0) strlist_free(&a->regions), split_list(value, &a->regions);
    else return -1;
    return 0;
}

static account_config *add_account(awstopo_config *c, const char *name)
{
    c->accounts = xrealloc(c->accounts, (c->naccounts + 1) * sizeof *c->accounts);
    account_config *a = &c->accounts[c->naccounts++];
    memset(a, 0, sizeof *a);
    a->name = xstrdup(name);
    return a;
}

static void unknown_key(awstopo_config *c, const char *path, int n, section sec, const char *key)
{
    buf what = {0};
    buf_printf(&what, "unknown key '%s' in this section", key);
    if (sec == SEC_STACKSTATE) unknown_name(c, path, n, what.data, key, stackstate_keys, COUNT(stackstate_keys));
    else if (sec == SEC_SCAN) unknown_name(c, path, n, what.data, key, scan_keys, COUNT(scan_keys));
    else unknown_name(c, path, n, what.data, key, account_keys, COUNT(account_keys));
    buf_free(&what);
}

static void parse_line(awstopo_config *c, const char *path, int n, char *line, section *sec)
{
    char *s = trim(line);
    if (!*s || *s == ';' || *s == '#') return;
    if (*s == '[') {
        char *end = strchr(s, ']');
        if (!end) return problem(c, path, n, "section header without ']': %s", s);
        *end = '\0';
        char *name = trim(s + 1);
        if (strcmp(name, "stackstate") == 0) *sec = SEC_STACKSTATE;
        else if (strcmp(name, "scan") == 0) *sec = SEC_SCAN;
        else if (strcmp(name, "metrics") == 0) *sec = SEC_METRICS;
        else if (strcmp(name, "organization") == 0) *sec = SEC_ORGANIZATION;
        else if (strcmp(name, "daemon") == 0) *sec = SEC_DAEMON;
        else if (strncmp(name, "account", 7) == 0 && (name[7] == ' ' || !name[7])) {
            *sec = SEC_ACCOUNT;
            add_account(c, name[7] ? trim(name + 8) : "default");
        } else {
            *sec = SEC_NONE;
            buf what = {0};
            buf_printf(&what, "unknown section [%s]", name);
            unknown_name(c, path, n, what.data, name, section_names, COUNT(section_names));
            buf_free(&what);
        }
        return;
    }
    char *eq = strchr(s, '=');
    if (!eq) return problem(c, path, n, "expected 'key = value', got: %s", s);
    *eq = '\0';
    char *key = trim(s), *raw = eq + 1;
    char *semi = strstr(raw, " ;");   /* trailing comment */
    if (semi) *semi = '\0';
    char *value = expand_env(c, path, n, trim(raw));
    int rc = -1;
    if (*sec == SEC_STACKSTATE) rc = set_stackstate(c, key, value);
    else if (*sec == SEC_SCAN) rc = set_scan(c, key, value);
    else if (*sec == SEC_METRICS) rc = set_item(&c->metrics, key, value);
    else if (*sec == SEC_ORGANIZATION) rc = set_item(&c->organization, key, value);
    else if (*sec == SEC_DAEMON) rc = set_item(&c->daemon, key, value);
    else if (*sec == SEC_ACCOUNT) rc = set_account(&c->accounts[c->naccounts - 1], key, value);
    else return free_secret(value), problem(c, path, n, "'%s' outside a section", key);
    if (rc == -2) problem(c, path, n, "'%s' needs a positive whole number", key);
    else if (rc == -3) problem(c, path, n, "'%s' needs a number from 0 to 1", key);
    else if (rc == -4) problem(c, path, n, "'%s' needs true or false", key);
    else if (rc == -5) problem(c, path, n, "'%s' needs a duration from 1 s to 30 days (seconds, or with s, m, h: 300, 5m)", key);
    else if (rc < 0) unknown_key(c, path, n, *sec, key);
    free_secret(value);
}

int config_load(awstopo_config *c, const char *path, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    if (!path) return 0;
    size_t len;
    char *text = read_file_maybe_gz(path, &len);
    if (!text) {
        snprintf(err, errlen, "cannot read config file %s", path);
        return -1;
    }
    section sec = SEC_NONE;
    int n = 0;
    for (char *line = text, *next; line; line = next) {   /* not strtok: blank lines count */
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        parse_line(c, path, ++n, line, &sec);
    }
    free_secret(text);   /* it may hold the api key */
    return 0;
}

void config_apply_env(awstopo_config *c)
{
    const char *v;
    if ((v = getenv("AWSTOPO_STACKSTATE_URL")) && *v) config_set(&c->stackstate_url, v);
    if ((v = getenv("AWSTOPO_API_KEY")) && *v) config_set(&c->api_key, v);
    if ((v = getenv("AWSTOPO_INSTANCE")) && *v) config_set(&c->instance, v);
    if ((v = getenv("AWSTOPO_SPOOL")) && *v) config_set(&c->spool_dir, v);
    if ((v = getenv("AWSTOPO_REGIONS")) && *v) {
        strlist_free(&c->regions);
        split_list(v, &c->regions);
    }
    if ((v = getenv("AWSTOPO_SERVICES")) && *v) {
        strlist_free(&c->services);
        split_list(v, &c->services);
    }
}

void config_free(awstopo_config *c)
{
    free(c->stackstate_url);
    free_secret(c->api_key);
    free(c->instance);
    free(c->spool_dir);
    strlist_free(&c->metrics);
    strlist_free(&c->organization);
    strlist_free(&c->daemon);
    strlist_free(&c->regions);
    strlist_free(&c->services);
    for (size_t i = 0; i < c->naccounts; i++) {
        account_config *a = &c->accounts[i];
        free(a->name);
        free(a->profile);
        free(a->role_arn);
        free(a->external_id);
        free(a->session_name);
        free(a->account_id);
        strlist_free(&a->regions);
    }
    free(c->accounts);
    strlist_free(&c->problems);
    memset(c, 0, sizeof *c);
}

/* ---- awstopo config check ---- */

static void check_semantics(awstopo_config *c, const char *path)
{
    if (c->stackstate_url && strncmp(c->stackstate_url, "http://", 7) != 0 &&
        strncmp(c->stackstate_url, "https://", 8) != 0)
        problem(c, path, 0, "stackstate url must start with http:// or https:// (got '%s')", c->stackstate_url);
    if (c->stackstate_url && (!c->api_key || !*c->api_key))
        problem(c, path, 0, "stackstate url is set but api_key is empty%s", "");
    for (size_t i = 0; i < c->naccounts; i++) {
        const char *r = c->accounts[i].role_arn;
        if (r && strncmp(r, "arn:", 4) != 0)
            problem(c, path, 0, "account role_arn '%s' is not an ARN (arn:aws:iam::<account>:role/<name>)", r);
    }
    for (size_t i = 0; i < c->regions.len; i++) {
        const char *r = c->regions.items[i];
        for (const char *p = r; *p; p++)
            if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-')) {
                problem(c, path, 0, "region '%s' is not a region name (e.g. eu-west-1, or all)", r);
                break;
            }
    }
    /* [metrics]: metrics.c knows what its keys mean (the metric names are
     * checked against the mappings by awstopo metrics itself) */
    metrics_options mo = {0};
    strlist mp = {0};
    metrics_options_from_config(&mo, &c->metrics, &mp);
    for (size_t i = 0; i < mp.len; i++) problem(c, path, 0, "%s", mp.items[i]);
    strlist_free(&mp);
    metrics_options_free(&mo);
    org_options oo;
    org_options_from_config(&oo, &c->organization, &mp);
    for (size_t i = 0; i < mp.len; i++) problem(c, path, 0, "%s", mp.items[i]);
    strlist_free(&mp);
    org_options_free(&oo);
    daemon_options d;
    daemon_options_from_config(&d, &c->daemon, &mp);
    for (size_t i = 0; i < mp.len; i++) problem(c, path, 0, "%s", mp.items[i]);
    strlist_free(&mp);
    daemon_options_free(&d);
}

/* [scan] services name mappings on the default mapping path. */
static void check_services(awstopo_config *c, const char *path)
{
    common_options co = {0};
    char *mpath = mapping_search_path(&co);
    engine_options eo = { .mapping_path = mpath };
    engine *e = engine_new(&eo, NULL);
    strlist unknown = {0};
    unknown_services(e, &c->services, "[scan] services", &unknown);
    for (size_t i = 0; i < unknown.len; i++) problem(c, path, 0, "%s", unknown.items[i]);
    strlist_free(&unknown);
    engine_free(e);
    free(mpath);
}

int cmd_config(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "accounts") == 0) return cmd_config_accounts(argc - 1, argv + 1);
    static const char usage[] =
        "usage: awstopo config check FILE\n"
        "       awstopo config accounts [FILE] [--organization] ...  (see config accounts --help)\n"
        "Reads the configuration file (docs/cli.md, \"The configuration file\"), applies the\n"
        "AWSTOPO_* environment variables and explains every problem found: unknown\n"
        "sections, keys and services (with the nearest known name), unset ${VAR}s, bad\n"
        "values. Exit code 0 when it is valid, 2 otherwise, 64 for a wrong command line.\n";
    int help = 0, wrong = argc != 3 || strcmp(argv[1], "check") != 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) help = 1;
        else if (argv[i][0] == '-') wrong = 1;
    }
    if (help || wrong) {
        fputs(usage, help ? stdout : stderr);
        return help ? EXIT_OK : EXIT_USAGE;
    }
    awstopo_config c;
    char err[512];
    if (config_load(&c, argv[2], err, sizeof err) < 0) {
        cli_error("%s", err);
        return EXIT_FAILURE_;
    }
    config_apply_env(&c);
    check_semantics(&c, argv[2]);
    check_services(&c, argv[2]);
    for (size_t i = 0; i < c.problems.len; i++) printf("%s\n", c.problems.items[i]);
    int ok = c.problems.len == 0;
    if (ok) {
        buf regions = {0};
        for (size_t i = 0; i < c.regions.len; i++) buf_printf(&regions, "%s%s", i ? ", " : "", c.regions.items[i]);
        printf("%s: ok: stackstate %s, instance %s, %zu account(s), regions %s\n", argv[2],
               c.stackstate_url ? c.stackstate_url : "(none: local output only)",
               c.instance ? c.instance : "(default)", c.naccounts ? c.naccounts : 1,
               c.regions.len ? regions.data : "(default region)");
        buf_free(&regions);
    }
    config_free(&c);
    return ok ? EXIT_OK : EXIT_FAILURE_;
}
