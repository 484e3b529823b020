/* cli.c -- shared command-line plumbing (see cli.h). */
#include "cli.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"

#include "datadir.h"   /* AWSTOPO_DATADIR: <prefix>/share/awstopo, made by the Makefile */

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("awstopo: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int take_value(int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *arg = argv[*i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0) return 0;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return 1;
    }
    if (arg[n] != '\0') return 0;
    if (*i + 1 >= argc) {
        cli_error("%s needs a value", name);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

int take_listed_value(int argc, char **argv, int *i, const value_option *table, size_t n, void *base)
{
    for (size_t k = 0; k < n; k++) {
        const char **field = (const char **)((char *)base + table[k].offset);
        int rc = take_value(argc, argv, i, table[k].name, field);
        if (rc) return rc;
    }
    return 0;
}

int cli_load_config(awstopo_config *cfg, const char *path)
{
    char err[1024];
    if (config_load(cfg, path, err, sizeof err) < 0) {
        cli_error("%s", err);
        return -1;
    }
    for (size_t i = 0; i < cfg->problems.len; i++) cli_error("config: %s", cfg->problems.items[i]);
    config_apply_env(cfg);
    return 0;
}

int common_option(common_options *o, int argc, char **argv, int *i)
{
    static const value_option opts[] = {
        { "--profile", offsetof(common_options, profile) },
        { "--region", offsetof(common_options, region) },
        { "--role-arn", offsetof(common_options, role_arn) },
        { "--session-name", offsetof(common_options, session_name) },
        { "--external-id", offsetof(common_options, external_id) },
        { "--endpoint-url", offsetof(common_options, endpoint_url) },
        { "--models", offsetof(common_options, models_dir) },
        { "--mappings", offsetof(common_options, mappings_dir) },
    };
    if (strcmp(argv[*i], "-v") == 0 || strcmp(argv[*i], "--verbose") == 0) {
        o->verbose = 1;
        return 1;
    }
    return TAKE_LISTED(argc, argv, i, opts, o);
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Does dir look like awstopo's data directory? */
static int has_data(const char *dir)
{
    buf p = {0};
    buf_printf(&p, "%s/models", dir);
    int ok = is_dir(p.data);
    buf_clear(&p);
    buf_printf(&p, "%s/mappings", dir);
    ok = ok && is_dir(p.data);
    buf_free(&p);
    return ok;
}

const char *data_dir(void)
{
    static char found[PATH_MAX];
    if (found[0]) return found;
    const char *env = getenv("AWSTOPO_HOME");
    if (env && *env) {
        snprintf(found, sizeof found, "%s", env);
        return found;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) *slash = '\0';
        char candidate[PATH_MAX + 32];
        const char *tries[] = { "%s", "%s/..", "%s/../share/awstopo" };
        for (size_t i = 0; i < sizeof tries / sizeof *tries; i++) {
            snprintf(candidate, sizeof candidate, tries[i], exe);
            if (has_data(candidate) && realpath(candidate, found)) return found;
        }
    }
    snprintf(found, sizeof found, "%s", AWSTOPO_DATADIR);
    return found;
}

static char *search_path(const char *user, const char *env_name, const char *bundled)
{
    buf p = {0};
    if (user && *user) buf_printf(&p, "%s:", user);
    const char *env = getenv(env_name);
    if (env && *env) buf_printf(&p, "%s:", env);
    buf_printf(&p, "%s/%s", data_dir(), bundled);
    return buf_steal(&p);
}

char *model_search_path(const common_options *o)
{
    return search_path(o->models_dir, "AWSTOPO_MODEL_PATH", "models");
}

char *mapping_search_path(const common_options *o)
{
    return search_path(o->mappings_dir, "AWSTOPO_MAPPING_PATH", "mappings");
}

size_t unknown_services(engine *e, const strlist *names, const char *where, strlist *problems)
{
    strlist all = {0};
    engine_list(e, &all);
    size_t unknown = 0;
    for (size_t i = 0; i < names->len; i++) {
        const char *name = names->items[i];
        int found = 0;
        for (size_t k = 0; k < all.len && !found; k++) found = strcmp(all.items[k], name) == 0;
        if (found) continue;
        const char *near = closest_name(name, (const char *const *)all.items, all.len);
        buf b = {0};
        buf_printf(&b, "unknown service '%s' in %s (", name, where);
        if (near) buf_printf(&b, "did you mean '%s'? ", near);
        buf_puts(&b, "see awstopo mappings list)");
        strlist_add(problems, b.data);
        buf_free(&b);
        unknown++;
    }
    strlist_free(&all);
    return unknown;
}

size_t report_unknown_services(const common_options *co, const strlist *names, int from_flag)
{
    const char *env = getenv("AWSTOPO_SERVICES");
    const char *where = from_flag ? "--services" : env && *env ? "AWSTOPO_SERVICES" : "[scan] services";
    char *mpath = mapping_search_path(co);
    engine_options eo = { .mapping_path = mpath };
    engine *e = engine_new(&eo, NULL);
    strlist unknown = {0};
    size_t n = unknown_services(e, names, where, &unknown);
    for (size_t i = 0; i < unknown.len; i++) cli_error("%s", unknown.items[i]);
    strlist_free(&unknown);
    engine_free(e);
    free(mpath);
    return n;
}

aws_client *make_client(const common_options *o, model_registry *models, char *err, size_t errlen)
{
    client_options co = {0};
    co.models = models;
    buf endpoints = {0};
    buf_printf(&endpoints, "%s/models/endpoints.json", data_dir());
    char *mpath = model_search_path(o);
    co.region = o->region;
    co.model_path = mpath;
    co.endpoints_file = endpoints.data;
    co.endpoint_url = o->endpoint_url;
    co.creds.profile = o->profile;
    co.creds.role_arn = o->role_arn;
    co.creds.session_name = o->session_name;
    co.creds.external_id = o->external_id;
    const char *base = getenv("AWSTOPO_RETRY_BASE_MS");
    if (base) co.retry_base_ms = atol(base);
    co.scan = o->scan;
    const char *budget = getenv("AWSTOPO_RETRY_BUDGET");
    co.retry_budget_s = budget && atof(budget) > 0 ? atof(budget) : (double)o->retry_budget_s;
    aws_client *c = client_new(&co, err, errlen);
    free(mpath);
    buf_free(&endpoints);
    return c;
}
