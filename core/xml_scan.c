/* xml_scan.c -- an XML document as start / text / end events (see xml_scan.h).
 *
 * Why not expat: parsing the XML of a 10k-resource scan (26 MB) was a third
 * of the scan's instructions, two thirds of that inside expat itself: it
 * pools every name, calls back for each stretch of whitespace and handles
 * encodings, DTDs and entities that AWS never sends. Here text runs are found
 * with a byte-class table and handed over where they lie.
 *
 * The scan is a loop over the content of the document with a cursor (struct
 * scan). Markup is read by one function each: start tag, end tag, comment,
 * CDATA section, processing instruction. A function returns 0 to go on, or
 * XML_MALFORMED / XML_STOPPED, which the loop passes straight out.
 */
#include "xml_scan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Byte classes, one table for all the runs the scanner looks for. */
enum {
    B_TEXT  = 1,    /* needs no attention in character data */
    B_NAME  = 2,    /* may be in a name (ASCII only: see name()) */
    B_START = 4,    /* may start a name */
    B_SPACE = 8,    /* XML white space */
    B_ATTR  = 16    /* needs no attention in an attribute value */
};

static unsigned char byte_class[256];

/* Built once, before the first scan (awstopo scans on one thread). */
static void classes_init(void)
{
    if (byte_class['a']) return;
    for (int c = 0; c < 256; c++) {
        unsigned char k = 0;
        int ascii_name_start = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if ((c >= 0x20 && c < 0x80 && c != '<' && c != '&' && c != ']') || c == '\n' || c == '\t') k |= B_TEXT;
        if (c >= 0x20 && c < 0x80 && c != '<' && c != '&') k |= B_ATTR;
        if (ascii_name_start) k |= B_START | B_NAME;
        if ((c >= '0' && c <= '9') || c == '-' || c == '.') k |= B_NAME;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') k |= B_SPACE;
        byte_class[c] = k;
    }
}

const char XML_NAME_PAST_ASCII[] = "a name with a character past ASCII, which AWS never sends";
const char XML_DTD[] = "a document type declaration (DTD), which AWS never sends";
const char XML_ENCODING[] = "an encoding other than UTF-8, which AWS never sends";

#define IS(c, k) (byte_class[(unsigned char)(c)] & (k))

typedef struct scan {
    xml_scanner *s;
    const char *p, *end;
    const xml_events *ev;
    void *ud;
} scan;

static int malformed(scan *sc, const char *at, const char *why)
{
    sc->s->pos = (size_t)(at - sc->s->doc);
    sc->s->error = why;
    return XML_MALFORMED;
}

static int starts(const scan *sc, const char *p, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(sc->end - p) >= n && memcmp(p, lit, n) == 0;
}

/* The length (2 to 4) of the UTF-8 sequence at p if it is an XML character, else 0. */
static size_t utf8_char(const char *p, const char *end)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t avail = (size_t)(end - p);
    uint32_t cp;
    if (u[0] >= 0xC2 && u[0] <= 0xDF) {
        return avail >= 2 && (u[1] & 0xC0) == 0x80 ? 2 : 0;
    } else if (u[0] >= 0xE0 && u[0] <= 0xEF) {
        if (avail < 3 || (u[1] & 0xC0) != 0x80 || (u[2] & 0xC0) != 0x80) return 0;
        cp = (uint32_t)(u[0] & 0x0F) << 12 | (uint32_t)(u[1] & 0x3F) << 6 | (u[2] & 0x3F);
        return cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF) && cp != 0xFFFE && cp != 0xFFFF ? 3 : 0;
    } else if (u[0] >= 0xF0 && u[0] <= 0xF4) {
        if (avail < 4 || (u[1] & 0xC0) != 0x80 || (u[2] & 0xC0) != 0x80 || (u[3] & 0xC0) != 0x80) return 0;
        cp = (uint32_t)(u[0] & 0x07) << 18 | (uint32_t)(u[1] & 0x3F) << 12 | (uint32_t)(u[2] & 0x3F) << 6 |
             (u[3] & 0x3F);
        return cp >= 0x10000 && cp <= 0x10FFFF ? 4 : 0;
    }
    return 0;
}

/* The first byte of p[0..end) that is not part of an XML character, or NULL
 * (for comments, PIs and CDATA, which are read whole). */
static const char *bad_char(const char *p, const char *end)
{
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x80) {
            size_t n = utf8_char(p, end);
            if (!n) return p;
            p += n;
        } else if (c < 0x20 && !IS(c, B_SPACE)) {
            return p;
        } else {
            p++;
        }
    }
    return NULL;
}

/* The reference at p ('&') appended to out as UTF-8; returns what follows its
 * ';', or NULL (with *why) when it is no predefined entity or legal character. */
static const char *reference(const char *p, const char *end, buf *out, const char **why)
{
    static const struct { const char *name; char c; } predefined[] = {
        {"lt;", '<'}, {"gt;", '>'}, {"amp;", '&'}, {"quot;", '"'}, {"apos;", '\''},
    };
    p++;
    if (p < end && *p == '#') {
        int hex = ++p < end && *p == 'x';
        uint32_t cp = 0;
        const char *digits = p += hex;
        for (; p < end && *p != ';'; p++) {
            int d = *p >= '0' && *p <= '9' ? *p - '0'
                  : hex && (*p | 0x20) >= 'a' && (*p | 0x20) <= 'f' ? (*p | 0x20) - 'a' + 10 : -1;
            if (d < 0 || cp > 0x10FFFF) break;
            cp = cp * (hex ? 16 : 10) + (uint32_t)d;
        }
        int legal = cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
                    (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
        if (p == end || *p != ';' || p == digits || !legal) {
            *why = "reference to invalid character number";
            return NULL;
        }
        buf_put_utf8(out, cp);
        return p + 1;
    }
    for (size_t i = 0; i < sizeof predefined / sizeof predefined[0]; i++) {
        size_t n = strlen(predefined[i].name);
        if ((size_t)(end - p) >= n && memcmp(p, predefined[i].name, n) == 0) {
            buf_append(out, &predefined[i].c, 1);
            return p + n;
        }
    }
    *why = "undefined entity";
    return NULL;
}

/* 0, or malformed at the first byte of p[0..end) that is no XML character. */
static int legal_chars(scan *sc, const char *p, const char *end)
{
    const char *bad = bad_char(p, end);
    return bad ? malformed(sc, bad, "not well-formed (invalid token)") : 0;
}

/* ---- character data ---- */

static int emit_text(scan *sc, const char *p, size_t n)
{
    if (!n || !sc->ev->text) return 0;
    return sc->ev->text(sc->ud, p, n) ? XML_STOPPED : 0;
}

/* Character data up to the next '<' (or the end). Plain runs go out where
 * they are; references and line ends (\r\n and \r become \n) go out from the
 * scratch buffer. */
static int text(scan *sc)
{
    const char *p = sc->p, *run = p, *end = sc->end;
    buf *tmp = &sc->s->scratch;
    int rc;
    for (;;) {
        while (p < end && IS(*p, B_TEXT)) p++;
        if (p == end || *p == '<') break;
        unsigned char c = (unsigned char)*p;
        if (c >= 0x80) {
            size_t n = utf8_char(p, end);
            if (!n) return malformed(sc, p, "not well-formed (invalid token)");
            p += n;
            continue;
        }
        if (c == ']') {
            if (starts(sc, p, "]]>")) return malformed(sc, p, "not well-formed (']]>' in text)");
            p++;
            continue;
        }
        if ((rc = emit_text(sc, run, (size_t)(p - run)))) return rc;
        buf_clear(tmp);
        if (c == '&') {
            const char *why;
            const char *after = reference(p, end, tmp, &why);
            if (!after) return malformed(sc, p, why);
            p = after;
        } else if (c == '\r') {
            buf_append(tmp, "\n", 1);
            p += p + 1 < end && p[1] == '\n' ? 2 : 1;
        } else {
            return malformed(sc, p, "not well-formed (invalid token)");
        }
        if ((rc = emit_text(sc, tmp->data, tmp->len))) return rc;
        run = p;
    }
    sc->p = p;
    return emit_text(sc, run, (size_t)(p - run));
}

/* The character data of a CDATA section, p[0..end): as it is, but for line ends. */
static int literal_text(scan *sc, const char *p, const char *end)
{
    int rc;
    for (const char *cr; (cr = memchr(p, '\r', (size_t)(end - p))) != NULL; p = cr + 1 + (cr + 1 < end && cr[1] == '\n')) {
        if ((rc = emit_text(sc, p, (size_t)(cr - p))) || (rc = emit_text(sc, "\n", 1))) return rc;
    }
    return emit_text(sc, p, (size_t)(end - p));
}

/* ---- markup ---- */

static const char *skip_space(const char *p, const char *end)
{
    while (p < end && IS(*p, B_SPACE)) p++;
    return p;
}

/* The name at p: *ne is set to its end. Names are taken in ASCII only: XML
 * allows most of Unicode in them, by tables that differ between its editions,
 * and AWS never uses a name past ASCII. */
static int name(scan *sc, const char *p, const char **ne)
{
    const char *q = p;
    if (q < sc->end && IS(*q, B_START))
        while (++q < sc->end && IS(*q, B_NAME)) {}
    if (q < sc->end && (unsigned char)*q >= 0x80) return malformed(sc, q, XML_NAME_PAST_ASCII);
    if (q == p) return malformed(sc, p, q == sc->end ? "unclosed token" : "not well-formed (invalid token)");
    *ne = q;
    return 0;
}

/* "<!--" ... "-->", where "--" may not occur inside. */
static int comment(scan *sc)
{
    const char *body = sc->p + 4;
    const char *dash = memmem(body, (size_t)(sc->end - body), "--", 2);
    if (!dash) return malformed(sc, sc->end, "unclosed token");
    if (dash + 2 >= sc->end || dash[2] != '>') return malformed(sc, dash, "not well-formed (\"--\" in a comment)");
    int rc = legal_chars(sc, body, dash);
    if (rc) return rc;
    sc->p = dash + 3;
    return 0;
}

/* "<?target ...?>". The XML declaration is read by declaration(). */
static int instruction(scan *sc)
{
    const char *target = sc->p + 2, *te;
    int rc = name(sc, target, &te);
    if (rc) return rc;
    if (te - target == 3 && strncasecmp(target, "xml", 3) == 0)
        return malformed(sc, sc->p, "XML or text declaration not at start of entity");
    const char *close = memmem(te, (size_t)(sc->end - te), "?>", 2);
    if (!close) return malformed(sc, sc->end, "unclosed token");
    if (close != te && !IS(*te, B_SPACE)) return malformed(sc, te, "not well-formed (invalid token)");
    if ((rc = legal_chars(sc, te, close))) return rc;
    sc->p = close + 2;
    return 0;
}

/* "<?xml version=... encoding=...?>" at the start: only UTF-8 (or ASCII) is read. */
static int declaration(scan *sc)
{
    const char *close = memmem(sc->p, (size_t)(sc->end - sc->p), "?>", 2);
    if (!close) return malformed(sc, sc->end, "unclosed token");
    const char *enc = memmem(sc->p, (size_t)(close - sc->p), "encoding", 8);
    if (enc) {
        const char *v = skip_space(enc + 8, close);
        if (v < close && *v == '=') v = skip_space(v + 1, close);
        if (v >= close || (*v != '"' && *v != '\'')) return malformed(sc, enc, "XML declaration not well-formed");
        const char *ve = memchr(v + 1, *v, (size_t)(close - v - 1));
        if (!ve) return malformed(sc, enc, "XML declaration not well-formed");
        size_t n = (size_t)(ve - v - 1);
        if (!((n == 5 && strncasecmp(v + 1, "UTF-8", 5) == 0) || (n == 8 && strncasecmp(v + 1, "US-ASCII", 8) == 0)))
            return malformed(sc, v + 1, XML_ENCODING);
    }
    int rc = legal_chars(sc, sc->p, close);
    if (rc) return rc;
    sc->p = close + 2;
    return 0;
}

static int cdata(scan *sc)
{
    const char *body = sc->p + 9;
    const char *close = memmem(body, (size_t)(sc->end - body), "]]>", 3);
    if (!close) return malformed(sc, sc->end, "unclosed CDATA section");
    int rc = legal_chars(sc, body, close);
    if (rc) return rc;
    sc->p = close + 3;
    return literal_text(sc, body, close);
}

/* An attribute value's raw bytes v[0..n) made into what the attribute holds:
 * references replaced, each white-space character a space (\r\n one space). */
static int attr_value(scan *sc, const char *v, const char *ve, buf *out)
{
    for (const char *p = v; p < ve;) {
        unsigned char c = (unsigned char)*p;
        size_t n;
        if (IS(c, B_ATTR)) {
            buf_append(out, p++, 1);
        } else if (c == '&') {
            const char *why;
            const char *after = reference(p, ve, out, &why);
            if (!after) return malformed(sc, p, why);
            p = after;
        } else if (IS(c, B_SPACE)) {
            buf_append(out, " ", 1);
            p += c == '\r' && p + 1 < ve && p[1] == '\n' ? 2 : 1;
        } else if (c >= 0x80 && (n = utf8_char(p, ve)) != 0) {
            buf_append(out, p, n);
            p += n;
        } else if (c == '<') {
            return malformed(sc, p, "not well-formed ('<' in an attribute value)");
        } else {
            return malformed(sc, p, "not well-formed (invalid token)");
        }
    }
    return 0;
}

static int push_open(scan *sc, const char *tag, size_t len)
{
    xml_scanner *s = sc->s;
    if (s->depth == XML_MAX_DEPTH) return malformed(sc, tag, "elements nested too deep");
    if (s->depth == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->open = xrealloc(s->open, s->cap * sizeof *s->open);
    }
    s->open[s->depth++] = (xml_name){tag, len};
    return 0;
}

/* Attributes of a start tag, from sc->p (just past the name) to its '>' or
 * "/>". Values that need no change point into the document; the others are
 * made in the scratch buffer once all are read (it may move while growing). */
static int attributes(scan *sc, int *empty)
{
    xml_scanner *s = sc->s;
    const char *p = sc->p, *end = sc->end;
    s->nattrs = 0;
    for (;;) {
        const char *q = skip_space(p, end);
        if (q == end) return malformed(sc, end, "unclosed token");
        if (*q == '>' || (*q == '/' && q + 1 < end && q[1] == '>')) {
            *empty = *q == '/';
            sc->p = q + 1 + *empty;
            break;
        }
        const char *ne;
        if (q == p) return malformed(sc, q, "not well-formed (invalid token)");
        int rc = name(sc, q, &ne);
        if (rc) return rc;
        const char *v = skip_space(ne, end);
        if (v == end || *v != '=') return malformed(sc, v, "not well-formed (invalid token)");
        v = skip_space(v + 1, end);
        if (v == end || (*v != '"' && *v != '\'')) return malformed(sc, v, "not well-formed (invalid token)");
        const char *ve = memchr(v + 1, *v, (size_t)(end - v - 1));
        if (!ve) return malformed(sc, end, "unclosed token");
        for (size_t i = 0; i < s->nattrs; i++)
            if (s->attrs[i].name_len == (size_t)(ne - q) && memcmp(s->attrs[i].name, q, s->attrs[i].name_len) == 0)
                return malformed(sc, q, "duplicate attribute");
        if (s->nattrs == s->attrs_cap) {
            s->attrs_cap = s->attrs_cap ? s->attrs_cap * 2 : 8;
            s->attrs = xrealloc(s->attrs, s->attrs_cap * sizeof *s->attrs);
        }
        s->attrs[s->nattrs++] = (xml_attr){q, v + 1, (size_t)(ne - q), (size_t)(ve - v - 1)};
        p = ve + 1;
    }
    /* A value's replacement is never longer than its raw bytes (a reference
     * is longer than the character it stands for), so with room for all of
     * them reserved first, the scratch block does not move under the values
     * already made in it. */
    size_t room = 0;
    for (size_t i = 0; i < s->nattrs; i++) room += s->attrs[i].value_len;
    buf_clear(&s->scratch);
    buf_reserve(&s->scratch, room);
    for (size_t i = 0; i < s->nattrs; i++) {
        xml_attr *a = &s->attrs[i];
        const char *v = a->value, *ve = v + a->value_len, *r = v;
        while (r < ve && IS(*r, B_ATTR)) r++;
        if (r == ve) continue;
        size_t at = s->scratch.len;
        int rc = attr_value(sc, v, ve, &s->scratch);
        if (rc) return rc;
        a->value = s->scratch.data + at;
        a->value_len = s->scratch.len - at;
    }
    return 0;
}

/* "<name attr='v' ...>" or "<name .../>". */
static int start_tag(scan *sc)
{
    xml_scanner *s = sc->s;
    const char *tag = sc->p + 1, *ne;
    int empty = 0, rc;
    if ((rc = name(sc, tag, &ne))) return rc;
    s->pos = (size_t)(sc->p - s->doc);
    sc->p = ne;
    if ((rc = attributes(sc, &empty)) || (rc = push_open(sc, tag, (size_t)(ne - tag)))) return rc;
    if (sc->ev->start && sc->ev->start(sc->ud, tag, (size_t)(ne - tag), s->attrs, s->nattrs)) return XML_STOPPED;
    if (!empty) return 0;
    s->depth--;
    return sc->ev->end && sc->ev->end(sc->ud, tag, (size_t)(ne - tag)) ? XML_STOPPED : 0;
}

/* "</name>", which must close the innermost open element: its name is
 * compared with the open one's rather than read again (the open one was
 * checked when it was read); only a mismatch reads it, for the reason. */
static int end_tag(scan *sc)
{
    xml_scanner *s = sc->s;
    const xml_name *open = &s->open[s->depth - 1];
    const char *tag = sc->p + 2, *ne = tag + open->len;
    if ((size_t)(sc->end - tag) < open->len || memcmp(tag, open->p, open->len) != 0 ||
        (ne < sc->end && (IS(*ne, B_NAME) || (unsigned char)*ne >= 0x80))) {
        int rc = name(sc, tag, &ne);
        return rc ? rc : malformed(sc, sc->p, "mismatched tag");
    }
    const char *gt = skip_space(ne, sc->end);
    if (gt == sc->end) return malformed(sc, sc->end, "unclosed token");
    if (*gt != '>') return malformed(sc, gt, "not well-formed (invalid token)");
    s->pos = (size_t)(sc->p - s->doc);
    sc->p = gt + 1;
    s->depth--;
    return sc->ev->end && sc->ev->end(sc->ud, tag, (size_t)(ne - tag)) ? XML_STOPPED : 0;
}

/* Markup inside the root element: sc->p is at its '<'. */
static int content_markup(scan *sc)
{
    const char *p = sc->p;
    if (p + 1 == sc->end) return malformed(sc, sc->end, "unclosed token");
    switch (p[1]) {
    case '/':
        return end_tag(sc);
    case '?':
        return instruction(sc);
    case '!':
        if (starts(sc, p, "<!--")) return comment(sc);
        if (starts(sc, p, "<![CDATA[")) return cdata(sc);
        return malformed(sc, p, "not well-formed (invalid token)");
    default:
        return start_tag(sc);
    }
}

/* Outside the root element: white space, comments, processing instructions;
 * before it also the root's start tag. A DTD is refused (see xml_scan.h). */
static int outside(scan *sc, int *seen_root)
{
    int before_root = !*seen_root;
    sc->p = skip_space(sc->p, sc->end);
    const char *p = sc->p;
    if (p == sc->end) return 0;
    if (*p != '<') return malformed(sc, p, before_root ? "not well-formed (invalid token)" : "junk after document element");
    if (starts(sc, p, "<!--")) return comment(sc);
    if (starts(sc, p, "<?")) return instruction(sc);
    if (starts(sc, p, "<!DOCTYPE")) return malformed(sc, p, XML_DTD);
    if (!before_root) return malformed(sc, p, "junk after document element");
    *seen_root = 1;
    return start_tag(sc);
}

int xml_scan(xml_scanner *s, const char *doc, size_t len, const xml_events *ev, void *ud)
{
    classes_init();
    if (!doc) doc = "";                 /* an empty body may have no block (buf) */
    scan sc = {s, doc, doc + len, ev, ud};
    s->doc = doc;
    s->pos = 0;
    s->error = NULL;
    s->depth = 0;
    if (starts(&sc, sc.p, "\xEF\xBB\xBF")) sc.p += 3;                /* a UTF-8 byte order mark */
    if (starts(&sc, sc.p, "<?xml") && sc.p + 5 < sc.end && IS(sc.p[5], B_SPACE)) {
        int rc = declaration(&sc);
        if (rc) return rc;
    }
    int seen_root = 0, rc;
    while (sc.p < sc.end) {
        if (s->depth == 0) {
            if ((rc = outside(&sc, &seen_root))) return rc;
        } else if (*sc.p == '<') {
            if ((rc = content_markup(&sc))) return rc;
        } else if ((rc = text(&sc))) {
            return rc;
        }
    }
    if (!seen_root) return malformed(&sc, sc.end, "no element found");
    if (s->depth) return malformed(&sc, sc.end, "unclosed token");
    return XML_DONE;
}

unsigned long xml_scan_line(const xml_scanner *s)
{
    unsigned long line = 1;
    const char *p = s->doc, *end = s->doc + s->pos;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) line++, p++;
    return line;
}

void xml_scan_free(xml_scanner *s)
{
    free(s->open);
    free(s->attrs);
    buf_wipe(&s->scratch);          /* replaced text of an STS answer may be a secret's */
    memset(s, 0, sizeof *s);
}
