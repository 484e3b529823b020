/* cmd_record.c -- `awstopo record`: a scan whose responses become fixture cases.
 *
 * The scan itself is cmd_scan.c's; each run records what AWS answered
 * (core/engine.lua scrubs secrets as it records), and this file writes the
 * recordings out: as fixture cases for `awstopo test`, or as a replay
 * directory for `awstopo scan --replay`.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "scan.h"

static int write_text(const char *path, const char *text)
{
    buf dir = {0};
    buf_puts(&dir, path);
    for (char *p = dir.data + 1; *p; p++) {       /* mkdir -p of the parents */
        if (*p != '/') continue;
        *p = '\0';
        mkdir(dir.data, 0755);
        *p = '/';
    }
    buf_free(&dir);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* The "responses" member of a recorded case, for the replay layout. */
static char *responses_only(const char *case_json)
{
    cJSON *root = cJSON_Parse(case_json);
    char *text = root ? cJSON_Print(cJSON_GetObjectItemCaseSensitive(root, "responses")) : NULL;
    cJSON_Delete(root);
    return text;
}

/* Writes each run's recording: <dir>/<mapping>/<region>.case.json (a fixture
 * case for `awstopo test`), or <dir>/<region>/<mapping>.json (for --replay). */
int write_recordings(const scan_options *o, account_scan *a)
{
    int failed = 0;
    const char *dir = o->record_dir ? o->record_dir : "fixtures";
    for (size_t i = 0; i < a->nruns; i++) {
        mapping_run *r = a->runs[i];
        char *text = run_recording(r);
        if (!text) continue;
        buf path = {0};
        if (o->replay_layout) {
            char *only = responses_only(text);
            free(text);
            text = only;
            buf_printf(&path, "%s/%s/%s.json", dir, run_region(r), run_name(r));
        } else {
            buf_printf(&path, "%s/%s/%s.case.json", dir, run_name(r), run_region(r));
        }
        if (!text || write_text(path.data, text) < 0) {
            cli_error("record: cannot write %s", path.data);
            failed = 1;
        } else {
            fprintf(stderr, "record: wrote %s\n", path.data);
        }
        free(text);
        buf_free(&path);
    }
    return failed;
}

static const char record_help[] =
    "usage: awstopo record [--out DIR] [--anonymize] [--replay-layout] [scan options]\n"
    "\n"
    "Scans like `awstopo scan` (same options for accounts, regions and services) and\n"
    "writes every response the mappings received as fixture cases:\n"
    "DIR/<mapping>/<region>.case.json (default DIR: fixtures). `awstopo test --update DIR`\n"
    "then writes their golden files. Nothing is sent to StackState.\n"
    "\n"
    "  --out DIR         where to write (default ./fixtures)\n"
    "  --anonymize       replace the account id with 123456789012 everywhere\n"
    "  --replay-layout   write DIR/<region>/<mapping>.json instead, for scan --replay DIR\n"
    "\n"
    "Credentials, session tokens, passwords, Lambda environment values and presigned\n"
    "URL signatures are replaced by REDACTED. Read the files before sharing them:\n"
    "resource names and tags are kept.\n";

int cmd_record(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(record_help, stdout);
            return EXIT_OK;
        }
    }
    return scan_or_record(argc, argv, 1);
}

