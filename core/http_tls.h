/* http_tls.h -- the OpenSSL side of http1.c: a client context that verifies
 * peers (AWS_CA_BUNDLE / ca_bundle, else the system's CA store), and
 * non-blocking TLS connections on a socket with SNI and hostname (or IP
 * address) verification. */
#ifndef AWSTOPO_HTTP_TLS_H
#define AWSTOPO_HTTP_TLS_H

#include <stddef.h>
#include <openssl/ssl.h>

/* NULL with err filled when the CA file cannot be loaded. Caller frees with
 * SSL_CTX_free. */
SSL_CTX *tls_ctx_new(const char *ca_bundle, char *err, size_t errlen);

/* A client connection on fd (which stays the caller's to close) for host: SNI
 * and verification of that name, or of that address for an IP literal.
 * Writes never raise SIGPIPE. Caller frees with SSL_free. */
SSL *tls_conn_new(SSL_CTX *ctx, int fd, const char *host);

/* What SSL_do_handshake/SSL_read/SSL_write's result r means. */
typedef enum tls_io { TLS_IO_OK, TLS_IO_WANT_READ, TLS_IO_WANT_WRITE, TLS_IO_EOF, TLS_IO_ERROR } tls_io;
tls_io tls_result(SSL *ssl, int r);

/* Why the last operation failed, for a message: the certificate problem
 * when verification failed, else OpenSSL's error (or errno's). */
void tls_describe(SSL *ssl, char *out, size_t outlen);

#endif
