/* xml_scan.h -- an XML document as start / text / end events.
 *
 * The XML that AWS services answer with is plain: UTF-8, elements, text,
 * a few attributes (xmlns), the five predefined entities and character
 * references, now and then CDATA. This reader handles that in one pass over
 * the bytes, without copying them: names, attribute values and text are
 * handed to the callbacks as pointers into the document, except where an
 * entity or a carriage return had to be replaced.
 *
 * It checks what makes a document well-formed (one root element, matching
 * end tags, legal characters, valid UTF-8, quoted attributes, no duplicate
 * attribute) and refuses a DTD: an AWS response never has one, and a DTD's
 * entities are the way to amplification attacks. Comments and processing
 * instructions are skipped. Encodings other than UTF-8 (or its subset
 * US-ASCII) are refused, and so are names past ASCII.
 *
 * Names are reported as written, prefix included ("soap:Body"); namespaces
 * are not resolved.
 */
#ifndef AWSTOPO_XML_SCAN_H
#define AWSTOPO_XML_SCAN_H

#include <stddef.h>

#include "buf.h"

typedef struct xml_attr {
    const char *name, *value;     /* not NUL-terminated; valid during the start callback */
    size_t name_len, value_len;   /* value: entities replaced, white space normalized */
} xml_attr;

/* Each callback returns 0 to go on, anything else to stop the scan.
 * Character data may come in several pieces; whitespace between elements
 * comes too. Any callback may be NULL. */
typedef struct xml_events {
    int (*start)(void *ud, const char *name, size_t len, const xml_attr *attrs, size_t nattrs);
    int (*text)(void *ud, const char *s, size_t len);
    int (*end)(void *ud, const char *name, size_t len);
} xml_events;

typedef struct xml_name {
    const char *p;
    size_t len;
} xml_name;

/* One scan. Zero it before use ({0}); xml_scan_free releases what it holds. */
typedef struct xml_scanner {
    const char *doc;              /* the document being scanned */
    size_t pos;                   /* where the scan is: the offset of what is being reported */
    const char *error;            /* when xml_scan returned XML_MALFORMED: why (static text) */
    /* private */
    xml_name *open;               /* the open elements, outermost first */
    size_t depth, cap;
    xml_attr *attrs;
    size_t nattrs, attrs_cap;
    buf scratch;                  /* replaced text and attribute values */
} xml_scanner;

enum { XML_DONE = 0, XML_MALFORMED = -1, XML_STOPPED = 1 };

/* The refusals of well-formed XML that AWS never sends (see above): each
 * is s->error's value when it is the reason. */
extern const char XML_NAME_PAST_ASCII[];   /* an element or attribute name past ASCII */
extern const char XML_DTD[];               /* a document type declaration */
extern const char XML_ENCODING[];          /* an encoding other than UTF-8 */

/* Reads doc[0..len) (doc may be NULL when len is 0) and calls ev's
 * callbacks with ud. Returns XML_DONE, XML_STOPPED (a callback said stop)
 * or XML_MALFORMED (s->error says why, s->pos where). Elements nested
 * deeper than XML_MAX_DEPTH are malformed. */
#define XML_MAX_DEPTH 65536
int xml_scan(xml_scanner *s, const char *doc, size_t len, const xml_events *ev, void *ud);

/* The line (from 1) of s->pos, for messages. */
unsigned long xml_scan_line(const xml_scanner *s);

/* Frees what the scan held; the scratch buffer (replaced text and attribute
 * values) is wiped first, as the document may hold a secret (STS). */
void xml_scan_free(xml_scanner *s);

#endif
