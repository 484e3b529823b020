/* intake_split.c -- cuts an intake payload in two (see intake.h).
 *
 * The StackState sink calls this for a payload the receiver refused as too
 * large (HTTP 413), read back from the spool. Rather than parse the JSON into
 * a tree and print it again, a small scanner finds where each value starts
 * and ends -- strings (with their escapes) and nesting are all it needs to
 * understand -- and the parts are assembled from those spans, so every item
 * goes out byte for byte as it was made. It is not a validator: the payload
 * was written by intake.c, and the receiver checks what it gets anyway.
 */
#include "intake.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A stretch of the payload's text. */
typedef struct span {
    const char *p;
    size_t n;
} span;

/* An object member: the key with its quotes, and the value's text. */
typedef struct member {
    span key, value;
} member;

typedef struct scanner {
    const char *s;
    size_t n, i;         /* text, its length, the position */
} scanner;

/* The three item arrays of a topology, in the order the items are counted. */
static const char *const ITEM_ARRAYS[3] = { "components", "relations", "delete_ids" };

/* ---- the scanner ---- */

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_space(scanner *sc)
{
    while (sc->i < sc->n && is_space(sc->s[sc->i])) sc->i++;
}

/* At '"': moves past the closing quote. 0, or -1 when the string never ends. */
static int skip_string(scanner *sc)
{
    for (sc->i++; sc->i < sc->n; sc->i++) {
        char c = sc->s[sc->i];
        if (c == '\\') sc->i++;          /* the escaped character is skipped too */
        else if (c == '"') {
            sc->i++;
            return 0;
        }
    }
    return -1;
}

/* Moves past one value (string, object, array, number, literal). 0 or -1. */
static int skip_value(scanner *sc)
{
    if (sc->i >= sc->n) return -1;
    char c = sc->s[sc->i];
    if (c == '"') return skip_string(sc);
    if (c == '{' || c == '[') {
        size_t depth = 0;
        while (sc->i < sc->n) {
            c = sc->s[sc->i];
            if (c == '"') {
                if (skip_string(sc) != 0) return -1;
                continue;
            }
            if (c == '{' || c == '[') depth++;
            else if ((c == '}' || c == ']') && --depth == 0) {
                sc->i++;
                return 0;
            }
            sc->i++;
        }
        return -1;
    }
    size_t start = sc->i;
    while (sc->i < sc->n && !is_space(c = sc->s[sc->i]) && c != ',' && c != ']' && c != '}') sc->i++;
    return sc->i > start ? 0 : -1;
}

static void push_span(span **v, size_t *n, size_t *cap, span x)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *v = xrealloc(*v, *cap * sizeof **v);
    }
    (*v)[(*n)++] = x;
}

/* The elements of the array at the scanner, appended to *out (caller frees).
 * 0, or -1 when it is not an array. */
static int array_items(scanner *sc, span **out, size_t *n)
{
    size_t cap = *n;
    skip_space(sc);
    if (sc->i >= sc->n || sc->s[sc->i] != '[') return -1;
    sc->i++;
    skip_space(sc);
    if (sc->i < sc->n && sc->s[sc->i] == ']') {
        sc->i++;
        return 0;
    }
    for (;;) {
        skip_space(sc);
        size_t start = sc->i;
        if (skip_value(sc) != 0) return -1;
        push_span(out, n, &cap, (span){ sc->s + start, sc->i - start });
        skip_space(sc);
        if (sc->i >= sc->n) return -1;
        char c = sc->s[sc->i++];
        if (c == ']') return 0;
        if (c != ',') return -1;
    }
}

/* The members of the object at the scanner, into *out (caller frees). 0 or -1. */
static int object_members(scanner *sc, member **out, size_t *n)
{
    size_t cap = 0;
    skip_space(sc);
    if (sc->i >= sc->n || sc->s[sc->i] != '{') return -1;
    sc->i++;
    skip_space(sc);
    if (sc->i < sc->n && sc->s[sc->i] == '}') {
        sc->i++;
        return 0;
    }
    for (;;) {
        member m;
        skip_space(sc);
        size_t start = sc->i;
        if (sc->i >= sc->n || sc->s[sc->i] != '"' || skip_string(sc) != 0) return -1;
        m.key = (span){ sc->s + start, sc->i - start };
        skip_space(sc);
        if (sc->i >= sc->n || sc->s[sc->i] != ':') return -1;
        sc->i++;
        skip_space(sc);
        start = sc->i;
        if (skip_value(sc) != 0) return -1;
        m.value = (span){ sc->s + start, sc->i - start };
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            *out = xrealloc(*out, cap * sizeof **out);
        }
        (*out)[(*n)++] = m;
        skip_space(sc);
        if (sc->i >= sc->n) return -1;
        char c = sc->s[sc->i++];
        if (c == '}') return 0;
        if (c != ',') return -1;
    }
}

/* Is the key span "name" (quotes included)? */
static int key_is(span key, const char *name)
{
    size_t n = strlen(name);
    return key.n == n + 2 && key.p[0] == '"' && memcmp(key.p + 1, name, n) == 0;
}

static const member *find_member(const member *m, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (key_is(m[i].key, name)) return &m[i];
    return NULL;
}

/* ---- writing a part ---- */

/* What the original holds, as spans into its text. */
typedef struct parsed {
    member *top;          /* the payload's members */
    size_t ntop;
    member *topo;         /* the members of topologies[0] */
    size_t ntopo;
    span *items[3];       /* components, relations, delete_ids */
    size_t count[3];
} parsed;

/* Writes the items [from, to) of array k (numbered across the three arrays). */
static void write_items(buf *out, const parsed *p, int k, size_t from, size_t to)
{
    size_t offset = 0;
    for (int j = 0; j < k; j++) offset += p->count[j];
    buf_putc(out, '[');
    int first = 1;
    for (size_t i = 0; i < p->count[k]; i++) {
        if (offset + i < from || offset + i >= to) continue;
        if (!first) buf_putc(out, ',');
        first = 0;
        buf_append(out, p->items[k][i].p, p->items[k][i].n);
    }
    buf_putc(out, ']');
}

static void write_topology(buf *out, const parsed *p, size_t from, size_t to, int start, int stop)
{
    buf_putc(out, '{');
    for (size_t i = 0; i < p->ntopo; i++) {
        const member *m = &p->topo[i];
        if (i) buf_putc(out, ',');
        buf_append(out, m->key.p, m->key.n);
        buf_putc(out, ':');
        int k = 0;
        while (k < 3 && !key_is(m->key, ITEM_ARRAYS[k])) k++;
        if (k < 3) write_items(out, p, k, from, to);
        else if (key_is(m->key, "start_snapshot")) buf_puts(out, start ? "true" : "false");
        else if (key_is(m->key, "stop_snapshot")) buf_puts(out, stop ? "true" : "false");
        else buf_append(out, m->value.p, m->value.n);
    }
    buf_putc(out, '}');
}

static void write_part(buf *out, const parsed *p, size_t from, size_t to, int start, int stop)
{
    buf_putc(out, '{');
    for (size_t i = 0; i < p->ntop; i++) {
        const member *m = &p->top[i];
        if (i) buf_putc(out, ',');
        buf_append(out, m->key.p, m->key.n);
        buf_putc(out, ':');
        if (key_is(m->key, "topologies")) {
            buf_putc(out, '[');
            write_topology(out, p, from, to, start, stop);
            buf_putc(out, ']');
        } else {
            buf_append(out, m->value.p, m->value.n);
        }
    }
    buf_putc(out, '}');
}

/* ---- splitting ---- */

static int is_true(const member *m)
{
    return m && m->value.n == 4 && memcmp(m->value.p, "true", 4) == 0;
}

/* Finds the spans of the payload; -1 with a message when it is not one. */
static int parse_payload(const char *json, size_t len, parsed *p, char *err, size_t errlen)
{
    scanner sc = { json, len, 0 };
    if (object_members(&sc, &p->top, &p->ntop) != 0) {
        set_err(err, errlen, "not an intake payload: not a JSON object");
        return -1;
    }
    skip_space(&sc);
    if (sc.i != sc.n) {
        set_err(err, errlen, "not an intake payload: text after the JSON object");
        return -1;
    }
    const member *topologies = find_member(p->top, p->ntop, "topologies");
    span *topos = NULL;
    size_t ntopos = 0;
    scanner ts = { topologies ? topologies->value.p : "", topologies ? topologies->value.n : 0, 0 };
    int ok = topologies && array_items(&ts, &topos, &ntopos) == 0 && ntopos == 1;
    scanner os = { ok ? topos[0].p : "", ok ? topos[0].n : 0, 0 };
    free(topos);
    if (!ok || object_members(&os, &p->topo, &p->ntopo) != 0) {
        set_err(err, errlen, "not an intake payload: \"topologies\" is not an array of one object");
        return -1;
    }
    for (int k = 0; k < 3; k++) {
        const member *m = find_member(p->topo, p->ntopo, ITEM_ARRAYS[k]);
        if (!m) continue;
        scanner as = { m->value.p, m->value.n, 0 };
        if (array_items(&as, &p->items[k], &p->count[k]) != 0) {
            set_err(err, errlen, "not an intake payload: \"%s\" is not an array", ITEM_ARRAYS[k]);
            return -1;
        }
    }
    return 0;
}

static void free_parsed(parsed *p)
{
    free(p->top);
    free(p->topo);
    for (int k = 0; k < 3; k++) free(p->items[k]);
}

int intake_split(const char *json, size_t len, buf *first, buf *second, size_t *n_first, size_t *n_second,
                 char *err, size_t errlen)
{
    parsed p;
    memset(&p, 0, sizeof p);
    int rc = parse_payload(json, len, &p, err, errlen);
    size_t n = p.count[0] + p.count[1] + p.count[2];
    if (rc == 0 && n < 2) rc = 1;
    if (rc == 0) {
        size_t half = n - n / 2;
        int start = is_true(find_member(p.topo, p.ntopo, "start_snapshot"));
        int stop = is_true(find_member(p.topo, p.ntopo, "stop_snapshot"));
        write_part(first, &p, 0, half, start, 0);
        write_part(second, &p, half, n, 0, stop);
        if (n_first) *n_first = half;
        if (n_second) *n_second = n - half;
    }
    free_parsed(&p);
    return rc;
}

/* ---- snapshot flags ---- */

int intake_without_stop(const char *json, size_t len, buf *out, int *start, int *stop, char *err, size_t errlen)
{
    parsed p;
    memset(&p, 0, sizeof p);
    int rc = parse_payload(json, len, &p, err, errlen);
    if (rc == 0) {
        *start = is_true(find_member(p.topo, p.ntopo, "start_snapshot"));
        *stop = is_true(find_member(p.topo, p.ntopo, "stop_snapshot"));
        if (*stop) write_part(out, &p, 0, p.count[0] + p.count[1] + p.count[2], *start, 0);
    }
    free_parsed(&p);
    return rc;
}
