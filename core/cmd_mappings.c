/* cmd_mappings.c -- `awstopo mappings`: what mappings are on the path, and what they declare. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "engine.h"

static const char help[] =
    "usage: awstopo mappings [list]            the mappings on the mapping path\n"
    "       awstopo mappings describe NAME...  a mapping's declaration (service, scope,\n"
    "                                          calls, component types, events) as JSON\n"
    "options: --mappings DIR (searched before the bundled mappings)\n";

static int describe(engine *e, const char *name)
{
    char err[1024];
    run_info info = { .region = DEFAULT_REGION, .partition = "aws" };
    mapping_run *r = run_new(e, name, &info, NULL, err, sizeof err);
    if (!r) {
        cli_error("%s", err);
        return EXIT_FAILURE_;
    }
    char *json = run_describe(r);
    printf("%s\n", json);
    free(json);
    run_free(r);
    return EXIT_OK;
}

int cmd_mappings(int argc, char **argv)
{
    common_options co = {0};
    strlist names = {0};
    const char *verb = "list";
    for (int i = 1; i < argc; i++) {
        int rc;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(help, stdout);
            return EXIT_OK;
        } else if ((rc = common_option(&co, argc, argv, &i)) != 0) {
            if (rc < 0) return EXIT_USAGE;
        } else if (strcmp(argv[i], "list") == 0 || strcmp(argv[i], "describe") == 0) {
            verb = argv[i];
        } else {
            strlist_add(&names, argv[i]);
        }
    }
    char *mpath = mapping_search_path(&co);
    engine_options eo = { .mapping_path = mpath };
    engine *e = engine_new(&eo, NULL);
    int rc = EXIT_OK;
    if (strcmp(verb, "list") == 0) {
        strlist all = {0};
        engine_list(e, &all);
        for (size_t i = 0; i < all.len; i++) {
            char *file = engine_find(e, all.items[i]);
            printf("%-16s %s\n", all.items[i], file ? file : "");
            free(file);
        }
        strlist_free(&all);
    } else {
        for (size_t i = 0; i < names.len && rc == EXIT_OK; i++) rc = describe(e, names.items[i]);
    }
    engine_free(e);
    free(mpath);
    strlist_free(&names);
    return rc;
}
