/* fuzz_xml_scan.c -- the XML reader (xml_scan.c) against expat.
 *
 * Input: a document. Both read it and write down what they saw: each start
 * tag with its attributes, the text between tags (however it was cut into
 * pieces), each end tag. Checks:
 *   - a document both read gives the same record;
 *   - a document expat reads, xml_scan reads too, unless it is one xml_scan
 *     refuses on purpose (a DTD, an encoding other than UTF-8, UTF-16, a
 *     name past ASCII);
 *   - a document expat refuses, xml_scan refuses too (xml_scan may be more
 *     lenient only in the XML declaration's syntax, which it does not check
 *     beyond the encoding), with a reason and a position inside the input.
 * Everything xml_scan hands out thus holds only what expat lets through:
 * valid UTF-8, legal XML characters, balanced elements.
 */
#include <expat.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "xml_scan.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

/* The record: "<name a=v ...>" for a start, "[text]" for the text between two
 * tags, "</name>" for an end; lengths written out, so no content can fake a
 * delimiter. */
typedef struct record {
    buf out, text;
} record;

static void put_field(buf *b, const char *s, size_t n)
{
    buf_putll(b, (long long)n);
    buf_putc(b, ':');
    buf_append(b, s, n);
}

static void flush_text(record *r)
{
    if (!r->text.len) return;
    buf_puts(&r->out, "[");
    put_field(&r->out, r->text.data, r->text.len);
    buf_puts(&r->out, "]");
    buf_clear(&r->text);
}

static void rec_start(record *r, const char *name, size_t len)
{
    flush_text(r);
    buf_puts(&r->out, "<");
    put_field(&r->out, name, len);
}

static void rec_attr(record *r, const char *name, size_t nlen, const char *value, size_t vlen)
{
    buf_puts(&r->out, " ");
    put_field(&r->out, name, nlen);
    buf_puts(&r->out, "=");
    put_field(&r->out, value, vlen);
}

static void rec_end(record *r, const char *name, size_t len)
{
    flush_text(r);
    buf_puts(&r->out, "</");
    put_field(&r->out, name, len);
    buf_puts(&r->out, ">");
}

/* ---- xml_scan ---- */

static int scan_start(void *ud, const char *name, size_t len, const xml_attr *attrs, size_t n)
{
    rec_start(ud, name, len);
    for (size_t i = 0; i < n; i++) rec_attr(ud, attrs[i].name, attrs[i].name_len, attrs[i].value, attrs[i].value_len);
    buf_puts(&((record *)ud)->out, ">");
    return 0;
}

static int scan_text(void *ud, const char *s, size_t len)
{
    buf_append(&((record *)ud)->text, s, len);
    return 0;
}

static int scan_end(void *ud, const char *name, size_t len)
{
    rec_end(ud, name, len);
    return 0;
}

/* ---- expat ---- */

static void XMLCALL expat_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    rec_start(ud, name, strlen(name));
    for (; atts[0]; atts += 2) rec_attr(ud, atts[0], strlen(atts[0]), atts[1], strlen(atts[1]));
    buf_puts(&((record *)ud)->out, ">");
}

static void XMLCALL expat_text(void *ud, const XML_Char *s, int len)
{
    buf_append(&((record *)ud)->text, s, (size_t)len);
}

static void XMLCALL expat_end(void *ud, const XML_Char *name)
{
    rec_end(ud, name, strlen(name));
}

/* What xml_scan refuses on purpose, though expat reads it. */
static int refused_on_purpose(const char *doc, size_t n, const char *why)
{
    if (why == XML_DTD || why == XML_ENCODING || why == XML_NAME_PAST_ASCII) return 1;
    if (n >= 2 && (((unsigned char)doc[0] == 0xFE && (unsigned char)doc[1] == 0xFF) ||
                   ((unsigned char)doc[0] == 0xFF && (unsigned char)doc[1] == 0xFE)))
        return 1;                                                 /* UTF-16 by its byte order mark */
    if (n >= 2 && (doc[0] == 0 || doc[1] == 0)) return 1;         /* UTF-16 by its first character */
    return 0;
}

/* Where xml_scan may be more lenient than expat: inside the XML declaration. */
static int lenient_on_purpose(const char *doc, size_t n)
{
    const char *d = doc;
    if (n >= 3 && memcmp(d, "\xEF\xBB\xBF", 3) == 0) d += 3, n -= 3;
    return n >= 5 && memcmp(d, "<?xml", 5) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *doc = (const char *)data;
    record ours = {0}, theirs = {0};

    xml_scanner s = {0};
    static const xml_events ev = {scan_start, scan_text, scan_end};
    int rc = xml_scan(&s, doc, size, &ev, &ours);
    fuzz_check(rc == XML_DONE || rc == XML_MALFORMED, "no callback stops this scan");
    if (rc == XML_MALFORMED) fuzz_check(s.error && s.error[0] && s.pos <= size, "a refusal says why and where");
    const char *why = s.error;
    if (rc == XML_DONE) flush_text(&ours);
    xml_scan_free(&s);

    XML_Parser p = XML_ParserCreate(NULL);
    XML_SetUserData(p, &theirs);
    XML_SetElementHandler(p, expat_start, expat_end);
    XML_SetCharacterDataHandler(p, expat_text);
    int expat_ok = size <= 0x7fffffff && XML_Parse(p, doc, (int)size, 1) == XML_STATUS_OK;
    XML_ParserFree(p);
    if (expat_ok) flush_text(&theirs);

    if (expat_ok && rc == XML_DONE) {
        fuzz_check(ours.out.len == theirs.out.len && memcmp(ours.out.data, theirs.out.data, ours.out.len) == 0,
                   "xml_scan and expat see the same document");
    } else if (expat_ok) {
        fuzz_check(refused_on_purpose(doc, size, why), "xml_scan reads what expat reads");
    } else if (rc == XML_DONE) {
        fuzz_check(lenient_on_purpose(doc, size), "xml_scan refuses what expat refuses");
    }
    buf_free(&ours.out);
    buf_free(&ours.text);
    buf_free(&theirs.out);
    buf_free(&theirs.text);
    return 0;
}
