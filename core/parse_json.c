/* parse_json.c -- JSON response bodies (json 1.0/1.1, rest-json) into Lua tables.
 *
 * A small recursive-descent reader that walks the JSON text and the output
 * shape together and pushes Lua values directly. We do not go through
 * cJSON's tree for two reasons: cJSON keeps numbers only as doubles, which
 * cannot hold a long above 2^53 (AWS longs are 64-bit: byte counts, ids),
 * and building a tree of the whole page only to walk it once costs an
 * allocation per value. Here strings without escapes go straight from the
 * body into Lua; escaped ones are decoded in the parse_ctx scratch buffer.
 *
 * What each value becomes depends on its shape (members by locationName,
 * timestamps from epoch numbers or strings re-formatted as ISO-8601, blobs
 * kept as the base64 text, longs exact); a value that does not fit its shape
 * is skipped, and so are keys the shape does not know and nulls. Document
 * shapes (and anything without a shape) convert generically.
 */
#include <ctype.h>
#include <errno.h>
#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json_swar.h"
#include "luajson.h"
#include "parse_internal.h"

#define MAX_DEPTH 512

typedef struct jparser {
    parse_ctx *c;
    lua_State *L;          /* NULL when only scanning (error bodies) */
    const char *start, *p, *end;
    int depth;
} jparser;

static int jfail(jparser *j, const char *what)
{
    int line = 1, col = 1;
    for (const char *q = j->start; q < j->p && q < j->end; q++) {
        if (*q == '\n') line++, col = 1;
        else col++;
    }
    return parse_fail(j->c, "malformed JSON response at line %d, column %d: %s", line, col, what);
}

static void skip_ws(jparser *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t')) j->p++;
}

static int peek(jparser *j)
{
    skip_ws(j);
    return j->p < j->end ? (unsigned char)*j->p : -1;
}

static int expect(jparser *j, char ch, const char *what)
{
    if (peek(j) != (unsigned char)ch) return jfail(j, what);
    j->p++;
    return 0;
}

/* ---- strings ---- */

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int ch = (unsigned char)p[i], d;
        if (ch >= '0' && ch <= '9') d = ch - '0';
        else if (ch >= 'a' && ch <= 'f') d = ch - 'a' + 10;
        else if (ch >= 'A' && ch <= 'F') d = ch - 'A' + 10;
        else return -1;
        v = v * 16 + (unsigned)d;
    }
    *out = v;
    return 0;
}

/* \uXXXX (with a following low surrogate when it is a high one) */
static int read_unicode_escape(jparser *j, buf *out)
{
    unsigned cp, lo;
    if (j->end - j->p < 5 || hex4(j->p + 1, &cp) < 0) return jfail(j, "bad \\u escape");
    j->p += 5;
    if (cp >= 0xd800 && cp < 0xdc00 && j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u' &&
        hex4(j->p + 2, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        j->p += 6;
    } else if (cp >= 0xd800 && cp < 0xe000) {
        cp = 0xfffd;                              /* a lone surrogate */
    }
    buf_put_utf8(out, cp);
    return 0;
}

/* Is s[0..n) well-formed UTF-8 (no overlong forms, surrogates or code
 * points past U+10FFFF)? AWS answers in UTF-8; anything else is damage, and
 * would make StackState refuse the payload that carried it. */
static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!len || i + len > n) return 0;
        unsigned cp = len == 1 ? c : c & (0x7f >> len);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        static const unsigned min[] = { 0, 0, 0x80, 0x800, 0x10000 };
        if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) return 0;
        i += len;
    }
    return 1;
}

static int read_string_raw(jparser *j, const char **s, size_t *n, int *ascii);

/* Reads the string at j->p (which is at its '"'): read_string_raw, checked
 * to be UTF-8 unless it is all ASCII (most are: ids, names, ARNs). */
static int read_string(jparser *j, const char **s, size_t *n)
{
    int ascii;
    if (read_string_raw(j, s, n, &ascii) < 0) return -1;
    if (!ascii && !utf8_valid((const unsigned char *)*s, *n)) return jfail(j, "invalid UTF-8 in a string");
    return 0;
}

/* Where the plain run that starts at q ends (at '"', '\\', a control
 * character or end): 8 bytes at a time, then byte by byte. *high is set
 * when the run has a byte >= 0x80. */
static const char *plain_run(const char *q, const char *end, int *high)
{
    uint64_t v, seen = 0;
    while (end - q >= 8 && (memcpy(&v, q, 8), !json_special8(v))) {
        seen |= v;
        q += 8;
    }
    while (q < end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20) seen |= (unsigned char)*q++;
    *high = swar_non_ascii8(seen);
    return q;
}

/* Reads the string at j->p (which is at its '"'). *s points into the body
 * when the string has no escapes, else into the scratch buffer (valid until
 * the next string is read). *ascii: no byte >= 0x80 in it (the escaped
 * ones counted as not ASCII, to be checked). */
static int read_string_raw(jparser *j, const char **s, size_t *n, int *ascii)
{
    int high;
    const char *q = plain_run(++j->p, j->end, &high);
    *ascii = !high;
    if (q < j->end && *q == '"') {               /* the common case: nothing to decode */
        *s = j->p;
        *n = (size_t)(q - j->p);
        j->p = q + 1;
        return 0;
    }
    *ascii = 0;
    buf *b = &j->c->text;
    buf_clear(b);
    buf_append(b, j->p, (size_t)(q - j->p));
    j->p = q;
    while (j->p < j->end && *j->p != '"') {
        unsigned char ch = (unsigned char)*j->p;
        if (ch < 0x20) return jfail(j, "control character in string");
        if (ch != '\\') {            /* the plain run up to the next escape, whole */
            q = plain_run(j->p, j->end, &high);
            buf_append(b, j->p, (size_t)(q - j->p));
            j->p = q;
            continue;
        }
        if (j->end - j->p < 2) return jfail(j, "unterminated string");   /* ends in its backslash */
        char e = j->p[1], out;
        switch (e) {
        case '"': out = '"'; break;
        case '\\': out = '\\'; break;
        case '/': out = '/'; break;
        case 'b': out = '\b'; break;
        case 'f': out = '\f'; break;
        case 'n': out = '\n'; break;
        case 'r': out = '\r'; break;
        case 't': out = '\t'; break;
        case 'u':
            j->p++;
            if (read_unicode_escape(j, b) < 0) return -1;
            continue;
        default:
            return jfail(j, "bad escape in string");
        }
        buf_putc(b, out);
        j->p += 2;
    }
    if (j->p >= j->end) return jfail(j, "unterminated string");
    j->p++;
    *s = buf_cstr(b);
    *n = b->len;
    return 0;
}

/* ---- numbers ---- */

typedef struct number {
    char text[64];         /* NUL-terminated copy of the token */
    int integral;          /* no fraction, no exponent */
} number;

static int read_number(jparser *j, number *num)
{
    const char *q = j->p;
    if (q < j->end && *q == '-') q++;
    const char *digits = q;
    while (q < j->end && isdigit((unsigned char)*q)) q++;
    if (q == digits) return jfail(j, "unexpected character");
    num->integral = 1;
    if (q < j->end && *q == '.') {
        num->integral = 0;
        const char *frac = ++q;
        while (q < j->end && isdigit((unsigned char)*q)) q++;
        if (q == frac) return jfail(j, "bad number");
    }
    if (q < j->end && (*q == 'e' || *q == 'E')) {
        num->integral = 0;
        q++;
        if (q < j->end && (*q == '+' || *q == '-')) q++;
        const char *exp = q;
        while (q < j->end && isdigit((unsigned char)*q)) q++;
        if (q == exp) return jfail(j, "bad number");
    }
    size_t n = (size_t)(q - j->p);
    if (n >= sizeof num->text) return jfail(j, "number too long");
    memcpy(num->text, j->p, n);
    num->text[n] = '\0';
    j->p = q;
    return 0;
}

/* Integers exactly (all 64 bits); the rest, and overflows, as doubles.
 * Returns 0 (nothing pushed) for a number beyond a double's range (1e999). */
static int push_number(lua_State *L, const number *num, int want_integer)
{
    if (num->integral) {
        errno = 0;
        long long v = strtoll(num->text, NULL, 10);
        if (errno == 0) {
            lua_pushinteger(L, (lua_Integer)v);
            return 1;
        }
    }
    double d = strtod(num->text, NULL);
    if (!isfinite(d)) return 0;
    if (want_integer && d == floor(d) && fabs(d) < 9.2e18) lua_pushinteger(L, (lua_Integer)d);
    else lua_pushnumber(L, d);
    return 1;
}

/* ---- literals, skipping ---- */

static int read_literal(jparser *j, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0) return jfail(j, "unexpected character");
    j->p += n;
    return 0;
}

static int enter(jparser *j)
{
    if (++j->depth > MAX_DEPTH) return jfail(j, "nested too deep");
    if (j->L && !lua_checkstack(j->L, 8)) return jfail(j, "nested too deep for the Lua stack");
    return 0;
}

static int skip_value(jparser *j);

/* Walks an object or array, calling skip_value on each element. */
static int skip_container(jparser *j, char close)
{
    if (enter(j) < 0) return -1;
    j->p++;
    if (peek(j) == (unsigned char)close) {
        j->p++;
        j->depth--;
        return 0;
    }
    for (;;) {
        if (close == '}') {
            const char *s;
            size_t n;
            if (peek(j) != '"') return jfail(j, "expected a string key");
            if (read_string(j, &s, &n) < 0 || expect(j, ':', "expected ':'") < 0) return -1;
        }
        if (skip_value(j) < 0) return -1;
        int ch = peek(j);
        j->p++;
        if (ch == ',') continue;
        if (ch == (unsigned char)close) break;
        j->p--;
        return jfail(j, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    j->depth--;
    return 0;
}

static int skip_value(jparser *j)
{
    const char *s;
    size_t n;
    number num;
    switch (peek(j)) {
    case '{': return skip_container(j, '}');
    case '[': return skip_container(j, ']');
    case '"': return read_string(j, &s, &n);
    case 't': return read_literal(j, "true");
    case 'f': return read_literal(j, "false");
    case 'n': return read_literal(j, "null");
    case -1: return jfail(j, "unexpected end of body");
    default: return read_number(j, &num);
    }
}

/* ---- shaped values ---- */

static int parse_value(jparser *j, const shape *s);

static int parse_object(jparser *j, const shape *s, int into)
{
    lua_State *L = j->L;
    if (enter(j) < 0) return -1;
    shape_index *ix = s && s->type == SHAPE_STRUCTURE ? shape_index_get(j->c, s) : NULL;
    shape_index *map = s && s->type == SHAPE_MAP ? shape_index_get(j->c, s) : NULL;   /* its hint only */
    int tab = into, fields = 0;
    if (!tab) {
        lua_createtable(L, 0, ix ? ix->size_hint : map ? map->size_hint : 0);
        tab = lua_gettop(L);
    }
    const shape *value_shape = s && s->type == SHAPE_MAP ? s->value.shape : NULL;
    j->p++;
    if (peek(j) == '}') {
        j->p++;
        j->depth--;
        return 1;
    }
    for (;;) {
        const char *key;
        size_t klen;
        if (peek(j) != '"') return jfail(j, "expected a string key");
        if (read_string(j, &key, &klen) < 0) return -1;
        if (ix) {                                           /* structure member */
            const member *m = shape_index_find(ix, key, klen);
            if (expect(j, ':', "expected ':'") < 0) return -1;
            int r = m ? parse_value(j, m->shape) : skip_value(j);
            if (r < 0) return -1;
            if (m && r == 1) {
                lua_setfield(L, tab, m->name);
                fields++;
            }
        } else {                                            /* map entry or generic object */
            lua_pushlstring(L, key, klen);
            if (expect(j, ':', "expected ':'") < 0) return -1;
            int r = parse_value(j, value_shape);
            if (r < 0) return -1;
            if (r == 1) {
                lua_rawset(L, tab);
                fields++;
            } else {
                lua_pop(L, 1);
            }
        }
        int ch = peek(j);
        j->p++;
        if (ch == ',') continue;
        if (ch == '}') break;
        j->p--;
        return jfail(j, "expected ',' or '}'");
    }
    j->depth--;
    if (ix && fields > ix->size_hint) ix->size_hint = fields;
    if (map) map->size_hint = fields < MAP_HINT_MAX ? fields : MAP_HINT_MAX;
    if (into) return 0;
    lua_settop(L, tab);
    return 1;
}

static int parse_array(jparser *j, const shape *element, int generic)
{
    lua_State *L = j->L;
    if (enter(j) < 0) return -1;
    luajson_new_array(L, 0);
    int tab = lua_gettop(L);
    lua_Integer n = 0;
    j->p++;
    if (peek(j) == ']') {
        j->p++;
        j->depth--;
        return 1;
    }
    for (;;) {
        int r = parse_value(j, element);
        if (r < 0) return -1;
        if (r == 0 && generic) {             /* a null inside a document array keeps its place */
            luajson_push_null(L);
            r = 1;
        }
        if (r == 1) lua_rawseti(L, tab, ++n);
        int ch = peek(j);
        j->p++;
        if (ch == ',') continue;
        if (ch == ']') break;
        j->p--;
        return jfail(j, "expected ',' or ']'");
    }
    j->depth--;
    return 1;
}

/* A string where shape s wants its value. */
static int push_string_as(lua_State *L, const shape *s, const char *str, size_t n)
{
    if (!s || s->type == SHAPE_STRING || s->type == SHAPE_BLOB || s->document) {
        lua_pushlstring(L, str, n);
        return 1;
    }
    return parse_push_scalar(L, s, str, n);   /* "NaN", "2014-04-29T18:30:38Z", "12" */
}

/* A number no double holds (1e999): dropping it would leave the field out
 * without a word, so it is an error. (A long past 64 bits becomes a double,
 * as botocore's float would.) */
static int out_of_range(const number *num)
{
    return !isfinite(strtod(num->text, NULL));
}

static int push_number_as(lua_State *L, const shape *s, const number *num)
{
    if (!s || s->document) return push_number(L, num, 0);
    switch (s->type) {
    case SHAPE_INTEGER:
    case SHAPE_LONG:
        return push_number(L, num, 1);
    case SHAPE_FLOAT:
    case SHAPE_DOUBLE: {
        double d = strtod(num->text, NULL);
        if (!isfinite(d)) return 0;
        lua_pushnumber(L, d);
        return 1;
    }
    case SHAPE_TIMESTAMP:
        return parse_push_timestamp(L, strtod(num->text, NULL));
    case SHAPE_STRING:
        lua_pushstring(L, num->text);
        return 1;
    default:
        return 0;
    }
}

/* Pushes the value at j->p as shape s (NULL = generic). Returns 1 when a
 * value was pushed, 0 when none (null, or a value that does not fit s). */
static int parse_value(jparser *j, const shape *s)
{
    lua_State *L = j->L;
    const char *str;
    size_t n;
    number num;
    int generic = !s || s->document;
    switch (peek(j)) {
    case '{':                    /* generic: null members are left out */
        if (generic) return parse_object(j, NULL, 0);
        if (s->type == SHAPE_STRUCTURE || s->type == SHAPE_MAP) return parse_object(j, s, 0);
        return skip_value(j);
    case '[':                    /* generic: null items become json.null, keeping positions */
        if (generic) return parse_array(j, NULL, 1);
        if (s->type == SHAPE_LIST) return parse_array(j, s->element.shape, 0);
        return skip_value(j);
    case '"':
        if (read_string(j, &str, &n) < 0) return -1;
        return push_string_as(L, generic ? NULL : s, str, n);
    case 't':
    case 'f': {
        int truth = *j->p == 't';
        if (read_literal(j, truth ? "true" : "false") < 0) return -1;
        if (!generic && s->type != SHAPE_BOOLEAN) return 0;
        lua_pushboolean(L, truth);
        return 1;
    }
    case 'n':
        return read_literal(j, "null") < 0 ? -1 : 0;
    case -1:
        return jfail(j, "unexpected end of body");
    default:
        if (read_number(j, &num) < 0) return -1;
        if (out_of_range(&num)) return jfail(j, "number out of range");
        return push_number_as(L, generic ? NULL : s, &num);
    }
}

static void init_parser(jparser *j, parse_ctx *c, const char *body, size_t len)
{
    memset(j, 0, sizeof *j);
    j->c = c;
    j->L = c->L;
    j->start = j->p = body;
    j->end = body + len;
    if (len >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0) j->p += 3;   /* a UTF-8 BOM */
}

static int check_start(jparser *j)
{
    if (peek(j) == '<') return jfail(j, "found '<' where JSON was expected (an XML or HTML body?)");
    return 0;
}

int json_parse_value(parse_ctx *c, const char *body, size_t len, const shape *s, int into, int *pushed)
{
    jparser j;
    init_parser(&j, c, body, len);
    lua_State *L = c->L;
    int top = lua_gettop(L);
    if (pushed) *pushed = 0;
    if (peek(&j) == -1) return 0;
    if (check_start(&j) < 0) return -1;
    int r;
    if (into && s->type == SHAPE_STRUCTURE && !s->document) {
        int ch = peek(&j);
        if (ch == 'n') r = read_literal(&j, "null");
        else if (ch != '{') r = jfail(&j, "expected a JSON object");
        else r = parse_object(&j, s, lua_absindex(L, into));
    } else {
        r = parse_value(&j, s);
    }
    if (r >= 0 && peek(&j) != -1) r = jfail(&j, "unexpected data after the JSON value");
    if (r < 0) {
        lua_settop(L, top);
        return -1;
    }
    if (pushed) *pushed = lua_gettop(L) > top;
    return 0;
}

/* ---- error bodies ---- */

static void copy_value(const char *s, size_t n, char *out, size_t size)
{
    if (n >= size) n = size - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

int json_error_fields(const char *body, size_t len, char *code, size_t codelen, char *message,
                      size_t msglen)
{
    /* Code: "__type" first, then "code"/"Code"; message: "message", "Message", "errorMessage". */
    static const char *const code_keys[] = { "__type", "code", "Code" };
    static const char *const msg_keys[] = { "message", "Message", "errorMessage" };
    char errbuf[128];
    parse_ctx c;
    parse_ctx_init(&c, NULL, NULL, NULL, errbuf, sizeof errbuf);
    jparser j;
    init_parser(&j, &c, body, len);
    int code_rank = 3, msg_rank = 3, rc = -1;
    if (peek(&j) != '{') goto out;
    j.p++;
    if (peek(&j) == '}') {
        rc = 0;
        goto out;
    }
    for (;;) {
        const char *key, *val;
        size_t klen, vlen;
        char keybuf[16] = "";
        if (peek(&j) != '"' || read_string(&j, &key, &klen) < 0) goto out;
        if (klen < sizeof keybuf) copy_value(key, klen, keybuf, sizeof keybuf);
        if (expect(&j, ':', "expected ':'") < 0) goto out;
        if (peek(&j) == '"') {
            if (read_string(&j, &val, &vlen) < 0) goto out;
            for (int i = 0; i < 3; i++) {
                if (i < code_rank && strcmp(keybuf, code_keys[i]) == 0) {
                    copy_value(val, vlen, code, codelen);
                    code_rank = i;
                }
                if (i < msg_rank && strcmp(keybuf, msg_keys[i]) == 0) {
                    copy_value(val, vlen, message, msglen);
                    msg_rank = i;
                }
            }
        } else if (skip_value(&j) < 0) {
            goto out;
        }
        int ch = peek(&j);
        j.p++;
        if (ch == ',') continue;
        if (ch == '}') break;
        goto out;
    }
    rc = 0;
out:
    parse_ctx_free(&c);
    return rc;
}
