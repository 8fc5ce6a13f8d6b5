/* bt.c -- the command-line client of Builder-Trainer FS.
 *
 * bt knows nothing of the store: every command is a plain read or write of
 * a file under the mount (see docs/DESIGN "The tree"), so whatever bt shows,
 * cat and jq show too, and bt keeps working with any btfs that honours the
 * tree. Documents written by agents may lack fields or hold nulls; every
 * lookup here tolerates that and prints "-".
 *
 * Exit status: 0 success, 1 the operation failed, 2 usage error or no mount.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bt_err.h"
#include "bt_help.h"
#include "bt_import.h"
#include "bt_report.h"
#include "bt_watch.h"
#include "bt_version.h"
#include "task/task.h"   /* the task parser, limits and name rules; bt
                              opens no store */

#define EXIT_FAIL  1
#define EXIT_USAGE 2

#define DEFAULT_MOUNT     "./mountpoint"
#define DEFAULT_COUNT     20
#define GOAL_WIDTH        60    /* code points of goal shown by list-tasks */
#define TREND_WINDOW      10    /* tasks per row of get-trend              */
/* bt import writes at most this many lines, and bytes, per write(2): each
 * write is one atomic, durable transaction in btfs, and the kernel hands a
 * write of up to 1 MiB to btfs in one piece. */
#define IMPORT_BATCH_LINES 100
#define IMPORT_BATCH_BYTES (1024 * 1024)

/* ---- Messages -------------------------------------------------------------- */

/* Every diagnostic goes through here so that each starts with "bt: ". */
void bt_err(const char *fmt, ...)
{
    va_list ap;

    fputs("bt: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int oom(void)
{
    bt_err("out of memory");
    return EXIT_FAIL;
}

static const char USAGE[] =
"usage: bt [--mount DIR] [--json] COMMAND [ARGS]\n"
"\n"
"Commands:\n"
"  add-task \"GOAL\" [--difficulty X] [--priority N] [--skill S]...\n"
"           [--language L] [--tests T] [--hidden-tests T] [--timeout S]\n"
"                        enqueue one task and print its id\n"
"  list-tasks [--count N]  the last N tasks (default 20)\n"
"  get-task ID           one task (ID: task_000042, 000042 or 42)\n"
"  get-profile           the builder's profile\n"
"  get-skills            per-skill level, rating and success rate\n"
"  get-trend [--skill S] pass rate and mean score per 10 finished tasks;\n"
"                        with --skill S: the status counts and pass rate\n"
"                        of the tasks with skill S; with --set S: of the\n"
"                        tasks of set S (eval/S.json)\n"
"  import FILE.jsonl [--format tasks|humaneval|mbpp] [--set NAME] [--train]\n"
"         [--max-attempts N] [--no-memory] [--dry-run] [--skip-bad]\n"
"                        enqueue a benchmark's problems as tasks\n"
"  report [--set S]...   one row per benchmark set (eval/*.json): pass@1,\n"
"                        pass after repair, 95% intervals, costs\n"
"  status                live state of the running btfs\n"
"  pause | resume        stop or restart the agents' work\n"
"  help [COMMAND]        one command's options (also: bt COMMAND --help)\n"
"  watch [--count N]     one screen, refreshed every second (q quits);\n"
"                        one line a second when not on a terminal\n"
"  logs [-f] [--task ID] logs/system.log (--json: logs/events.jsonl);\n"
"                        -f follows it, --task keeps one task's lines\n"
"  cancel ID... | --set S | --source SRC\n"
"                        cancel queued tasks; running ones stop at\n"
"                        their next step\n"
"\n"
"Options (before or after the command):\n"
"  --mount DIR    the btfs mount (default: $BT_MOUNT, then ./mountpoint)\n"
"  --json         machine-readable output (the documents as JSON)\n"
"  --help         this help\n"
"  --version      print the version\n"
"\n"
"add-task options:\n"
"  --difficulty X   0 to 1                 --priority N   -1000 to 1000\n"
"  --skill S        a skill (repeatable)   --language L   python, c or sh\n"
"  --tests T        tests shown to the model\n"
"  --hidden-tests T tests that decide the final accuracy, never shown\n"
"  --timeout S      seconds per run, 1 to 3600\n"
"\n"
"import options:\n"
"  --format F       tasks (default: task lines), humaneval or mbpp\n"
"  --set NAME       the tasks' set (default: the format's name; a new\n"
"                   name runs the same problems again, side by side)\n"
"  --train          a benchmark's set is not held out: its tasks may be\n"
"                   recalled for other tasks (default: held out)\n"
"  --max-attempts N attempts per task, 1 (single shot) to 100\n"
"  --no-memory      no recall of past tasks in these tasks' prompts\n"
"  --dry-run        print the task lines instead of writing them\n"
"  --skip-bad       import the good problems when some cannot be\n"
"                   (default: a file with a bad problem imports nothing)\n";

static int usage_hint(void)
{
    fputs("Try 'bt --help' for more information.\n", stderr);
    return EXIT_USAGE;
}

/* ---- Command line ------------------------------------------------------------ */

enum opt_id {
    OPT_MOUNT, OPT_JSON, OPT_HELP, OPT_VERSION,
    OPT_DIFFICULTY, OPT_PRIORITY, OPT_SKILL, OPT_LANGUAGE, OPT_TESTS,
    OPT_HIDDEN, OPT_TIMEOUT, OPT_COUNT, OPT_FORMAT, OPT_SET, OPT_DRY_RUN,
    OPT_SKIP_BAD, OPT_FOLLOW, OPT_TASK, OPT_SOURCE, OPT_TRAIN,
    OPT_MAX_ATTEMPTS, OPT_NO_MEMORY,
    OPT_NUM     /* number of options, not one */
};

struct opt_spec {
    const char *name;       /* long name without "--" */
    bool has_arg;
    enum opt_id id;
    bool global;            /* accepted by every command */
};

static const struct opt_spec OPTS[] = {
    { "mount",        true,  OPT_MOUNT,      true  },
    { "json",         false, OPT_JSON,       true  },
    { "help",         false, OPT_HELP,       true  },
    { "version",      false, OPT_VERSION,    true  },
    { "difficulty",   true,  OPT_DIFFICULTY, false },
    { "priority",     true,  OPT_PRIORITY,   false },
    { "skill",        true,  OPT_SKILL,      false },
    { "language",     true,  OPT_LANGUAGE,   false },
    { "tests",        true,  OPT_TESTS,      false },
    { "hidden-tests", true,  OPT_HIDDEN,     false },
    { "timeout",      true,  OPT_TIMEOUT,    false },
    { "count",        true,  OPT_COUNT,      false },
    { "format",       true,  OPT_FORMAT,     false },
    { "set",          true,  OPT_SET,        false },
    { "dry-run",      false, OPT_DRY_RUN,    false },
    { "skip-bad",     false, OPT_SKIP_BAD,   false },
    { "follow",       false, OPT_FOLLOW,     false },
    { "task",         true,  OPT_TASK,       false },
    { "source",       true,  OPT_SOURCE,     false },
    { "train",        false, OPT_TRAIN,      false },
    { "max-attempts", true,  OPT_MAX_ATTEMPTS, false },
    { "no-memory",    false, OPT_NO_MEMORY,  false },
};
#define NOPTS (sizeof(OPTS) / sizeof(OPTS[0]))

struct args {
    const char *mount;          /* --mount, NULL if not given            */
    bool json, help, version;
    const char *opt[OPT_NUM];   /* last value of each option, or NULL;
                                   "" for a flag that was given          */
    const char **skills;        /* every --skill, in order (argv strings) */
    size_t nskills;
    const char **sets;          /* every --set, in order (argv strings)   */
    size_t nsets;
    const char **pos;           /* positional arguments after the command */
    size_t npos;
};

struct ctx {
    const char *mount;          /* mount directory, never NULL */
    bool json;                  /* --json given                */
};

struct command {
    const char *name;
    int (*run)(const struct ctx *c, const struct args *a);
    const enum opt_id *opts;    /* command options it takes, -1 ends */
    size_t min_pos, max_pos;    /* positional arguments it takes     */
    const char *pos_name;       /* named in "needs" messages         */
};

/* 'a' short aliases that users type by habit. */
static const struct opt_spec *opt_find(const char *arg, size_t len)
{
    if (len == 2 && arg[0] == '-' && arg[1] == 'h')
        return &OPTS[OPT_HELP];
    if (len == 2 && arg[0] == '-' && arg[1] == 'V')
        return &OPTS[OPT_VERSION];
    if (len == 2 && arg[0] == '-' && arg[1] == 'f')     /* as tail -f */
        return &OPTS[OPT_FOLLOW];
    if (len < 3 || arg[0] != '-' || arg[1] != '-')
        return NULL;
    for (size_t i = 0; i < NOPTS; i++)
        if (strlen(OPTS[i].name) == len - 2 &&
            memcmp(OPTS[i].name, arg + 2, len - 2) == 0)
            return &OPTS[i];
    return NULL;
}

static bool is_option(const char *arg)
{
    return arg[0] == '-' && arg[1] != '\0';
}

/* ---- Files under the mount ----------------------------------------------------- */

/* Returns MOUNT/rel, malloc'd, or NULL on ENOMEM. */
static char *mpath(const struct ctx *c, const char *rel)
{
    char *p;

    if (asprintf(&p, "%s/%s", c->mount, rel) < 0)
        return NULL;
    return p;
}

/* Reads everything from fd until EOF into a NUL-terminated malloc'd buffer.
 * The size is not taken from fstat: control and tasks/new have none that
 * means anything, and a reader must not trust it anyway. Returns 0 or
 * -errno; on error *out is untouched. */
static int read_fd(int fd, char **out, size_t *outlen)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);

    if (!buf)
        return -ENOMEM;
    for (;;) {
        if (cap - len < 2) {
            char *nb;
            if (cap > SIZE_MAX / 2) {
                free(buf);
                return -EFBIG;
            }
            nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return -ENOMEM;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0) {
            int e = errno;
            if (e == EINTR)
                continue;
            free(buf);
            return -e;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    *out = buf;
    if (outlen)
        *outlen = len;
    return 0;
}

/* Reads MOUNT/rel whole. Returns 0 or -errno (nothing printed). */
static int read_rel(const struct ctx *c, const char *rel, char **out,
                    size_t *len)
{
    char *path = mpath(c, rel);
    int fd, rc;

    if (!path)
        return -ENOMEM;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        free(path);
        return rc;
    }
    rc = read_fd(fd, out, len);
    close(fd);
    free(path);
    return rc;
}

/* Reads and parses MOUNT/rel. Prints the problem and returns EXIT_FAIL on
 * failure; on success *text (if not NULL) keeps the raw bytes. */
static int load_json(const struct ctx *c, const char *rel, cJSON **out,
                     char **text)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = read_rel(c, rel, &buf, &len);

    if (rc < 0) {
        if (rc == -ENOMEM)
            return oom();
        bt_err("cannot read %s/%s: %s", c->mount, rel, strerror(-rc));
        return EXIT_FAIL;
    }
    *out = cJSON_ParseWithLength(buf, len);
    if (!*out) {
        bt_err("%s/%s is not valid JSON", c->mount, rel);
        free(buf);
        return EXIT_FAIL;
    }
    if (text)
        *text = buf;
    else
        free(buf);
    return 0;
}

/* Prints a document as the filesystem gave it, with a final newline. */
static void print_raw(const char *text)
{
    size_t len = strlen(text);

    fwrite(text, 1, len, stdout);
    if (len == 0 || text[len - 1] != '\n')
        putchar('\n');
}

/* Prints a cJSON tree compactly on one line. */
static int print_json(const cJSON *j)
{
    char *s = cJSON_PrintUnformatted(j);

    if (!s)
        return oom();
    puts(s);
    cJSON_free(s);
    return 0;
}

/* Prints {"key":"value"} with value escaped as JSON requires. */
static int print_json_kv(const char *key, const char *value)
{
    cJSON *o = cJSON_CreateObject();
    int rc;

    if (!o || !cJSON_AddStringToObject(o, key, value)) {
        cJSON_Delete(o);
        return oom();
    }
    rc = print_json(o);
    cJSON_Delete(o);
    return rc;
}

/* ---- Rendering values ------------------------------------------------------------ */

static const cJSON *jget(const cJSON *obj, const char *name)
{
    return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, name)
                               : NULL;
}

/* The first of the names (NULL-terminated) that obj holds and is not null:
 * documents are still taking shape, so a field may go by a few names. */
static const cJSON *jget_any(const cJSON *obj, ...)
{
    va_list ap;
    const char *name;
    const cJSON *found = NULL;

    va_start(ap, obj);
    while (!found && (name = va_arg(ap, const char *)) != NULL) {
        const cJSON *v = jget(obj, name);
        if (v && !cJSON_IsNull(v))
            found = v;
    }
    va_end(ap);
    return found;
}

static bool jnum(const cJSON *v, double *out)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return false;
    *out = v->valuedouble;
    return true;
}

/* Formats a number for people: integers as such, fractions with up to three
 * decimals and no trailing zeros. */
static char *fmt_number(double v)
{
    char *s;

    if (v > -1e15 && v < 1e15 && v == (double)(long long)v) {
        if (asprintf(&s, "%lld", (long long)v) < 0)
            return NULL;
        return s;
    }
    if (asprintf(&s, "%.3f", v) < 0)
        return NULL;
    char *end = s + strlen(s) - 1;
    while (end > s && *end == '0')
        *end-- = '\0';
    if (*end == '.')
        *end = '\0';
    if (strcmp(s, "-0") == 0)
        strcpy(s, "0");
    return s;
}

/* Copies s, replacing control characters so a document cannot drive the
 * terminal; 'oneline' also flattens newlines and tabs. */
static char *clean_text(const char *s, bool oneline)
{
    char *d = strdup(s);

    if (!d)
        return NULL;
    for (unsigned char *p = (unsigned char *)d; *p; p++) {
        if ((*p == '\n' || *p == '\t') && !oneline)
            continue;
        if (*p < 0x20 || *p == 0x7f)
            *p = (*p == '\n' || *p == '\t' || *p == '\r') ? ' ' : '?';
    }
    return d;
}

/* A value as one line of text, malloc'd (NULL on ENOMEM): "-" for missing
 * or null, strings as they are, arrays of scalars joined by ", ", anything
 * else as compact JSON. */
static char *fmt_value(const cJSON *v)
{
    char *s;

    if (!v || cJSON_IsNull(v))
        return strdup("-");
    if (cJSON_IsString(v))
        return clean_text(v->valuestring, true);
    if (cJSON_IsNumber(v))
        return fmt_number(v->valuedouble);
    if (cJSON_IsBool(v))
        return strdup(cJSON_IsTrue(v) ? "true" : "false");
    if (cJSON_IsArray(v)) {
        bool scalars = true;
        const cJSON *e;
        cJSON_ArrayForEach(e, v)
            if (cJSON_IsArray(e) || cJSON_IsObject(e))
                scalars = false;
        if (scalars) {
            size_t len = 0;
            char *out = strdup(cJSON_GetArraySize(v) ? "" : "-");
            if (!out)
                return NULL;
            cJSON_ArrayForEach(e, v) {
                char *one = fmt_value(e), *nout;
                if (!one) {
                    free(out);
                    return NULL;
                }
                size_t olen = strlen(one);
                nout = realloc(out, len + olen + 3);
                if (!nout) {
                    free(one);
                    free(out);
                    return NULL;
                }
                out = nout;
                if (len) {
                    memcpy(out + len, ", ", 2);
                    len += 2;
                }
                memcpy(out + len, one, olen + 1);
                len += olen;
                free(one);
            }
            return out;
        }
    }
    s = cJSON_PrintUnformatted(v);
    if (!s)
        return NULL;
    char *d = clean_text(s, true);
    cJSON_free(s);
    return d;
}

/* Number of UTF-8 code points in s (continuation bytes are not counted). */
static size_t u8_len(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* Cuts s in place to at most 'max' code points, ending in "..." if cut;
 * never splits a multi-byte character. */
static void u8_truncate(char *s, size_t max)
{
    size_t n = 0, keep = max > 3 ? max - 3 : 0;

    if (u8_len(s) <= max)
        return;
    for (char *p = s; *p; p++) {
        if (((unsigned char)*p & 0xC0) != 0x80) {
            if (n == keep) {
                strcpy(p, max > 3 ? "..." : "");
                return;
            }
            n++;
        }
    }
}

/* Prints "key: value" with value possibly on several lines: a multi-line
 * value goes under the key, indented, so that code reads as code. */
static int print_field(const char *key, int width, const cJSON *v)
{
    if (cJSON_IsString(v) && strchr(v->valuestring, '\n')) {
        char *t = clean_text(v->valuestring, false);
        if (!t)
            return oom();
        printf("%s:\n", key);
        for (char *line = t, *nl; line && *line; line = nl) {
            nl = strchr(line, '\n');
            if (nl)
                *nl++ = '\0';
            printf("    %s\n", line);
        }
        free(t);
        return 0;
    }
    char *s = fmt_value(v);
    if (!s)
        return oom();
    printf("%s:%*s %s\n", key, width > (int)strlen(key) ?
           width - (int)strlen(key) : 0, "", s);
    free(s);
    return 0;
}

/* Widest key of an object, for aligning its values. */
static int key_width(const cJSON *obj)
{
    int w = 0;
    const cJSON *e;

    cJSON_ArrayForEach(e, obj)
        if (e->string && (int)strlen(e->string) > w)
            w = (int)strlen(e->string);
    return w;
}

/* Prints any document as indented "key: value" lines: objects nest, arrays
 * of objects become "- " items. Used where the layout is not fixed yet. */
static int print_tree(const cJSON *obj, int indent)
{
    int w = key_width(obj);
    const cJSON *e;

    cJSON_ArrayForEach(e, obj) {
        char *key = clean_text(e->string ? e->string : "?", true);
        int rc = 0;
        bool has_objects = false;
        const cJSON *x;

        if (!key)
            return oom();
        if (cJSON_IsArray(e))
            cJSON_ArrayForEach(x, e)
                if (cJSON_IsObject(x))
                    has_objects = true;
        if (cJSON_IsObject(e) && cJSON_GetArraySize(e) > 0) {
            printf("%*s%s:\n", indent, "", key);
            rc = print_tree(e, indent + 2);
        } else if (has_objects) {
            printf("%*s%s:\n", indent, "", key);
            cJSON_ArrayForEach(x, e) {
                char *s = fmt_value(x);
                if (!s) {
                    rc = oom();
                    break;
                }
                printf("%*s- %s\n", indent + 2, "", s);
                free(s);
            }
        } else {
            printf("%*s", indent, "");
            rc = print_field(key, w, e);
        }
        free(key);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- Tables ------------------------------------------------------------------------ */

struct table {
    size_t ncols;
    const char *align;          /* per column: 'l' or 'r'            */
    char **cells;               /* row-major, owned, header included */
    size_t ncells, cap;
};

/* Adds one cell; takes ownership of s. Returns 0 or -ENOMEM (s freed). */
static int table_put(struct table *t, char *s)
{
    if (!s)
        return -ENOMEM;
    if (t->ncells == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 64;
        char **nc = realloc(t->cells, ncap * sizeof(*nc));
        if (!nc) {
            free(s);
            return -ENOMEM;
        }
        t->cells = nc;
        t->cap = ncap;
    }
    t->cells[t->ncells++] = s;
    return 0;
}

static int table_put_str(struct table *t, const char *s)
{
    return table_put(t, clean_text(s, true));
}

static int table_put_value(struct table *t, const cJSON *v)
{
    return table_put(t, fmt_value(v));
}

static void table_print(const struct table *t)
{
    size_t *w = calloc(t->ncols, sizeof(*w));

    if (!w) {
        oom();
        return;
    }
    for (size_t i = 0; i < t->ncells; i++) {
        size_t l = u8_len(t->cells[i]);
        if (l > w[i % t->ncols])
            w[i % t->ncols] = l;
    }
    for (size_t i = 0; i < t->ncells; i++) {
        size_t col = i % t->ncols;
        const char *s = t->cells[i];
        int pad = (int)(w[col] - u8_len(s));
        bool last = col == t->ncols - 1;

        if (t->align[col] == 'r')
            printf("%*s%s", pad, "", s);
        else
            printf("%s%*s", s, last ? 0 : pad, "");
        fputs(last ? "\n" : "  ", stdout);
    }
    free(w);
}

static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->ncells; i++)
        free(t->cells[i]);
    free(t->cells);
}

/* ---- Task ids ---------------------------------------------------------------------- */

/* Accepts "task_000042", "000042" or "42" (and "task_42"). Returns 0 and
 * the number, or -EINVAL. */
static int task_id_parse(const char *s, uint64_t *id)
{
    uint64_t v = 0;

    if (strncmp(s, "task_", 5) == 0)
        s += 5;
    if (!*s)
        return -EINVAL;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -EINVAL;
        if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return -EINVAL;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *id = v;
    return 0;
}

/* Recognises directory entries "task_<digits>.json". */
static bool task_file_id(const char *name, uint64_t *id)
{
    size_t len = strlen(name);
    char digits[32];

    if (len < 11 || len - 10 >= sizeof(digits) ||
        strncmp(name, "task_", 5) != 0 || strcmp(name + len - 5, ".json"))
        return false;
    memcpy(digits, name + 5, len - 10);
    digits[len - 10] = '\0';
    return task_id_parse(digits, id) == 0;
}

/* ---- Number options ---------------------------------------------------------------- */

static int parse_long(const char *opt, const char *s, long min, long max,
                      long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < min || v > max) {
        if (max == LONG_MAX)
            bt_err("--%s must be a whole number from %ld up, got '%s'",
                   opt, min, s);
        else
            bt_err("--%s must be a whole number from %ld to %ld, got '%s'",
                   opt, min, max, s);
        return EXIT_USAGE;
    }
    *out = v;
    return 0;
}

/* ---- add-task ---------------------------------------------------------------------- */

/* Takes "error: line 1: REASON" (the filesystem's reply) to "REASON". */
static const char *reply_reason(char *reply)
{
    char *r = reply;
    size_t len = strlen(r);

    while (len && (r[len - 1] == '\n' || r[len - 1] == '\r'))
        r[--len] = '\0';
    if (strncmp(r, "error: ", 7) == 0)
        r += 7;
    if (strncmp(r, "line ", 5) == 0) {
        char *p = r + 5;
        while (*p >= '0' && *p <= '9')
            p++;
        if (p > r + 5 && p[0] == ':' && p[1] == ' ')
            r = p + 2;
    }
    return r;
}

/* The number an option gives, as a task field's value: its syntax is
 * checked here, its range by the task parser with every other rule. */
static int option_number(const char *opt, const char *s, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(s, &end);
    if (end == s || *end || errno) {
        bt_err("--%s must be a number, got '%s'", opt, s);
        return EXIT_USAGE;
    }
    return 0;
}

/* Builds the task line from the options and judges it with the task
 * parser, as btfs will: a bad value is refused before the mount is
 * touched. Returns 0 or an exit code. */
static int task_line(const struct args *a, char **line)
{
    static const struct { int opt; const char *name, *field; } nums[] = {
        { OPT_DIFFICULTY, "difficulty", "difficulty" },
        { OPT_PRIORITY, "priority", "priority" },
        { OPT_TIMEOUT, "timeout", "timeout_s" },
    };
    const char *o;
    cJSON *t = cJSON_CreateObject();
    struct task_def def = { 0 };
    char err[300];
    double d;
    int rc = 0;

    if (!t)
        return oom();
    if (!cJSON_AddStringToObject(t, "goal", a->pos[0]))
        goto nomem;
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        if (!(o = a->opt[nums[i].opt]))
            continue;
        if ((rc = option_number(nums[i].name, o, &d)))
            goto out;
        if (!cJSON_AddNumberToObject(t, nums[i].field, d))
            goto nomem;
    }
    if (a->nskills) {
        cJSON *sk = cJSON_AddArrayToObject(t, "skills");
        if (!sk)
            goto nomem;
        for (size_t i = 0; i < a->nskills; i++) {
            cJSON *s = cJSON_CreateString(a->skills[i]);
            if (!s)
                goto nomem;
            cJSON_AddItemToArray(sk, s);
        }
    }
    if ((o = a->opt[OPT_LANGUAGE]) &&
        !cJSON_AddStringToObject(t, "language", o))
        goto nomem;
    if ((o = a->opt[OPT_TESTS]) && !cJSON_AddStringToObject(t, "tests", o))
        goto nomem;
    if ((o = a->opt[OPT_HIDDEN]) &&
        !cJSON_AddStringToObject(t, "hidden_tests", o))
        goto nomem;
    char *j = cJSON_PrintUnformatted(t);
    if (!j)
        goto nomem;
    /* One line: cJSON escapes every control character, newlines included. */
    size_t len = strlen(j);
    rc = task_parse_line(j, len, &def, err, sizeof err);
    task_def_free(&def);
    if (rc < 0) {
        cJSON_free(j);
        if (rc == -ENOMEM)
            goto nomem;
        bt_err("task rejected: %s", err);
        rc = rc == -EFBIG ? EXIT_FAIL : EXIT_USAGE;
        goto out;
    }
    *line = malloc(len + 2);
    if (!*line) {
        cJSON_free(j);
        goto nomem;
    }
    memcpy(*line, j, len);
    memcpy(*line + len, "\n", 2);
    cJSON_free(j);
    goto out;
nomem:
    rc = oom();
out:
    cJSON_Delete(t);
    return rc;
}

static int cmd_add_task(const struct ctx *c, const struct args *a)
{
    char *line = NULL, *path = NULL, *reply = NULL;
    int fd = -1, rc;

    if ((rc = task_line(a, &line)))
        return rc;
    size_t len = strlen(line);
    if (!(path = mpath(c, "tasks/new"))) {
        rc = oom();
        goto out;
    }
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        bt_err("cannot open %s: %s", path, strerror(errno));
        rc = EXIT_FAIL;
        goto out;
    }
    /* One write(2) holds the whole line, so the filesystem validates and
     * commits it as a unit and answers on this same open file. */
    ssize_t n;
    do
        n = write(fd, line, len);
    while (n < 0 && errno == EINTR);
    int werr = n < 0 ? errno : 0;
    if (n >= 0 && (size_t)n != len) {
        bt_err("short write to %s (%zd of %zu bytes)", path, n, len);
        rc = EXIT_FAIL;
        goto out;
    }
    /* The reply is not part of the written stream: read it from the start
     * if the file can seek, else from where we are. */
    (void)lseek(fd, 0, SEEK_SET);
    int rerr = read_fd(fd, &reply, NULL);
    if (werr) {
        if (rerr == 0 && *reply_reason(reply))
            bt_err("task rejected: %s", reply_reason(reply));
        else
            bt_err("task rejected: %s", strerror(werr));
        rc = EXIT_FAIL;
        goto out;
    }
    if (rerr) {
        bt_err("cannot read the reply from %s: %s", path, strerror(-rerr));
        rc = EXIT_FAIL;
        goto out;
    }
    const char *id = reply_reason(reply);
    if (strncmp(reply, "error", 5) == 0 || strncmp(id, "task_", 5) != 0) {
        bt_err("task not added: %s", *id ? id : "no reply from btfs");
        rc = EXIT_FAIL;
        goto out;
    }
    if (c->json)
        rc = print_json_kv("id", id);
    else
        printf("%s\n", id);
out:
    if (fd >= 0 && close(fd) < 0 && rc == 0) {
        bt_err("closing %s: %s", path, strerror(errno));
        rc = EXIT_FAIL;
    }
    free(reply);
    free(path);
    free(line);
    return rc;
}

/* ---- list-tasks -------------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Collects the ids of tasks/task_*.json in ascending order. */
static int list_task_ids(const struct ctx *c, uint64_t **ids, size_t *n)
{
    char *path = mpath(c, "tasks");
    DIR *d;
    struct dirent *de;
    size_t cap = 0;
    int rc = 0;

    *ids = NULL;
    *n = 0;
    if (!path)
        return oom();
    if (!(d = opendir(path))) {
        bt_err("cannot list %s: %s", path, strerror(errno));
        free(path);
        return EXIT_FAIL;
    }
    for (;;) {
        uint64_t id;
        errno = 0;
        if (!(de = readdir(d))) {
            if (errno) {
                bt_err("cannot list %s: %s", path, strerror(errno));
                rc = EXIT_FAIL;
            }
            break;
        }
        if (!task_file_id(de->d_name, &id))
            continue;
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 256;
            uint64_t *ni = realloc(*ids, ncap * sizeof(*ni));
            if (!ni) {
                rc = oom();
                break;
            }
            *ids = ni;
            cap = ncap;
        }
        (*ids)[(*n)++] = id;
    }
    closedir(d);
    free(path);
    if (*n)
        qsort(*ids, *n, sizeof(**ids), cmp_u64);
    return rc;
}

static int task_row(struct table *t, const char *name, const cJSON *doc)
{
    const cJSON *score = jget(doc, "score");
    const cJSON *total = cJSON_IsObject(score) ? jget(score, "total") : score;
    const cJSON *goal = jget(doc, "goal");
    char *g;

    if (table_put_str(t, name) ||
        table_put_value(t, jget(doc, "status")) ||
        table_put_value(t, jget(doc, "source")) ||
        table_put_value(t, jget(doc, "priority")) ||
        table_put_value(t, jget(doc, "attempts")) ||
        table_put_value(t, total))
        return -ENOMEM;
    g = fmt_value(goal);
    if (g)
        u8_truncate(g, GOAL_WIDTH);
    return table_put(t, g);
}

static int cmd_list_tasks(const struct ctx *c, const struct args *a)
{
    long count = DEFAULT_COUNT;
    uint64_t *ids;
    size_t n;
    int rc, failed = 0;
    struct table t = { .ncols = 7, .align = "lllrrrl" };
    cJSON *all = NULL;

    if (a->opt[OPT_COUNT] &&
        (rc = parse_long("count", a->opt[OPT_COUNT], 1, LONG_MAX, &count)))
        return rc;
    if ((rc = list_task_ids(c, &ids, &n)))
        return rc;
    if (c->json) {
        if (!(all = cJSON_CreateArray())) {
            free(ids);
            return oom();
        }
    } else if (table_put_str(&t, "ID") || table_put_str(&t, "STATUS") ||
               table_put_str(&t, "SOURCE") || table_put_str(&t, "PRI") ||
               table_put_str(&t, "ATTEMPTS") || table_put_str(&t, "SCORE") ||
               table_put_str(&t, "GOAL")) {
        rc = oom();
        goto out;
    }
    for (size_t i = n > (size_t)count ? n - (size_t)count : 0; i < n; i++) {
        char rel[64], name[48];
        cJSON *doc;

        snprintf(name, sizeof(name), "task_%06" PRIu64, ids[i]);
        snprintf(rel, sizeof(rel), "tasks/%s.json", name);
        if (load_json(c, rel, &doc, NULL)) {
            failed = 1;     /* named on stderr; show the others */
            continue;
        }
        if (c->json) {
            cJSON_AddItemToArray(all, doc);
            continue;
        }
        int e = task_row(&t, name, doc);
        cJSON_Delete(doc);
        if (e) {
            rc = oom();
            goto out;
        }
    }
    if (c->json)
        rc = print_json(all);
    else if (n == 0)
        puts("no tasks yet");
    else
        table_print(&t);
out:
    cJSON_Delete(all);
    table_free(&t);
    free(ids);
    return rc ? rc : failed ? EXIT_FAIL : 0;
}

/* ---- get-task ---------------------------------------------------------------------- */

/* The store's fields shown before and after the definition's. */
static const char *const TASK_HEAD[] = { "id", "status", "source", NULL };
static const char *const TASK_STATE[] = {
    "attempts", "created_at", "started_at", "finished_at", NULL
};
#define TASK_SHOWN_MAX (TASK_FIELD_COUNT + 8)

/* Fields of a task shown in this order, the rest following as they come:
 * the store's head, the definition's fields every task has in the task
 * model's order (task/task.h; program text gets its own sections below),
 * the store's state. */
static void task_fields_shown(const char *list[TASK_SHOWN_MAX])
{
    const struct task_field_info *f;
    size_t n = 0;

    for (const char *const *h = TASK_HEAD; *h; h++)
        list[n++] = *h;
    for (size_t i = 0; (f = task_field(i)); i++)
        if (!(f->flags & (TASK_FIELD_OPTIONAL | TASK_FIELD_CODE)))
            list[n++] = f->name;
    for (const char *const *st = TASK_STATE; *st; st++)
        list[n++] = *st;
    list[n] = NULL;
}
/* Shown in their own sections at the end. */
static const char *const TASK_SECTIONS[] = {
    "score", "result", "tests", "hidden_tests", NULL
};

static bool in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

static int cmp_str(const void *a, const void *b)
{
    return strverscmp(*(char *const *)a, *(char *const *)b);
}

/* Lists code_archive/task_N/ (absent means no code yet, not an error). */
static int print_code_files(const struct ctx *c, const char *name)
{
    char *rel = NULL, *path;
    DIR *d;
    struct dirent *de;
    char **files = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    if (asprintf(&rel, "code_archive/%s", name) < 0)
        return oom();
    path = mpath(c, rel);
    free(rel);
    if (!path)
        return oom();
    if (!(d = opendir(path))) {
        if (errno != ENOENT) {
            bt_err("cannot list %s: %s", path, strerror(errno));
            rc = EXIT_FAIL;
        }
        free(path);
        return rc;
    }
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nf = realloc(files, ncap * sizeof(*nf));
            if (!nf) {
                rc = oom();
                break;
            }
            files = nf;
            cap = ncap;
        }
        if (!(files[n] = strdup(de->d_name))) {
            rc = oom();
            break;
        }
        n++;
    }
    closedir(d);
    if (n)
        qsort(files, n, sizeof(*files), cmp_str);
    if (!rc && n) {
        printf("code:\n");
        for (size_t i = 0; i < n; i++) {
            char *f = clean_text(files[i], true);
            if (!f) {
                rc = oom();
                break;
            }
            printf("    code_archive/%s/%s\n", name, f);
            free(f);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(files[i]);
    free(files);
    free(path);
    return rc;
}

static int cmd_get_task(const struct ctx *c, const struct args *a)
{
    uint64_t id;
    char name[48], rel[64];
    char *text = NULL;
    cJSON *doc = NULL;
    int rc;
    const cJSON *e;

    if (task_id_parse(a->pos[0], &id)) {
        bt_err("bad task id '%s' (expected task_000042, 000042 or 42)",
               a->pos[0]);
        return EXIT_USAGE;
    }
    snprintf(name, sizeof(name), "task_%06" PRIu64, id);
    snprintf(rel, sizeof(rel), "tasks/%s.json", name);
    rc = read_rel(c, rel, &text, NULL);
    if (rc == -ENOENT) {
        bt_err("no task %s", name);
        return EXIT_FAIL;
    }
    if (rc < 0) {
        bt_err("cannot read %s/%s: %s", c->mount, rel, strerror(-rc));
        return EXIT_FAIL;
    }
    if (c->json) {
        print_raw(text);
        free(text);
        return 0;
    }
    doc = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(doc)) {
        bt_err("%s/%s is not a JSON object", c->mount, rel);
        cJSON_Delete(doc);
        return EXIT_FAIL;
    }
    int w = 12;
    const char *shown[TASK_SHOWN_MAX];
    task_fields_shown(shown);
    for (const char *const *f = shown; *f && !rc; f++)
        if (strcmp(*f, "id") == 0 && !jget(doc, "id")) {
            printf("%-*s %s\n", w + 1, "id:", name);
        } else {
            rc = print_field(*f, w, jget(doc, *f));
        }
    cJSON_ArrayForEach(e, doc) {
        if (rc || !e->string || in_list(shown, e->string) ||
            in_list(TASK_SECTIONS, e->string))
            continue;
        rc = print_field(e->string, w, e);
    }
    const cJSON *score = jget(doc, "score");
    if (!rc && cJSON_IsObject(score)) {
        char *tot = fmt_value(jget(score, "total"));
        if (!tot) {
            rc = oom();
        } else {
            printf("%-*s %s", w + 1, "score:", tot);
            free(tot);
            const char *sep = " (";
            cJSON_ArrayForEach(e, score) {
                if (!e->string || strcmp(e->string, "total") == 0)
                    continue;
                char *v = fmt_value(e), *k = clean_text(e->string, true);
                if (v && k)
                    printf("%s%s %s", sep, k, v);
                else
                    rc = oom();
                free(v);
                free(k);
                sep = ", ";
            }
            printf("%s\n", sep[0] == ',' ? ")" : "");
        }
    } else if (!rc) {
        rc = print_field("score", w, score);
    }
    const cJSON *result = jget(doc, "result");
    if (!rc && cJSON_IsObject(result) && cJSON_GetArraySize(result)) {
        printf("result:\n");
        rc = print_tree(result, 4);
    } else if (!rc) {
        rc = print_field("result", w, result);
    }
    for (const char *const *f = TASK_SECTIONS + 2; *f && !rc; f++) {
        const cJSON *v = jget(doc, *f);
        if (cJSON_IsString(v) && *v->valuestring &&
            !strchr(v->valuestring, '\n')) {
            /* Single-line tests still get their own block: it is code. */
            char *s = clean_text(v->valuestring, false);
            if (!s) {
                rc = oom();
                break;
            }
            printf("%s:\n    %s\n", *f, s);
            free(s);
        } else {
            rc = print_field(*f, w, v);
        }
    }
    if (!rc)
        rc = print_code_files(c, name);
    cJSON_Delete(doc);
    return rc;
}

/* ---- Documents --------------------------------------------------------------------- */

/* Loads a document; with --json prints it as is and sets *done. */
static int load_doc(const struct ctx *c, const char *rel, cJSON **doc,
                    bool *done)
{
    char *text = NULL;
    int rc = load_json(c, rel, doc, &text);

    *done = false;
    if (rc)
        return rc;
    if (c->json) {
        print_raw(text);
        cJSON_Delete(*doc);
        *doc = NULL;
        *done = true;
    }
    free(text);
    return 0;
}

static int cmd_get_profile(const struct ctx *c, const struct args *a)
{
    cJSON *doc;
    bool done;
    int rc = load_doc(c, "core/builder_profile.json", &doc, &done);

    if (rc || done)
        return rc;
    if (cJSON_IsObject(doc) && cJSON_GetArraySize(doc))
        rc = print_tree(doc, 0);
    else if (cJSON_IsObject(doc))
        puts("no profile yet");
    else
        rc = print_json(doc);
    cJSON_Delete(doc);
    return rc;
}

/* One skill row; 'name' may come from the map key or the record. */
static int skill_row(struct table *t, const char *name, const cJSON *s)
{
    const cJSON *att = jget(s, "attempts"), *suc = jget(s, "successes");
    double na, ns;
    char *rate;

    if (!name) {
        const cJSON *n = jget_any(s, "skill", "name", NULL);
        name = cJSON_IsString(n) ? n->valuestring : "?";
    }
    if (jnum(att, &na) && jnum(suc, &ns) && na > 0) {
        if (asprintf(&rate, "%.0f%%", 100.0 * ns / na) < 0)
            rate = NULL;
    } else {
        rate = strdup("-");
    }
    const cJSON *trend = jget(s, "trend");
    char *tr = fmt_value(trend);
    if (tr && cJSON_IsNumber(trend) && trend->valuedouble > 0) {
        char *p;
        if (asprintf(&p, "+%s", tr) < 0)
            p = NULL;
        free(tr);
        tr = p;
    }
    if (table_put_str(t, name) ||
        table_put_value(t, jget(s, "level")) ||
        table_put_value(t, jget(s, "rating")) ||
        table_put_value(t, att) ||
        table_put_value(t, suc) ||
        table_put(t, rate) ||
        table_put_value(t, jget_any(s, "last_practised", "last_practiced",
                                    "last", NULL)) ||
        table_put(t, tr))
        return -ENOMEM;
    return 0;
}

static int cmd_get_skills(const struct ctx *c, const struct args *a)
{
    cJSON *doc;
    bool done;
    int rc = load_doc(c, "core/skill_map.json", &doc, &done);
    struct table t = { .ncols = 8, .align = "lrrrrrll" };
    const cJSON *map, *e;

    if (rc || done)
        return rc;
    /* Either {"skill": {...}, ...}, {"skills": that} or a list of records. */
    map = jget(doc, "skills");
    if (!cJSON_IsObject(map) && !cJSON_IsArray(map))
        map = doc;
    if (!cJSON_IsObject(map) && !cJSON_IsArray(map)) {
        bt_err("%s/core/skill_map.json is neither an object nor a list",
               c->mount);
        cJSON_Delete(doc);
        return EXIT_FAIL;
    }
    if (cJSON_GetArraySize(map) == 0) {
        puts("no skills practised yet");
        cJSON_Delete(doc);
        return 0;
    }
    static const char *const HEAD[] = { "SKILL", "LEVEL", "RATING",
        "ATTEMPTS", "SUCCESSES", "RATE", "LAST", "TREND" };
    for (size_t i = 0; i < 8 && !rc; i++)
        if (table_put_str(&t, HEAD[i]))
            rc = oom();
    cJSON_ArrayForEach(e, map) {
        if (rc)
            break;
        if (skill_row(&t, cJSON_IsObject(map) ? e->string : NULL, e))
            rc = oom();
    }
    if (!rc)
        table_print(&t);
    table_free(&t);
    cJSON_Delete(doc);
    return rc;
}

/* ---- get-trend --------------------------------------------------------------------- */

struct trend_acc {
    size_t tasks, judged, passed, scored;
    double sum;
};

/* Whether an entry passed: 1, 0, or -1 if it does not say. */
static int entry_passed(const cJSON *e)
{
    const cJSON *p = jget(e, "passed"), *s = jget(e, "status");

    if (cJSON_IsBool(p))
        return cJSON_IsTrue(p);
    if (cJSON_IsString(s))
        return strcmp(s->valuestring, "passed") == 0;
    return -1;
}

static bool entry_total(const cJSON *e, double *v)
{
    const cJSON *sc = jget(e, "score");

    if (jnum(jget(e, "total"), v))
        return true;
    if (cJSON_IsObject(sc))
        return jnum(jget(sc, "total"), v);
    return jnum(sc, v);
}

static void trend_add(struct trend_acc *t, const cJSON *e)
{
    int p = entry_passed(e);
    double v;

    t->tasks++;
    if (p >= 0) {
        t->judged++;
        t->passed += (size_t)p;
    }
    if (entry_total(e, &v)) {
        t->scored++;
        t->sum += v;
    }
}

/* Adds one row (label, pass rate, mean) to the table or the JSON list. */
static int trend_row(const struct ctx *c, struct table *t, cJSON *list,
                     size_t first, size_t last, const struct trend_acc *acc)
{
    char *label, *rate, *mean;

    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        if (!o)
            return -ENOMEM;
        cJSON_AddItemToArray(list, o);
        if (first == 0) {
            if (!cJSON_AddStringToObject(o, "window", "all"))
                return -ENOMEM;
        } else if (!cJSON_AddNumberToObject(o, "first", (double)first) ||
                   !cJSON_AddNumberToObject(o, "last", (double)last)) {
            return -ENOMEM;
        }
        if (!cJSON_AddNumberToObject(o, "tasks", (double)acc->tasks) ||
            !(acc->judged ? cJSON_AddNumberToObject(o, "pass_rate",
                              (double)acc->passed / (double)acc->judged)
                          : cJSON_AddNullToObject(o, "pass_rate")) ||
            !(acc->scored ? cJSON_AddNumberToObject(o, "mean_score",
                              acc->sum / (double)acc->scored)
                          : cJSON_AddNullToObject(o, "mean_score")))
            return -ENOMEM;
        return 0;
    }
    if (first == 0)
        label = strdup("all");
    else if (asprintf(&label, "%zu-%zu", first, last) < 0)
        label = NULL;
    if (!acc->judged)
        rate = strdup("-");
    else if (asprintf(&rate, "%.0f%%",
                      100.0 * (double)acc->passed / (double)acc->judged) < 0)
        rate = NULL;
    if (!acc->scored)
        mean = strdup("-");
    else if (asprintf(&mean, "%.2f", acc->sum / (double)acc->scored) < 0)
        mean = NULL;
    if (table_put(t, label)) {
        free(rate);
        free(mean);
        return -ENOMEM;
    }
    if (table_put(t, rate)) {
        free(mean);
        return -ENOMEM;
    }
    return table_put(t, mean);
}

static int trend_skill(const struct ctx *c, const char *skill);
static int trend_set(const struct ctx *c, const char *set);

/* One window's pass rate and mean score for the sparklines (NaN: none). */
static void trend_spark(const struct trend_acc *w, double *rates,
                        double *means, size_t *n)
{
    rates[*n] = w->judged ? (double)w->passed / (double)w->judged : NAN;
    means[*n] = w->scored ? w->sum / (double)w->scored : NAN;
    (*n)++;
}

static int cmd_get_trend(const struct ctx *c, const struct args *a)
{
    cJSON *doc, *list = NULL;
    const cJSON *log, *e;
    struct table t = { .ncols = 3, .align = "lrr" };
    struct trend_acc win = { 0 }, all = { 0 };
    size_t i = 0, nspark = 0;
    double *rates = NULL, *means = NULL;   /* per window, for sparklines */
    int rc;

    if (a->nskills + a->nsets > 1) {
        bt_err("get-trend takes one --skill or --set");
        return usage_hint();
    }
    if (a->nskills)
        return trend_skill(c, a->skills[0]);
    if (a->nsets)
        return trend_set(c, a->sets[0]);
    if ((rc = load_json(c, "core/score_log.json", &doc, NULL)))
        return rc;
    log = cJSON_IsArray(doc) ? doc : jget_any(doc, "entries", "scores", NULL);
    if (!cJSON_IsArray(log)) {
        bt_err("%s/core/score_log.json holds no list of scores", c->mount);
        cJSON_Delete(doc);
        return EXIT_FAIL;
    }
    if (c->json) {
        if (!(list = cJSON_CreateArray()))
            goto nomem;
    } else if (cJSON_GetArraySize(log) == 0) {
        puts("no finished tasks yet");
        goto out;
    } else if (table_put_str(&t, "TASKS") || table_put_str(&t, "PASS RATE")
               || table_put_str(&t, "MEAN SCORE")) {
        goto nomem;
    }
    size_t nwin = (size_t)cJSON_GetArraySize(log) / TREND_WINDOW + 1;
    if (!(rates = calloc(nwin, sizeof *rates)) ||
        !(means = calloc(nwin, sizeof *means)))
        goto nomem;
    cJSON_ArrayForEach(e, log) {
        trend_add(&win, e);
        trend_add(&all, e);
        if (++i % TREND_WINDOW == 0) {
            if (trend_row(c, &t, list, i - TREND_WINDOW + 1, i, &win))
                goto nomem;
            trend_spark(&win, rates, means, &nspark);
            memset(&win, 0, sizeof(win));
        }
    }
    if (win.tasks && trend_row(c, &t, list, i - win.tasks + 1, i, &win))
        goto nomem;
    if (win.tasks)
        trend_spark(&win, rates, means, &nspark);
    if (i && trend_row(c, &t, list, 0, i, &all))
        goto nomem;
    if (c->json) {
        rc = print_json(list);
    } else {
        table_print(&t);
        putchar('\n');
        bt_sparkline("pass rate", rates, nspark);
        bt_sparkline("mean score", means, nspark);
    }
    goto out;
nomem:
    rc = oom();
out:
    free(rates);
    free(means);
    cJSON_Delete(list);
    table_free(&t);
    cJSON_Delete(doc);
    return rc;
}

/* ---- get-trend --skill ------------------------------------------------------------- */

/* Status counts of the tasks that carry one skill, or of one set. */
struct set_counts {
    size_t tasks, queued, running, passed, failed, error, cancelled, other;
    size_t scored;
    double sum;
};

static bool has_skill(const cJSON *doc, const char *skill)
{
    const cJSON *e;

    cJSON_ArrayForEach(e, jget(doc, "skills"))
        if (cJSON_IsString(e) && strcasecmp(e->valuestring, skill) == 0)
            return true;
    return false;
}

static void set_count(struct set_counts *n, const cJSON *doc)
{
    static const struct { const char *name; size_t off; } ST[] = {
        { "queued",    offsetof(struct set_counts, queued) },
        { "running",   offsetof(struct set_counts, running) },
        { "passed",    offsetof(struct set_counts, passed) },
        { "failed",    offsetof(struct set_counts, failed) },
        { "error",     offsetof(struct set_counts, error) },
        { "cancelled", offsetof(struct set_counts, cancelled) },
    };
    const cJSON *st = jget(doc, "status");
    size_t *slot = &n->other;
    double v;

    n->tasks++;
    for (size_t i = 0; i < sizeof(ST) / sizeof(ST[0]); i++)
        if (cJSON_IsString(st) && strcmp(st->valuestring, ST[i].name) == 0)
            slot = (size_t *)((char *)n + ST[i].off);
    (*slot)++;
    if ((slot == &n->passed || slot == &n->failed) && entry_total(doc, &v)) {
        n->scored++;
        n->sum += v;
    }
}

static int set_print_json(const char *kind, const char *name,
                          const struct set_counts *n)
{
    cJSON *o = cJSON_CreateObject();
    size_t judged = n->passed + n->failed;
    int rc;

    if (!o || !cJSON_AddStringToObject(o, kind, name) ||
        !cJSON_AddNumberToObject(o, "tasks", (double)n->tasks) ||
        !cJSON_AddNumberToObject(o, "passed", (double)n->passed) ||
        !cJSON_AddNumberToObject(o, "failed", (double)n->failed) ||
        !cJSON_AddNumberToObject(o, "error", (double)n->error) ||
        !cJSON_AddNumberToObject(o, "running", (double)n->running) ||
        !cJSON_AddNumberToObject(o, "queued", (double)n->queued) ||
        !cJSON_AddNumberToObject(o, "cancelled", (double)n->cancelled) ||
        !(judged ? cJSON_AddNumberToObject(o, "pass_rate",
                       (double)n->passed / (double)judged)
                 : cJSON_AddNullToObject(o, "pass_rate")) ||
        !(n->scored ? cJSON_AddNumberToObject(o, "mean_score",
                          n->sum / (double)n->scored)
                    : cJSON_AddNullToObject(o, "mean_score"))) {
        cJSON_Delete(o);
        return oom();
    }
    rc = print_json(o);
    cJSON_Delete(o);
    return rc;
}

/* Prints the counts of the tasks with skill or set (kind) 'name'. Returns
 * 0 or an exit code. */
static int counts_print(const struct ctx *c, const char *kind,
                        const char *name_in, const struct set_counts *np)
{
    struct set_counts n = *np;     /* a copy: the code below reads n.x */

    if (c->json)
        return set_print_json(kind, name_in, &n);
    char *name = clean_text(name_in, true);
    if (!name)
        return oom();
    if (n.tasks == 0) {
        printf("no tasks %s '%s'\n", strcmp(kind, "set") ? "with skill"
               : "in set", name);
        free(name);
        return 0;
    }
    size_t judged = n.passed + n.failed;
    printf("%s %s: %zu task%s\n", kind, name, n.tasks,
           n.tasks == 1 ? "" : "s");
    free(name);
    printf("  %-10s %6zu\n", "passed", n.passed);
    printf("  %-10s %6zu\n", "failed", n.failed);
    printf("  %-10s %6zu\n", "error", n.error);
    printf("  %-10s %6zu\n", "running", n.running);
    printf("  %-10s %6zu\n", "queued", n.queued);
    if (n.cancelled)
        printf("  %-10s %6zu\n", "cancelled", n.cancelled);
    if (n.other)
        printf("  %-10s %6zu\n", "other", n.other);
    if (judged)
        printf("pass rate    %.1f%% (%zu of %zu judged; errors not counted)"
               "\n", 100.0 * (double)n.passed / (double)judged, n.passed,
               judged);
    else
        printf("pass rate    - (none judged yet)\n");
    if (n.scored)
        printf("mean score   %.2f\n", n.sum / (double)n.scored);
    return 0;
}

/* get-trend --skill S: reads every task file. The pass rate counts passed
 * and failed tasks only: an error says the LLM could not be reached or
 * answered nothing usable, which is no verdict on the model's code. */
static int trend_skill(const struct ctx *c, const char *skill)
{
    struct set_counts n = { 0 };
    uint64_t *ids;
    size_t nids;
    int rc, failed = 0;

    if ((rc = list_task_ids(c, &ids, &nids)))
        return rc;
    for (size_t i = 0; i < nids; i++) {
        char rel[64];
        cJSON *doc;

        snprintf(rel, sizeof(rel), "tasks/task_%06" PRIu64 ".json", ids[i]);
        if (load_json(c, rel, &doc, NULL)) {
            failed = 1;     /* named on stderr; count the others */
            continue;
        }
        if (has_skill(doc, skill))
            set_count(&n, doc);
        cJSON_Delete(doc);
    }
    free(ids);
    rc = counts_print(c, "skill", skill, &n);
    return rc ? rc : failed ? EXIT_FAIL : 0;
}

/* get-trend --set S: the tasks of S exactly, as eval/S.json lists them --
 * no Trainer or seed task is ever in a set, whatever its skills. */
static int trend_set(const struct ctx *c, const char *set)
{
    struct set_counts n = { 0 };
    char *name, *rel = NULL, *buf = NULL;
    const cJSON *tasks, *e;
    cJSON *doc;
    int rc;

    if (!task_set_name_ok(set)) {
        bt_err("--set must be 1 to %d characters of a-z, 0-9, '_', '-' and "
               "'.', the first a letter or digit, got '%s'", TASK_MAX_SET_LEN,
               set);
        return EXIT_USAGE;
    }
    if (!(name = strdup(set)))
        return oom();
    for (char *p = name; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (asprintf(&rel, "eval/%s.json", name) < 0) {
        free(name);
        return oom();
    }
    rc = read_rel(c, rel, &buf, NULL);
    if (rc == -ENOENT) {
        bt_err("no set '%s' (bt report lists the sets)", name);
        rc = EXIT_FAIL;
    } else if (rc) {
        bt_err("cannot read %s/%s: %s", c->mount, rel, strerror(-rc));
        rc = EXIT_FAIL;
    } else if (!(doc = cJSON_Parse(buf))) {
        bt_err("%s/%s is not valid JSON", c->mount, rel);
        rc = EXIT_FAIL;
    } else {
        tasks = jget(doc, "tasks");
        if (!cJSON_IsArray(tasks)) {
            bt_err("%s/%s holds no list of tasks", c->mount, rel);
            rc = EXIT_FAIL;
        } else {
            cJSON_ArrayForEach(e, tasks)
                set_count(&n, e);
            rc = counts_print(c, "set", name, &n);
        }
        cJSON_Delete(doc);
    }
    free(buf);
    free(rel);
    free(name);
    return rc;
}

/* ---- import ------------------------------------------------------------------------ */

/* Takes the reply to a refused write ("error: line K: REASON") to K and
 * REASON; K is 0 if the reply names no line. */
static const char *reply_error(char *reply, size_t *k)
{
    char *r = reply, *nl;

    *k = 0;
    /* The reply to one write: its first error is the one that counts. */
    if ((nl = strchr(r, '\n')))
        *nl = '\0';
    if (strncmp(r, "error: ", 7) == 0)
        r += 7;
    if (strncmp(r, "line ", 5) == 0) {
        char *p = r + 5;
        size_t v = 0;
        while (*p >= '0' && *p <= '9' && v < SIZE_MAX / 10)
            v = v * 10 + (size_t)(*p++ - '0');
        if (p > r + 5 && p[0] == ':' && p[1] == ' ') {
            *k = v;
            r = p + 2;
        }
    }
    return r;
}

static void import_problem(const char *file, size_t line, const char *sid,
                           const char *what, const char *reason)
{
    char *s = clean_text(reason, true), *id = sid ? clean_text(sid, true)
                                                   : NULL;

    bt_err("%s: line %zu%s%s%s: %s%s", file, line, id ? " (" : "",
           id ? id : "", id ? ")" : "", what, s ? s : "?");
    free(id);
    free(s);
}

/* Writes one batch, items [first, end) that are not dropped, in one
 * write(2) and reads the reply. Returns 0 (ids set), 1 (btfs refused the
 * item *bad; its refusal set), or an exit code after saying what failed. */
static int import_batch(int fd, const char *path, struct bt_import_set *s,
                        size_t first, size_t end, size_t *bad)
{
    size_t len = 0, n = 0;
    char *buf, *reply = NULL;
    int rc = 0;

    for (size_t i = first; i < end; i++)
        if (!s->items[i].dropped)
            len += s->items[i].len + 1;
    if (!(buf = malloc(len + 1)))
        return oom();
    len = 0;
    for (size_t i = first; i < end; i++) {
        if (s->items[i].dropped)
            continue;
        memcpy(buf + len, s->items[i].task, s->items[i].len);
        len += s->items[i].len;
        buf[len++] = '\n';
        n++;
    }
    ssize_t w;
    do
        w = write(fd, buf, len);
    while (w < 0 && errno == EINTR);
    int werr = w < 0 ? errno : 0;
    free(buf);
    if (w >= 0 && (size_t)w != len) {
        bt_err("short write to %s (%zd of %zu bytes)", path, w, len);
        return EXIT_FAIL;
    }
    (void)lseek(fd, 0, SEEK_SET);
    int rerr = read_fd(fd, &reply, NULL);
    if (rerr == -ENOMEM)
        return oom();
    if (werr) {
        size_t k = 0;
        const char *why = rerr == 0 && *reply ? reply_error(reply, &k)
                                              : strerror(werr);
        /* The K-th line of this write is the K-th item not dropped. */
        for (size_t i = first; k && i < end; i++) {
            if (s->items[i].dropped || --k)
                continue;
            if (!(s->items[i].refusal = strdup(why)))
                rc = oom();
            else
                *bad = i;
            free(reply);
            return rc ? rc : 1;
        }
        bt_err("writing %s: %s", path, why);
        free(reply);
        return EXIT_FAIL;
    }
    if (rerr) {
        bt_err("cannot read the reply from %s: %s", path, strerror(-rerr));
        return EXIT_FAIL;
    }
    /* One id a line, in the order written. */
    char *save = NULL, *tok = strtok_r(reply, "\n", &save);
    size_t got = 0;
    for (size_t i = first; i < end && tok; i++) {
        uint64_t id;
        if (s->items[i].dropped)
            continue;
        if (strncmp(tok, "task_", 5) != 0 || task_id_parse(tok, &id)) {
            char *t = clean_text(tok, true);
            bt_err("unexpected reply from %s: '%s'", path, t ? t : "?");
            free(t);
            free(reply);
            return EXIT_FAIL;
        }
        if (!(s->items[i].id = strdup(tok))) {
            free(reply);
            return oom();
        }
        got++;
        tok = strtok_r(NULL, "\n", &save);
    }
    free(reply);
    if (got != n) {
        bt_err("%s answered %zu ids for %zu tasks", path, got, n);
        return EXIT_FAIL;
    }
    return 0;
}

/* Prints the ids as ranges of consecutive numbers:
 * "task_000012..task_000175" (another writer's tasks may split it). */
static void print_id_ranges(const struct bt_import_set *s)
{
    uint64_t lo = 0, hi = 0, id;
    bool open = false;
    const char *sep = "";

    for (size_t i = 0; i <= s->nitems; i++) {
        bool have = i < s->nitems && s->items[i].id &&
                    task_id_parse(s->items[i].id, &id) == 0;
        if (have && open && id == hi + 1) {
            hi = id;
            continue;
        }
        if (open && (have || i == s->nitems)) {
            printf("%stask_%06" PRIu64, sep, lo);
            if (hi != lo)
                printf("..task_%06" PRIu64, hi);
            sep = ", ";
            open = false;
        }
        if (have) {
            lo = hi = id;
            open = true;
        }
    }
    putchar('\n');
}

static int import_report_json(const struct bt_import_set *s)
{
    cJSON *o = cJSON_CreateObject(), *imp, *skip, *pres, *e;
    int rc;

    if (!o || !(imp = cJSON_AddArrayToObject(o, "imported")) ||
        !(skip = cJSON_AddArrayToObject(o, "skipped")) ||
        !(pres = cJSON_AddArrayToObject(o, "already_present")))
        goto nomem;
    for (size_t i = 0; i < s->nitems; i++) {
        const struct bt_import_item *it = &s->items[i];
        if (it->present || it->repeat_of) {
            char *why = NULL;
            if (!(e = cJSON_CreateObject()))
                goto nomem;
            cJSON_AddItemToArray(it->present ? pres : skip, e);
            if (it->repeat_of &&
                asprintf(&why, "the same problem as line %zu", it->repeat_of)
                < 0)
                goto nomem;
            bool ok = cJSON_AddNumberToObject(e, "line", (double)it->line) &&
                (it->source_id ? cJSON_AddStringToObject(e, "source_id",
                                                        it->source_id)
                               : cJSON_AddNullToObject(e, "source_id")) &&
                cJSON_AddStringToObject(e, "set", it->set) &&
                (it->present ? cJSON_AddStringToObject(e, "task", it->present)
                             : cJSON_AddStringToObject(e, "error", why));
            free(why);
            if (!ok)
                goto nomem;
            continue;
        }
        if (!it->id && !it->refusal)
            continue;   /* never written: the import stopped before it */
        if (!(e = cJSON_CreateObject()))
            goto nomem;
        cJSON_AddItemToArray(it->id ? imp : skip, e);
        if (!cJSON_AddNumberToObject(e, "line", (double)it->line) ||
            !(it->source_id ? cJSON_AddStringToObject(e, "source_id",
                                                      it->source_id)
                            : cJSON_AddNullToObject(e, "source_id")) ||
            !(it->id ? cJSON_AddStringToObject(e, "id", it->id)
                     : cJSON_AddStringToObject(e, "error", it->refusal)))
            goto nomem;
    }
    for (size_t i = 0; i < s->nproblems; i++) {
        const struct bt_import_problem *pr = &s->problems[i];
        if (!(e = cJSON_CreateObject()))
            goto nomem;
        cJSON_AddItemToArray(skip, e);
        if (!cJSON_AddNumberToObject(e, "line", (double)pr->line) ||
            !(pr->source_id ? cJSON_AddStringToObject(e, "source_id",
                                                      pr->source_id)
                            : cJSON_AddNullToObject(e, "source_id")) ||
            !cJSON_AddStringToObject(e, "error", pr->reason))
            goto nomem;
    }
    rc = print_json(o);
    cJSON_Delete(o);
    return rc;
nomem:
    cJSON_Delete(o);
    return oom();
}

/* Writes the converted tasks to tasks/new in batches. A line btfs refuses
 * (bt runs btfs's own task parser on every line beforehand, so only a btfs
 * of another version would) stops the import, the batches before it being
 * already queued -- or, with --skip-bad, is left out and its batch written
 * again. */
static int import_write(const struct ctx *c, const char *file,
                        struct bt_import_set *s, bool skip)
{
    char *path = mpath(c, "tasks/new");
    size_t first = 0, imported = 0, refused = 0;
    int fd, rc = 0;

    if (!path)
        return oom();
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        bt_err("cannot open %s: %s", path, strerror(errno));
        free(path);
        return EXIT_FAIL;
    }
    while (first < s->nitems) {
        size_t end = bt_import_batch_end(s, first, IMPORT_BATCH_LINES,
                                         IMPORT_BATCH_BYTES), bad = 0;
        rc = import_batch(fd, path, s, first, end, &bad);
        if (rc == 1) {
            struct bt_import_item *it = &s->items[bad];
            import_problem(file, it->line, it->source_id, "refused by btfs: ",
                           it->refusal);
            refused++;
            rc = 0;
            if (skip) {
                it->dropped = true;
                continue;   /* the same batch again, without it */
            }
            rc = EXIT_FAIL;
        }
        if (rc)
            break;
        first = end;
    }
    if (close(fd) < 0 && !rc) {
        bt_err("closing %s: %s", path, strerror(errno));
        rc = EXIT_FAIL;
    }
    for (size_t i = 0; i < s->nitems; i++)
        imported += s->items[i].id != NULL;
    if (rc && first < s->nitems) {
        size_t line = s->items[first].line;
        bt_err("import stopped: the tasks from line %zu on were not written"
               "%s", line, imported ? "; those before are queued" : "");
    }
    if (c->json) {
        int e = import_report_json(s);
        rc = rc ? rc : e;
    } else if (imported) {
        printf("imported %zu task%s: ", imported, imported == 1 ? "" : "s");
        print_id_ranges(s);
    } else {
        printf("imported no tasks\n");
    }
    if (!rc && refused + s->nproblems)
        bt_err("skipped %zu problem%s (see above)", refused + s->nproblems,
               refused + s->nproblems == 1 ? "" : "s");
    free(path);
    return rc ? rc : imported ? 0 : EXIT_FAIL;
}

/* Reads the problem ids already in set 'set' (eval/SET.json "tasks")
 * and drops the items that hold one of them. A set with no file yet has
 * none. Returns how many were dropped, or -1 after saying what failed. */
static long import_skip_set(const struct ctx *c, struct bt_import_set *s,
                            const char *set)
{
    struct bt_import_present *p = NULL;
    const cJSON *tasks, *e;
    char *rel, *buf = NULL;
    cJSON *doc = NULL;
    size_t n = 0;
    long dropped = -1;
    int rc;

    if (asprintf(&rel, "eval/%s.json", set) < 0) {
        oom();
        return -1;
    }
    rc = read_rel(c, rel, &buf, NULL);
    if (rc == -ENOENT) {
        dropped = 0;    /* a set no task of which was ever queued */
        goto out;
    }
    if (rc) {
        bt_err("cannot read %s/%s (to skip the problems already in set "
               "'%s'): %s", c->mount, rel, set, strerror(-rc));
        goto out;
    }
    if (!(doc = cJSON_Parse(buf)) ||
        !cJSON_IsArray(tasks = jget(doc, "tasks"))) {
        bt_err("%s/%s holds no list of tasks: cannot tell which problems "
               "are already in set '%s'", c->mount, rel, set);
        goto out;
    }
    if (!(p = calloc((size_t)cJSON_GetArraySize(tasks) + 1, sizeof(*p)))) {
        oom();
        goto out;
    }
    cJSON_ArrayForEach(e, tasks) {
        const cJSON *pid = jget(e, "problem_id"), *t = jget(e, "task");
        if (cJSON_IsString(pid))
            p[n++] = (struct bt_import_present){
                pid->valuestring, cJSON_IsString(t) ? t->valuestring : NULL };
    }
    if ((dropped = bt_import_skip_present(s, set, p, n)) < 0) {
        oom();
        dropped = -1;
    }
out:
    free(p);
    cJSON_Delete(doc);
    free(buf);
    free(rel);
    return dropped;
}

/* Drops what must not be queued twice: a problem given twice in the file,
 * and (unless dry) one already in its set on the mount. Says so for each,
 * then counts them. Returns 0 or an exit code. */
static int import_skip(const struct ctx *c, const char *file,
                       struct bt_import_set *s, bool dry, size_t *skipped)
{
    long n = bt_import_skip_repeats(s);

    if (n < 0)
        return oom();
    *skipped = (size_t)n;
    for (size_t i = 0; !dry && i < s->nitems; i++) {
        const char *set = s->items[i].set;
        bool seen = false;
        /* A bad name in a task line is btfs's to refuse, not a file to
         * look for. */
        if (!set || !s->items[i].problem_id || !task_set_name_ok(set))
            continue;
        for (size_t j = 0; j < i && !seen; j++)
            seen = s->items[j].set && s->items[j].problem_id &&
                   strcmp(s->items[j].set, set) == 0;
        if (seen)
            continue;
        if ((n = import_skip_set(c, s, set)) < 0)
            return EXIT_FAIL;
        *skipped += (size_t)n;
    }
    for (size_t i = 0; i < s->nitems; i++) {
        const struct bt_import_item *it = &s->items[i];
        char *why = NULL;
        int k = -1;
        if (it->present)
            k = asprintf(&why, "already in set %s as %s, skipped", it->set,
                         it->present);
        else if (it->repeat_of)
            k = asprintf(&why, "the same problem as line %zu (set %s), "
                         "skipped", it->repeat_of, it->set);
        else
            continue;
        if (k < 0)
            return oom();
        import_problem(file, it->line, it->source_id, "", why);
        free(why);
    }
    if (*skipped)
        bt_err("%zu problem%s already in %s set%s skipped (import under a "
               "new --set NAME to run them again)", *skipped,
               *skipped == 1 ? "" : "s", *skipped == 1 ? "its" : "their",
               *skipped == 1 ? " was" : "s were");
    return 0;
}

static int cmd_import(const struct ctx *c, const struct args *a)
{
    enum bt_import_format fmt = BT_IMPORT_TASKS;
    const char *file = a->pos[0], *set = a->opt[OPT_SET];
    bool dry = a->opt[OPT_DRY_RUN] != NULL, skip = a->opt[OPT_SKIP_BAD];
    struct bt_import_opts opts = {
        .set = set, .train = a->opt[OPT_TRAIN] != NULL,
        .no_memory = a->opt[OPT_NO_MEMORY] != NULL,
    };
    struct bt_import_set s = { 0 };
    char *buf = NULL;
    size_t len = 0, skipped = 0;
    int fd, rc;

    if (a->opt[OPT_FORMAT] && bt_import_format_parse(a->opt[OPT_FORMAT],
                                                     &fmt)) {
        bt_err("--format must be tasks, humaneval or mbpp, got '%s'",
               a->opt[OPT_FORMAT]);
        return EXIT_USAGE;
    }
    if (a->nsets > 1) {
        bt_err("import takes one --set");
        return usage_hint();
    }
    if (set && !task_set_name_ok(set)) {
        bt_err("--set must be 1 to %d characters of a-z, 0-9, '_', '-' and "
               "'.', the first a letter or digit, got '%s'", TASK_MAX_SET_LEN,
               set);
        return EXIT_USAGE;
    }
    if (a->opt[OPT_MAX_ATTEMPTS]) {
        long v;
        if ((rc = parse_long("max-attempts", a->opt[OPT_MAX_ATTEMPTS], 1,
                             TASK_MAX_ATTEMPTS, &v)))
            return rc;
        opts.max_attempts = (int)v;
    }
    fd = strcmp(file, "-") == 0 ? STDIN_FILENO
                                : open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        bt_err("cannot open %s: %s", file, strerror(errno));
        return EXIT_FAIL;
    }
    rc = read_fd(fd, &buf, &len);
    if (fd != STDIN_FILENO)
        close(fd);
    if (rc == -ENOMEM)
        return oom();
    if (rc) {
        bt_err("cannot read %s: %s", file, strerror(-rc));
        return EXIT_FAIL;
    }
    rc = bt_import_parse(buf, len, fmt, &opts, &s);
    free(buf);
    if (rc) {
        bt_import_set_free(&s);
        return oom();
    }
    for (size_t i = 0; i < s.nproblems; i++)
        import_problem(file, s.problems[i].line, s.problems[i].source_id, "",
                       s.problems[i].reason);
    if (s.nproblems && !skip) {
        bt_err("nothing imported: %zu line%s of %s cannot be imported (fix "
               "%s, or pass --skip-bad to import the others)", s.nproblems,
               s.nproblems == 1 ? "" : "s", file,
               s.nproblems == 1 ? "it" : "them");
        rc = EXIT_FAIL;
    } else if (s.nitems == 0) {
        bt_err("%s holds no %s problems to import", file,
               bt_import_format_name(fmt));
        rc = EXIT_FAIL;
    } else if ((rc = import_skip(c, file, &s, dry, &skipped))) {
        /* said */
    } else if (dry) {
        for (size_t i = 0; i < s.nitems; i++)
            if (!s.items[i].dropped)
                printf("%s\n", s.items[i].task);
        if (s.nproblems)
            bt_err("would skip %zu problem%s (see above)", s.nproblems,
                   s.nproblems == 1 ? "" : "s");
    } else if (skipped == s.nitems) {
        /* Safe to run again: nothing new is no failure. */
        if (c->json)
            rc = import_report_json(&s);
        else
            printf("imported no tasks: all %zu problem%s already in %s "
                   "set\n", skipped, skipped == 1 ? " is" : "s are",
                   skipped == 1 ? "its" : "their");
    } else {
        rc = import_write(c, file, &s, skip);
    }
    bt_import_set_free(&s);
    return rc;
}

/* ---- report ------------------------------------------------------------------------ */

/* The set names under eval/, sorted. Returns 0 or an exit code. */
static int list_sets(const struct ctx *c, char ***names, size_t *n)
{
    char *path = mpath(c, "eval");
    size_t cap = 0;
    struct dirent *d;
    DIR *dir;

    *names = NULL;
    *n = 0;
    if (!path)
        return oom();
    if (!(dir = opendir(path))) {
        int e = errno;
        free(path);
        if (e == ENOENT)
            return 0;   /* a btfs from before sets: there are none */
        bt_err("cannot list %s/eval: %s", c->mount, strerror(e));
        return EXIT_FAIL;
    }
    free(path);
    while ((d = readdir(dir))) {
        size_t len = strlen(d->d_name);
        if (len <= 5 || strcmp(d->d_name + len - 5, ".json") != 0)
            continue;
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nn = realloc(*names, ncap * sizeof(*nn));
            if (!nn)
                goto nomem;
            *names = nn;
            cap = ncap;
        }
        if (!((*names)[*n] = strndup(d->d_name, len - 5)))
            goto nomem;
        (*n)++;
    }
    closedir(dir);
    if (*n)
        qsort(*names, *n, sizeof(**names), cmp_str);
    return 0;
nomem:
    closedir(dir);
    for (size_t i = 0; i < *n; i++)
        free((*names)[i]);
    free(*names);
    *names = NULL;
    *n = 0;
    return oom();
}

/* bt report: one row per set, from eval/SET.json; --set picks sets. */
static int cmd_report(const struct ctx *c, const struct args *a)
{
    struct table t = { .ncols = BT_REPORT_NCOLS, .align = bt_report_align };
    char **names = NULL;
    size_t n = 0, rows = 0;
    cJSON *list = NULL;
    int rc = 0, failed = 0;

    if (a->nsets) {
        if (!(names = calloc(a->nsets, sizeof(*names))))
            return oom();
        for (; n < a->nsets; n++) {
            if (!task_set_name_ok(a->sets[n])) {
                bt_err("--set must be 1 to %d characters of a-z, 0-9, '_', "
                       "'-' and '.', the first a letter or digit, got '%s'",
                       TASK_MAX_SET_LEN, a->sets[n]);
                rc = EXIT_USAGE;
                goto out;
            }
            if (!(names[n] = strdup(a->sets[n]))) {
                rc = oom();
                goto out;
            }
            for (char *p = names[n]; *p; p++)
                *p = (char)tolower((unsigned char)*p);
        }
    } else if ((rc = list_sets(c, &names, &n))) {
        goto out;
    }
    if (c->json && !(list = cJSON_CreateArray())) {
        rc = oom();
        goto out;
    }
    for (size_t i = 0; !c->json && i < BT_REPORT_NCOLS; i++)
        if (table_put_str(&t, bt_report_header[i])) {
            rc = oom();
            goto out;
        }
    for (size_t i = 0; i < n; i++) {
        char rel[TASK_MAX_SET_LEN + 16], *buf = NULL, *cells[BT_REPORT_NCOLS];
        cJSON *doc;

        snprintf(rel, sizeof(rel), "eval/%s.json", names[i]);
        int e = read_rel(c, rel, &buf, NULL);
        if (e == -ENOENT && a->nsets) {
            bt_err("no set '%s' (bt report without --set lists them all)",
                   names[i]);
            failed = 1;
            continue;
        }
        if (e) {
            bt_err("cannot read %s/%s: %s", c->mount, rel, strerror(-e));
            failed = 1;
            continue;
        }
        doc = cJSON_Parse(buf);
        free(buf);
        if (!doc) {
            bt_err("%s/%s is not valid JSON", c->mount, rel);
            failed = 1;
            continue;
        }
        if (c->json) {
            cJSON_AddItemToArray(list, doc);
            rows++;
            continue;
        }
        e = bt_report_row(doc, cells);
        cJSON_Delete(doc);
        if (e == -EINVAL) {
            bt_err("%s/%s names no set", c->mount, rel);
            failed = 1;
            continue;
        }
        for (size_t k = 0; k < BT_REPORT_NCOLS; k++)
            if (e || table_put(&t, cells[k])) {
                for (size_t j = k + 1; !e && j < BT_REPORT_NCOLS; j++)
                    free(cells[j]);
                rc = oom();
                goto out;
            }
        rows++;
    }
    if (c->json)
        rc = print_json(list);
    else if (rows)
        table_print(&t);
    else if (!failed)
        puts("no benchmark sets yet (bt import FILE --format humaneval "
             "makes one)");
out:
    cJSON_Delete(list);
    table_free(&t);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc ? rc : failed ? EXIT_FAIL : 0;
}

/* ---- status, pause, resume --------------------------------------------------------- */

static void print_duration(const char *key, double s)
{
    long long v = (long long)s, d = v / 86400, h = v % 86400 / 3600,
              m = v % 3600 / 60, sec = v % 60;

    printf("%-14s ", key);
    if (d)
        printf("%lldd %lldh %lldm\n", d, h, m);
    else if (h)
        printf("%lldh %lldm %llds\n", h, m, sec);
    else if (m)
        printf("%lldm %llds\n", m, sec);
    else
        printf("%llds\n", sec);
}

static int status_line(const char *key, const cJSON *v)
{
    char *s;

    if (cJSON_IsBool(v))
        s = strdup(cJSON_IsTrue(v) ? "yes" : "no");
    else if (!v || cJSON_IsNull(v) ||
             (cJSON_IsString(v) && !*v->valuestring))
        s = strdup("-");
    else
        s = fmt_value(v);
    if (!s)
        return oom();
    printf("%-14s %s\n", key, s);
    free(s);
    return 0;
}

/* "  #0 working on task_000042: running tests (since 12s)". The task is a
 * number (0 for none) or an id string; a field may be missing. */
static int builder_line(int i, const cJSON *b)
{
    const cJSON *st = jget(b, "state"), *task = jget(b, "task"),
                *step = jget(b, "step"), *since = jget(b, "since");
    char *state = fmt_value(st), *what = NULL;
    double n;
    int rc = 0;

    if (!state)
        return oom();
    printf("  #%d %s", i, state);
    if (jnum(task, &n) && n > 0 && n < 1e19)
        printf(" on task_%06" PRIu64, (uint64_t)n);
    else if (cJSON_IsString(task) && *task->valuestring &&
             (what = clean_text(task->valuestring, true)))
        printf(" on %s", what);
    free(what);
    what = NULL;
    if (cJSON_IsString(step) && *step->valuestring) {
        if (!(what = clean_text(step->valuestring, true)))
            rc = oom();
        else
            printf(": %s", what);
    }
    if (jnum(since, &n) && n > 0 && n < 1e15 && time(NULL) >= (time_t)n) {
        printf(" (%llds)", (long long)(time(NULL) - (time_t)n));
    } else if (!rc && cJSON_IsString(since) && *since->valuestring) {
        free(what);
        if (!(what = clean_text(since->valuestring, true)))
            rc = oom();
        else
            printf(" (since %s)", what);
    }
    putchar('\n');
    free(what);
    free(state);
    return rc;
}

static int cmd_status(const struct ctx *c, const struct args *a)
{
    cJSON *doc;
    bool done;
    int rc = load_doc(c, "status.json", &doc, &done);
    const cJSON *llm, *v, *b;
    double up;

    if (rc || done)
        return rc;
    llm = jget(doc, "llm");
    if (!cJSON_IsObject(llm))
        llm = doc;
    rc = status_line("state:", jget(doc, "state"));
    if (!rc && (v = jget(doc, "reason")) && cJSON_IsString(v))
        rc = status_line("reason:", v);
    v = jget_any(doc, "uptime_s", "uptime", NULL);
    if (!rc && jnum(v, &up) && up >= 0)
        print_duration("uptime:", up);
    else if (!rc)
        rc = status_line("uptime:", v);
    if (!rc)
        rc = status_line("queue depth:",
                         jget_any(doc, "queue_depth", "queued", NULL));
    if (!rc)
        rc = status_line("tasks total:",
                         jget_any(doc, "tasks_total", "tasks", NULL));
    if (!rc) {
        /* The counts live in the profile; a status without them is still
         * a status. */
        char *ptext = NULL;
        cJSON *prof = read_rel(c, "core/builder_profile.json", &ptext,
                               NULL) == 0 ? cJSON_Parse(ptext) : NULL;
        double np, nf, ne;
        if (jnum(jget(prof, "passed"), &np) && jnum(jget(prof, "failed"), &nf)
            && jnum(jget(prof, "errors"), &ne))
            printf("%-14s %.0f passed, %.0f failed, %.0f error\n",
                   "results:", np, nf, ne);
        cJSON_Delete(prof);
        free(ptext);
    }
    if (!rc)
        rc = status_line("llm url:", jget_any(llm, "url", "llm_url", NULL));
    if (!rc)
        rc = status_line("llm model:",
                         jget_any(llm, "model", "llm_model", NULL));
    v = jget_any(llm, "reachable", "llm_reachable", NULL);
    if (!rc && !v)
        printf("%-14s %s\n", "llm reachable:", "not checked yet");
    else if (!rc)
        rc = status_line("llm reachable:", v);
    if (!rc)
        rc = status_line("llm error:",
                         jget_any(llm, "last_error", "error", "llm_error",
                                  NULL));
    if (!rc && (v = jget(doc, "sandbox")))
        rc = status_line("sandbox:", v);
    if (!rc && (v = jget_any(doc, "agents", "agents_note", NULL)) &&
        cJSON_IsString(v) && *v->valuestring)
        rc = status_line("agents:", v);
    if (!rc && (v = jget(doc, "last_error")) && llm != doc)
        rc = status_line("last error:", v);
    if (!rc && (v = jget(doc, "data_dir")))
        rc = status_line("data:", v);
    if (!rc && (v = jget(doc, "started_at")))
        rc = status_line("started:", v);
    b = jget(doc, "builders");
    if (!rc && cJSON_IsArray(b)) {
        int i = 0;
        printf("%-14s %d\n", "builders:", cJSON_GetArraySize(b));
        cJSON_ArrayForEach(v, b)
            if ((rc = builder_line(i++, v)))
                break;
    }
    cJSON_Delete(doc);
    return rc;
}

static int control_write(const struct ctx *c, const char *word)
{
    char *path = mpath(c, "control"), *state = NULL;
    size_t len = strlen(word);
    int fd, rc = 0;
    ssize_t n;

    if (!path)
        return oom();
    /* No O_TRUNC: control is not a file with content to replace. */
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        bt_err("cannot open %s: %s", path, strerror(errno));
        free(path);
        return EXIT_FAIL;
    }
    do
        n = write(fd, word, len);
    while (n < 0 && errno == EINTR);
    if (n < 0 || (size_t)n != len) {
        bt_err("cannot %.*s: %s", (int)len - 1, word,
               n < 0 ? strerror(errno) : "short write");
        rc = EXIT_FAIL;
    }
    if (close(fd) < 0 && !rc) {
        bt_err("cannot %.*s: %s", (int)len - 1, word, strerror(errno));
        rc = EXIT_FAIL;
    }
    if (!rc) {
        int e = read_rel(c, "control", &state, NULL);
        if (e) {
            bt_err("cannot read %s: %s", path, strerror(-e));
            rc = EXIT_FAIL;
        } else {
            size_t l = strlen(state);
            while (l && isspace((unsigned char)state[l - 1]))
                state[--l] = '\0';
            char *s = clean_text(state, true);
            if (!s)
                rc = oom();
            else if (c->json)
                rc = print_json_kv("state", s);
            else
                printf("%s\n", s);
            free(s);
        }
    }
    free(state);
    free(path);
    return rc;
}

static int cmd_pause(const struct ctx *c, const struct args *a)
{
    return control_write(c, "pause\n");
}

static int cmd_resume(const struct ctx *c, const struct args *a)
{
    return control_write(c, "resume\n");
}

/* ---- help -------------------------------------------------------------------------- */

static const struct command *command_find(const char *name);

/* Prints one command's help; a command without an entry in bt_help.c falls
 * back to the whole usage rather than to nothing. */
static int help_command(const char *name)
{
    const struct bt_help *h = bt_help_find(name);

    if (!h) {
        fputs(USAGE, stdout);
        return 0;
    }
    return bt_help_print(h, stdout) < 0 ? EXIT_FAIL : 0;
}

static int cmd_help(const struct ctx *c, const struct args *a)
{
    (void)c;
    if (a->npos == 0) {
        fputs(USAGE, stdout);
        return 0;
    }
    if (!command_find(a->pos[0])) {
        bt_err("unknown command '%s'", a->pos[0]);
        return usage_hint();
    }
    return help_command(a->pos[0]);
}

/* ---- watch, logs, cancel (bt_watch.c) --------------------------------------------- */

static int cmd_watch(const struct ctx *c, const struct args *a)
{
    long count = 0;

    if (a->opt[OPT_COUNT] &&
        parse_long("count", a->opt[OPT_COUNT], 1, 1000000, &count))
        return usage_hint();
    return bt_watch(c->mount, c->json, count);
}

static int cmd_logs(const struct ctx *c, const struct args *a)
{
    return bt_logs(c->mount, c->json, a->opt[OPT_FOLLOW] != NULL,
                   a->opt[OPT_TASK]);
}

static int cmd_cancel(const struct ctx *c, const struct args *a)
{
    return bt_cancel(c->mount, c->json, a->pos, a->npos, a->opt[OPT_SET],
                     a->opt[OPT_SOURCE]);
}

/* ---- main -------------------------------------------------------------------------- */

static const enum opt_id ADD_OPTS[] = { OPT_DIFFICULTY, OPT_PRIORITY,
    OPT_SKILL, OPT_LANGUAGE, OPT_TESTS, OPT_HIDDEN, OPT_TIMEOUT, -1 };
static const enum opt_id LIST_OPTS[] = { OPT_COUNT, -1 };
static const enum opt_id TREND_OPTS[] = { OPT_SKILL, OPT_SET, -1 };
static const enum opt_id IMPORT_OPTS[] = { OPT_FORMAT, OPT_SET, OPT_DRY_RUN,
    OPT_SKIP_BAD, OPT_TRAIN, OPT_MAX_ATTEMPTS, OPT_NO_MEMORY, -1 };
static const enum opt_id REPORT_OPTS[] = { OPT_SET, -1 };
static const enum opt_id NO_OPTS[] = { -1 };
static const enum opt_id WATCH_OPTS[] = { OPT_COUNT, -1 };
static const enum opt_id LOGS_OPTS[] = { OPT_FOLLOW, OPT_TASK, -1 };
static const enum opt_id CANCEL_OPTS[] = { OPT_SET, OPT_SOURCE, -1 };

static const struct command COMMANDS[] = {
    { "add-task",    cmd_add_task,    ADD_OPTS,  1, 1, "GOAL" },
    { "list-tasks",  cmd_list_tasks,  LIST_OPTS, 0, 0, NULL },
    { "get-task",    cmd_get_task,    NO_OPTS,   1, 1, "ID" },
    { "get-profile", cmd_get_profile, NO_OPTS,   0, 0, NULL },
    { "get-skills",  cmd_get_skills,  NO_OPTS,   0, 0, NULL },
    { "get-trend",   cmd_get_trend,   TREND_OPTS, 0, 0, NULL },
    { "import",      cmd_import,      IMPORT_OPTS, 1, 1, "FILE.jsonl" },
    { "report",      cmd_report,      REPORT_OPTS, 0, 0, NULL },
    { "status",      cmd_status,      NO_OPTS,   0, 0, NULL },
    { "pause",       cmd_pause,       NO_OPTS,   0, 0, NULL },
    { "resume",      cmd_resume,      NO_OPTS,   0, 0, NULL },
    { "help",        cmd_help,        NO_OPTS,   0, 1, "COMMAND" },
    { "watch",       cmd_watch,       WATCH_OPTS, 0, 0, NULL },
    { "logs",        cmd_logs,        LOGS_OPTS, 0, 0, NULL },
    { "cancel",      cmd_cancel,      CANCEL_OPTS, 0, SIZE_MAX, "ID" },
};
#define NCOMMANDS (sizeof(COMMANDS) / sizeof(COMMANDS[0]))

static const struct command *command_find(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(COMMANDS[i].name, name) == 0)
            return &COMMANDS[i];
    return NULL;
}

static bool command_takes(const struct command *cmd, enum opt_id id)
{
    for (const enum opt_id *o = cmd->opts; (int)*o >= 0; o++)
        if (*o == id)
            return true;
    return false;
}

/* Parses argv into *a and finds the command (NULL if none was given).
 * Options may come before or after the command; "--" ends them. Returns 0
 * or EXIT_USAGE after saying what is wrong. a->skills and a->pos must be
 * freed by the caller. */
static int parse_args(int argc, char **argv, struct args *a,
                      const struct command **cmdp)
{
    const struct command *cmd = NULL;
    bool opts_done = false;

    *cmdp = NULL;
    a->skills = calloc((size_t)argc, sizeof(*a->skills));
    a->pos = calloc((size_t)argc, sizeof(*a->pos));
    a->sets = calloc((size_t)argc, sizeof(*a->sets));
    if (!a->skills || !a->pos || !a->sets)
        return oom();
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = NULL;

        if (opts_done || !is_option(arg)) {
            if (!cmd) {
                if (!(cmd = command_find(arg))) {
                    bt_err("unknown command '%s'", arg);
                    return usage_hint();
                }
            } else {
                a->pos[a->npos++] = arg;
            }
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            opts_done = true;
            continue;
        }
        const char *eq = strchr(arg, '=');
        size_t nlen = eq && arg[1] == '-' ? (size_t)(eq - arg) : strlen(arg);
        const struct opt_spec *o = opt_find(arg, nlen);
        if (!o) {
            bt_err("unknown option '%.*s'", (int)nlen, arg);
            return usage_hint();
        }
        if (o->has_arg) {
            if (nlen < strlen(arg)) {
                val = arg + nlen + 1;
            } else if (i + 1 < argc) {
                val = argv[++i];
            } else {
                bt_err("option --%s needs a value", o->name);
                return usage_hint();
            }
        } else if (nlen < strlen(arg)) {
            bt_err("option --%s takes no value", o->name);
            return usage_hint();
        }
        switch (o->id) {
        case OPT_MOUNT:   a->mount = val; break;
        case OPT_JSON:    a->json = true; break;
        case OPT_HELP:    a->help = true; break;
        case OPT_VERSION: a->version = true; break;
        case OPT_SKILL:   a->skills[a->nskills++] = val; break;
        case OPT_SET:     a->sets[a->nsets++] = val; a->opt[OPT_SET] = val;
                          break;
        default:          a->opt[o->id] = val ? val : ""; break;
        }
    }
    /* Checked after the loop: a command option may precede the command. */
    for (size_t i = 0; i < NOPTS; i++) {
        enum opt_id id = OPTS[i].id;
        bool given = id == OPT_SKILL ? a->nskills > 0
                   : !OPTS[i].global && a->opt[id] != NULL;
        if (given && (!cmd || !command_takes(cmd, id))) {
            bt_err("option --%s does not apply to %s", OPTS[i].name,
                   cmd ? cmd->name : "bt without a command");
            return usage_hint();
        }
    }
    if (cmd && !a->help && !a->version) {
        if (a->npos < cmd->min_pos) {
            bt_err("%s needs %s", cmd->name, cmd->pos_name);
            return usage_hint();
        }
        if (a->npos > cmd->max_pos) {
            if (cmd->max_pos)
                bt_err("%s takes one %s, got %zu arguments (quote it?)",
                       cmd->name, cmd->pos_name, a->npos);
            else
                bt_err("%s takes no arguments, got '%s'", cmd->name,
                       a->pos[0]);
            return usage_hint();
        }
    }
    *cmdp = cmd;
    return 0;
}

/* A btfs mount shows status.json and tasks/new; anything else is not one. */
static int check_mount(const char *dir)
{
    static const char *const need[] = { "status.json", "tasks/new" };
    struct stat st;

    for (size_t i = 0; i < 2; i++) {
        char *p;
        if (asprintf(&p, "%s/%s", dir, need[i]) < 0)
            return oom();
        int rc = stat(p, &st), e = errno;
        free(p);
        if (rc == 0)
            continue;
        if (e == ENOTCONN) {
            bt_err("the btfs mount at %s is not responding: %s (unmount it "
                   "with: fusermount3 -u %s)", dir, strerror(e), dir);
            return EXIT_FAIL;
        }
        if (e != ENOENT && e != ENOTDIR) {
            bt_err("cannot use %s: %s", dir, strerror(e));
            return EXIT_FAIL;
        }
        bt_err("no btfs mount at %s (start it with: btfs --data ./data %s, "
               "or pass --mount)", dir, dir);
        return EXIT_USAGE;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct args a = { 0 };
    struct ctx c = { 0 };
    const struct command *cmd;
    int rc;

    if ((rc = parse_args(argc, argv, &a, &cmd)))
        goto out;
    if (a.help) {
        if (cmd)
            rc = help_command(cmd->name);
        else
            fputs(USAGE, stdout);
        goto out;
    }
    if (a.version) {
        printf("bt %s\n", BT_VERSION);
        goto out;
    }
    if (!cmd) {
        fputs(USAGE, stderr);
        rc = EXIT_USAGE;
        goto out;
    }
    c.mount = a.mount ? a.mount : getenv("BT_MOUNT");
    if (!c.mount || !*c.mount)
        c.mount = DEFAULT_MOUNT;
    c.json = a.json;
    /* A dry run of import only converts a file: it needs no mount. */
    if (cmd->run != cmd_help &&
        !(cmd->run == cmd_import && a.opt[OPT_DRY_RUN]) &&
        (rc = check_mount(c.mount)))
        goto out;
    rc = cmd->run(&c, &a);
out:
    /* Output that never reached its reader is a failure too (full disk,
     * closed pipe with SIGPIPE ignored). */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        bt_err("write error: %s", strerror(errno));
        if (!rc)
            rc = EXIT_FAIL;
    }
    free(a.skills);
    free(a.pos);
    free(a.sets);
    return rc;
}
