/* main.c -- awstopo's entry point: picks the subcommand.
 *
 * Start reading here. Each command is a cmd_<name>.c file; from there the
 * path to the network is
 *   cmd_scan.c / cmd_call.c -> engine.c (mapping runs) -> lua_api.c (P.call)
 *   -> client.c (serialize, sign, retry) -> http.c (libcurl multi) -> socket
 * and back: http.c -> client.c (protocol_parse) -> the mapping's task ->
 * topology.c -> intake.c -> sink_*.c.
 */
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "daemon.h"

static const char usage[] =
    "awstopo " AWSTOPO_VERSION " -- AWS topology for StackState\n"
    "\n"
    "usage: awstopo <command> [options]\n"
    "\n"
    "commands:\n"
    "  scan                     scan AWS accounts and regions; send the topology to StackState\n"
    "                           and/or write it (--output); --demo scans the bundled demo account\n"
    "  metrics                  CloudWatch metrics of the scanned components (GetMetricData); --estimate\n"
    "                           prints what they would cost\n"
    "  call SERVICE OPERATION   call one AWS API operation and print the response as JSON\n"
    "  test [PATH...]           replay fixture cases through the mappings, compare with golden files\n"
    "  record [--out DIR]       scan and write what AWS answered as fixture cases (secrets scrubbed)\n"
    "  mappings [list|describe NAME]  show the mappings on the mapping path\n"
    "  config check FILE        validate a configuration file and explain each problem\n"
    "  config accounts [FILE]   the accounts it scans; --organization: those of the AWS Organization\n"
    "  events process [FILE|-]...  run AWS events (EventBridge, CloudTrail) through the mappings;\n"
    "                           send, write or publish (--kinesis-stream) the topology update\n"
    "  events consume --kinesis-stream NAME  send a Kinesis stream's updates to StackState\n"
    "  run --config FILE        the daemon: scans at an interval, consumes the Kinesis stream, fetches\n"
    "                           metrics; /healthz, /metrics and /v1/metrics on a local port\n"
    "  lambda                   the AWS Lambda custom runtime (_HANDLER cron|cwevents|publisher)\n"
    "  stackpack export --instance NAME  the StackState configuration of an instance (views,\n"
    "                           console actions, component types, layers, domains) to import\n"
    "  install BASE_URL API_KEY CONFIGURATION_ID  deploy the CloudFormation stacks into the\n"
    "                           account (--topo-cron-only: the minimal install; --dry-run: the plan)\n"
    "  uninstall CONFIGURATION_ID  remove them again (stacks, buckets, the API key parameter)\n"
    "  version                  print the version\n"
    "\n"
    "options shared by the commands that talk to AWS:\n"
    "  --profile NAME           profile of ~/.aws/config and ~/.aws/credentials (AWS_PROFILE)\n"
    "  --region REGION          region (AWS_REGION, AWS_DEFAULT_REGION, the profile's region)\n"
    "  --role-arn ARN           assume this role first (AWS_ROLE_ARN)\n"
    "  --session-name NAME      role session name (default awstopo-<time>)\n"
    "  --external-id ID         external id for the role\n"
    "  --endpoint-url URL       send requests here (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>)\n"
    "  --models DIR             extra botocore model directory, searched first (AWSTOPO_MODEL_PATH)\n"
    "  --mappings DIR           extra mapping directory, searched first (AWSTOPO_MAPPING_PATH)\n"
    "  -v, --verbose            log what the mappings log\n"
    "\n"
    "environment: AWS_CLI_READ_TIMEOUT (seconds, default 30), AWS_MAX_ATTEMPTS (default 3),\n"
    "AWS_RETRY_MODE (standard, adaptive), HTTP_PROXY / HTTPS_PROXY / NO_PROXY, AWS_CA_BUNDLE.\n"
    "A scan with neither retry variable rate-limits adaptively and retries throttling for up\n"
    "to AWSTOPO_RETRY_BUDGET seconds per call (default 300, or [scan] retry_budget in the\n"
    "config file; the variable wins; docs/cli.md, Retries).\n"
    "\n"
    "'awstopo COMMAND --help' explains a command. Documentation: docs/ in the source tree.\n";

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
} command;

static const command commands[] = {
    { "scan", cmd_scan },
    { "record", cmd_record },
    { "metrics", cmd_metrics },
    { "call", cmd_call },
    { "config", cmd_config },
    { "test", cmd_test },
    { "mappings", cmd_mappings },
    { "events", cmd_events },
    { "lambda", cmd_lambda },
    { "stackpack", cmd_stackpack },
    { "run", cmd_run },
    { "install", cmd_install },
    { "uninstall", cmd_uninstall },
};

/* Freed memory stays in the heap for the next block: glibc's defaults give
 * blocks from 128 KiB up (response bodies, pages of items) their own
 * mapping and trim the heap's free top past 128 KiB, so the same memory
 * went back to the system and was taken again, a page fault for each of
 * its pages -- about 16 us a page on this project's virtual machine, three
 * times what filling the page costs (MADV_POPULATE_WRITE). With both at
 * 32 MiB, the 100k-resource scan took 49-50 thousand page faults instead of
 * 79-93 thousand, for 1-2 MiB more peak RSS (82-84 MiB; bench_full_scan,
 * 2026-12-07). glibc refuses an mmap threshold above 32 MiB. A longer-lived
 * process (the Lambda handlers) keeps at most that much free memory. */
#define KEEP_FREED (32 * 1024 * 1024)

int main(int argc, char **argv)
{
    mallopt(M_MMAP_THRESHOLD, KEEP_FREED);
    mallopt(M_TRIM_THRESHOLD, KEEP_FREED);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("awstopo %s\n", AWSTOPO_VERSION);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    cli_error("unknown command '%s' (see awstopo --help)", argv[1]);
    return EXIT_USAGE;
}
