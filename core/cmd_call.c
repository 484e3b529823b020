/* cmd_call.c -- `awstopo call SERVICE OPERATION`: one AWS call, printed as JSON.
 *
 * This is how a user sees exactly what a mapping will see: the response goes
 * through the same model, protocol parser and retry policy, and prints in
 * the shape of `aws SERVICE OPERATION --output json`. With --paginate the
 * pages are merged the way the AWS CLI merges them: the paginator's result
 * keys are concatenated, everything else is taken from the first page.
 */
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "lua_api.h"
#include "luajson.h"
#include "model.h"
#include "scheduler.h"
#include "util.h"

static const char help[] =
    "usage: awstopo call SERVICE OPERATION [--params JSON|@FILE] [--paginate] [options]\n"
    "\n"
    "Calls one AWS API operation and prints the response as JSON, in the shape of\n"
    "`aws SERVICE OPERATION --output json`. SERVICE is a model name (ec2, s3, elbv2,\n"
    "resourcegroupstaggingapi, ...), OPERATION as in the API reference (DescribeInstances).\n"
    "\n"
    "  --params JSON|@FILE   request parameters, boto3 style: '{\"MaxResults\": 5}'\n"
    "  --paginate            follow every page and merge them as the AWS CLI does\n"
    "  --page-size N         with --paginate: items per request (the operation's limit key)\n"
    "  --max-items N         with --paginate: stop once this many items were gathered\n"
    "  --profile, --region, --role-arn, --session-name, --external-id,\n"
    "  --endpoint-url, --models DIR   as for every command (awstopo --help)\n"
    "\n"
    "Any operation of any model on the model path can be called; add a complete\n"
    "botocore model with --models DIR to reach operations the bundled models leave out.\n"
    "Exit codes: 0 success, 2 the call failed (the AWS error is printed), 64 usage.\n";

/* The task: call once, or follow the pages and merge them as the AWS CLI
 * does: result keys concatenated, the rest from the first page, tokens
 * dropped. --page-size sets the paginator's limit key; --max-items stops once
 * the first result key holds that many items. */
static const char call_chunk[] =
    "local P, service, op, params, region, paginate, page_size, max_items = ...\n"
    "if not paginate then return P.call(service, op, params, region) end\n"
    "local pg = P.paginator(service, op) or {}\n"
    "local keys = pg.result_keys or {}\n"
    "local p = {}\n"
    "for k, v in pairs(params) do p[k] = v end\n"
    "if page_size and pg.limit_key then p[pg.limit_key] = page_size end\n"
    "local result, seen = nil, {}\n"
    "while p do\n"
    "  local page = P.call(service, op, p, region)\n"
    "  if not result then result = page\n"
    "  else for _, k in ipairs(keys) do\n"
    "    if type(page[k]) == 'table' then\n"
    "      result[k] = result[k] or json.array()\n"
    "      for _, v in ipairs(page[k]) do result[k][#result[k] + 1] = v end\n"
    "    end end end\n"
    "  local first = keys[1] and result[keys[1]]\n"
    "  if max_items and type(first) == 'table' and #first >= max_items then\n"
    "    for _, k in ipairs(keys) do\n"
    "      local list = result[k]\n"
    "      if type(list) == 'table' then for i = #list, max_items + 1, -1 do list[i] = nil end end\n"
    "    end\n"
    "    break\n"
    "  end\n"
    "  p = P.next_params(service, op, p, page, seen)\n"
    "end\n"
    "for _, t in ipairs(pg.output_tokens or {}) do result[t] = nil end\n"
    "if pg.more_results then result[pg.more_results] = nil end\n"
    "return result\n";

typedef struct call_outcome {
    int done, ok;
    lua_State *L;
} call_outcome;

static void call_done(void *ud, lua_State *co, int status)
{
    call_outcome *o = ud;
    o->done = 1;
    o->ok = status == LUA_OK;
    lua_xmove(co, o->L, 1);   /* the result, or the error */
}

static int load_params(lua_State *L, const char *params)
{
    char err[256];
    if (!params) {
        lua_newtable(L);
        return 0;
    }
    char *text = NULL;
    size_t len = strlen(params);
    if (params[0] == '@') {
        text = read_file_maybe_gz(params + 1, &len);
        if (!text) {
            cli_error("cannot read %s", params + 1);
            return -1;
        }
    }
    int rc = luajson_decode(L, text ? text : params, len, 0, err, sizeof err);
    free(text);
    if (rc < 0) {
        cli_error("--params: %s", err);
        return -1;
    }
    if (!lua_istable(L, -1)) {
        cli_error("--params must be a JSON object");
        return -1;
    }
    return 0;
}

/* Prints an AWS error the way the AWS CLI does. */
static void print_error(lua_State *L, const char *op)
{
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "code");
        lua_getfield(L, -2, "message");
        fprintf(stderr, "\nAn error occurred (%s) when calling the %s operation: %s\n", lua_tostring(L, -2), op,
                lua_tostring(L, -1));
        lua_pop(L, 2);
    } else {
        fprintf(stderr, "awstopo: %s\n", luaL_tolstring(L, -1, NULL));
        lua_pop(L, 1);
    }
}

static int run_call(const common_options *co, const char *service, const char *op, const char *params,
                    int paginate, long page_size, long max_items)
{
    char err[1024];
    char *mpath = model_search_path(co);
    model_registry *models = model_registry_new(mpath);
    free(mpath);
    aws_client *client = make_client(co, models, err, sizeof err);
    if (!client) {
        cli_error("%s", err);
        model_registry_free(models);
        return EXIT_FAILURE_;
    }
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    luajson_open(L);
    lua_host host = { .name = "call", .client = client, .models = models, .verbose = co->verbose };
    int rc = EXIT_FAILURE_;
    lua_State *co_thread = lua_newthread(L);
    if (luaL_loadstring(co_thread, call_chunk) == LUA_OK) {
        lua_api_push(co_thread, &host);
        lua_pushstring(co_thread, service);
        lua_pushstring(co_thread, op);
        if (load_params(co_thread, params) == 0) {
            lua_pushstring(co_thread, client_region(client));
            lua_pushboolean(co_thread, paginate);
            if (page_size > 0) lua_pushinteger(co_thread, page_size); else lua_pushnil(co_thread);
            if (max_items > 0) lua_pushinteger(co_thread, max_items); else lua_pushnil(co_thread);
            sched *s = sched_new(client_http(client));
            call_outcome out = { 0, 0, L };
            sched_spawn(s, co_thread, 8, call_done, &out);
            sched_run(s);
            sched_free(s);
            if (out.ok) {
                buf b = {0};
                if (luajson_encode(L, -1, &b, 4, err, sizeof err) == 0) {
                    printf("%s\n", buf_cstr(&b));
                    rc = EXIT_OK;
                } else {
                    cli_error("%s", err);
                }
                buf_free(&b);
            } else if (out.done) {
                print_error(L, op);
            }
        }
    }
    lua_close(L);
    strlist_free(&host.warnings);
    client_free(client);
    model_registry_free(models);
    return rc;
}

int cmd_call(int argc, char **argv)
{
    common_options co = {0};
    const char *params = NULL, *positional[2] = { NULL, NULL }, *page_size = NULL, *max_items = NULL;
    int paginate = 0, npos = 0;
    for (int i = 1; i < argc; i++) {
        int rc;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(help, stdout);
            return EXIT_OK;
        } else if (strcmp(argv[i], "--paginate") == 0) {
            paginate = 1;
        } else if ((rc = take_value(argc, argv, &i, "--params", &params)) != 0 ||
                   (rc = take_value(argc, argv, &i, "--page-size", &page_size)) != 0 ||
                   (rc = take_value(argc, argv, &i, "--max-items", &max_items)) != 0) {
            if (rc < 0) return EXIT_USAGE;
        } else if ((rc = common_option(&co, argc, argv, &i)) != 0) {
            if (rc < 0) return EXIT_USAGE;
        } else if (argv[i][0] == '-' || npos == 2) {
            cli_error("call: unexpected argument '%s' (see awstopo call --help)", argv[i]);
            return EXIT_USAGE;
        } else {
            positional[npos++] = argv[i];
        }
    }
    if (npos != 2) {
        fputs(help, stderr);
        return EXIT_USAGE;
    }
    long ps = page_size ? strtol(page_size, NULL, 10) : 0, mi = max_items ? strtol(max_items, NULL, 10) : 0;
    if ((page_size && ps <= 0) || (max_items && mi <= 0)) {
        cli_error("call: --page-size and --max-items take a positive number");
        return EXIT_USAGE;
    }
    return run_call(&co, positional[0], positional[1], params, paginate, ps, mi);
}
