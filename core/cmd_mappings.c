/* cmd_mappings.c -- `awstopo mappings`: what mappings are on the path, and what they declare. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "engine.h"
#include "mapping_check.h"

static const char help[] =
    "usage: awstopo mappings [list]            the mappings on the mapping path\n"
    "       awstopo mappings describe NAME...  a mapping's declaration (service, scope,\n"
    "                                          calls, component types, events) as JSON\n"
    "       awstopo mappings check [DIR|FILE...]\n"
    "                                          loads each mapping (DIR: its *.lua; default:\n"
    "                                          the bundled ones) without calling AWS and\n"
    "                                          reports FILE:LINE: what is wrong: a declared\n"
    "                                          call no model has, a component type used but\n"
    "                                          not declared, a relation type neither in\n"
    "                                          docs/relations.md nor in its `relations`, an\n"
    "                                          event handler for an event its service never\n"
    "                                          emits, no scan, luacheck's findings (when\n"
    "                                          installed). Exit 0 when clean, 1 otherwise.\n"
    "options: --mappings DIR (searched before the bundled mappings), --models DIR\n"
    "         (service models searched first; docs/models.md)\n"
    "Writing a mapping, from an empty file to a tested one: docs/writing-a-mapping.md.\n";

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
        } else if (argv[i][0] == '-') {
            cli_error("mappings: unknown option '%s' (see awstopo mappings --help)", argv[i]);
            strlist_free(&names);
            return EXIT_USAGE;
        } else if (names.len == 0 && strcmp(verb, "list") == 0 &&
                   (strcmp(argv[i], "list") == 0 || strcmp(argv[i], "describe") == 0 || strcmp(argv[i], "check") == 0)) {
            verb = argv[i];
        } else {
            strlist_add(&names, argv[i]);
        }
    }
    if (strcmp(verb, "check") == 0) {
        int rc = mapping_check(&co, &names);
        strlist_free(&names);
        return rc;
    }
    if (strcmp(verb, "describe") == 0 && names.len == 0) {
        cli_error("mappings describe: which mapping? (see awstopo mappings list)");
        return EXIT_USAGE;
    }
    if (strcmp(verb, "list") == 0 && names.len) {
        cli_error("mappings: unknown command '%s' (list, describe or check)", names.items[0]);
        strlist_free(&names);
        return EXIT_USAGE;
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
