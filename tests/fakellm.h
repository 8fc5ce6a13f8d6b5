/* fakellm.h -- a scriptable fake OpenAI-compatible server for tests.
 *
 * A real HTTP/1.1 server on 127.0.0.1 (an ephemeral port), run by threads
 * inside the test process, or as the standalone program fakellm for shell
 * tests. It answers POST /v1/chat/completions (streamed as SSE with chunked
 * transfer encoding when the request says "stream": true, else one JSON
 * body) and GET /v1/models, keeps connections alive, and logs every request.
 *
 * A test scripts it with rules. Each request takes the first rule that
 * matches (method and path, and 'match' as a substring of the body) and
 * still has uses left; with no rule, chat completions get a 500 whose body
 * says "fakellm: no rule for this request", so a test notices.
 *
 * Control over HTTP (used by the standalone program and shell tests):
 *   POST /fake/rules     body: one rule or an array of rules as JSON, with
 *                        the field names of struct fakellm_rule
 *                        ("kind": "reply", "status", "raw", "hang", "reset",
 *                        "cut", "garbage"); appended after existing rules
 *   DELETE /fake/rules   removes every rule
 *   GET /fake/requests   the request log: [{"method","path","body",
 *                        "authorization"}...]
 *   POST /fake/models    body: ["id", ...] sets the model list
 *   POST /fake/server    body: {"slots", "n_ctx", "truncate", "llama",
 *                        "bytes_per_token"} (struct fakellm_server; absent
 *                        fields are 0)
 * A bad rule (unknown field or kind, wrong type) gets a 400 naming it, and
 * an array with a bad rule adds none of them. "body" may also be given as
 * a JSON object or array: it is sent as its compact text.
 *
 * Matching details: a rule without 'method' answers only POST on the
 * default chat path, and any method on a 'path' of its own. GET /v1/models
 * takes a matching rule first, else lists the models; other paths without
 * a rule get a 404 JSON error. Requests to /fake/... are neither counted
 * nor logged. Chunked request bodies are refused (411): send
 * Content-Length.
 *
 * Threads: every function may be called from any thread while the server
 * runs; fakellm_stop must not race with the others.
 */
#ifndef BT_FAKELLM_H
#define BT_FAKELLM_H

#include <stddef.h>

enum fakellm_kind {
    FAKE_REPLY = 0,  /* a normal answer carrying 'content'                   */
    FAKE_STATUS,     /* HTTP 'status' with 'body' (application/json)         */
    FAKE_RAW,        /* 200 text/event-stream, 'body' sent verbatim: the test
                        writes the SSE itself (chunked; in pieces of
                        chunk_bytes when set, else whole; delay_ms before
                        each piece)                                          */
    FAKE_HANG,       /* read the request, then send nothing until stopped   */
    FAKE_RESET,      /* read the request, then reset the connection (RST)   */
    FAKE_CUT,        /* start a normal answer, close after 'cut_after' bytes
                        of the body (counted as the client's body callback
                        sees them: chunk framing excluded; the stream is
                        never terminated, a plain answer keeps its full
                        Content-Length)                                     */
    FAKE_GARBAGE,    /* 200 application/json whose 'body' is not JSON       */
};

struct fakellm_rule {
    enum fakellm_kind kind;
    const char *method;        /* "POST" (default for chat) or "GET"        */
    const char *path;          /* default "/v1/chat/completions"            */
    const char *match;         /* substring the request body must contain  */
    unsigned times;            /* uses before the rule is spent; 0: forever */
    int status;                /* FAKE_STATUS: the HTTP status             */
    const char *body;          /* FAKE_STATUS, FAKE_RAW, FAKE_GARBAGE      */
    const char *content;       /* FAKE_REPLY, FAKE_CUT: the assistant text */
    const char *finish_reason; /* NULL: "stop"; "": JSON null              */
    int retry_after_s;         /* > 0: a Retry-After header                */
    unsigned chunk_bytes;      /* streamed content per chunk; 0: 16        */
    unsigned delay_ms;         /* pause before each streamed chunk (drip);
                                  unstreamed: once, before the body        */
    unsigned first_delay_ms;   /* pause before the status line             */
    int no_usage;              /* 1: send no "usage" object                */
    int no_done;               /* 1: streamed answer without data: [DONE]  */
    unsigned cut_after;        /* FAKE_CUT: body bytes sent before closing */
};

/* How the server as a whole behaves, imitating llama.cpp's llama-server.
 * All zero (the default): no slot limit, no context, no llama.cpp paths. */
struct fakellm_server {
    unsigned slots;            /* > 0: chat answers at once; a further chat
                                  request waits, receiving nothing, until
                                  one ends (its rule's delays run inside) */
    unsigned n_ctx;            /* > 0: a prompt counted over it gets
                                  llama.cpp's 400 exceed_context_size_error
                                  with n_prompt_tokens and n_ctx          */
    int truncate;              /* with n_ctx: no error; the answer says
                                  "truncated": true in "timings" and
                                  counts prompt_tokens n_ctx / 2, as the
                                  context shift does                      */
    int llama;                 /* 1: GET /props (total_slots, n_ctx),
                                  POST /tokenize, and "timings" (prompt_n,
                                  cache_n from a one-prompt cache)        */
    unsigned bytes_per_token;  /* how prompts are counted (messages' text
                                  only); 0: 4                            */
};

struct fakellm;

/* Starts a server on 127.0.0.1 with an ephemeral port. Its model list is
 * ["deepseek-coder-7b-instruct"]. Returns 0 or a negative errno. */
int fakellm_start(struct fakellm **out);

/* The same on a given port (0: ephemeral), for the standalone program.
 * Returns 0, -EINVAL for a port out of range, -EADDRINUSE or another
 * negative errno. */
int fakellm_start_port(int port, struct fakellm **out);

/* Stops the server: closes the listener and every connection (hanging and
 * dripping answers included) and joins its threads. Accepts NULL. */
void fakellm_stop(struct fakellm *f);

/* The port it listens on. */
int fakellm_port(const struct fakellm *f);

/* "http://127.0.0.1:PORT/v1" in a static-per-server buffer. */
const char *fakellm_url(const struct fakellm *f);

/* Appends a rule (strings are copied). Returns 0 or -ENOMEM. */
int fakellm_add(struct fakellm *f, const struct fakellm_rule *rule);

/* Appends the rule, or array of rules, in the NUL-terminated JSON text
 * 'json' (the format of POST /fake/rules): all of them or, when one is
 * bad, none. Returns 0, -EINVAL (not JSON, or a bad rule) or -ENOMEM. */
int fakellm_add_json(struct fakellm *f, const char *json);

/* Removes every rule. */
void fakellm_clear(struct fakellm *f);

/* Sets the model list from a NULL-terminated array. Returns 0 or -ENOMEM. */
int fakellm_set_models(struct fakellm *f, const char *const *ids);

/* How many requests (of any path, control paths excluded) it has received. */
unsigned fakellm_requests(struct fakellm *f);

/* A malloc'd copy of the body of request i (0-based), or NULL. */
char *fakellm_request_body(struct fakellm *f, unsigned i);

/* A malloc'd copy of request i's Authorization header value, or NULL when
 * it had none. */
char *fakellm_request_auth(struct fakellm *f, unsigned i);

/* Sets the server behaviour (copied). Returns 0. */
int fakellm_set_server(struct fakellm *f, const struct fakellm_server *srv);

/* The most chat requests that were ever being answered at once, counted
 * as each answer's first byte is sent (a request waiting for a slot is not
 * being answered, and one whose last byte is out is done). */
unsigned fakellm_max_in_flight(struct fakellm *f);

/* How many chat requests have been answered whole or in part. */
unsigned fakellm_chat_answered(struct fakellm *f);

/* How many connections it has accepted (keep-alive checks). */
unsigned fakellm_connections(struct fakellm *f);

#endif /* BT_FAKELLM_H */
