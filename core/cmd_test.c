/* cmd_test.c -- `awstopo test`: replay fixture cases, compare with golden files.
 *
 * A case (NAME.case.json, see docs/fixtures.md) holds the responses AWS gave,
 * in the shape the AWS CLI prints them; the mapping runs against them
 * instead of AWS, and the topology it produces is compared with
 * NAME.golden.json beside the case. --update writes the golden files.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "cli.h"
#include "engine.h"
#include "fixture_diff.h"
#include "luajson.h"
#include "model.h"
#include "scheduler.h"
#include "util.h"

static const char help[] =
    "usage: awstopo test [PATH...] [--update [--accept-errors]] [--diff struct|lines]\n"
    "                    [--mappings DIR] [--models DIR] [-v]\n"
    "\n"
    "Replays fixture cases (files named *.case.json, found recursively under each\n"
    "PATH; default: the bundled mappings directory) through their mapping and\n"
    "compares the topology with the golden file beside each case (*.golden.json).\n"
    "A case whose run asked for a call the case has no response for\n"
    "(FixtureMissing) fails, even when the mapping caught the error.\n"
    "\n"
    "  --update         write the golden files from what the mappings produce now;\n"
    "                   refuses a run that failed or met a FixtureMissing\n"
    "  --accept-errors  with --update: also write the golden of a run that failed\n"
    "                   (a case that shows an error on purpose, e.g. AccessDenied);\n"
    "                   a FixtureMissing is never written: add the response instead\n"
    "  --diff struct    (default) a differing case prints, error and warnings first,\n"
    "                   each added, removed or changed item, changed fields as\n"
    "                   `path: golden -> now`\n"
    "  --diff lines     the differing lines of the two golden texts instead\n"
    "  --mappings DIR   mapping directory searched before the bundled one; a case\n"
    "                   under DIR/fixtures/ finds DIR's mappings by itself\n"
    "  --models DIR     service models searched before the bundled ones (botocore's\n"
    "                   data/ layout; also AWSTOPO_MODEL_PATH, see docs/models.md)\n"
    "  -v               the mappings' ctx.log lines on stderr\n"
    "\n"
    "An error in a golden file names the mapping, not the file and line (they are\n"
    "printed with a differing case), so goldens survive moving and editing.\n"
    "Ends with 'N passed, N failed'. Exit code 0 when every case passed, 1 when one\n"
    "failed, 64 for a wrong command line. The fixture format: docs/fixtures.md.\n";

/* ---- finding cases ---- */

static void find_cases(const char *path, strlist *out)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        cli_error("test: %s does not exist", path);
        return;
    }
    if (S_ISREG(st.st_mode)) {
        if (has_suffix(path, ".case.json")) strlist_add(out, path);
        return;
    }
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        buf p = {0};
        buf_printf(&p, "%s/%s", path, e->d_name);
        struct stat cst;
        if (stat(p.data, &cst) == 0 && (S_ISDIR(cst.st_mode) || has_suffix(p.data, ".case.json")))
            find_cases(p.data, out);
        buf_free(&p);
    }
    closedir(d);
}

/* ---- one case ---- */

typedef struct test_case {
    char *path;
    cJSON *root;
    const char *mapping;
    run_info info;
    const char **regions;
} test_case;

static const char *jstr(const cJSON *o, const char *key, const char *fallback)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : fallback;
}

/* The mapping a case belongs to: its "mapping" field, else the name of the
 * directory it sits in (fixtures/<mapping>/<case>.case.json). */
static char *mapping_of(const char *path, const cJSON *root)
{
    const char *m = jstr(root, "mapping", NULL);
    if (m) return xstrdup(m);
    char *copy = xstrdup(path);
    char *slash = strrchr(copy, '/');
    char *name = NULL;
    if (slash) {
        *slash = '\0';
        char *prev = strrchr(copy, '/');
        name = xstrdup(prev ? prev + 1 : copy);
    }
    free(copy);
    return name ? name : xstrdup("");
}

/* The directory a user's mappings live in when the case is at
 * DIR/fixtures/<mapping>/x.case.json; NULL otherwise. Caller frees. */
static char *mapping_dir_of(const char *path)
{
    const char *f = strstr(path, "/fixtures/");
    if (f) return xstrndup(path, (size_t)(f - path));
    if (strncmp(path, "fixtures/", 9) == 0) return xstrdup(".");
    return NULL;
}

static int load_case(test_case *tc, const char *path, char *err, size_t errlen)
{
    memset(tc, 0, sizeof *tc);
    tc->path = xstrdup(path);
    size_t len;
    char *text = read_file_maybe_gz(path, &len);
    if (!text) return snprintf(err, errlen, "cannot read %s", path), -1;
    tc->root = cJSON_ParseWithLength(text, len);
    free(text);
    if (!cJSON_IsObject(tc->root)) return snprintf(err, errlen, "%s is not a JSON object", path), -1;
    const cJSON *regions = cJSON_GetObjectItemCaseSensitive(tc->root, "regions");
    int n = cJSON_GetArraySize(regions);
    tc->regions = xcalloc((size_t)n + 1, sizeof *tc->regions);
    int i = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, regions) {
        if (cJSON_IsString(r)) tc->regions[i++] = r->valuestring;
    }
    tc->info.account = jstr(tc->root, "account", PLACEHOLDER_ACCOUNT_ID);
    tc->info.region = jstr(tc->root, "region", DEFAULT_REGION);
    tc->info.partition = jstr(tc->root, "partition", "aws");
    tc->info.instance = jstr(tc->root, "instance", "test");
    tc->info.regions = n ? tc->regions : NULL;
    return 0;
}

static void free_case(test_case *tc)
{
    cJSON_Delete(tc->root);
    free(tc->regions);
    free(tc->path);
}

/* msg without the "<file>.lua:<line>: " prefixes Lua puts on errors: a golden
 * must not change when the mapping moves or gains a line. Caller frees. */
static char *strip_locations(const char *msg)
{
    buf out = {0};
    const char *p = msg;
    for (;;) {
        const char *lua = strstr(p, ".lua:");
        if (!lua) {
            buf_puts(&out, p);
            break;
        }
        const char *d = lua + 5;
        while (*d >= '0' && *d <= '9') d++;
        if (d == lua + 5 || d[0] != ':' || d[1] != ' ') {   /* not a location */
            buf_append(&out, p, (size_t)(lua + 5 - p));
            p = lua + 5;
            continue;
        }
        const char *start = lua;   /* back to the start of the file name */
        while (start > p && start[-1] != ' ' && start[-1] != '(' && start[-1] != '"') start--;
        buf_append(&out, p, (size_t)(start - p));
        p = d + 2;
    }
    return buf_steal(&out);
}

/* Pretty-prints the outcome of a run: the golden file's text. */
static char *render_outcome(mapping_run *r, const char *error)
{
    lua_State *L = luaL_newstate();
    topology empty;
    topology_init(&empty);
    topology *t = r ? run_topology(r) : &empty;
    topology_sort(t);
    lua_newtable(L);
    const struct { const char *name; topo_list *list; } parts[] = {
        { "components", &t->components }, { "relations", &t->relations }, { "delete_ids", &t->deletes },
    };
    char err[256];
    buf scratch = {0};
    for (size_t p = 0; p < sizeof parts / sizeof *parts; p++) {
        luajson_new_array(L, (int)parts[p].list->len);
        for (size_t i = 0; i < parts[p].list->len; i++) {
            topo_item *it = &parts[p].list->items[i];
            const char *json = topo_item_json(it, &scratch);
            if (json) luajson_decode(L, json, it->json_len, 1, err, sizeof err);
            else lua_pushstring(L, it->external_id);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        lua_setfield(L, -2, parts[p].name);
    }
    buf_free(&scratch);
    const strlist *w = r ? run_warnings(r) : NULL;
    luajson_new_array(L, 0);
    for (size_t i = 0; w && i < w->len; i++) {
        lua_pushstring(L, w->items[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "warnings");
    if (error) {
        char *stable = strip_locations(error);
        lua_pushstring(L, stable);
        lua_setfield(L, -2, "error");
        free(stable);
    }
    buf out = {0};
    luajson_encode(L, -1, &out, 2, err, sizeof err);
    buf_putc(&out, '\n');
    lua_close(L);
    topology_free(&empty);
    return buf_steal(&out);
}

/* What a case's run gave. */
typedef struct case_result {
    char *outcome;    /* the golden text (error without locations), NULL: not run */
    char *error;      /* the run's error as it was, with file and line, or NULL */
    char *missing;    /* run_fixture_missing, or NULL */
} case_result;

static void free_result(case_result *cr)
{
    free(cr->outcome);
    free(cr->error);
    free(cr->missing);
}

static void replay(mapping_run *r, test_case *tc, case_result *cr, char *err, size_t errlen)
{
    cJSON *responses = cJSON_GetObjectItemCaseSensitive(tc->root, "responses");
    char *rtext = responses ? cJSON_PrintUnformatted(responses) : xstrdup("{}");
    if (run_set_replay(r, rtext, strlen(rtext), err, errlen) == 0) {
        sched *s = sched_new(NULL);
        const cJSON *event = cJSON_GetObjectItemCaseSensitive(tc->root, "event");
        if (event) {
            char *etext = cJSON_PrintUnformatted(event);
            run_start_event(r, s, etext, strlen(etext));
            free(etext);
        } else {
            run_start_scan(r, s);
        }
        sched_run(s);
        sched_free(s);
        cr->outcome = render_outcome(r, run_error(r));
        cr->error = run_error(r) ? xstrdup(run_error(r)) : NULL;
        cr->missing = run_fixture_missing(r);
    }
    free(rtext);
}

/* Runs the case into cr; cr->outcome stays NULL (with err) when it could not run. */
static void run_case(test_case *tc, const char *user_mappings, model_registry *models, int verbose,
                     case_result *cr, char *err, size_t errlen)
{
    char *mapping = mapping_of(tc->path, tc->root);
    char *own_dir = mapping_dir_of(tc->path);
    common_options co = {0};
    buf mdirs = {0};
    if (user_mappings) buf_printf(&mdirs, "%s", user_mappings);
    if (own_dir) buf_printf(&mdirs, "%s%s", mdirs.len ? ":" : "", own_dir);
    co.mappings_dir = mdirs.data;
    char *mpath = mapping_search_path(&co);
    engine_options eo = { .mapping_path = mpath, .verbose = verbose };
    engine *e = engine_new(&eo, models);
    mapping_run *r = run_new(e, mapping, &tc->info, NULL, err, errlen);
    if (r) {
        replay(r, tc, cr, err, errlen);
        run_free(r);
    } else if (!strstr(err, "no mapping named")) {
        /* a mapping that does not load: that is the outcome, named */
        buf named = {0};
        if (strncmp(err, "mapping ", 8) != 0) buf_printf(&named, "mapping %s: ", mapping);
        buf_puts(&named, err);
        cr->outcome = render_outcome(NULL, named.data);
        cr->error = buf_steal(&named);
    }
    engine_free(e);
    free(mpath);
    buf_free(&mdirs);
    free(own_dir);
    free(mapping);
}

/* ---- comparing ---- */

static char *golden_path(const char *case_path)
{
    size_t n = strlen(case_path) - strlen(".case.json");
    buf p = {0};
    buf_append(&p, case_path, n);
    buf_puts(&p, ".golden.json");
    return buf_steal(&p);
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    int ok = fputs(text, f) >= 0;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

typedef struct test_options {
    const char *user_mappings;
    int update, accept_errors, line_diff, verbose;
} test_options;

/* --update: writes the golden unless the run cannot be trusted. 1 = done. */
static int update_golden(const char *path, const char *gpath, const char *golden, const case_result *cr,
                         const test_options *o)
{
    if (cr->missing) {
        printf("FAIL %s\n    not written: %s\n    (add the response to the case; "
               "a golden never records a FixtureMissing)\n", path, cr->missing);
        return 0;
    }
    if (cr->error && !o->accept_errors) {
        printf("FAIL %s\n    not written: the run failed: %s\n    (if this case shows an error on purpose, "
               "run awstopo test --update --accept-errors)\n", path, cr->error);
        return 0;
    }
    if (write_file(gpath, cr->outcome) != 0) {
        printf("FAIL %s\n    cannot write %s\n", path, gpath);
        return 0;
    }
    printf("%s %s\n", golden && strcmp(golden, cr->outcome) == 0 ? "ok  " : "updated", path);
    return 1;
}

/* Compares with the golden. 1 = passed. */
static int compare_golden(const char *path, const char *gpath, const char *golden, const case_result *cr,
                          const test_options *o)
{
    if (!golden) {
        printf("FAIL %s\n    no golden file %s (run awstopo test --update to write it)\n", path, gpath);
        if (cr->missing) printf("    %s\n", cr->missing);
        if (cr->error) printf("    the run failed: %s\n", cr->error);
        return 0;
    }
    int same = strcmp(golden, cr->outcome) == 0;
    if (same && !cr->missing) {
        printf("ok   %s\n", path);
        return 1;
    }
    printf("FAIL %s\n", path);
    if (cr->missing) printf("    %s\n", cr->missing);
    if (!same && (o->line_diff || fixture_diff_structural(stdout, golden, cr->outcome) < 0))
        fixture_diff_lines(stdout, golden, cr->outcome);
    if (!same && cr->error) printf("    the run's error, where it was raised: %s\n", cr->error);
    return 0;
}

/* 1 passed, 0 failed */
static int check_case(const char *path, model_registry *models, const test_options *o)
{
    char err[1024];
    test_case tc;
    case_result cr = {0};
    if (load_case(&tc, path, err, sizeof err) == 0)
        run_case(&tc, o->user_mappings, models, o->verbose, &cr, err, sizeof err);
    if (!cr.outcome) {
        printf("FAIL %s\n    %s\n", path, err);
        free_case(&tc);
        return 0;
    }
    char *gpath = golden_path(path);
    char *golden = read_file_maybe_gz(gpath, NULL);
    int passed = o->update ? update_golden(path, gpath, golden, &cr, o) : compare_golden(path, gpath, golden, &cr, o);
    free(golden);
    free(gpath);
    free_result(&cr);
    free_case(&tc);
    return passed;
}

/* 0: run; 1: --help printed; -1: a usage error (printed). */
static int parse_args(int argc, char **argv, common_options *co, test_options *o, strlist *paths)
{
    for (int i = 1; i < argc; i++) {
        int rc;
        const char *diff = NULL;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(help, stdout);
            return 1;
        } else if (strcmp(argv[i], "--update") == 0) {
            o->update = 1;
        } else if (strcmp(argv[i], "--accept-errors") == 0) {
            o->accept_errors = 1;
        } else if ((rc = take_value(argc, argv, &i, "--diff", &diff)) != 0) {
            if (rc < 0 || (strcmp(diff, "lines") != 0 && strcmp(diff, "struct") != 0))
                return cli_error("test: --diff takes struct or lines"), -1;
            o->line_diff = strcmp(diff, "lines") == 0;
        } else if ((rc = common_option(co, argc, argv, &i)) != 0) {
            if (rc < 0) return -1;
        } else if (argv[i][0] == '-') {
            return cli_error("test: unknown option '%s' (see awstopo test --help)", argv[i]), -1;
        } else {
            strlist_add(paths, argv[i]);
        }
    }
    if (o->accept_errors && !o->update) return cli_error("test: --accept-errors goes with --update"), -1;
    return 0;
}

int cmd_test(int argc, char **argv)
{
    common_options co = {0};
    test_options o = {0};
    strlist paths = {0}, cases = {0};
    int parsed = parse_args(argc, argv, &co, &o, &paths);
    if (parsed != 0) {
        strlist_free(&paths);
        return parsed > 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (!paths.len) {
        buf p = {0};
        buf_printf(&p, "%s/mappings", data_dir());
        strlist_add(&paths, p.data);
        buf_free(&p);
    }
    o.user_mappings = co.mappings_dir;
    o.verbose = co.verbose;
    for (size_t i = 0; i < paths.len; i++) find_cases(paths.items[i], &cases);
    qsort(cases.items, cases.len, sizeof *cases.items, compare_strings);

    char *mpath = model_search_path(&co);
    model_registry *models = model_registry_new(mpath);
    int passed = 0, failed = 0;
    for (size_t i = 0; i < cases.len; i++) {
        if (check_case(cases.items[i], models, &o)) passed++;
        else failed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    model_registry_free(models);
    free(mpath);
    strlist_free(&paths);
    strlist_free(&cases);
    return failed ? EXIT_PARTIAL : EXIT_OK;
}
