/* fixture_diff.c -- golden file against new outcome (see fixture_diff.h). */
#include "fixture_diff.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

#define MAX_ENTRIES 10   /* items shown per kind (added/removed/changed ...) */
#define MAX_FIELDS 20    /* changed fields shown per item */
#define MAX_VALUE 160    /* characters of a value shown */

/* ---- values and paths ---- */

/* A value as one line of JSON, cut to limit characters (0: whole); "(absent)" for NULL. */
static void put_value_cut(buf *b, const cJSON *v, size_t limit)
{
    if (!v) {
        buf_puts(b, "(absent)");
        return;
    }
    char *s = cJSON_PrintUnformatted(v);
    size_t n = s ? strlen(s) : 0;
    if (limit && n > limit) {
        buf_append(b, s, limit);
        buf_puts(b, "...");
    } else if (s) {
        buf_puts(b, s);
    }
    free(s);
}

static void put_value(buf *b, const cJSON *v)
{
    put_value_cut(b, v, MAX_VALUE);
}

typedef struct field_changes {
    strlist lines;     /* "path: old -> new" */
} field_changes;

static void note_change(field_changes *fc, const char *path, const cJSON *a, const cJSON *b)
{
    buf l = {0};
    buf_printf(&l, "%s: ", *path ? path : "(whole item)");
    put_value(&l, a);
    buf_puts(&l, " -> ");
    put_value(&l, b);
    strlist_add(&fc->lines, l.data);
    buf_free(&l);
}

static int is_scalar_array(const cJSON *a)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, a) if (cJSON_IsArray(x) || cJSON_IsObject(x)) return 0;
    return 1;
}

static int array_has(const cJSON *a, const cJSON *v)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, a) if (cJSON_Compare(x, v, 1)) return 1;
    return 0;
}

static void compare(field_changes *fc, const char *path, const cJSON *a, const cJSON *b);

/* Lists of scalars (labels, identifiers) whose length differs: members
 * added and removed, so one new label is one line, not a shifted list. */
static void compare_scalar_sets(field_changes *fc, const char *path, const cJSON *a, const cJSON *b)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, a) if (!array_has(b, x)) note_change(fc, path, x, NULL);
    cJSON_ArrayForEach(x, b) if (!array_has(a, x)) note_change(fc, path, NULL, x);
}

static void compare_arrays(field_changes *fc, const char *path, const cJSON *a, const cJSON *b)
{
    int na = cJSON_GetArraySize(a), nb = cJSON_GetArraySize(b);
    if (na != nb && is_scalar_array(a) && is_scalar_array(b)) {
        compare_scalar_sets(fc, path, a, b);
        return;
    }
    for (int i = 0; i < na || i < nb; i++) {
        buf p = {0};
        buf_printf(&p, "%s[%d]", path, i);
        compare(fc, p.data, i < na ? cJSON_GetArrayItem(a, i) : NULL, i < nb ? cJSON_GetArrayItem(b, i) : NULL);
        buf_free(&p);
    }
}

static void compare_objects(field_changes *fc, const char *path, const cJSON *a, const cJSON *b)
{
    strlist keys = {0};
    const cJSON *x;
    cJSON_ArrayForEach(x, a) strlist_add(&keys, x->string);
    cJSON_ArrayForEach(x, b) if (!cJSON_GetObjectItemCaseSensitive(a, x->string)) strlist_add(&keys, x->string);
    if (keys.len) qsort(keys.items, keys.len, sizeof *keys.items, compare_strings);
    for (size_t i = 0; i < keys.len; i++) {
        buf p = {0};
        buf_printf(&p, "%s%s%s", path, *path ? "." : "", keys.items[i]);
        compare(fc, p.data, cJSON_GetObjectItemCaseSensitive(a, keys.items[i]),
                cJSON_GetObjectItemCaseSensitive(b, keys.items[i]));
        buf_free(&p);
    }
    strlist_free(&keys);
}

/* Every leaf that differs between a and b (either may be NULL: absent). */
static void compare(field_changes *fc, const char *path, const cJSON *a, const cJSON *b)
{
    if (a && b && cJSON_Compare(a, b, 1)) return;
    if (cJSON_IsObject(a) && cJSON_IsObject(b)) compare_objects(fc, path, a, b);
    else if (cJSON_IsArray(a) && cJSON_IsArray(b)) compare_arrays(fc, path, a, b);
    else note_change(fc, path, a, b);
}

/* ---- one kind (components, relations, delete ids, warnings) ---- */

typedef struct section {
    FILE *out;
    const char *title;
    int printed_title;
    int shown[3];          /* added, removed, changed */
    int hidden[3];
} section;

static void section_line(section *s, int kind, char mark, const char *text)
{
    if (s->shown[kind] >= MAX_ENTRIES) {
        s->hidden[kind]++;
        return;
    }
    if (!s->printed_title) fprintf(s->out, "    %s:\n", s->title);
    s->printed_title = 1;
    s->shown[kind]++;
    fprintf(s->out, "      %c %s\n", mark, text);
}

static void section_end(section *s)
{
    static const char *what[] = { "added", "removed", "changed" };
    for (int k = 0; k < 3; k++)
        if (s->hidden[k]) fprintf(s->out, "      ... and %d more %s\n", s->hidden[k], what[k]);
}

/* The key of an item: externalId of an object, the string itself otherwise. */
static const char *key_of(const cJSON *item)
{
    if (cJSON_IsString(item)) return item->valuestring;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "externalId");
    return cJSON_IsString(id) ? id->valuestring : NULL;
}

static const cJSON *find_keyed(const cJSON *list, const char *key)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, list) {
        const char *k = key_of(x);
        if (k && key && strcmp(k, key) == 0) return x;
    }
    return NULL;
}

static void describe_item(buf *b, const cJSON *item)
{
    const char *key = key_of(item);
    buf_puts(b, key ? key : "(no externalId)");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(item, "type");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(type, "name");
    if (cJSON_IsString(name)) buf_printf(b, " (%s)", name->valuestring);
}

static void diff_changed(section *s, const cJSON *old, const cJSON *now)
{
    field_changes fc = {0};
    compare(&fc, "", old, now);
    buf l = {0};
    describe_item(&l, now);
    for (size_t i = 0; i < fc.lines.len && i < MAX_FIELDS; i++) buf_printf(&l, "\n            %s", fc.lines.items[i]);
    if (fc.lines.len > MAX_FIELDS) buf_printf(&l, "\n            ... and %zu more fields", fc.lines.len - MAX_FIELDS);
    section_line(s, 2, '~', l.data);
    buf_free(&l);
    strlist_free(&fc.lines);
}

/* Items of two lists matched by key: removed, then added, then changed. */
static void diff_keyed(FILE *out, const char *title, const cJSON *old, const cJSON *now)
{
    section s = { .out = out, .title = title };
    const cJSON *x;
    buf l = {0};
    cJSON_ArrayForEach(x, old) if (!find_keyed(now, key_of(x))) {
        buf_clear(&l);
        describe_item(&l, x);
        section_line(&s, 1, '-', l.data);
    }
    cJSON_ArrayForEach(x, now) if (!find_keyed(old, key_of(x))) {
        buf_clear(&l);
        describe_item(&l, x);
        section_line(&s, 0, '+', l.data);
    }
    cJSON_ArrayForEach(x, now) {
        const cJSON *o = find_keyed(old, key_of(x));
        if (o && !cJSON_Compare(o, x, 1)) diff_changed(&s, o, x);
    }
    buf_free(&l);
    section_end(&s);
}

/* Warnings are a list of strings where order carries little meaning. */
static void diff_strings(FILE *out, const char *title, const cJSON *old, const cJSON *now)
{
    section s = { .out = out, .title = title };
    const cJSON *x;
    buf l = {0};
    cJSON_ArrayForEach(x, old) if (!array_has(now, x)) {
        buf_clear(&l);
        put_value(&l, x);
        section_line(&s, 1, '-', l.data);
    }
    cJSON_ArrayForEach(x, now) if (!array_has(old, x)) {
        buf_clear(&l);
        put_value(&l, x);
        section_line(&s, 0, '+', l.data);
    }
    buf_free(&l);
    section_end(&s);
}

int fixture_diff_structural(FILE *out, const char *golden, const char *now)
{
    cJSON *a = cJSON_Parse(golden), *b = cJSON_Parse(now);
    if (!cJSON_IsObject(a) || !cJSON_IsObject(b)) {
        cJSON_Delete(a);
        cJSON_Delete(b);
        return -1;
    }
    fprintf(out, "    golden -> now (- removed, + added, ~ changed: field: golden -> now)\n");
    const cJSON *ea = cJSON_GetObjectItemCaseSensitive(a, "error");
    const cJSON *eb = cJSON_GetObjectItemCaseSensitive(b, "error");
    if (!(ea == NULL && eb == NULL) && !(ea && eb && cJSON_Compare(ea, eb, 1))) {
        buf l = {0};
        put_value_cut(&l, ea, 0);   /* whole: the difference may be at its end */
        buf_puts(&l, "\n        -> ");
        put_value_cut(&l, eb, 0);
        fprintf(out, "    error: %s\n", l.data);
        buf_free(&l);
    }
    diff_strings(out, "warnings", cJSON_GetObjectItemCaseSensitive(a, "warnings"),
                 cJSON_GetObjectItemCaseSensitive(b, "warnings"));
    static const char *kinds[] = { "components", "relations", "delete_ids" };
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
        diff_keyed(out, kinds[k], cJSON_GetObjectItemCaseSensitive(a, kinds[k]),
                   cJSON_GetObjectItemCaseSensitive(b, kinds[k]));
    cJSON_Delete(a);
    cJSON_Delete(b);
    return 0;
}

/* ---- the line view ---- */

static size_t split_lines(char *text, char ***lines)
{
    size_t n = 0, cap = 64;
    *lines = xmalloc(cap * sizeof **lines);
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (n == cap) *lines = xrealloc(*lines, (cap *= 2) * sizeof **lines);
        (*lines)[n++] = l;
    }
    return n;
}

/* The differing middle of two texts (common head and tail trimmed), with a
 * few lines of context. */
void fixture_diff_lines(FILE *out, const char *golden, const char *now)
{
    char *a = xstrdup(golden), *b = xstrdup(now);
    char **la, **lb;
    size_t na = split_lines(a, &la), nb = split_lines(b, &lb);
    size_t head = 0, tail = 0;
    while (head < na && head < nb && strcmp(la[head], lb[head]) == 0) head++;
    while (tail < na - head && tail < nb - head && strcmp(la[na - 1 - tail], lb[nb - 1 - tail]) == 0) tail++;
    size_t from = head > 3 ? head - 3 : 0;
    fprintf(out, "    --- golden (line %zu)\n    +++ now\n", head + 1);
    for (size_t i = from; i < head; i++) fprintf(out, "      %s\n", la[i]);
    size_t shown = 0;
    for (size_t i = head; i < na - tail && shown < 40; i++, shown++) fprintf(out, "    - %s\n", la[i]);
    for (size_t i = head; i < nb - tail && shown < 80; i++, shown++) fprintf(out, "    + %s\n", lb[i]);
    if (shown >= 80) fprintf(out, "    ... (more differences)\n");
    free(la);
    free(lb);
    free(a);
    free(b);
}
