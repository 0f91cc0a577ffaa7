/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The rsync command line: which options backup.rsync.flags may give, the
 * argument vector built from the config (never a shell line, so a
 * participant id or a path can never be parsed as anything but a path),
 * and rsync's exit codes in words. Running it is rsync.c.
 */
#include "rsync.h"

#include <ctype.h>

#include "log.h"
#include "marker.h"
#include "util.h"

/*
 * What backup.rsync.flags may hold: an allowlist, since rsync runs as
 * whoever reads the config and many of its options write or read files of
 * the config writer's choosing (--log-file, --write-batch, --temp-dir,
 * --partial-dir, --backup-dir, --files-from, --filter merge files), run
 * programs (-e, --rsync-path), change owners or modes (--chown, --chmod:
 * a setuid copy on the share), follow symlinks out of /data (-L,
 * --copy-links, -k), delete (--delete*, --remove-source-files) or make the
 * copy differ from the source in ways verification then has to catch
 * (--update, --inplace, --append, --existing). What stays is how to copy
 * (what to preserve, compression, checksums, bandwidth, timeouts) and what
 * to print.
 */

/* Letters that may stand in a cluster such as "-avzhP": none of them takes
 * an argument. -a -v -h -z -P -q -r -l -p -t -g -o -D -H -S -W -c, and -x
 * (stay on one filesystem), -A/-X (ACLs, xattrs), -i (itemize). */
static const char short_allowed[] = "avhzPqrlptgoDHSWcxAXi";

enum value_kind {
    V_NONE,  /* --name only */
    V_UINT,  /* --name=123 */
    V_INT,   /* --name=-1 too */
    V_RATE,  /* --bwlimit=100, 1.5M, 500k */
    V_LEVEL, /* --compress-level=0..9 */
    V_INFO,  /* --info=progress2,stats2: letters, digits, commas */
    V_ANY,   /* --exclude=PATTERN: any non-empty word */
};

static const struct {
    const char *name;
    enum value_kind value;
} long_allowed[] = {
        {"--archive", V_NONE},
        {"--recursive", V_NONE},
        {"--links", V_NONE},
        {"--perms", V_NONE},
        {"--times", V_NONE},
        {"--group", V_NONE},
        {"--owner", V_NONE},
        {"--devices", V_NONE},
        {"--specials", V_NONE},
        {"--hard-links", V_NONE},
        {"--acls", V_NONE},
        {"--xattrs", V_NONE},
        {"--sparse", V_NONE},
        {"--whole-file", V_NONE},
        {"--checksum", V_NONE},
        {"--size-only", V_NONE},
        {"--numeric-ids", V_NONE},
        {"--one-file-system", V_NONE},
        {"--omit-dir-times", V_NONE},
        {"--no-perms", V_NONE},
        {"--no-owner", V_NONE},
        {"--no-group", V_NONE},
        {"--partial", V_NONE},
        {"--delay-updates", V_NONE},
        {"--compress", V_NONE},
        {"--compress-level", V_LEVEL},
        {"--bwlimit", V_RATE},
        {"--timeout", V_UINT},
        {"--contimeout", V_UINT},
        {"--modify-window", V_INT},
        {"--exclude", V_ANY},
        {"--verbose", V_NONE},
        {"--quiet", V_NONE},
        {"--human-readable", V_NONE},
        {"--progress", V_NONE},
        {"--stats", V_NONE},
        {"--itemize-changes", V_NONE},
        {"--info", V_INFO},
};

static const char *value_hint(enum value_kind k)
{
    switch (k) {
    case V_UINT:
    case V_INT:
    case V_LEVEL:
        return "=N";
    case V_RATE:
        return "=RATE";
    case V_INFO:
        return "=FLAGS";
    case V_ANY:
        return "=PATTERN";
    default:
        return "";
    }
}

static bool value_valid(enum value_kind k, const char *v)
{
    size_t n = strlen(v);

    switch (k) {
    case V_UINT:
        return n > 0 && n <= 9 && strspn(v, "0123456789") == n;
    case V_INT:
        if (*v == '-')
            v++, n--;
        return n > 0 && n <= 9 && strspn(v, "0123456789") == n;
    case V_LEVEL:
        return n == 1 && isdigit((unsigned char)*v);
    case V_RATE: {
        size_t d = strspn(v, "0123456789.");
        return d > 0 && d <= 12 && (v[d] == '\0' || (strchr("KMGkmg", v[d]) && !v[d + 1]));
    }
    case V_INFO:
        return n > 0 &&
               strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,") == n;
    case V_ANY:
        return n > 0;
    default:
        return false;
    }
}

/* "(allowed: -a -v ..., --archive, ...)" for messages. */
static void allowed_list(char *out, size_t len)
{
    struct mct_buf b = {0};

    mct_buf_puts(&b, "allowed: ");
    for (const char *c = short_allowed; *c; c++)
        mct_buf_printf(&b, "-%c ", *c);
    for (size_t i = 0; i < ARRAY_SIZE(long_allowed); i++)
        mct_buf_printf(&b, "%s%s%s", long_allowed[i].name, value_hint(long_allowed[i].value),
                       i + 1 < ARRAY_SIZE(long_allowed) ? " " : "");
    snprintf(out, len, "%s", b.data ? b.data : "");
    mct_buf_free(&b);
}

static int refuse(const char *word, const char *detail, char *why, size_t whylen)
{
    char list[1024];

    allowed_list(list, sizeof(list));
    snprintf(why, whylen, "'%s' is not allowed%s (%s)", word, detail, list);
    return -EINVAL;
}

static int check_long(const char *arg, char *why, size_t whylen)
{
    size_t len = strcspn(arg, "=");
    const char *value = arg[len] == '=' ? arg + len + 1 : NULL;

    for (size_t i = 0; i < ARRAY_SIZE(long_allowed); i++) {
        enum value_kind k = long_allowed[i].value;
        if (strlen(long_allowed[i].name) != len || strncmp(arg, long_allowed[i].name, len) != 0)
            continue;
        if (k == V_NONE && value)
            return refuse(arg, ": it takes no value", why, whylen);
        if (k != V_NONE && !value) {
            char detail[96];
            snprintf(detail, sizeof(detail), ": write it as %s%s", long_allowed[i].name,
                     value_hint(k));
            return refuse(arg, detail, why, whylen);
        }
        if (k != V_NONE && !value_valid(k, value))
            return refuse(arg, ": bad value", why, whylen);
        return 0;
    }
    return refuse(arg, "", why, whylen);
}

static int check_one_flag(const char *arg, char *why, size_t whylen)
{
    if (streq(arg, "--") || arg[0] != '-' || streq(arg, "-")) {
        snprintf(why, whylen,
                 "'%s' is not an option (write options as --name=value; "
                 "use exclude_patterns for excludes)",
                 arg);
        return -EINVAL;
    }
    if (startswith(arg, "--"))
        return check_long(arg, why, whylen);
    /* A cluster is checked letter by letter: "-avze" hides -e. */
    for (const char *p = arg + 1; *p; p++)
        if (!strchr(short_allowed, *p)) {
            char word[32], detail[64];
            snprintf(word, sizeof(word), "-%c", *p);
            snprintf(detail, sizeof(detail), " (in '%.40s')", arg);
            return refuse(word, streq(word, arg) ? "" : detail, why, whylen);
        }
    return 0;
}

static int split_flags(const char *flags, char ***ret)
{
    _cleanup_strv_ char **v = NULL;
    const char *p = flags;

    for (;;) {
        p += strspn(p, " \t\r\n");
        if (!*p)
            break;
        size_t n = strcspn(p, " \t\r\n");
        int r = mct_strv_push(&v, strndup(p, n));
        if (r < 0)
            return r;
        p += n;
    }
    *ret = TAKE_PTR(v);
    return 0;
}

int mct_rsync_flags_check(const char *flags, char *why, size_t whylen)
{
    _cleanup_strv_ char **v = NULL;
    int r = split_flags(flags ? flags : mct_config_default_rsync_flags, &v);
    if (r < 0)
        return r;
    for (char **f = v; f && *f; f++) {
        r = check_one_flag(*f, why, whylen);
        if (r < 0)
            return r;
    }
    return 0;
}

int mct_rsync_argv(const struct mct_config *cfg, const char *src_dir, const char *dst_dir,
                   bool dry_run, char ***ret)
{
    _cleanup_strv_ char **argv = NULL;
    _cleanup_strv_ char **flags = NULL;
    char why[1024];
    int r;

    r = mct_rsync_flags_check(cfg->rsync_flags, why, sizeof(why));
    if (r < 0)
        return log_error_errno(r, "%s: backup.rsync.flags: %s", cfg->path ? cfg->path : "config",
                               why);
    r = split_flags(cfg->rsync_flags ? cfg->rsync_flags : mct_config_default_rsync_flags, &flags);
    if (r < 0)
        return r;

    r = mct_strv_push(&argv, strdup("rsync"));
    for (char **f = flags; r >= 0 && *f; f++)
        r = mct_strv_push(&argv, strdup(*f));
    for (char **e = cfg->exclude_patterns; r >= 0 && e && *e; e++)
        r = mct_strv_pushf(&argv, "--exclude=%s", *e);
    /* The copy's marker is ours: never copied from the source, never
     * touched on the copy. */
    if (r >= 0)
        r = mct_strv_pushf(&argv, "--exclude=%s", MCT_MARKER_NAME);
    if (r >= 0 && cfg->rsync_bwlimit_kb > 0)
        r = mct_strv_pushf(&argv, "--bwlimit=%u", cfg->rsync_bwlimit_kb);
    if (r >= 0 && cfg->rsync_timeout_s > 0)
        r = mct_strv_pushf(&argv, "--timeout=%u", cfg->rsync_timeout_s);
    if (r >= 0)
        r = mct_strv_push(&argv, strdup("--info=progress2"));
    if (r >= 0 && dry_run)
        r = mct_strv_push(&argv, strdup("--dry-run"));
    /* What a dry run would copy, one marked line per name whatever -v the
     * flags hold (rsync escapes unprintable bytes in names as \#ooo). */
    if (r >= 0 && dry_run)
        r = mct_strv_pushf(&argv, "--out-format=%s%%n", MCT_RSYNC_LIST_PREFIX);
    if (r >= 0)
        r = mct_strv_push(&argv, strdup("--"));
    /* Trailing slashes: copy the folder's contents into the folder, never
     * a folder inside it. */
    if (r >= 0)
        r = mct_strv_pushf(&argv, "%s/", src_dir);
    if (r >= 0)
        r = mct_strv_pushf(&argv, "%s/", dst_dir);
    if (r < 0)
        return r;
    *ret = TAKE_PTR(argv);
    return 0;
}

/* From rsync(1), EXIT VALUES. */
static const struct {
    int code;
    const char *meaning;
} exit_meanings[] = {
        {0, "success"},
        {1, "syntax or usage error"},
        {2, "protocol incompatibility"},
        {3, "errors selecting input/output files, dirs"},
        {4, "requested action not supported"},
        {5, "error starting client-server protocol"},
        {6, "daemon unable to append to log-file"},
        {10, "error in socket I/O"},
        {11, "error in file I/O"},
        {12, "error in rsync protocol data stream"},
        {13, "errors with program diagnostics"},
        {14, "error in IPC code"},
        {20, "received SIGUSR1 or SIGINT"},
        {21, "some error returned by waitpid()"},
        {22, "error allocating core memory buffers"},
        {23, "partial transfer due to error"},
        {24, "partial transfer due to vanished source files"},
        {25, "the --max-delete limit stopped deletions"},
        {30, "timeout in data send/receive"},
        {35, "timeout waiting for daemon connection"},
};

const char *mct_rsync_exit_meaning(int code)
{
    for (size_t i = 0; i < ARRAY_SIZE(exit_meanings); i++)
        if (exit_meanings[i].code == code)
            return exit_meanings[i].meaning;
    return "unknown";
}
