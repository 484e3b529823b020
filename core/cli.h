/* cli.h -- what the subcommands share: options, paths, building a client.
 *
 * Each subcommand lives in its own cmd_<name>.c with an entry point
 *     int cmd_<name>(int argc, char **argv)   (argv[0] is the command name)
 * and returns a process exit code (see EXIT_* below and docs/cli.md).
 */
#ifndef AWSTOPO_CLI_H
#define AWSTOPO_CLI_H

#include <stddef.h>

#include "client.h"
#include "config.h"
#include "engine.h"

#define EXIT_OK 0        /* everything worked */
#define EXIT_PARTIAL 1   /* finished, but some service/region or fixture failed */
#define EXIT_FAILURE_ 2  /* nothing useful was done (bad options, no credentials, ...) */
#define EXIT_USAGE 64    /* the command line is wrong */

#define AWSTOPO_VERSION "0.1.0"

/* Options every AWS-facing command takes. All strings point into argv or
 * the environment: nothing to free. */
typedef struct common_options {
    const char *profile;
    const char *region;
    const char *role_arn;
    const char *session_name;
    const char *external_id;
    const char *endpoint_url;
    const char *models_dir;     /* --models */
    const char *mappings_dir;   /* --mappings */
    int verbose;
    int scan;                   /* a scan's client: retries for a scan (client.h) */
    long retry_budget_s;        /* [scan] retry_budget; AWSTOPO_RETRY_BUDGET wins; 0 = 300 s */
} common_options;

/* If argv[*i] is one of the common options, consumes it (and its value)
 * and returns 1; returns -1 on a missing value (message printed), 0 when
 * argv[*i] is not a common option. Accepts "--opt value" and "--opt=value". */
int common_option(common_options *o, int argc, char **argv, int *i);

/* Matches "--name value" / "--name=value" at argv[*i]; sets *value and
 * advances *i. Returns 1 on a match, -1 when the value is missing. */
int take_value(int argc, char **argv, int *i, const char *name, const char **value);

/* A value option and where a command keeps it: the const char * at `offset`
 * in the command's options struct. Commands list theirs in a table, so their
 * options read as one list instead of a chain of comparisons. */
typedef struct value_option {
    const char *name;
    size_t offset;
} value_option;

/* take_value for each of the n options of table, storing into the struct at
 * base: 1 when one matched, -1 when its value is missing (said), 0 when none. */
int take_listed_value(int argc, char **argv, int *i, const value_option *table, size_t n, void *base);
#define TAKE_LISTED(argc, argv, i, table, base) \
    take_listed_value(argc, argv, i, table, sizeof(table) / sizeof *(table), base)

/* The config file at path (NULL: none) with the environment over it, as the
 * commands read it: the file's problems said as warnings. -1 (said) when the
 * file cannot be read (cfg then holds nothing). Caller config_free()s on 0. */
int cli_load_config(awstopo_config *cfg, const char *path);

/* The directory with mappings/, models/, policies/, views/: AWSTOPO_HOME,
 * else next to the binary (a source checkout), else <prefix>/share/awstopo
 * relative to the binary, else the compiled-in AWSTOPO_DATADIR. */
const char *data_dir(void);
/* ':'-separated search paths, user's directories first; caller frees. */
char *model_search_path(const common_options *o);
char *mapping_search_path(const common_options *o);

/* A client for these options. NULL with a message in err. Caller frees. */
aws_client *make_client(const common_options *o, model_registry *models, char *err, size_t errlen);

/* Adds to problems a message per name that is no mapping on e's path:
 * "unknown service 'ec3' in WHERE (did you mean 'ec2'? see awstopo mappings
 * list)". Returns how many were unknown. */
size_t unknown_services(engine *e, const strlist *names, const char *where, strlist *problems);

/* The same for the mappings on the path of co's options, each message
 * printed (cli_error); where: "--services" when the flag set them, else
 * AWSTOPO_SERVICES or "[scan] services" as the environment says. */
size_t report_unknown_services(const common_options *co, const strlist *names, int from_flag);

/* Prints "awstopo: " + message to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int cmd_call(int argc, char **argv);
int cmd_test(int argc, char **argv);
int cmd_mappings(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_metrics(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_lambda(int argc, char **argv);
int cmd_stackpack(int argc, char **argv);
int cmd_install(int argc, char **argv);
int cmd_uninstall(int argc, char **argv);

#endif
