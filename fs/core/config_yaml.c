/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The YAML half of the config: libyaml's document API (every node keeps its
 * line) walked against a schema table. Each known key says what it holds and
 * where it goes in struct mct_config, so a key the table does not know can
 * only be an error: a typo must never fall back to a default.
 */
#include "config_yaml.h"
#include "rsync.h"
#include "session.h"
#include "util.h"

#include <limits.h>
#include <stddef.h>
#include <yaml.h>

/* uid_t and gid_t lists share one parser; enums are stored as int. */
_Static_assert(sizeof(enum mct_verify_method) == sizeof(int), "enum is not int-sized");
_Static_assert(sizeof(enum mct_dj_tls) == sizeof(int), "enum is not int-sized");
_Static_assert(sizeof(uid_t) == sizeof(gid_t), "uid_t and gid_t differ in size");

struct ctx {
    const char *name;
    const struct mct_key *schema;
    yaml_document_t *doc;
    struct mct_config *cfg;
    char *err;
    size_t errlen;
    size_t *dest_lines; /* line of each destination's base_path */
};

static _printf_(3, 4) int fail(const struct ctx *c, size_t line, const char *fmt, ...)
{
    if (!c->err || c->errlen == 0)
        return -EINVAL;
    int n = line ? snprintf(c->err, c->errlen, "%s:%zu: ", c->name, line)
                 : snprintf(c->err, c->errlen, "%s: ", c->name);
    if (n >= 0 && (size_t)n < c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* Key paths for messages ("backup.destinations[0].name"); vsnprintf so a
 * very long user-written key truncates quietly. */
static _printf_(3, 4) void pathf(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

static size_t line_of(const yaml_node_t *n)
{
    return n ? n->start_mark.line + 1 : 0;
}

static const char *scalar(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static bool is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = scalar(n);
    return !*s || streq(s, "~") || streq(s, "null") || streq(s, "Null") || streq(s, "NULL");
}

static const char *kind_name(const yaml_node_t *n)
{
    if (n->type == YAML_MAPPING_NODE)
        return "a mapping";
    if (n->type == YAML_SEQUENCE_NODE)
        return "a list";
    return is_null(n) ? "nothing" : "a scalar";
}

static void *field(void *base, size_t off)
{
    return (char *)base + off;
}

static void set_str(void *base, size_t off, char *s)
{
    char **p = field(base, off);
    free(*p);
    *p = s;
}

/* Look a key up in a mapping node (NULL when absent or not a mapping). */
static yaml_node_t *map_get(const struct ctx *c, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        if (k && k->type == YAML_SCALAR_NODE && streq(scalar(k), key))
            return yaml_document_get_node(c->doc, p->value);
    }
    return NULL;
}

/* Line of a.b.c in the document, 0 when it is not there. */
static size_t line_at(const struct ctx *c, const char *a, const char *b, const char *d)
{
    yaml_node_t *n = map_get(c, yaml_document_get_root_node(c->doc), a);
    if (n && b)
        n = map_get(c, n, b);
    if (n && d)
        n = map_get(c, n, d);
    return line_of(n);
}

/* A string-valued scalar that must be present and non-empty. */
static int want_string(const struct ctx *c, const yaml_node_t *v, const char *path,
                       const char **ret)
{
    if (v->type != YAML_SCALAR_NODE)
        return fail(c, line_of(v), "%s: expected a string, got %s", path, kind_name(v));
    if (is_null(v) || !*scalar(v))
        return fail(c, line_of(v), "%s: must not be empty", path);
    *ret = scalar(v);
    return 0;
}

static int parse_uint(const struct ctx *c, const yaml_node_t *v, const char *path,
                      unsigned long long min, unsigned long long max, unsigned long long *ret)
{
    if (v->type != YAML_SCALAR_NODE)
        return fail(c, line_of(v), "%s: expected a non-negative integer, got %s", path,
                    kind_name(v));
    const char *s = scalar(v);
    if (!*s || strspn(s, "0123456789") != strlen(s))
        return fail(c, line_of(v), "%s: expected a non-negative integer, got '%s'", path, s);
    errno = 0;
    unsigned long long n = strtoull(s, NULL, 10);
    if (errno == ERANGE || n < min || n > max)
        return fail(c, line_of(v), "%s: %s is out of range %llu..%llu", path, s, min, max);
    *ret = n;
    return 0;
}

static int parse_bool(const struct ctx *c, const yaml_node_t *v, const char *path, bool *ret)
{
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
    if (v->type != YAML_SCALAR_NODE)
        return fail(c, line_of(v), "%s: expected true or false, got %s", path, kind_name(v));
    for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
        if (strcasecmp(scalar(v), yes[i]) == 0)
            return *ret = true, 0;
        if (strcasecmp(scalar(v), no[i]) == 0)
            return *ret = false, 0;
    }
    return fail(c, line_of(v), "%s: expected true/false, yes/no or on/off, got '%s'", path,
                scalar(v));
}

/* Collapse "//" and "/./" and drop a trailing '/', so that the overlap
 * checks compare like with like. ".." is refused: it would defeat them. */
static int parse_path(const struct ctx *c, const yaml_node_t *v, const char *path, char **ret)
{
    const char *s;
    int r = want_string(c, v, path, &s);
    if (r < 0)
        return r;
    if (s[0] != '/')
        return fail(c, line_of(v), "%s: '%s' is not an absolute path", path, s);
    _cleanup_buf_ struct mct_buf b = {0};
    for (const char *p = s; *p;) {
        p += strspn(p, "/");
        size_t n = strcspn(p, "/");
        if (n == 2 && startswith(p, ".."))
            return fail(c, line_of(v), "%s: '%s' must not contain '..'", path, s);
        if (n > 0 && !(n == 1 && *p == '.')) {
            if (mct_buf_puts(&b, "/") < 0 || mct_buf_append(&b, p, n) < 0)
                return -ENOMEM;
        }
        p += n;
    }
    *ret = b.len ? mct_buf_steal(&b) : strdup("/");
    return *ret ? 0 : -ENOMEM;
}

/* The flags are split on whitespace and become rsync arguments run as
 * whoever reads the config: only what a backup needs is allowed (rsync_argv.c). */
static int check_rsync_flags(const struct ctx *c, const yaml_node_t *v, const char *path,
                             const char *s)
{
    char why[1024];
    int r = mct_rsync_flags_check(s, why, sizeof(why));
    if (r == -EINVAL)
        return fail(c, line_of(v), "%s: %s", path, why);
    return r;
}

/* "expected 'a', 'b' or 'c'": the values an enum key takes. */
static int parse_enum(const struct ctx *c, const yaml_node_t *v, const struct mct_key *k,
                      void *base, const char *path, const char *s)
{
    _cleanup_buf_ struct mct_buf want = {0};
    size_t n = 0;

    for (; k->names[n]; n++)
        if (streq(s, k->names[n])) {
            *(int *)field(base, k->off) = (int)n;
            return 0;
        }
    for (size_t i = 0; i < n; i++)
        if (mct_buf_printf(&want, "%s'%s'",
                           i == 0       ? ""
                           : i + 1 == n ? " or "
                                        : ", ",
                           k->names[i]) < 0)
            return -ENOMEM;
    return fail(c, line_of(v), "%s: expected %s, got '%s'", path, want.data, s);
}

static int parse_string_kind(const struct ctx *c, const yaml_node_t *v, const struct mct_key *k,
                             void *base, const char *path)
{
    const char *s;
    int r = want_string(c, v, path, &s);
    if (r < 0)
        return r;
    if (k->kind == K_TEMPLATE) {
        char msg[256] = "";
        if (mct_template_validate(s, msg, sizeof(msg)) < 0)
            return fail(c, line_of(v), "%s: bad template '%s': %s", path, s, msg);
    } else if (k->kind == K_IDENT) {
        if (strlen(s) > 64 || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                        "0123456789_$") != strlen(s))
            return fail(c, line_of(v),
                        "%s: '%s' is not a plain identifier ([A-Za-z0-9_$], at most 64)", path, s);
    } else if (k->kind == K_FLAGS) {
        r = check_rsync_flags(c, v, path, s);
        if (r < 0)
            return r;
    } else if (k->kind == K_CUSTOM) {
        char why[256] = "";
        r = k->parse(s, field(base, k->off), why, sizeof(why));
        if (r == -EINVAL)
            return fail(c, line_of(v), "%s: %s", path, why);
        return r;
    } else if (k->kind == K_ENUM) {
        return parse_enum(c, v, k, base, path, s);
    }
    char *d = strdup(s);
    if (!d)
        return -ENOMEM;
    set_str(base, k->off, d);
    return 0;
}

static int check_list(const struct ctx *c, const yaml_node_t *v, const char *path)
{
    if (v->type != YAML_SEQUENCE_NODE)
        return fail(c, line_of(v), "%s: expected a list, got %s", path, kind_name(v));
    return 0;
}

#define FOREACH_ITEM(c, seq, i, item)                                                              \
    for (size_t i = 0;                                                                             \
         i < (size_t)((seq)->data.sequence.items.top - (seq)->data.sequence.items.start); i++)     \
        for (yaml_node_t *item =                                                                   \
                     yaml_document_get_node((c)->doc, (seq)->data.sequence.items.start[i]);        \
             item; item = NULL)

static int parse_strv(const struct ctx *c, const yaml_node_t *v, char ***ret, const char *path)
{
    if (is_null(v))
        return 0;
    int r = check_list(c, v, path);
    if (r < 0)
        return r;
    FOREACH_ITEM(c, v, i, item)
    {
        char sub[256];
        const char *s;
        pathf(sub, sizeof(sub), "%s[%zu]", path, i);
        r = want_string(c, item, sub, &s);
        if (r < 0)
            return r;
        r = mct_strv_push(ret, strdup(s));
        if (r < 0)
            return r;
    }
    return 0;
}

static int parse_ids(const struct ctx *c, const yaml_node_t *v, const struct mct_key *k, void *base,
                     const char *path)
{
    if (is_null(v))
        return 0;
    int r = check_list(c, v, path);
    if (r < 0)
        return r;
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    uid_t **ids = field(base, k->off);
    size_t *count = field(base, k->aux);
    *ids = calloc(n ? n : 1, sizeof(uid_t));
    if (!*ids)
        return -ENOMEM;
    FOREACH_ITEM(c, v, i, item)
    {
        char sub[256];
        unsigned long long id;
        pathf(sub, sizeof(sub), "%s[%zu]", path, i);
        /* (uid_t)-1 means "no change" to chown() and is never a real id. */
        r = parse_uint(c, item, sub, 0, (uid_t)-1 - 1, &id);
        if (r < 0)
            return r;
        (*ids)[(*count)++] = (uid_t)id;
    }
    return 0;
}

static int parse_mapping(struct ctx *c, yaml_node_t *map, const struct mct_key *keys, void *base,
                         const char *path);
static int parse_destinations(struct ctx *c, yaml_node_t *seq, const struct mct_key *keys,
                              const char *path);

static int parse_value(struct ctx *c, yaml_node_t *v, const struct mct_key *k, void *base,
                       const char *path)
{
    unsigned long long n;
    int r;

    switch (k->kind) {
    case K_SECTION:
        return parse_mapping(c, v, k->sub, base, path);
    case K_DESTS:
        return parse_destinations(c, v, k->sub, path);
    case K_OPTSTR: {
        if (is_null(v)) {
            set_str(base, k->off, NULL);
            return 0;
        }
        if (v->type != YAML_SCALAR_NODE)
            return fail(c, line_of(v), "%s: expected a string, got %s", path, kind_name(v));
        char *d = strdup(scalar(v));
        if (!d)
            return -ENOMEM;
        set_str(base, k->off, d);
        return 0;
    }
    case K_OPTPATH:
        if (is_null(v)) {
            set_str(base, k->off, NULL);
            return 0;
        }
        __attribute__((fallthrough));
    case K_PATH: {
        char *p = NULL;
        r = parse_path(c, v, path, &p);
        if (r < 0)
            return r;
        set_str(base, k->off, p);
        return 0;
    }
    case K_BOOL:
        return parse_bool(c, v, path, field(base, k->off));
    case K_UINT:
        r = parse_uint(c, v, path, k->min, k->max, &n);
        if (r < 0)
            return r;
        *(unsigned *)field(base, k->off) = (unsigned)n;
        return 0;
    case K_STRV:
        return parse_strv(c, v, field(base, k->off), path);
    case K_IDS:
        return parse_ids(c, v, k, base, path);
    default:
        return parse_string_kind(c, v, k, base, path);
    }
}

static const struct mct_key *find_key(const struct mct_key *keys, const char *name)
{
    for (const struct mct_key *k = keys; k->name; k++)
        if (streq(k->name, name))
            return k;
    return NULL;
}

static int parse_mapping(struct ctx *c, yaml_node_t *map, const struct mct_key *keys, void *base,
                         const char *path)
{
    const char *where = *path ? path : "the top level";
    if (is_null(map))
        return 0;
    if (map->type != YAML_MAPPING_NODE)
        return fail(c, line_of(map), "%s: expected a mapping, got %s", where, kind_name(map));

    yaml_node_pair_t *first = map->data.mapping.pairs.start;
    for (yaml_node_pair_t *p = first; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(c->doc, p->value);
        if (!kn || !vn || kn->type != YAML_SCALAR_NODE)
            return fail(c, line_of(kn ? kn : map), "%s: keys must be plain strings", where);
        const char *name = scalar(kn);
        for (yaml_node_pair_t *q = first; q < p; q++)
            if (streq(scalar(yaml_document_get_node(c->doc, q->key)), name))
                return fail(c, line_of(kn), "duplicate key '%s' in %s", name, where);
        const struct mct_key *k = find_key(keys, name);
        if (!k)
            return fail(c, line_of(kn), "unknown key '%s' in %s", name, where);

        char sub[256];
        pathf(sub, sizeof(sub), *path ? "%s.%s" : "%s%s", path, name);
        int r = parse_value(c, vn, k, base, sub);
        if (r >= 0 && k->kind != K_SECTION && k->kind != K_DESTS)
            r = mct_config_set_origin(c->cfg, sub, MCT_ORIGIN_CONFIG, line_of(vn), NULL);
        if (r < 0)
            return r;
    }
    for (const struct mct_key *k = keys; k->name; k++)
        if (k->required && !*(char **)field(base, k->off))
            return fail(c, line_of(map), "%s: missing required key '%s'", where, k->name);
    return 0;
}

/* Is path equal to or below dir? Both are normalised by parse_path(). */
static bool path_within(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    if (streq(dir, "/"))
        return true;
    return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static int check_destination(struct ctx *c, yaml_node_t *item, size_t i, const char *path)
{
    const struct mct_destination *d = &c->cfg->destinations[i];
    for (size_t j = 0; j < i; j++)
        if (streq(c->cfg->destinations[j].name, d->name))
            return fail(c, line_of(map_get(c, item, "name")),
                        "%s.name: duplicate destination name '%s'", path, d->name);
    /* Checking that mount_point is mounted proves nothing about a base_path
     * that lives elsewhere. */
    if (d->verify_mount && !path_within(d->base_path, d->mount_point))
        return fail(c, line_of(map_get(c, item, "base_path")),
                    "%s.base_path: '%s' is not inside mount_point '%s'", path, d->base_path,
                    d->mount_point);
    return 0;
}

static int parse_destinations(struct ctx *c, yaml_node_t *seq, const struct mct_key *keys,
                              const char *path)
{
    if (is_null(seq))
        return 0;
    int r = check_list(c, seq, path);
    if (r < 0)
        return r;
    size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    struct mct_config *cfg = c->cfg;
    cfg->destinations = calloc(n ? n : 1, sizeof(*cfg->destinations));
    c->dest_lines = calloc(n ? n : 1, sizeof(size_t));
    if (!cfg->destinations || !c->dest_lines)
        return -ENOMEM;
    FOREACH_ITEM(c, seq, i, item)
    {
        struct mct_destination *d = &cfg->destinations[cfg->n_destinations++];
        d->enabled = d->verify_mount = true;
        d->path_structure = strdup("{session_date}/{participant_id}");
        if (!d->path_structure)
            return -ENOMEM;
        char sub[256];
        pathf(sub, sizeof(sub), "%s[%zu]", path, i);
        if (is_null(item))
            return fail(c, line_of(item), "%s: expected a mapping, got nothing", sub);
        r = parse_mapping(c, item, keys, d, sub);
        if (r < 0)
            return r;
        r = check_destination(c, item, i, sub);
        if (r < 0)
            return r;
        c->dest_lines[i] = line_of(map_get(c, item, "base_path"));
    }
    return 0;
}

/* A copy inside the source (or a source inside the copy) is no backup:
 * deleting the session would delete the copy with it. */
static int check_overlap(const struct ctx *c)
{
    const struct mct_config *cfg = c->cfg;
    const char *src = cfg->source_base_path;
    for (size_t i = 0; i < cfg->n_destinations; i++) {
        const char *dst = cfg->destinations[i].base_path;
        if (path_within(dst, src) || path_within(src, dst))
            return fail(c, c->dest_lines[i],
                        "backup.destinations[%zu].base_path '%s' overlaps backup.source.base_path "
                        "'%s': a copy inside the source is no backup",
                        i, dst, src);
    }
    return 0;
}

/* A policy no configuration of destinations can meet would make every
 * session unsafe forever, or (0) none required: both are typos. */
static int check_required_copies(const struct ctx *c)
{
    const struct mct_config *cfg = c->cfg;
    size_t enabled = mct_config_enabled_destinations(cfg);
    if (cfg->required_copies == 0 || cfg->required_copies <= enabled)
        return 0;
    return fail(c, line_at(c, "backup", "required_copies", NULL),
                "backup.required_copies: %u, but only %zu destination(s) are enabled "
                "(expected 1..%zu)",
                cfg->required_copies, enabled, enabled);
}

static void yaml_parser_deletep(yaml_parser_t *p)
{
    yaml_parser_delete(p);
}

static void yaml_document_deletep(yaml_document_t **d)
{
    if (*d)
        yaml_document_delete(*d);
}

static int syntax_error(const struct ctx *c, const yaml_parser_t *p)
{
    if (p->error == YAML_MEMORY_ERROR)
        return -ENOMEM;
    const char *problem = p->problem ? p->problem : "malformed YAML";
    size_t line = p->problem_mark.line + 1, start = p->context_mark.line + 1;
    /* An unterminated quote is found at the end of the file: point at both. */
    if (p->context && start != line)
        return fail(c, line, "YAML syntax error: %s %s (which starts at line %zu)", problem,
                    p->context, start);
    if (p->context)
        return fail(c, line, "YAML syntax error: %s %s", problem, p->context);
    return fail(c, line, "YAML syntax error: %s", problem);
}

static int walk(struct ctx *c)
{
    yaml_node_t *root = yaml_document_get_root_node(c->doc);
    if (!root)
        return fail(c, 1, "empty configuration");
    if (root->type != YAML_MAPPING_NODE)
        return fail(c, line_of(root), "the top level must be a mapping, got %s", kind_name(root));
    int r = parse_mapping(c, root, c->schema, c->cfg, "");
    if (r < 0)
        return r;
    r = check_overlap(c);
    if (r < 0)
        return r;
    return check_required_copies(c);
}

int mct_config_parse_yaml(struct mct_config *cfg, const struct mct_key *schema, const char *name,
                          const char *yaml, char *err, size_t errlen)
{
    _cleanup_(yaml_parser_deletep) yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return -ENOMEM;
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, strlen(yaml));

    _cleanup_free_ size_t *dest_lines = NULL;
    struct ctx c = {.name = name, .schema = schema, .cfg = cfg, .err = err, .errlen = errlen};
    yaml_document_t doc, extra;
    if (!yaml_parser_load(&parser, &doc))
        return syntax_error(&c, &parser);
    _cleanup_(yaml_document_deletep) yaml_document_t *docp = &doc;
    c.doc = &doc;

    /* A second document would be silently ignored: refuse it. */
    if (!yaml_parser_load(&parser, &extra))
        return syntax_error(&c, &parser);
    bool more = yaml_document_get_root_node(&extra) != NULL;
    size_t extra_line = more ? line_of(yaml_document_get_root_node(&extra)) : 0;
    yaml_document_delete(&extra);
    if (more)
        return fail(&c, extra_line, "more than one YAML document");

    int r = walk(&c);
    dest_lines = c.dest_lines;
    return r;
}
