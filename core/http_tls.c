/* http_tls.c -- OpenSSL for http1.c (see http_tls.h).
 *
 * The socket is wrapped in a BIO of our own only to send with MSG_NOSIGNAL:
 * OpenSSL's socket BIO writes with write(), which raises SIGPIPE on a
 * connection the peer has closed, and awstopo leaves SIGPIPE alone (a closed
 * stdout pipe should still end it).
 */
#include "http_tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

static int bio_fd(BIO *b)
{
    return (int)(intptr_t)BIO_get_data(b);
}

static int bio_write(BIO *b, const char *p, int n)
{
    BIO_clear_retry_flags(b);
    ssize_t w = send(bio_fd(b), p, (size_t)n, MSG_NOSIGNAL);
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_write(b);
    return (int)w;
}

static int bio_read(BIO *b, char *p, int n)
{
    BIO_clear_retry_flags(b);
    ssize_t r = recv(bio_fd(b), p, (size_t)n, 0);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_read(b);
    return (int)r;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b, (void)num, (void)ptr;
    return cmd == BIO_CTRL_FLUSH;
}

static BIO_METHOD *socket_method(void)
{
    static BIO_METHOD *m;
    if (!m) {
        m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "awstopo socket");
        if (!m) abort();
        BIO_meth_set_write(m, bio_write);
        BIO_meth_set_read(m, bio_read);
        BIO_meth_set_ctrl(m, bio_ctrl);
    }
    return m;
}

SSL_CTX *tls_ctx_new(const char *ca_bundle, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) abort(); /* only fails on OOM */
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* A peer closing without close_notify reads as an end of file; a short
     * body is still caught by its Content-Length. */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    int ok = ca_bundle ? SSL_CTX_load_verify_locations(ctx, ca_bundle, NULL) : SSL_CTX_set_default_verify_paths(ctx);
    if (!ok) {
        snprintf(err, errlen, "error setting certificate file: %s", ca_bundle ? ca_bundle : "(system default)");
        ERR_clear_error();
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static int is_ip_literal(const char *host)
{
    unsigned char a[16];
    return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

SSL *tls_conn_new(SSL_CTX *ctx, int fd, const char *host)
{
    SSL *ssl = SSL_new(ctx);
    BIO *bio = BIO_new(socket_method());
    if (!ssl || !bio) abort(); /* only fail on OOM */
    BIO_set_data(bio, (void *)(intptr_t)fd);
    BIO_set_init(bio, 1);
    SSL_set_bio(ssl, bio, bio);
    if (is_ip_literal(host)) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
    } else {
        SSL_set_tlsext_host_name(ssl, host);
        SSL_set1_host(ssl, host);
    }
    SSL_set_connect_state(ssl);
    return ssl;
}

tls_io tls_result(SSL *ssl, int r)
{
    if (r > 0) return TLS_IO_OK;
    switch (SSL_get_error(ssl, r)) {
    case SSL_ERROR_WANT_READ: return TLS_IO_WANT_READ;
    case SSL_ERROR_WANT_WRITE: return TLS_IO_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN: return TLS_IO_EOF;
    case SSL_ERROR_SYSCALL: return ERR_peek_error() == 0 && errno == 0 ? TLS_IO_EOF : TLS_IO_ERROR;
    default: return TLS_IO_ERROR;
    }
}

void tls_describe(SSL *ssl, char *out, size_t outlen)
{
    long v = SSL_get_verify_result(ssl);
    unsigned long e = ERR_get_error();
    if (v != X509_V_OK) {
        snprintf(out, outlen, "SSL certificate problem: %s", X509_verify_cert_error_string(v));
    } else if (e) {
        char why[256];
        ERR_error_string_n(e, why, sizeof why);
        snprintf(out, outlen, "TLS error: %s", why);
    } else {
        snprintf(out, outlen, "TLS error: %s", errno ? strerror(errno) : "connection closed during the handshake");
    }
    ERR_clear_error();
}
