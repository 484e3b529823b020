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
#include "embedded.h"
#include "lua_api.h"
#include "luajson.h"
#include "model.h"
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

static int print_result(lua_State *L)
{
    char err[512];
    buf b = {0};
    int rc = luajson_encode(L, -1, &b, 4, err, sizeof err);
    if (rc == 0) printf("%s\n", buf_cstr(&b));
    else cli_error("%s", err);
    buf_free(&b);
    return rc == 0 ? EXIT_OK : EXIT_FAILURE_;
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
    lua_pushstring(L, service);
    lua_pushstring(L, op);
    if (load_params(L, params) == 0) {
        lua_pushstring(L, client_region(client));
        lua_pushboolean(L, paginate);
        if (page_size > 0) lua_pushinteger(L, page_size); else lua_pushnil(L);
        if (max_items > 0) lua_pushinteger(L, max_items); else lua_pushnil(L);
        if (lua_api_run_chunk(L, &host, call_lua, call_lua_len, "=call.lua", 7) == 0) rc = print_result(L);
        else cli_error("%s", luaL_tolstring(L, -1, NULL));
    }
    lua_close(L);
    lua_host_free(&host);
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
