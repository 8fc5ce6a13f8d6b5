/* tree.c -- the tree of the mount: every path it has, what each names and
 * what it is for, in one table; and how a path becomes a node.
 *
 * Everything else about the shape of the tree is derived from here:
 * directory listings and inode numbers walk fs_entries[] (fs.c, ino.c),
 * rendering switches on the kinds (render.c), and README's list of files is
 * printed from the same rows (fs_tree_render, called by readme.c). A file
 * added here shows in ls, in stat and in README at once; none of them can
 * name a file the others do not know.
 */
#include <errno.h>
#include <string.h>

#include "fs_internal.h"
#include "store.h"

/* ---- The table ----------------------------------------------------------- */

/* The fixed part, in listing order (an entry's inode number is 1 + its
 * index: the order may grow at the end of a directory, never change).
 * Directories carry no 'about': README lists files. */
const struct fs_entry fs_entries[] = {
    { "/",                                 FS_DIR_ROOT,     NULL, NULL },
    { "/README",                           FS_README,       NULL,
      "this guide" },
    { "/status.json",                      FS_STATUS,       NULL,
      "live state: running / paused / waiting_for_llm / stalled, with the "
      "reason; uptime, queue depth, what each builder does, LLM url, model, "
      "reachability and last error" },
    { "/config.json",                      FS_CONFIG,       NULL,
      "effective configuration (API key redacted)" },
    { "/control",                          FS_CONTROL,      NULL,
      "write 'pause', 'resume' or 'cancel ID...'; read: running/paused" },
    { "/core",                             FS_DIR_CORE,     NULL, NULL },
    { "/core/builder_profile.json",        FS_DOC,          "builder_profile",
      "totals, level, strengths, weaknesses, model" },
    { "/core/skill_map.json",              FS_SKILLS,       NULL,
      "per skill: level, rating, attempts, successes, last practised, "
      "trend" },
    { "/core/score_log.json",              FS_SCORES,       NULL,
      "one score entry per finished task, in order" },
    { "/core/reflections.json",            FS_REFLECTIONS,  NULL,
      "the 50 most recent reflections, newest last" },
    { "/core/score_trend.svg",             FS_SVG_TREND,    NULL,
      "picture: pass rate and mean score over time" },
    { "/core/skill_map.svg",               FS_SVG_SKILLS,   NULL,
      "picture: each skill's rating and uncertainty" },
    { "/tasks",                            FS_DIR_TASKS,    NULL, NULL },
    { "/tasks/new",                        FS_NEW,          NULL,
      "write tasks here (see below)" },
    { "/tasks/task_queue.json",            FS_QUEUE,        NULL,
      "queued tasks in the order they will run" },
    { "/code_archive",                     FS_DIR_CODE,     NULL, NULL },
    { "/logs",                             FS_DIR_LOGS,     NULL, NULL },
    { "/logs/system.log",                  FS_SYSLOG,       NULL,
      "one event a line, oldest first (tail -f works)" },
    { "/logs/shell.log",                   FS_SHELLLOG,     NULL,
      "what the sandbox ran and how it ended" },
    { "/logs/events.jsonl",                FS_EVENTS,       NULL,
      "system.log as JSON objects, one a line (time, kind, task, fields, "
      "message): tail -f | jq" },
    { "/logs/runtime.json",                FS_DOC,          "runtime",
      "LLM calls, tokens, latency, sandbox seconds" },
    { "/eval",                             FS_DIR_EVAL,     NULL, NULL },
    { "/advanced",                         FS_DIR_ADVANCED, NULL, NULL },
    { "/advanced/trainer_log.json",        FS_DOC,          "trainer_log",
      "what the Trainer did and why" },
    { "/advanced/current_difficulty.json", FS_DOC,
      "current_difficulty",
      "difficulty, global and per skill" },
    { "/advanced/strategy_weights.json",   FS_DOC,          "strategy_weights",
      "weights of the training strategies" },
    { "/advanced/learned_concepts.json",   FS_DOC,          "learned_concepts",
      "concepts learned, with their tasks" },
    { "/advanced/internal_biases.json",    FS_DOC,          "internal_biases",
      "tendencies the Trainer noticed" },
    { "/advanced/motivation_log.json",     FS_DOC,          "motivation_log",
      "why the Trainer chose what it chose" },
};
const size_t fs_nentries = sizeof fs_entries / sizeof fs_entries[0];

/* The files that exist once the store holds what they show, one row per
 * family, named as README spells the family (fs_node_parse below reads the
 * real names). Each is listed in README after the fixed files of its
 * top-level directory. */
static const struct fs_entry tree_families[] = {
    { "/tasks/task_NNNNNN.json",           FS_TASK,            NULL,
      "one task: definition, status, attempts, score, result" },
    { "/tasks/reflection_NNNNNN.json",     FS_TASK_REFLECTION, NULL,
      "the Builder's reflection on that task" },
    { "/tasks/summary_NNNNNN.json",        FS_TASK_SUMMARY,    NULL,
      "what that task taught, for people" },
    { "/code_archive/task_NNNNNN/attempt_K.EXT", FS_CODE_FILE, NULL,
      "every version of the code generated for a task" },
    { "/eval/SET.json",                    FS_EVAL,            NULL,
      "one benchmark set's report: pass@1, pass after repair, 95% "
      "intervals, attempts, tokens, time" },
    { "/advanced/builder_analysis_N.json", FS_ANALYSIS,        NULL,
      "each analysis the Trainer made" },
};

/* ---- README's list of files ---------------------------------------------- */

#define TREE_INDENT  2      /* before a path                                */
#define TREE_COLUMN  30     /* where descriptions start                     */
#define TREE_WIDTH   78     /* no line longer, words permitting             */
#define TREE_SHARE   36     /* a path past TREE_COLUMN: descriptions start
                               here; past this too: a line of its own      */

static int spaces(struct fs_buf *out, size_t n)
{
    static const char blank[] = "                                        ";
    while (n > 0) {
        size_t k = n < sizeof blank - 1 ? n : sizeof blank - 1;
        int rc = fs_buf_add(out, blank, k);
        if (rc)
            return rc;
        n -= k;
    }
    return 0;
}

/* One row: the path (without its leading '/') and its description, the
 * description wrapped at word boundaries into the column. */
static int tree_row(struct fs_buf *out, const struct fs_entry *e)
{
    const char *path = e->path + 1, *w = e->about;
    size_t plen = strlen(path), col = TREE_INDENT + plen;
    int rc = spaces(out, TREE_INDENT);

    if (rc == 0)
        rc = fs_buf_adds(out, path);
    if (rc == 0 && col + 2 > TREE_SHARE) {
        rc = fs_buf_add(out, "\n", 1);
        col = 0;
    }
    size_t start = col + 2 > TREE_COLUMN ? TREE_SHARE : TREE_COLUMN;
    if (rc == 0)
        rc = spaces(out, start - col);
    col = start;
    while (rc == 0 && *w) {
        size_t wl = strcspn(w, " ");
        if (col > start && col + 1 + wl > TREE_WIDTH) {
            rc = fs_buf_add(out, "\n", 1);
            if (rc == 0)
                rc = spaces(out, TREE_COLUMN);
            col = start = TREE_COLUMN;
        } else if (col > start) {
            rc = fs_buf_add(out, " ", 1);
            col++;
        }
        if (rc == 0)
            rc = fs_buf_add(out, w, wl);
        col += wl;
        w += wl;
        w += strspn(w, " ");
    }
    return rc ? rc : fs_buf_add(out, "\n", 1);
}

/* Whether path lies in top-level directory dir, at any depth; for the
 * root ("") only directly in it. */
static int in_top_dir(const char *path, const char *dir)
{
    size_t dl = strlen(dir);
    const char *rest = path + 1;
    if (dl == 0)
        return strchr(rest, '/') == NULL;
    return strncmp(rest, dir + 1, dl - 1) == 0 && rest[dl - 1] == '/';
}

int fs_tree_render(struct fs_buf *out)
{
    int rc = 0;

    for (size_t d = 0; rc == 0 && d < fs_nentries; d++) {
        if (fs_entries[d].kind > FS_DIR_ADVANCED)
            continue;
        const char *dir = d == 0 ? "" : fs_entries[d].path;
        for (size_t i = 0; rc == 0 && i < fs_nentries; i++)
            if (fs_entries[i].about && in_top_dir(fs_entries[i].path, dir))
                rc = tree_row(out, &fs_entries[i]);
        for (size_t i = 0; rc == 0 && i < sizeof tree_families /
                                               sizeof tree_families[0]; i++)
            if (in_top_dir(tree_families[i].path, dir))
                rc = tree_row(out, &tree_families[i]);
    }
    return rc;
}

/* ---- Paths --------------------------------------------------------------- */

int fs_node_is_dir(const struct fs_node *n)
{
    return n->kind <= FS_DIR_ADVANCED;
}

static int has_prefix(const char *s, size_t len, const char *prefix)
{
    size_t pl = strlen(prefix);
    return len >= pl && memcmp(s, prefix, pl) == 0;
}

static int has_suffix(const char *s, size_t len, const char *suffix)
{
    size_t sl = strlen(suffix);
    return len >= sl && memcmp(s + len - sl, suffix, sl) == 0;
}

/* Parses a decimal number with no sign and no leading zero, >= 1. */
static int parse_count(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (len == 0 || s[0] == '0')
        return -ENOENT;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -ENOENT;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (max - d) / 10)
            return -ENOENT;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* "PREFIX" + six-or-more digits + ".json", where the digits are exactly
 * what store_id_parse accepts after "task_". */
static int parse_id_file(const char *s, size_t len, const char *prefix,
                         uint64_t *id)
{
    char tmp[STORE_ID_MAX];
    size_t pl = strlen(prefix);

    if (len < pl + 5 || !has_prefix(s, len, prefix) ||
        !has_suffix(s, len, ".json"))
        return -ENOENT;
    size_t dl = len - pl - 5;
    if (dl + 6 > sizeof tmp)        /* too many digits for any u64 id */
        return -ENOENT;
    memcpy(tmp, "task_", 5);
    memcpy(tmp + 5, s + pl, dl);
    tmp[5 + dl] = '\0';
    return store_id_parse(tmp, 5 + dl, id) == 0 ? 0 : -ENOENT;
}

static int parse_code_path(const char *s, struct fs_node *n)
{
    const char *slash = strchr(s, '/');
    size_t l1 = slash ? (size_t)(slash - s) : strlen(s);

    /* Code keys are id << 8 | attempt: larger ids cannot have code. */
    if (store_id_parse(s, l1, &n->id) != 0 || n->id > (UINT64_MAX >> 8))
        return -ENOENT;
    if (!slash) {
        n->kind = FS_DIR_CODE_TASK;
        return 0;
    }
    const char *f = slash + 1;
    size_t fl = strlen(f);
    if (memchr(f, '/', fl) || !has_prefix(f, fl, "attempt_"))
        return -ENOENT;
    const char *num = f + 8;
    const char *dot = memchr(num, '.', fl - 8);
    uint64_t k;
    if (!dot || parse_count(num, (size_t)(dot - num), STORE_MAX_ATTEMPT, &k))
        return -ENOENT;
    n->kind = FS_CODE_FILE;
    n->attempt = (unsigned)k;
    n->ext = dot + 1;
    n->ext_len = fl - (size_t)(dot + 1 - f);
    return n->ext_len ? 0 : -ENOENT;
}

int fs_node_parse(const char *path, struct fs_node *n)
{
    memset(n, 0, sizeof *n);
    n->entry = -1;
    for (size_t i = 0; i < fs_nentries; i++)
        if (strcmp(path, fs_entries[i].path) == 0) {
            n->kind = fs_entries[i].kind;
            n->doc = fs_entries[i].doc;
            n->entry = (int)i;
            return 0;
        }

    if (strncmp(path, "/tasks/", 7) == 0) {
        const char *s = path + 7;
        size_t len = strlen(s);
        if (has_prefix(s, len, "task_") && has_suffix(s, len, ".json")) {
            n->kind = FS_TASK;
            return store_id_parse(s, len - 5, &n->id) == 0 ? 0 : -ENOENT;
        }
        if (parse_id_file(s, len, "reflection_", &n->id) == 0) {
            n->kind = FS_TASK_REFLECTION;
            return 0;
        }
        if (parse_id_file(s, len, "summary_", &n->id) == 0) {
            n->kind = FS_TASK_SUMMARY;
            return 0;
        }
        return -ENOENT;
    }
    if (strncmp(path, "/code_archive/", 14) == 0)
        return parse_code_path(path + 14, n);
    if (strncmp(path, "/eval/", 6) == 0) {
        const char *s = path + 6;
        size_t len = strlen(s);
        if (!has_suffix(s, len, ".json") || len - 5 > TASK_MAX_SET_LEN)
            return -ENOENT;
        memcpy(n->set, s, len - 5);
        n->set[len - 5] = '\0';
        /* Names are stored lowercased: "HE.json" names nothing. */
        for (const char *c = n->set; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                return -ENOENT;
        if (!task_set_name_ok(n->set))
            return -ENOENT;
        n->kind = FS_EVAL;
        return 0;
    }
    if (strncmp(path, "/advanced/builder_analysis_", 27) == 0) {
        const char *s = path + 27;
        size_t len = strlen(s);
        if (!has_suffix(s, len, ".json") ||
            parse_count(s, len - 5, UINT64_MAX, &n->id) != 0)
            return -ENOENT;
        n->kind = FS_ANALYSIS;
        return 0;
    }
    return -ENOENT;
}
