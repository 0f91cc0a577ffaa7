/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The metrics renderer and the deletion log's tally (metrics.h), without
 * a lab: label escaping, series left out when unknown, +Inf for a disk
 * that does not fill, refusals classed by their evidence, a log read on
 * from where it stopped (and from the start when it was replaced), the
 * job state file and the atomic textfile.
 */
#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metrics.h"
#include "unit.h"

static char *render(const struct mct_metrics *m)
{
    struct mct_buf b = {0};
    ck_assert_int_eq(mct_metrics_render(m, &b), 0);
    return mct_buf_steal(&b);
}

START_TEST(labels_are_escaped_and_unknowns_left_out)
{
    struct mct_metrics_dest dests[2] = {
            {.name = "lab \"share\"\\1", .known = true, .h = {.last_at = 5, .last_ms = 1500}},
            {.name = "never probed", .known = false},
    };
    struct mct_metrics m = {.rig = "rig\n1", .now = 1000, .dests = dests, .n_dests = 2};
    _cleanup_free_ char *t = render(&m);
    ck_assert_ptr_nonnull(strstr(t, "mctfs_destination_reachable{rig=\"rig\\n1\",destination=\"lab "
                                    "\\\"share\\\"\\\\1\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(t, "mctfs_destination_probe_duration_seconds{rig=\"rig\\n1\","
                                    "destination=\"lab \\\"share\\\"\\\\1\"} 1.5\n"));
    ck_assert_ptr_null(strstr(t, "never probed"));
    /* No sessions collected, no database asked: no such series, no HELP. */
    ck_assert_ptr_null(strstr(t, "mctfs_sessions"));
    ck_assert_ptr_null(strstr(t, "mctfs_datajoint"));
    ck_assert_ptr_null(strstr(t, "mctfs_deletions_total"));
    /* Never-run jobs read 0; their success is not claimed. */
    ck_assert_ptr_nonnull(
            strstr(t, "mctfs_job_last_run_timestamp_seconds{rig=\"rig\\n1\",job=\"batch\"} 0\n"));
    ck_assert_ptr_null(strstr(t, "mctfs_job_last_run_success"));
    /* Every family's HELP once, and the last line last. */
    const char *help = strstr(t, "# HELP mctfs_job_last_run_timestamp_seconds ");
    ck_assert_ptr_nonnull(help);
    ck_assert_ptr_null(strstr(help + 1, "# HELP mctfs_job_last_run_timestamp_seconds "));
    const char *last =
            strstr(t, "mctfs_metrics_generated_timestamp_seconds{rig=\"rig\\n1\"} 1000\n");
    ck_assert_ptr_nonnull(last);
    ck_assert_int_eq(
            (int)(strlen(last)),
            (int)strlen("mctfs_metrics_generated_timestamp_seconds{rig=\"rig\\n1\"} 1000\n"));
}
END_TEST

START_TEST(sessions_are_counted_by_state_and_the_forecast_is_rendered)
{
    struct mct_session_status st[3] = {0};
    snprintf(st[0].ref.session_date, sizeof(st[0].ref.session_date), "20250104");
    st[0].safe_to_delete = true;
    st[0].source_exists = true;
    st[0].source.bytes = 100;
    snprintf(st[1].ref.session_date, sizeof(st[1].ref.session_date), "20250102");
    st[1].source_exists = true;
    st[1].dj.state = MCT_NO;
    st[1].source.bytes = 10;
    snprintf(st[2].ref.session_date, sizeof(st[2].ref.session_date), "20250103");
    st[2].source_exists = true;
    st[2].dj.state = MCT_NO;
    st[2].source.bytes = 5;

    struct mct_metrics m = {.rig = "r", .now = 1, .have_sessions = true, .have_forecast = true};
    mct_metrics_sessions_begin(&m.sessions);
    mct_metrics_sessions_add(&m.sessions, st, 3, false);
    m.forecast = (struct mct_forecast){.fs_known = true,
                                       .fs = {.size = 1000, .avail = 400},
                                       .window_days = 14,
                                       .days_full = -1,
                                       .days_full_reclaimed = 2.5};
    _cleanup_free_ char *t = render(&m);
    ck_assert_ptr_nonnull(strstr(t, "mctfs_sessions{rig=\"r\",state=\"safe\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(t, "mctfs_sessions{rig=\"r\",state=\"not_imported\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(t, "mctfs_sessions{rig=\"r\",state=\"gone\"} 0\n"));
    ck_assert_ptr_nonnull(strstr(t, "mctfs_sessions_bytes{rig=\"r\",state=\"not_imported\"} 15\n"));
    /* The oldest not-safe one is 20250102, whatever the order given. */
    setenv("TZ", "UTC", 1);
    tzset();
    _cleanup_free_ char *u = render(&m);
    ck_assert_ptr_nonnull(
            strstr(u, "mctfs_oldest_unsafe_session_timestamp_seconds{rig=\"r\"} 1735776000\n"));
    ck_assert_ptr_nonnull(strstr(u,
                                 "mctfs_oldest_session_timestamp_seconds{rig=\"r\",state=\"safe\"} "
                                 "1735948800\n"));
    ck_assert_ptr_nonnull(strstr(u, "mctfs_source_free_bytes{rig=\"r\"} 400\n"));
    ck_assert_ptr_nonnull(
            strstr(u, "mctfs_forecast_until_full_seconds{rig=\"r\",counting=\"free\"} +Inf\n"));
    ck_assert_ptr_nonnull(strstr(
            u, "mctfs_forecast_until_full_seconds{rig=\"r\",counting=\"reclaimable\"} 216000\n"));
}
END_TEST

#define DELETED                                                                                    \
    "{\"time\":\"2025-02-01T09:12:44Z\",\"user\":\"a \\\"b\\\" (uid 1)\",\"via\":\"mctfs\","       \
    "\"participant\":\"p001\",\"date\":\"20250104\",\"path\":\"/d/\\udcff\",\"files\":2,"          \
    "\"bytes\":3000,\"mode\":\"normal\",\"destinations\":[{\"name\":\"s\",\"path\":\"/s\","        \
    "\"state\":\"verified\",\"files\":2,\"bytes\":3000}],\"datajoint\":{\"state\":\"yes\","        \
    "\"checks\":{\"subject\":true}},\"result\":\"deleted\"}"
#define REFUSED_DJ                                                                                 \
    "{\"time\":\"2025-02-02T00:00:00Z\",\"bytes\":9,\"mode\":\"normal\",\"destinations\":[{"       \
    "\"state\":\"verified\"}],\"datajoint\":{\"state\":\"no\",\"checks\":{\"subject\":false},"     \
    "\"reason\":\"x\"},\"result\":\"refused\",\"reasons\":[\"not in DataJoint: x\"]}"
#define REFUSED_COPY                                                                               \
    "{\"time\":\"2025-02-03T00:00:00Z\",\"destinations\":[{\"state\":\"missing\"}],"               \
    "\"datajoint\":{\"state\":\"yes\",\"checks\":{\"subject\":true}},\"result\":\"refused\"}"
#define REFUSED_BUSY                                                                               \
    "{\"time\":\"2025-02-04T00:00:00Z\",\"destinations\":[],\"datajoint\":{\"state\":"             \
    "\"unknown\",\"checks\":{}},\"result\":\"refused\",\"reasons\":[\"another command is running " \
    "on p/d\"]}"
#define REFUSED_YOUNG                                                                              \
    "{\"time\":\"2025-02-05T00:00:00Z\",\"destinations\":[{\"state\":\"missing\"}],"               \
    "\"datajoint\":{\"state\":\"no\",\"checks\":{\"subject\":false}},\"result\":\"refused\","      \
    "\"reasons\":[\"file younger than 60 min: a.mp4\"]}"
#define REFUSED_EARLY                                                                              \
    "{\"time\":\"2025-02-06T00:00:00Z\",\"destinations\":[],\"datajoint\":{\"state\":"             \
    "\"unknown\",\"checks\":{}},\"result\":\"refused\",\"reasons\":[\"session gone\"]}"

START_TEST(refusals_are_classed_by_their_evidence)
{
    struct mct_dlog_tally t = {0};
    const char *lines[] = {DELETED,      REFUSED_DJ,    REFUSED_COPY,
                           REFUSED_BUSY, REFUSED_YOUNG, REFUSED_EARLY};
    for (size_t i = 0; i < ARRAY_SIZE(lines); i++)
        ck_assert_int_eq(mct_dlog_tally_line(&t, lines[i], strlen(lines[i])), 0);
    ck_assert_int_eq(mct_dlog_tally_line(&t, "not json", 8), -EBADMSG);
    ck_assert_int_eq(mct_dlog_tally_line(&t, "{\"time\":", 8), -EBADMSG);
    ck_assert_uint_eq(t.deletions, 1);
    ck_assert_uint_eq(t.bytes_freed, 3000);
    ck_assert_uint_eq(t.refusals[MCT_REFUSAL_NOT_IMPORTED], 1);
    ck_assert_uint_eq(t.refusals[MCT_REFUSAL_NOT_COPIED], 1);
    ck_assert_uint_eq(t.refusals[MCT_REFUSAL_BUSY], 1);
    ck_assert_uint_eq(t.refusals[MCT_REFUSAL_RECORDING], 1);
    ck_assert_uint_eq(t.refusals[MCT_REFUSAL_OTHER], 1);
    ck_assert_int_eq(t.last.last_run, 1738800000); /* 2025-02-06 */
    ck_assert(!t.last.last_ok);
    ck_assert_int_eq(t.last.last_success, 1738401164);
}
END_TEST

START_TEST(the_log_is_read_on_from_where_it_stopped)
{
    char dir[] = "/tmp/test-metrics.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    _cleanup_free_ char *log = mct_path_join(dir, "deletions.log");
    struct mct_dlog_tally t = {0};
    ck_assert_int_eq(mct_dlog_tally_update(log, &t), -ENOENT);

    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0640);
    ck_assert_int_ge(fd, 0);
    /* A line still being written waits for its newline. */
    ck_assert_int_eq(mct_write_all(fd, DELETED "\n" REFUSED_DJ, strlen(DELETED) + 1 + 40), 0);
    ck_assert_int_eq(mct_dlog_tally_update(log, &t), 0);
    ck_assert_uint_eq(t.deletions, 1);
    ck_assert_uint_eq(t.refusals[MCT_REFUSAL_NOT_IMPORTED], 0);
    ck_assert_int_eq(mct_write_all(fd, REFUSED_DJ + 40, strlen(REFUSED_DJ) - 40), 0);
    ck_assert_int_eq(mct_write_all(fd, "\n", 1), 0);
    ck_assert_int_eq(mct_dlog_tally_update(log, &t), 0);
    ck_assert_uint_eq(t.deletions, 1);
    ck_assert_uint_eq(t.refusals[MCT_REFUSAL_NOT_IMPORTED], 1);
    ck_assert_int_eq(mct_dlog_tally_update(log, &t), 0); /* nothing new */
    ck_assert_uint_eq(t.deletions, 1);
    close(fd);

    /* Truncated (copytruncate): from the start. */
    ck_assert_int_eq(truncate(log, 0), 0);
    fd = open(log, O_WRONLY | O_APPEND);
    ck_assert_int_eq(mct_write_all(fd, REFUSED_COPY "\n", strlen(REFUSED_COPY) + 1), 0);
    close(fd);
    ck_assert_int_eq(mct_dlog_tally_update(log, &t), 0);
    ck_assert_uint_eq(t.deletions, 0);
    ck_assert_uint_eq(t.refusals[MCT_REFUSAL_NOT_COPIED], 1);
    unlink(log);
    rmdir(dir);
}
END_TEST

START_TEST(job_runs_are_recorded_and_the_textfile_is_replaced_whole)
{
    char dir[] = "/tmp/test-metrics.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    _cleanup_free_ char *cache = mct_path_join(dir, "cache");
    struct mct_config cfg = {.cache_dir = cache};
    struct mct_job_state jobs[_MCT_JOB_MAX];
    ck_assert_int_eq(mct_metrics_jobs_read(&cfg, jobs), 0);
    ck_assert_int_eq(jobs[MCT_JOB_BATCH].last_run, 0);
    ck_assert_int_eq(mct_metrics_job_record(&cfg, MCT_JOB_BATCH, true), 0);
    ck_assert_int_eq(mct_metrics_job_record(&cfg, MCT_JOB_SYNC, false), 0);
    ck_assert_int_eq(mct_metrics_job_record(&cfg, MCT_JOB_DELETION, true), -EINVAL);
    ck_assert_int_eq(mct_metrics_jobs_read(&cfg, jobs), 0);
    ck_assert_int_gt(jobs[MCT_JOB_BATCH].last_run, 0);
    ck_assert(jobs[MCT_JOB_BATCH].last_ok);
    ck_assert_int_eq(jobs[MCT_JOB_BATCH].last_success, jobs[MCT_JOB_BATCH].last_run);
    ck_assert(!jobs[MCT_JOB_SYNC].last_ok);
    ck_assert_int_eq(jobs[MCT_JOB_SYNC].last_success, 0);
    ck_assert_int_eq(mct_metrics_job_from_name("reclaim"), MCT_JOB_RECLAIM);
    ck_assert_int_eq(mct_metrics_job_from_name("nope"), -EINVAL);

    ck_assert_int_eq(mct_metrics_write_textfile(dir, "a 1\n", 4), 0);
    ck_assert_int_eq(mct_metrics_write_textfile(dir, "a 2\n", 4), 0);
    _cleanup_free_ char *prom = mct_path_join(dir, MCT_METRICS_TEXTFILE);
    _cleanup_free_ char *text = NULL;
    ck_assert_int_eq(mct_read_file(prom, 100, &text), 0);
    ck_assert_str_eq(text, "a 2\n");
    struct stat st;
    ck_assert_int_eq(stat(prom, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0644);
    ck_assert_int_eq(mct_metrics_write_textfile("/nonexistent/x", "a", 1), -ENOENT);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *metrics_render_suite(void)
{
    Suite *s = suite_create("metrics_render");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, labels_are_escaped_and_unknowns_left_out);
    tcase_add_test(tc, sessions_are_counted_by_state_and_the_forecast_is_rendered);
    tcase_add_test(tc, refusals_are_classed_by_their_evidence);
    tcase_add_test(tc, the_log_is_read_on_from_where_it_stopped);
    tcase_add_test(tc, job_runs_are_recorded_and_the_textfile_is_replaced_whole);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(metrics_render_suite());
}
