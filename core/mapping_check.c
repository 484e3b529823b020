/* mapping_check.c -- `awstopo mappings check` (see mapping_check.h). */
#include "mapping_check.h"

#include <dirent.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "embedded.h"
#include "engine.h"
#include "luajson.h"
#include "model.h"
#include "util.h"

typedef struct checker {
    model_registry *models;
    char *model_path;
    char *mapping_path;        /* searched after a file's own directory (lib/) */
    char *relations_doc;       /* docs/relations.md, or NULL */
    char *bundled_models;      /* <data dir>/models/ */
    int luacheck;              /* luacheck is on PATH */
    int events_unchecked;      /* a mapping's events met only a trimmed model */
} checker;

/* ---- what the Lua side is given ---- */

/* suggest(word, list) -> the nearest name or nil (closest_name). */
static int l_suggest(lua_State *L)
{
    const char *word = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    size_t n = lua_rawlen(L, 2);
    const char **names = xcalloc(n + 1, sizeof *names);
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, 2, (lua_Integer)i + 1);
        names[i] = lua_tostring(L, -1);   /* kept alive by the list */
        lua_pop(L, 1);
    }
    const char *best = closest_name(word, names, n);
    if (best) lua_pushstring(L, best);
    else lua_pushnil(L);
    free(names);
    return 1;
}

/* models[service] = { ops = { Name = true } } or { error = "..." } for the
 * mapping's service and every service its calls name (in info.calls). */
static void push_models(lua_State *L, checker *c, const char *service)
{
    strlist services = {0};
    strlist_add(&services, service);
    lua_getfield(L, -1, "calls");
    for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TSTRING; i++) {
        const char *call = lua_tostring(L, -1), *colon = strchr(call, ':');
        if (colon) {
            char *svc = xstrndup(call, (size_t)(colon - call));
            strlist_add(&services, svc);
            free(svc);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 2);
    lua_newtable(L);
    for (size_t i = 0; i < services.len; i++) {
        char err[1024];
        const aws_model *m = model_registry_get(c->models, services.items[i], err, sizeof err);
        lua_newtable(L);
        if (!m) {
            lua_pushstring(L, err);
            lua_setfield(L, -2, "error");
        } else {
            /* the bundled models keep only the operations awstopo calls:
             * they cannot say which events a service emits */
            lua_pushboolean(L, m->path && strncmp(m->path, c->bundled_models, strlen(c->bundled_models)) == 0);
            lua_setfield(L, -2, "trimmed");
            lua_newtable(L);
            for (size_t k = 0; k < m->noperations; k++) {
                lua_pushboolean(L, 1);
                lua_setfield(L, -2, m->operations[k].name);
            }
            lua_setfield(L, -2, "ops");
        }
        lua_setfield(L, -2, services.items[i]);
    }
    lua_setfield(L, -2, "models");
    strlist_free(&services);
}

/* Empty tables for the declaration's absent fields, so check.lua need not ask. */
static void default_fields(lua_State *L)
{
    static const char *fields[] = { "calls", "types", "events", "relations", NULL };
    for (int i = 0; fields[i]; i++) {
        if (lua_getfield(L, -1, fields[i]) != LUA_TTABLE) {
            lua_newtable(L);
            lua_setfield(L, -3, fields[i]);
        }
        lua_pop(L, 1);
    }
}

/* Runs check.lua on a loaded mapping; prints its findings. Returns how many. */
static int run_checks(checker *c, mapping_run *r, const char *file)
{
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    int count = 0;
    char err[256];
    if (luaL_loadbufferx(L, check_lua, check_lua_len, "=check.lua", "t") != LUA_OK) goto fail;
    char *desc = run_describe(r);
    int rc = luajson_decode(L, desc, strlen(desc), 0, err, sizeof err);
    free(desc);
    if (rc < 0) goto fail;
    default_fields(L);
    size_t len;
    char *source = read_file_maybe_gz(file, &len);
    lua_pushlstring(L, source ? source : "", source ? len : 0);
    free(source);
    lua_setfield(L, -2, "source");
    lua_pushstring(L, run_service(r));
    lua_setfield(L, -2, "service");
    lua_pushboolean(L, run_has_scan(r));
    lua_setfield(L, -2, "has_scan");
    if (c->relations_doc) {
        lua_pushstring(L, c->relations_doc);
        lua_setfield(L, -2, "relations_doc");
    }
    lua_pushcfunction(L, l_suggest);
    lua_setfield(L, -2, "suggest");
    push_models(L, c, run_service(r));
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) goto fail;
    lua_getfield(L, -1, "events_unchecked");
    c->events_unchecked |= lua_toboolean(L, -1);
    lua_pop(L, 1);
    for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TTABLE; i++, count++) {
        lua_getfield(L, -1, "line");
        lua_getfield(L, -2, "message");
        printf("%s:%lld: %s\n", file, (long long)lua_tointeger(L, -2), lua_tostring(L, -1));
        lua_pop(L, 3);
    }
    lua_close(L);
    return count;
fail:
    printf("%s: internal error in the checks: %s\n", file, lua_tostring(L, -1) ? lua_tostring(L, -1) : err);
    lua_close(L);
    return 1;
}

/* ---- luacheck ---- */

static int on_path(const char *program)
{
    const char *path = getenv("PATH");
    if (!path) return 0;
    char *copy = xstrdup(path);
    int found = 0;
    for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
        buf p = {0};
        buf_printf(&p, "%s/%s", dir, program);
        found = access(p.data, X_OK) == 0;
        buf_free(&p);
    }
    free(copy);
    return found;
}

/* luacheck's findings (the sandbox's globals) as FILE:LINE:COL: lines. */
static int run_luacheck(const char *file)
{
    buf cmd = {0};
    buf_puts(&cmd, "luacheck --codes --no-color --formatter plain --std lua54 --read-globals json "
                   "--max-line-length 120 -- '");
    for (const char *p = file; *p; p++) {
        if (*p == '\'') buf_puts(&cmd, "'\\''");
        else buf_putc(&cmd, *p);
    }
    buf_puts(&cmd, "' 2>&1");
    FILE *f = popen(cmd.data, "r");
    buf_free(&cmd);
    if (!f) return 0;
    int count = 0;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        printf("%s", line);
        count++;
    }
    pclose(f);
    return count;
}

/* ---- files ---- */

/* Checks one mapping file; returns the number of findings. */
static int check_file(checker *c, const char *file)
{
    const char *slash = strrchr(file, '/');
    char *dir = slash ? xstrndup(file, (size_t)(slash - file)) : xstrdup(".");
    const char *base = slash ? slash + 1 : file;
    char *name = xstrndup(base, strlen(base) - 4);
    buf path = {0};
    buf_printf(&path, "%s:%s", dir, c->mapping_path);
    engine_options eo = { .mapping_path = path.data };
    engine *e = engine_new(&eo, c->models);
    run_info info = { .region = DEFAULT_REGION, .partition = "aws" };
    char err[1024];
    int count;
    mapping_run *r = run_new(e, name, &info, NULL, err, sizeof err);
    if (r) {
        count = run_checks(c, r, file);
        run_free(r);
    } else {
        printf("%s: does not load: %s\n", file, err);
        count = 1;
    }
    if (c->luacheck) count += run_luacheck(file);
    engine_free(e);
    buf_free(&path);
    free(name);
    free(dir);
    return count;
}

/* The mapping files of a path: itself, or a directory's *.lua (sorted). */
static void files_of(const char *path, strlist *out)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        cli_error("mappings check: %s does not exist", path);
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (!has_suffix(path, ".lua")) cli_error("mappings check: %s is not a .lua file", path);
        else strlist_add(out, path);
        return;
    }
    DIR *d = opendir(path);
    if (!d) return;
    strlist found = {0};
    struct dirent *ent;
    while ((ent = readdir(d))) {
        if (ent->d_name[0] == '.' || !has_suffix(ent->d_name, ".lua")) continue;
        buf p = {0};
        buf_printf(&p, "%s/%s", path, ent->d_name);
        strlist_add(&found, p.data);
        buf_free(&p);
    }
    closedir(d);
    if (found.len) qsort(found.items, found.len, sizeof *found.items, compare_strings);
    for (size_t i = 0; i < found.len; i++) strlist_add(out, found.items[i]);
    strlist_free(&found);
}

int mapping_check(const common_options *co, const strlist *paths)
{
    checker c = {0};
    c.model_path = model_search_path(co);
    c.models = model_registry_new(c.model_path);
    c.mapping_path = mapping_search_path(co);
    buf doc = {0};
    buf_printf(&doc, "%s/docs/relations.md", data_dir());
    c.relations_doc = read_file_maybe_gz(doc.data, NULL);
    buf_free(&doc);
    c.luacheck = on_path("luacheck");
    buf bm = {0};
    buf_printf(&bm, "%s/models/", data_dir());
    c.bundled_models = buf_steal(&bm);
    strlist files = {0};
    if (paths->len == 0) {
        buf p = {0};
        buf_printf(&p, "%s/mappings", data_dir());
        files_of(p.data, &files);
        buf_free(&p);
    }
    for (size_t i = 0; i < paths->len; i++) files_of(paths->items[i], &files);
    int clean = 0, broken = 0;
    for (size_t i = 0; i < files.len; i++) {
        if (check_file(&c, files.items[i])) broken++;
        else clean++;
    }
    if (!c.relations_doc) printf("(relation types not checked: no %s/docs/relations.md)\n", data_dir());
    if (!c.luacheck) printf("(luacheck not installed: its checks skipped)\n");
    if (c.events_unchecked)
        printf("(event handler names not checked against the bundled models, which keep only the operations\n"
               " awstopo calls: --models DIR with full models, e.g. botocore's data/, checks them; docs/models.md)\n");
    printf("%d passed, %d failed\n", clean, broken);
    int none = files.len == 0;
    strlist_free(&files);
    free(c.relations_doc);
    free(c.bundled_models);
    free(c.mapping_path);
    model_registry_free(c.models);
    free(c.model_path);
    return broken || none ? EXIT_PARTIAL : EXIT_OK;
}
