/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * DataJoint's JSON config, read with libyaml: JSON is YAML's flow style,
 * so the parser the project already links reads it, lines included.
 * DataJoint itself takes "host:port" in database.host, and so do we.
 */
#include <errno.h>
#include <limits.h>
#include <yaml.h>

#include "djconf.h"
#include "util.h"

struct walk {
    const char *name;
    yaml_document_t *doc;
    struct mct_djconf *out;
    char *err;
    size_t errlen;
};

static _printf_(3, 4) int fail(const struct walk *w, const yaml_node_t *n, const char *fmt, ...)
{
    int k = snprintf(w->err, w->errlen, "%s:%zu: ", w->name, n ? n->start_mark.line + 1 : 1);
    if (k >= 0 && (size_t)k < w->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->err + k, w->errlen - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static bool is_null(const yaml_node_t *v)
{
    return v->type == YAML_SCALAR_NODE && v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           streq((const char *)v->data.scalar.value, "null");
}

/* A JSON string (or null, which leaves the field unset). */
static int take_string(const struct walk *w, const yaml_node_t *v, const char *key, char **field,
                       size_t *line)
{
    if (is_null(v))
        return 0;
    if (v->type != YAML_SCALAR_NODE || v->data.scalar.style != YAML_DOUBLE_QUOTED_SCALAR_STYLE)
        return fail(w, v, "%s: expected a string", key);
    char *s = strdup((const char *)v->data.scalar.value);
    if (!s)
        return -ENOMEM;
    if (*field)
        explicit_bzero(*field, strlen(*field));
    free(*field);
    *field = s;
    *line = v->start_mark.line + 1;
    return 0;
}

static int parse_port(const char *s, unsigned *ret)
{
    char *end;
    errno = 0;
    unsigned long p = strtoul(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end || errno || p < 1 || p > 65535)
        return -EINVAL;
    *ret = (unsigned)p;
    return 0;
}

/* A number, or the string DataJoint also accepts. */
static int take_port(const struct walk *w, const yaml_node_t *v)
{
    if (is_null(v))
        return 0;
    if (v->type != YAML_SCALAR_NODE ||
        parse_port((const char *)v->data.scalar.value, &w->out->port) < 0)
        return fail(w, v, "database.port: expected a port 1..65535");
    w->out->line_port = v->start_mark.line + 1;
    return 0;
}

static int take_use_tls(const struct walk *w, const yaml_node_t *v)
{
    const char *s = v->type == YAML_SCALAR_NODE ? (const char *)v->data.scalar.value : "";
    bool plain = v->type == YAML_SCALAR_NODE && v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;

    if (plain && streq(s, "null"))
        w->out->use_tls = -1;
    else if (plain && streq(s, "true"))
        w->out->use_tls = 1;
    else if (plain && streq(s, "false"))
        w->out->use_tls = 0;
    else if (v->type == YAML_MAPPING_NODE)
        return fail(w, v,
                    "database.use_tls: TLS options given as an object are not read; set "
                    "datajoint.tls and datajoint.ca_file in the mctfs config instead");
    else
        return fail(w, v, "database.use_tls: expected true, false or null");
    w->out->line_use_tls = v->start_mark.line + 1;
    return 0;
}

/* key without the "database." prefix. */
static int take(const struct walk *w, const char *key, const yaml_node_t *v)
{
    struct mct_djconf *o = w->out;

    if (streq(key, "host"))
        return take_string(w, v, "database.host", &o->host, &o->line_host);
    if (streq(key, "user"))
        return take_string(w, v, "database.user", &o->user, &o->line_user);
    if (streq(key, "password"))
        return take_string(w, v, "database.password", &o->password, &o->line_password);
    if (streq(key, "port"))
        return take_port(w, v);
    if (streq(key, "use_tls"))
        return take_use_tls(w, v);
    return 0;
}

/* The top object, or (nested) the object under "database". */
static int walk_object(const struct walk *w, const yaml_node_t *map, bool nested)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
        if (!k || !v || k->type != YAML_SCALAR_NODE)
            return fail(w, k, "keys must be strings");
        const char *key = (const char *)k->data.scalar.value;
        int r = 0;
        if (nested)
            r = take(w, key, v);
        else if (startswith(key, "database."))
            r = take(w, key + strlen("database."), v);
        else if (streq(key, "database") && v->type == YAML_MAPPING_NODE)
            r = walk_object(w, v, true);
        if (r < 0)
            return r;
    }
    return 0;
}

/* DataJoint's "host:port" (one colon: an IPv6 address has several). */
static void split_host_port(struct mct_djconf *o)
{
    char *colon = o->host ? strchr(o->host, ':') : NULL;
    unsigned port;

    if (!colon || strchr(colon + 1, ':') || parse_port(colon + 1, &port) < 0)
        return;
    *colon = '\0';
    o->port = port;
    o->line_port = o->line_host;
}

static void yaml_parser_deletep(yaml_parser_t *p)
{
    yaml_parser_delete(p);
}

int mct_djconf_parse(const char *name, const char *text, struct mct_djconf *out, char *err,
                     size_t errlen)
{
    _cleanup_(yaml_parser_deletep) yaml_parser_t parser;
    yaml_document_t doc;
    struct walk w = {.name = name, .doc = &doc, .out = out, .err = err, .errlen = errlen};

    *out = (struct mct_djconf){.use_tls = -1};
    if (!yaml_parser_initialize(&parser))
        return -ENOMEM;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
    if (!yaml_parser_load(&parser, &doc)) {
        if (parser.error == YAML_MEMORY_ERROR)
            return -ENOMEM;
        snprintf(err, errlen, "%s:%zu: not valid JSON: %s", name, parser.problem_mark.line + 1,
                 parser.problem ? parser.problem : "syntax error");
        return -EINVAL;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    int r = root && root->type == YAML_MAPPING_NODE
                    ? walk_object(&w, root, false)
                    : fail(&w, root, "expected a JSON object ({...}) at the top");
    yaml_document_delete(&doc);
    if (r < 0) {
        mct_djconf_clear(out);
        return r;
    }
    split_host_port(out);
    return 0;
}

void mct_djconf_clear(struct mct_djconf *d)
{
    if (d->password) {
        explicit_bzero(d->password, strlen(d->password));
        free(d->password);
    }
    free(d->host);
    free(d->user);
    *d = (struct mct_djconf){.use_tls = -1};
}
