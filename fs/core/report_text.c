/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Plain-text renderings: the `mctctl status` report (also the mount's
 * .status), the status-range table, and the one-line virtual files.
 * Colour is ANSI and only on request; the mount never asks for it. Every
 * string of the status goes through esc(): the colours are the only
 * control characters these renderings hold.
 */
#include "report.h"

#include "escape.h"

#define C_GREEN  "\033[32m"
#define C_RED    "\033[31m"
#define C_YELLOW "\033[33m"
#define C_BOLD   "\033[1m"
#define C_RESET  "\033[0m"

/* A terminal whose locale is not UTF-8 shows ✓ and ✗ as mojibake: one
 * ASCII letter each instead, so the table keeps its columns. */
static const char *mark(enum mct_tristate t, unsigned style)
{
    if (style & MCT_REPORT_ASCII)
        return t == MCT_YES ? "y" : t == MCT_NO ? "n" : "?";
    return t == MCT_YES ? "✓" : t == MCT_NO ? "✗" : "?";
}

static const char *mark_color(enum mct_tristate t, unsigned style)
{
    if (!(style & MCT_REPORT_COLOR))
        return "";
    return t == MCT_YES ? C_GREEN : t == MCT_NO ? C_RED : C_YELLOW;
}

static const char *reset(unsigned style)
{
    return style & MCT_REPORT_COLOR ? C_RESET : "";
}

static const char *col(unsigned style, const char *code)
{
    return style & MCT_REPORT_COLOR ? code : "";
}

/* The text escape of s, alive as long as the pool. */
static const char *esc(struct mct_esc_pool *e, const char *s)
{
    return mct_esc_pool_text(e, s);
}

static int done(const struct mct_buf *out, const struct mct_esc_pool *e)
{
    return out->error ? out->error : e->error;
}

static enum mct_tristate dest_tristate(enum mct_dest_state s)
{
    return s == MCT_DEST_VERIFIED ? MCT_YES : s == MCT_DEST_UNREACHABLE ? MCT_UNKNOWN : MCT_NO;
}

static void report_datajoint(const struct mct_session_status *st, unsigned style,
                             struct mct_esc_pool *e, struct mct_buf *out)
{
    const struct mct_dj_status *dj = &st->dj;
    const char *word = dj->state == MCT_YES  ? "fully imported"
                       : dj->state == MCT_NO ? "NOT fully imported"
                                             : "UNKNOWN";
    mct_buf_printf(out, "DataJoint:     %s%s %s%s\n", mark_color(dj->state, style),
                   mark(dj->state, style), word, reset(style));
    for (int c = 0; c < MCT_DJ_N_CHECKS; c++)
        mct_buf_printf(out, "  %s%s%s %s\n", mark_color(dj->checks[c], style),
                       mark(dj->checks[c], style), reset(style), mct_dj_check_names[c]);
    if (dj->state != MCT_YES && dj->reason[0])
        mct_buf_printf(out, "  reason: %s\n", esc(e, dj->reason));
}

static void report_source(const struct mct_session_status *st, struct mct_esc_pool *e,
                          struct mct_buf *out)
{
    char size[32];
    mct_buf_printf(out, "Source:        %s\n", st->source_path ? esc(e, st->source_path) : "?");
    if (st->source_exists)
        mct_buf_printf(out, "  files: %zu   size: %s (%llu bytes)   videos: %zu\n",
                       st->source.n_files, mct_format_bytes(st->source.bytes, size, sizeof(size)),
                       (unsigned long long)st->source.bytes, st->source.videos);
    else
        mct_buf_puts(out, "  not on local disk\n");
}

static void report_destination(const struct mct_session_status *st, const struct mct_dest_status *d,
                               unsigned style, struct mct_esc_pool *e, struct mct_buf *out)
{
    char size[32];
    enum mct_tristate t = dest_tristate(d->state);
    mct_buf_printf(out, "Destination:   %s\n", esc(e, d->dest->name));
    mct_buf_printf(out, "  path: %s\n", d->path ? esc(e, d->path) : "?");
    mct_buf_printf(out, "  state: %s%s %s%s\n", mark_color(t, style), mark(t, style),
                   mct_dest_state_name(d->state), reset(style));
    if (d->state == MCT_DEST_VERIFIED || d->state == MCT_DEST_UNVERIFIED) {
        mct_buf_printf(out, "  files: %zu   size: %s (%llu bytes)\n", d->files,
                       mct_format_bytes(d->bytes, size, sizeof(size)),
                       (unsigned long long)d->bytes);
        if (st->source_exists)
            mct_buf_printf(out, "  compared: source %zu files / copy %zu files%s\n",
                           st->source.n_files, d->files,
                           st->source.n_files == d->files ? " (counts match)" : " (counts differ)");
    }
    if (d->detail)
        mct_buf_printf(out, "  detail: %s\n", esc(e, d->detail));
}

int mct_report_session_text(const struct mct_session_status *st, unsigned style,
                            struct mct_buf *out)
{
    _cleanup_esc_pool_ struct mct_esc_pool e = {0};
    mct_buf_printf(out, "%sSession %s %s%s\n", col(style, C_BOLD), esc(&e, st->ref.participant_id),
                   esc(&e, st->ref.session_date), reset(style));
    if (st->not_managed)
        mct_buf_printf(out,
                       "Managed:       %sno%s: '%s' starts with none of "
                       "backup.filters.participant_prefixes\n",
                       col(style, C_YELLOW), reset(style), esc(&e, st->ref.participant_id));
    if (st->activity)
        mct_buf_printf(out, "Activity:      %s\n", esc(&e, st->activity));
    report_datajoint(st, style, &e, out);
    report_source(st, &e, out);
    if (st->n_dests == 0)
        mct_buf_puts(out, "Destination:   none enabled\n");
    for (size_t i = 0; i < st->n_dests; i++)
        report_destination(st, &st->dests[i], style, &e, out);

    if (st->safe_to_delete) {
        mct_buf_printf(out, "Safe to delete: %sYES%s\n", col(style, C_GREEN), reset(style));
    } else {
        mct_buf_printf(out, "Safe to delete: %sNO%s\n", col(style, C_RED), reset(style));
        for (char **r = st->reasons; r && *r; r++)
            mct_buf_printf(out, "  - %s\n", esc(&e, *r));
    }
    return done(out, &e);
}

void mct_report_range_text_head(struct mct_buf *out)
{
    mct_buf_printf(out, "%-10s  %-12s  %6s  %-2s  %-6s  %-8s  %-4s\n", "Date", "Participant",
                   "Videos", "DJ", "Backup", "Verified", "Safe");
    mct_buf_printf(out, "%-10s  %-12s  %6s  %-2s  %-6s  %-8s  %-4s\n", "--------", "-----------",
                   "------", "--", "------", "--------", "----");
}

void mct_report_range_text_rows(const struct mct_session_status *st, size_t n, unsigned style,
                                struct mct_range_totals *tot, struct mct_buf *out)
{
    _cleanup_esc_pool_ struct mct_esc_pool e = {0};
    for (size_t i = 0; i < n; i++) {
        const struct mct_session_status *s = &st[i];
        enum mct_tristate safe = s->safe_to_delete ? MCT_YES : MCT_NO;
        tot->n++;
        if (s->safe_to_delete) {
            tot->n_safe++;
            tot->safe_bytes += s->source.bytes;
        }
        /* Pad by hand: the marks are multi-byte UTF-8, printf counts bytes. */
        mct_buf_printf(out, "%-10s  %-12s  %6zu  %s%s%s   %s%s%s       %s%s%s         %s%s%s\n",
                       esc(&e, s->ref.session_date), esc(&e, s->ref.participant_id),
                       s->source.videos, mark_color(s->dj.state, style), mark(s->dj.state, style),
                       reset(style), mark_color(s->backup, style), mark(s->backup, style),
                       reset(style), mark_color(s->verified, style), mark(s->verified, style),
                       reset(style), mark_color(safe, style), mark(safe, style), reset(style));
    }
    if (e.error && !out->error)
        out->error = e.error; /* sticky, as the buffer's own */
}

int mct_report_range_text_end(const struct mct_range_totals *tot, struct mct_buf *out)
{
    char size[32];
    mct_buf_printf(out, "\n%zu session%s, %zu safe to delete (%s)\n", tot->n,
                   tot->n == 1 ? "" : "s", tot->n_safe,
                   mct_format_bytes(tot->safe_bytes, size, sizeof(size)));
    return out->error;
}

int mct_report_range_text(const struct mct_session_status *st, size_t n, unsigned style,
                          struct mct_buf *out)
{
    struct mct_range_totals tot = {};
    mct_report_range_text_head(out);
    mct_report_range_text_rows(st, n, style, &tot, out);
    return mct_report_range_text_end(&tot, out);
}

/* First word of .backup_status: the worst state over enabled destinations. */
static const char *backup_word(const struct mct_session_status *st)
{
    static const enum mct_dest_state order[] = {MCT_DEST_UNSAFE, MCT_DEST_UNREACHABLE,
                                                MCT_DEST_MISSING, MCT_DEST_UNVERIFIED};
    if (st->n_dests == 0)
        return "missing";
    for (size_t o = 0; o < ARRAY_SIZE(order); o++)
        for (size_t i = 0; i < st->n_dests; i++)
            if (st->dests[i].state == order[o])
                return mct_dest_state_name(order[o]);
    return "verified";
}

int mct_report_backup_status(const struct mct_session_status *st, struct mct_buf *out)
{
    _cleanup_esc_pool_ struct mct_esc_pool e = {0};
    char size[32];
    mct_buf_puts(out, st->activity ? esc(&e, st->activity) : backup_word(st));
    if (st->n_dests == 0)
        mct_buf_puts(out, " (no backup destination is enabled)");
    for (size_t i = 0; i < st->n_dests; i++) {
        const struct mct_dest_status *d = &st->dests[i];
        mct_buf_printf(out, "%s %s: %s", i == 0 ? " —" : ";", esc(&e, d->dest->name),
                       mct_dest_state_name(d->state));
        if (d->state == MCT_DEST_VERIFIED || d->state == MCT_DEST_UNVERIFIED)
            mct_buf_printf(out, ", %zu/%zu files, %s", d->files, st->source.n_files,
                           mct_format_bytes(d->bytes, size, sizeof(size)));
        if (d->detail)
            mct_buf_printf(out, " (%s)", esc(&e, d->detail));
    }
    mct_buf_puts(out, "\n");
    return done(out, &e);
}

/* The first line is exactly "yes" or starts with "no" (scripts run `grep
 * -qx yes`), and it is the only line: every reason is escaped. */
int mct_report_safe_to_delete(const struct mct_session_status *st, struct mct_buf *out)
{
    if (st->safe_to_delete && !st->activity) {
        mct_buf_puts(out, "yes\n");
        return out->error;
    }
    mct_buf_puts(out, "no: ");
    bool first = true;
    if (st->activity) {
        mct_esc_text_str(out, st->activity);
        mct_buf_puts(out, " in progress");
        first = false;
    }
    for (char **r = st->reasons; r && *r; r++, first = false) {
        mct_buf_puts(out, first ? "" : "; ");
        mct_esc_text_str(out, *r);
    }
    if (first)
        mct_buf_puts(out, "status unknown");
    mct_buf_puts(out, "\n");
    return out->error;
}
