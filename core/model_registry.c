/* model_registry.c -- finding, loading and caching service models by name.
 *
 * The search path is a ':'-separated list of directories; the first directory
 * that has the service wins, so a user's complete botocore model placed on
 * --models / AWSTOPO_MODEL_PATH replaces the trimmed bundled one.
 */
#include "model.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "util.h"

typedef struct loaded_model {
    char *service;
    aws_model *model;
    struct loaded_model *next;
} loaded_model;

struct model_registry {
    char *search_path;
    loaded_model *loaded;
};

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* "<path>" or "<path>.gz", whichever exists; caller frees; NULL if neither. */
static char *existing_maybe_gz(const char *path)
{
    if (is_file(path)) return xstrdup(path);
    buf b = {0};
    buf_printf(&b, "%s.gz", path);
    if (is_file(b.data)) return buf_steal(&b);
    buf_free(&b);
    return NULL;
}

/* Does <base>/<version>/ hold a service-2.json (plain or .gz)? */
static int has_service_file(const char *base, const char *version)
{
    buf p = {0};
    buf_printf(&p, "%s/%s/service-2.json", base, version);
    char *found = existing_maybe_gz(p.data);
    buf_free(&p);
    free(found);
    return found != NULL;
}

/* The newest version directory under <dir>/<service>/ that holds a model
 * (versions are dates, so the greatest name is the newest; a stray file or
 * an empty version directory is passed over). Caller frees. */
static char *newest_version_dir(const char *dir, const char *service)
{
    buf base = {0};
    buf_printf(&base, "%s/%s", dir, service);
    DIR *d = opendir(base.data);
    char *best = NULL;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.' || !has_service_file(base.data, e->d_name)) continue;
            if (!best || strcmp(e->d_name, best) > 0) {
                free(best);
                best = xstrdup(e->d_name);
            }
        }
        closedir(d);
    }
    char *out = NULL;
    if (best) {
        buf p = {0};
        buf_printf(&p, "%s/%s", base.data, best);
        out = buf_steal(&p);
        free(best);
    }
    buf_free(&base);
    return out;
}

/* Finds the service file and its paginators in one directory. */
static int find_in_dir(const char *dir, const char *service, char **svc_path, char **pag_path)
{
    char *vdir = newest_version_dir(dir, service);
    buf p = {0};
    if (vdir) {
        buf_printf(&p, "%s/service-2.json", vdir);
        *svc_path = existing_maybe_gz(p.data);
        buf_clear(&p);
        buf_printf(&p, "%s/paginators-1.json", vdir);
        *pag_path = existing_maybe_gz(p.data);
        free(vdir);
    }
    if (!*svc_path) {
        buf_clear(&p);
        buf_printf(&p, "%s/%s.json", dir, service);
        *svc_path = existing_maybe_gz(p.data);
        buf_clear(&p);
        buf_printf(&p, "%s/%s.paginators.json", dir, service);
        free(*pag_path);
        *pag_path = existing_maybe_gz(p.data);
    }
    buf_free(&p);
    return *svc_path ? 0 : -1;
}

static aws_model *load_model(const char *service, const char *svc_path, const char *pag_path,
                             char *err, size_t errlen)
{
    size_t len = 0, plen = 0;
    char *text = read_file_maybe_gz(svc_path, &len);
    if (!text) {
        snprintf(err, errlen, "cannot read model %s", svc_path);
        return NULL;
    }
    char *ptext = pag_path ? read_file_maybe_gz(pag_path, &plen) : NULL;
    char why[256];
    aws_model *m = model_parse(service, text, len, ptext, plen, why, sizeof why);
    if (m) m->path = xstrdup(svc_path);  
    else snprintf(err, errlen, "%s: %s", svc_path, why);
    free(text);
    free(ptext);
    return m;
}

model_registry *model_registry_new(const char *search_path)
{
    model_registry *r = xcalloc(1, sizeof *r);
    r->search_path = xstrdup(search_path ? search_path : "");
    return r;
}

void model_registry_free(model_registry *r)
{
    if (!r) return;
    loaded_model *l = r->loaded;
    while (l) {
        loaded_model *next = l->next;
        model_free(l->model);
        free(l->service);
        free(l);
        l = next;
    }
    free(r->search_path);
    free(r);
}

/* Service names are identifiers: refuse anything that could walk the file
 * system ("../x"). */
static int valid_service_name(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_')) return 0;
    return 1;
}

const aws_model *model_registry_get(model_registry *r, const char *service, char *err, size_t errlen)
{
    for (loaded_model *l = r->loaded; l; l = l->next)
        if (strcmp(l->service, service) == 0) return l->model;
    if (!valid_service_name(service)) {
        snprintf(err, errlen, "invalid service name '%s'", service);
        return NULL;
    }
    char *path = xstrdup(r->search_path);
    char *svc_path = NULL, *pag_path = NULL;
    for (char *save = NULL, *dir = strtok_r(path, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        if (is_dir(dir) && find_in_dir(dir, service, &svc_path, &pag_path) == 0) break;
    }
    aws_model *m = NULL;
    if (svc_path) m = load_model(service, svc_path, pag_path, err, errlen);
    else snprintf(err, errlen, "no model for service '%s' (searched %s); a full model comes with botocore "
                  "or the AWS CLI: give its data/ directory (<service>/<version>/service-2.json) with --models DIR "
                  "or AWSTOPO_MODEL_PATH, see docs/models.md", service, r->search_path);
    free(path);
    free(svc_path);
    free(pag_path);
    if (!m) return NULL;
    loaded_model *l = xcalloc(1, sizeof *l);
    l->service = xstrdup(service);
    l->model = m;
    l->next = r->loaded;
    r->loaded = l;
    return m;
}
