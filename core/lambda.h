/* lambda.h -- the three functions `awstopo lambda` serves (cmd_lambda.c runs
 * the Runtime API loop; lambda.c the handlers, in the forked child). */
#ifndef AWSTOPO_LAMBDA_H
#define AWSTOPO_LAMBDA_H

#include <stddef.h>

typedef enum lambda_handler { HANDLER_CRON, HANDLER_CWEVENTS, HANDLER_PUBLISHER } lambda_handler;

/* "cron", "cwevents", "publisher" -> *h; -1 for anything else (or NULL). */
int lambda_handler_parse(const char *name, lambda_handler *h);
const char *lambda_handler_name(lambda_handler h);

/* Once per process, when AWSTOPO_API_KEY is not set: the API key from the
 * SSM SecureString parameter named by AWSTOPO_API_KEY_PARAMETER, or else from
 * the Secrets Manager secret AWSTOPO_API_KEY_SECRET (name or ARN), into the
 * environment the handlers read. 0, or -1 with err (never the key). */
int lambda_init(char *err, size_t errlen);

/* Runs handler h on the event in event_path; writes the invocation's
 * response (JSON) to result_path. Returns an exit code as the commands do:
 * 0 and 1 are answered with the result, 2 and above as an error. */
int lambda_run_handler(lambda_handler h, const char *event_path, const char *result_path);

#endif
