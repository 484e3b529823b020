/* cmd_stackpack.c -- `awstopo stackpack export`: the StackState side of an
 * instance (views, console actions, component types, layers, domains, the
 * topology synchronization) as a configuration file to import.
 *
 * The configuration is generated from the declarations of the mappings on the
 * mapping path by core/stackpack.lua, so a user mapping (--mappings DIR) gets
 * its own types and actions. Nothing is written unless all of it is right:
 * the file appears whole (written beside it, then renamed) or not at all.
 * docs/stackpack.md describes the format and what each node does.
 */
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "embedded.h"
#include "luajson.h"
#include "util.h"

static const char help[] =
    "usage: awstopo stackpack export --instance NAME [--output FILE] [--mappings DIR]\n"
    "\n"
    "Writes the StackState configuration of one AWS StackPack instance, to import with\n"
    "StackState's CLI (`sts graph import < FILE`) or the UI (Settings > Import/Export):\n"
    "  - the views 'AWS - NAME - All', '- Infrastructure' (Networking, Storage, Machines)\n"
    "    and '- Serverless' (S3 buckets, Lambdas, application load balancers)\n"
    "  - one console action per component type ('Go to ... console')\n"
    "  - the component types, layers and domains of the mappings\n"
    "  - the instance's data source and synchronization (topic sts_topo_aws_NAME),\n"
    "    which labels its components aws-instance:NAME\n"
    "All of it comes from the mappings' declarations (layer, domain, views, action),\n"
    "user mappings included.\n"
    "\n"
    "options:\n"
    "  --instance NAME   the instance name, as given to scan --instance (AWSTOPO_INSTANCE)\n"
    "  --output FILE     write here (default: standard output; - is standard output)\n"
    "  --mappings DIR    extra mapping directory, searched first (AWSTOPO_MAPPING_PATH)\n"
    "\n"
    "exit codes: 0 written, 2 a mapping's declaration is wrong (nothing written), 64 usage\n";

/* The name goes into STQL strings, Groovy and handlebars text: refuse what
 * would need quoting there rather than quote it three ways. */
static int check_instance(const char *name, char *err, size_t errlen)
{
    size_t n = strlen(name);
    if (n == 0 || n > 100) return set_err(err, errlen, "--instance: give a name of 1 to 100 characters");
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f || strchr("\"'\\{}", *p))
            return set_err(err, errlen, "--instance: the name may not contain quotes, backslashes, braces or "
                                        "control characters");
    return 0;
}

/* The topic StackState's receiver puts an instance's topology on:
 * sts_topo_<instance type>_<instance url>, with what Kafka does not allow in
 * a topic name replaced by '_'. Caller frees. */
static char *topology_topic(const char *instance)
{
    buf b = {0};
    buf_puts(&b, "sts_topo_aws_");
    for (const char *p = instance; *p; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("._-", c);
        buf_putc(&b, ok ? c : '_');
    }
    return buf_steal(&b);
}

/* Runs stackpack.lua. Returns the document (caller frees) and prints the
 * warnings, or NULL with err. */
static char *generate(const char *decls, const char *instance, char *err, size_t errlen)
{
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    luajson_open(L);
    char *out = NULL;
    char *topic = topology_topic(instance);
    if (luaL_loadbufferx(L, stackpack_lua, stackpack_lua_len, "=stackpack.lua", "t") != LUA_OK ||
        (lua_pushstring(L, decls), lua_pushstring(L, instance), lua_pushstring(L, topic),
         lua_pcall(L, 3, 2, 0) != LUA_OK)) {
        set_err(err, errlen, "%s", lua_tostring(L, -1));
    } else {
        size_t n = lua_rawlen(L, -1);
        for (size_t i = 1; i <= n; i++) {
            lua_rawgeti(L, -1, (lua_Integer)i);
            fprintf(stderr, "awstopo: warning: %s\n", lua_tostring(L, -1));
            lua_pop(L, 1);
        }
        out = xstrdup(lua_tostring(L, -2));
    }
    free(topic);
    lua_close(L);
    return out;
}

/* Writes text (and a newline) to path, whole or not at all; "-" is stdout. */
static int write_output(const char *path, const char *text, char *err, size_t errlen)
{
    if (strcmp(path, "-") == 0) return puts(text) < 0 ? set_err(err, errlen, "standard output: write failed") : 0;
    buf tmp = {0};
    buf_printf(&tmp, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp.data, "w");
    int rc = 0;
    if (!f) {
        rc = set_err(err, errlen, "%s: cannot write there", path);
    } else {
        int bad = fputs(text, f) < 0 || fputc('\n', f) == EOF;
        bad |= fclose(f) != 0;
        if (bad || rename(tmp.data, path) != 0) {
            unlink(tmp.data);
            rc = set_err(err, errlen, "%s: write failed (disk full?)", path);
        }
    }
    buf_free(&tmp);
    return rc;
}

int cmd_stackpack(int argc, char **argv)
{
    common_options co = {0};
    const char *instance = getenv("AWSTOPO_INSTANCE");
    const char *output = "-";
    int export = 0;
    for (int i = 1; i < argc; i++) {
        int rc;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(help, stdout);
            return EXIT_OK;
        } else if ((rc = common_option(&co, argc, argv, &i)) != 0 ||
                   (rc = take_value(argc, argv, &i, "--instance", &instance)) != 0 ||
                   (rc = take_value(argc, argv, &i, "--output", &output)) != 0) {
            if (rc < 0) return EXIT_USAGE;
        } else if (strcmp(argv[i], "export") == 0 && !export) {
            export = 1;
        } else {
            cli_error("stackpack: unexpected '%s' (see awstopo stackpack --help)", argv[i]);
            return EXIT_USAGE;
        }
    }
    char err[1024];
    if (!export) {
        cli_error("stackpack: say what to do: awstopo stackpack export --instance NAME");
        return EXIT_USAGE;
    }
    if (!instance || check_instance(instance, err, sizeof err) < 0) {
        cli_error("stackpack export: %s", instance ? err : "--instance NAME is required (the StackPack instance name)");
        return EXIT_USAGE;
    }
    char *mpath = mapping_search_path(&co);
    engine_options eo = { .mapping_path = mpath };
    engine *e = engine_new(&eo, NULL);
    char *decls = engine_describe_all(e, err, sizeof err);
    char *doc = decls ? generate(decls, instance, err, sizeof err) : NULL;
    int rc = doc && write_output(output, doc, err, sizeof err) == 0 ? EXIT_OK : EXIT_FAILURE_;
    if (rc != EXIT_OK) cli_error("stackpack export: %s", err);
    free(doc);
    free(decls);
    engine_free(e);
    free(mpath);
    return rc;
}
