/* fuzz_events.c -- the event input forms (events.c, events_parse):
 * EventBridge events, bare CloudTrail records, CloudTrail log files, arrays
 * of them and concatenations, as `awstopo events process` reads them.
 * Checks: every event read has its json, source, name, time and origin set,
 * and sorting keeps them all. */
#include <string.h>

#include "events.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    event_list l = {0};
    strlist problems = {0};
    size_t n = events_parse("fuzz", (const char *)data, size, &l, &problems);
    fuzz_check(n == problems.len, "the count of problems is the problems added");
    for (size_t i = 0; i < l.len; i++) {
        const event_rec *e = &l.items[i];
        fuzz_check(e->json && e->source && e->name && e->time && e->origin, "an event has its fields");
    }
    size_t before = l.len;
    event_list_sort(&l);
    fuzz_check(l.len == before, "sorting keeps every event");
    event_list_free(&l);
    strlist_free(&problems);
    return 0;
}
