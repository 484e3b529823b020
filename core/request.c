/* request.c -- HTTP request/response containers (see request.h). */
#include "request.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A header's name and value share one block, "name\0value\0": one
 * allocation a header (a call's request and response carry about a dozen
 * each). The block is freed through name, after the value is wiped. */
void headers_addn(http_headers *h, const char *name, size_t nl, const char *value, size_t vl)
{
    if (h->len == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 8;
        h->items = xrealloc(h->items, h->cap * sizeof *h->items);
    }
    char *block = xmalloc(nl + vl + 2);
    memcpy(block, name, nl);
    block[nl] = '\0';
    memcpy(block + nl + 1, value, vl);
    block[nl + 1 + vl] = '\0';
    http_header *x = &h->items[h->len++];
    x->name = block;
    x->value = block + nl + 1;
    x->name_len = nl;
    x->value_len = vl;
}

void headers_add(http_headers *h, const char *name, const char *value)
{
    headers_addn(h, name, strlen(name), value, strlen(value));
}

static void header_free(http_header *x)
{
    secure_zero(x->value, x->value_len);   /* may be a token or a signature */
    free(x->name);
}

/* Whether x is called name (n bytes): most names differ in length, which
 * spares the case-insensitive compare. */
static int header_is(const http_header *x, const char *name, size_t n)
{
    return x->name_len == n && strcasecmp(x->name, name) == 0;
}

void headers_remove(http_headers *h, const char *name)
{
    size_t j = 0, n = strlen(name);
    for (size_t i = 0; i < h->len; i++) {
        if (header_is(&h->items[i], name, n)) {
            header_free(&h->items[i]);
        } else {
            h->items[j++] = h->items[i];
        }
    }
    h->len = j;
}

void headers_fold_last(http_headers *h, const char *text, size_t n)
{
    if (!h->len) return;
    http_header *last = &h->items[h->len - 1];
    size_t nl = last->name_len, vl = last->value_len;
    char *block = xmalloc(nl + vl + n + 3);
    memcpy(block, last->name, nl + 1 + vl);
    block[nl + 1 + vl] = ' ';
    memcpy(block + nl + 2 + vl, text, n);
    block[nl + 2 + vl + n] = '\0';
    header_free(last);
    last->name = block;
    last->value = block + nl + 1;
    last->value_len = vl + 1 + n;
}

void headers_set(http_headers *h, const char *name, const char *value)
{
    headers_remove(h, name);
    headers_add(h, name, value);
}

const char *headers_get(const http_headers *h, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < h->len; i++)
        if (header_is(&h->items[i], name, n)) return h->items[i].value;
    return NULL;
}

void headers_free(http_headers *h)
{
    for (size_t i = 0; i < h->len; i++) header_free(&h->items[i]);
    free(h->items);
    h->items = NULL;
    h->len = h->cap = 0;
}

/* request_init's defaults, and the method every JSON and query call sets,
 * are these shared constants, not copies: a call replaces most defaults at
 * once, and request_set to one of these values takes the constant. A field
 * pointing at one is never freed (nor written: they are read-only). */
static const char def_method[] = "GET", def_scheme[] = "https", def_empty[] = "", def_path[] = "/",
                  def_post[] = "POST";
static const char *const shared[] = {def_method, def_scheme, def_empty, def_path, def_post};

static int is_default(const char *s)
{
    for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++)
        if (s == shared[i]) return 1;
    return 0;
}

static void field_free(char *s)
{
    if (!is_default(s)) free(s);
}

void request_set(char **field, const char *value)
{
    if (!value) value = "";
    if (*field && strcmp(*field, value) == 0) return;   /* (a default stays shared) */
    field_free(*field);
    for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++) {
        if (strcmp(value, shared[i]) == 0) {
            *field = (char *)shared[i];
            return;
        }
    }
    *field = xstrdup(value);
}

void request_take(char **field, char *value)
{
    if (*field && !is_default(*field)) free_secret(*field);
    *field = value;
}

void request_init(http_request *r)
{
    memset(r, 0, sizeof *r);
    r->method = (char *)def_method;
    r->scheme = (char *)def_scheme;
    r->host = (char *)def_empty;
    r->path = (char *)def_path;
    r->query = (char *)def_empty;
}

void request_add_query(http_request *r, const char *encoded_name, const char *encoded_value)
{
    buf q = {0};
    buf_puts(&q, r->query);
    if (q.len) buf_putc(&q, '&');
    buf_puts(&q, encoded_name);
    buf_putc(&q, '=');
    buf_puts(&q, encoded_value);
    field_free(r->query);
    r->query = buf_steal(&q);
}

char *request_url(const http_request *r)
{
    buf u = {0};
    buf_printf(&u, "%s://%s%s", r->scheme, r->host, r->path);
    if (r->query[0]) buf_printf(&u, "?%s", r->query);
    return buf_steal(&u);
}

void request_free(http_request *r)
{
    field_free(r->method);
    field_free(r->scheme);
    field_free(r->host);
    field_free(r->path);
    if (!is_default(r->query)) free_secret(r->query); /* presigned queries carry credentials */
    headers_free(&r->headers);
    buf_wipe(&r->body);
    memset(r, 0, sizeof *r);
}

void response_init(http_response *r)
{
    memset(r, 0, sizeof *r);
}

void response_free(http_response *r)
{
    headers_free(&r->headers);
    buf_wipe_grown(&r->body); /* STS responses carry secret keys; a body only grows (request.h) */
    memset(r, 0, sizeof *r);
}

void uri_encode(buf *out, const char *s, size_t n, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    buf_reserve(out, n * 3);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/');
        if (plain) {
            out->data[out->len++] = (char)c;
        } else {
            out->data[out->len++] = '%';
            out->data[out->len++] = hex[c >> 4];
            out->data[out->len++] = hex[c & 15];
        }
    }
    out->data[out->len] = '\0';
}
