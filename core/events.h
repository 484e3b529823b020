/* events.h -- AWS events as they reach a user, read into one list.
 *
 * The forms (docs/events.md):
 *   - an EventBridge event: {"detail-type": "AWS API Call via CloudTrail",
 *     "detail": <CloudTrail record>, ...}, or one of EventBridge's own events
 *     ("EC2 Instance State-change Notification", ...), kept whole;
 *   - a bare CloudTrail record {"eventSource", "eventName", ...};
 *   - a CloudTrail log file {"Records": [...]}, as CloudTrail writes it to S3;
 *   - a JSON array of any of these;
 *   - several of them concatenated, with or without whitespace between them
 *     (what Firehose writes to S3).
 * Gzip is undone before (events_read_file). A part that is not valid JSON
 * or not an event is reported, naming the input and the record, and reading
 * goes on with the next record.
 */
#ifndef AWSTOPO_EVENTS_H
#define AWSTOPO_EVENTS_H

#include <stddef.h>

#include "util.h"

typedef struct event_rec {
    char *json;          /* what the handler gets: the CloudTrail record, or the whole EventBridge event */
    char *source;        /* endpoint prefix of the service: "ec2", "elasticloadbalancing" */
    char *name;          /* CloudTrail eventName, or the EventBridge detail-type */
    char *api_version;   /* CloudTrail apiVersion (ELB classic vs v2), or NULL */
    char *account;       /* the account the resource is in, or NULL when the event does not say */
    char *region;        /* or NULL */
    char *time;          /* eventTime / time, ISO 8601 ("" when absent) */
    char *error_code;    /* a failed call (CloudTrail errorCode), or NULL */
    char *origin;        /* "FILE record N", for messages */
} event_rec;

typedef struct event_list {
    event_rec *items;
    size_t len, cap;
} event_list;

/* Reads the events in text[0..len) (label names the input in messages) and
 * appends them to out. Each malformed part adds one message to problems.
 * Returns the number of problems added. */
size_t events_parse(const char *label, const char *text, size_t len, event_list *out, strlist *problems);

/* Reads path ("-" = standard input), gzipped or not, into text (caller
 * frees). Returns NULL and a message in err when it cannot be read. */
char *events_read_input(const char *path, size_t *len, char *err, size_t errlen);

/* Orders the events by time, oldest first; equal times keep their order. */
void event_list_sort(event_list *l);
void event_list_free(event_list *l);

#endif
