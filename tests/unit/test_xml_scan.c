/* test_xml_scan.c -- the XML reader (xml_scan.c): what it hands out, what it
 * refuses and where. fuzz_xml_scan compares it with expat on many more
 * documents; these are the cases worth naming. */
#include <string.h>

#include "buf.h"
#include "testlib.h"
#include "xml_scan.h"

/* What a scan saw, written out: "<name a=[v]>", "[text]" (pieces joined),
 * "</name>". */
typedef struct seen {
    buf out, text;
    int pieces;            /* text callbacks */
    int zero_copy;         /* text pieces pointing into the document */
    const char *doc;
    size_t doc_len;
    int stop_at;           /* stop at the nth start tag (1-based), 0 = never */
    int starts;
} seen;

static void flush(seen *s)
{
    if (!s->text.len) return;
    buf_printf(&s->out, "[%s]", s->text.data);
    buf_clear(&s->text);
}

static int on_start(void *ud, const char *name, size_t len, const xml_attr *a, size_t n)
{
    seen *s = ud;
    flush(s);
    buf_printf(&s->out, "<%.*s", (int)len, name);
    for (size_t i = 0; i < n; i++)
        buf_printf(&s->out, " %.*s=[%.*s]", (int)a[i].name_len, a[i].name, (int)a[i].value_len, a[i].value);
    buf_puts(&s->out, ">");
    return ++s->starts == s->stop_at;
}

static int on_text(void *ud, const char *p, size_t len)
{
    seen *s = ud;
    s->pieces++;
    if (p >= s->doc && p + len <= s->doc + s->doc_len) s->zero_copy++;
    buf_append(&s->text, p, len);
    return 0;
}

static int on_end(void *ud, const char *name, size_t len)
{
    seen *s = ud;
    flush(s);
    buf_printf(&s->out, "</%.*s>", (int)len, name);
    return 0;
}

static const xml_events events = {on_start, on_text, on_end};

/* Scans doc; returns the record (static) or "ERROR <reason> @<line>:<offset>". */
static const char *scan_n(const char *doc, size_t len, seen *s)
{
    static buf result;
    xml_scanner sc = {0};
    s->doc = doc;
    s->doc_len = len;
    int rc = xml_scan(&sc, doc, len, &events, s);
    flush(s);
    buf_clear(&result);
    if (rc == XML_MALFORMED) {
        buf_printf(&result, "ERROR %s @%lu:%zu", sc.error, xml_scan_line(&sc), sc.pos);
    } else {
        buf_puts(&result, buf_cstr(&s->out));
        if (rc == XML_STOPPED) buf_puts(&result, " STOPPED");
    }
    xml_scan_free(&sc);
    buf_free(&s->out);
    buf_free(&s->text);
    return buf_cstr(&result);
}

static const char *scan(const char *doc)
{
    seen s = {0};
    return scan_n(doc, strlen(doc), &s);
}

static void expect(const char *doc, const char *want)
{
    const char *got = scan(doc);
    CHECK(strcmp(got, want) == 0, "%s\n  got  %s\n  want %s", doc, got, want);
}

/* The reason only (the position is checked where it matters). */
static void refused(const char *doc, const char *reason)
{
    const char *got = scan(doc);
    CHECK(strncmp(got, "ERROR ", 6) == 0 && strstr(got, reason), "%s\n  got  %s\n  want ERROR %s", doc, got, reason);
}

static void test_documents(void)
{
    expect("<a/>", "<a></a>");
    expect("<a></a>", "<a></a>");
    expect("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeVpcsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
           "\n  <vpcSet><item><vpcId>vpc-1</vpcId></item></vpcSet>\n</DescribeVpcsResponse>\n",
           "<DescribeVpcsResponse xmlns=[http://ec2.amazonaws.com/doc/2016-11-15/]>[\n  ]<vpcSet><item><vpcId>[vpc-1]"
           "</vpcId></item></vpcSet>[\n]</DescribeVpcsResponse>");
    expect("\xEF\xBB\xBF<a>b</a>", "<a>[b]</a>");                             /* a UTF-8 byte order mark */
    expect("<?xml version='1.0' encoding='us-ascii'?><a/>", "<a></a>");
    expect("<p:a xmlns:p='urn:p'><p:b/></p:a >", "<p:a xmlns:p=[urn:p]><p:b></p:b></p:a>");
    expect("<!-- before --><?pi data?><a><!-- in --><?x?>t</a><!-- after -->\n", "<a>[t]</a>");
    expect("<a><![CDATA[<b> & ]] ]]></a>", "<a>[<b> & ]] ]</a>");
}

static void test_text(void)
{
    expect("<a>&lt;&gt;&amp;&quot;&apos;</a>", "<a>[<>&\"']</a>");
    expect("<a>&#65;&#x42;&#x20AC;&#128512;</a>", "<a>[AB\xE2\x82\xAC\xF0\x9F\x98\x80]</a>");
    expect("<a>x&#xD;y</a>", "<a>[x\ry]</a>");                                 /* a reference keeps \r */
    expect("<a>1\r\n2\r3\n4</a>", "<a>[1\n2\n3\n4]</a>");                       /* line ends become \n */
    expect("<a>caf\xC3\xA9 \xF0\x9F\x98\x80 ]></a>", "<a>[caf\xC3\xA9 \xF0\x9F\x98\x80 ]>]</a>");
    refused("<a>&nbsp;</a>", "undefined entity");
    refused("<a>&amp</a>", "undefined entity");
    refused("<a>&#0;</a>", "invalid character number");
    refused("<a>&#xD800;</a>", "invalid character number");
    refused("<a>&#x110000;</a>", "invalid character number");
    refused("<a>&#;</a>", "invalid character number");
    refused("<a>]]></a>", "']]>' in text");
    refused("<a>\x01</a>", "invalid token");
    refused("<a>\xFF</a>", "invalid token");                                  /* not UTF-8 */
    refused("<a>\xC0\x80</a>", "invalid token");                              /* overlong */
    refused("<a>\xED\xA0\x80</a>", "invalid token");                          /* a surrogate */
    refused("<a>\xEF\xBF\xBE</a>", "invalid token");                          /* U+FFFE */
    refused("<a>\xE2\x82</a>", "invalid token");                              /* cut short */

    /* Plain text is handed out where it lies; only replaced parts are copied. */
    seen s = {0};
    scan_n("<a>plain text</a>", 17, &s);
    CHECK(s.pieces == 1 && s.zero_copy == 1, "one piece, in the document: %d, %d", s.pieces, s.zero_copy);
    seen r = {0};
    scan_n("<a>x &amp; y</a>", 16, &r);
    CHECK(r.pieces == 3 && r.zero_copy == 2, "x, &, y: %d pieces, %d in the document", r.pieces, r.zero_copy);
}

static void test_attributes(void)
{
    expect("<a x='1' y=\"2\" z = '3'/>", "<a x=[1] y=[2] z=[3]></a>");
    expect("<a x='say \"hi\"' y=\"it's\"/>", "<a x=[say \"hi\"] y=[it's]></a>");
    expect("<a x='&lt;&amp;&#x41;'/>", "<a x=[<&A]></a>");
    expect("<a x='1\t2\n3\r\n4\r5'/>", "<a x=[1 2 3 4 5]></a>");              /* white space normalized */
    expect("<a x='&#xA;&#9;'/>", "<a x=[\n\t]></a>");                          /* ... but not references */
    expect("<a x='>'/>", "<a x=[>]></a>");
    refused("<a x='1' x='2'/>", "duplicate attribute");
    refused("<a x='<'/>", "'<' in an attribute value");
    refused("<a x=1/>", "invalid token");
    refused("<a x/>", "invalid token");
    refused("<a x='1'y='2'/>", "invalid token");                               /* no space between */
    refused("<a x='1/>", "unclosed token");
}

static void test_structure(void)
{
    refused("", "no element found");
    xml_scanner none = {0};
    CHECK(xml_scan(&none, NULL, 0, &events, NULL) == XML_MALFORMED && strcmp(none.error, "no element found") == 0,
          "an empty body without a block: %s", none.error ? none.error : "(accepted)");
    xml_scan_free(&none);
    refused("   \n", "no element found");
    refused("<a><b></a>", "mismatched tag");
    refused("<a></a><b/>", "junk after document element");
    refused("<a></a>x", "junk after document element");
    refused("x<a/>", "invalid token");
    refused("<a>", "unclosed token");
    refused("<a><b>t", "unclosed token");
    refused("<a", "unclosed token");
    refused("<a></a", "unclosed token");
    refused("< a/>", "invalid token");
    refused("<1a/>", "invalid token");
    refused("<a><!-- x -- y --></a>", "\"--\" in a comment");
    refused("<a><!-- x </a>", "unclosed token");
    refused("<a><![CDATA[x</a>", "unclosed CDATA section");
    refused("<a><!ELEMENT x></a>", "invalid token");
    refused(" <?xml version='1.0'?><a/>", "XML or text declaration not at start");
    refused("<a><?xml version='1.0'?></a>", "XML or text declaration not at start");

    /* Refused on purpose, though well-formed: each with its own reason. */
    CHECK(strstr(scan("<!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>"), XML_DTD) != NULL, "a DTD is refused");
    CHECK(strstr(scan("<?xml version='1.0' encoding='ISO-8859-1'?><a/>"), XML_ENCODING) != NULL, "latin-1 is refused");
    CHECK(strstr(scan("<caf\xC3\xA9/>"), XML_NAME_PAST_ASCII) != NULL, "a name past ASCII is refused");
    CHECK(strstr(scan("<a x\xC3\xA9='1'/>"), XML_NAME_PAST_ASCII) != NULL, "an attribute name past ASCII too");

    /* Nesting is bounded. */
    buf deep = {0};
    for (int i = 0; i <= XML_MAX_DEPTH; i++) buf_puts(&deep, "<a>");
    refused(deep.data, "nested too deep");
    buf_free(&deep);
}

static void test_positions_and_stop(void)
{
    const char *got = scan("<a>\n<b>\n</c>");
    CHECK(strcmp(got, "ERROR mismatched tag @3:8") == 0, "the end tag's line and offset: %s", got);
    got = scan("<a>\n<b>\n");
    CHECK(strcmp(got, "ERROR unclosed token @3:8") == 0, "the end of the input: %s", got);
    got = scan("<a>\n\n  &bad;</a>");
    CHECK(strcmp(got, "ERROR undefined entity @3:7") == 0, "the reference: %s", got);
    /* A callback stops the scan: nothing after it is reported. */
    seen s = {.stop_at = 2};
    const char *doc = "<a><b>t</b><c/></a>";
    CHECK_STR(scan_n(doc, strlen(doc), &s), "<a><b> STOPPED");
    /* Bytes after a NUL are still the document: the length counts, not the NUL. */
    seen z = {0};
    CHECK(strncmp(scan_n("<a>\0</a>", 8, &z), "ERROR", 5) == 0, "a NUL in text is refused");
}

int main(void)
{
    test_documents();
    test_text();
    test_attributes();
    test_structure();
    test_positions_and_stop();
    return test_summary();
}
