/* redact.h -- hides credentials in URLs before a URL or a message that may
 * quote one is shown or stored.
 *
 * Used by every layer that shows an LLM URL (cmd for config.json, stderr
 * and status.json; the LLM client for its error texts, which quote the URL
 * and curl's messages). It uses nothing but libc, so any layer may link it.
 *
 * What counts as a secret:
 *   - the userinfo of a URL: in "http://admin:pw@host/v1" the "admin:pw"
 *     shows as "***" (the user name goes too: it is half a login);
 *   - the value of a query parameter whose name, ignoring case, is or ends
 *     in "key", "token", "secret", "password", "passwd", "pwd", "sig" or
 *     "signature" ("?api_key=abc&x=1" shows as "?api_key=***&x=1");
 *   - with redact_known(), also every other occurrence of those values in
 *     the text, when at least REDACT_MIN_KNOWN bytes long (curl's own
 *     messages can quote parts of a URL out of context).
 * A URL is any "scheme://" in the text; it ends at a blank, a quote, '<',
 * '>' or the end of the text.
 */
#ifndef BT_REDACT_H
#define BT_REDACT_H

#include <stddef.h>

#define REDACT_MASK "***"
/* Shorter known secrets are only hidden where they stand in a URL: hiding
 * a two-letter password everywhere would garble every message. */
#define REDACT_MIN_KNOWN 3

/* Writes 'in' into out (at most outlen bytes, always NUL-terminated when
 * outlen > 0, truncated if needed) with every URL's secrets masked.
 * 'in' and 'out' may be the same buffer. Returns 1 when something was
 * masked, 0 when not. Can't fail. */
int redact_buf(char *out, size_t outlen, const char *in);

/* As redact_buf, and also masks every occurrence of the secrets found in
 * 'url' (its userinfo parts and secret query values), wherever they stand
 * in 'in'. 'url' may be NULL. Can't fail. */
int redact_known(char *out, size_t outlen, const char *in, const char *url);

/* Returns a malloc'd copy of 'in' with every URL's secrets masked, or NULL
 * when 'in' is NULL or memory runs out. The caller frees it. */
char *redact_dup(const char *in);

#endif /* BT_REDACT_H */
