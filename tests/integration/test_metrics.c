/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Prometheus metrics on a real lab: mctctl metrics and the mount's
 * .metrics against status-range and the mount's state attributes;
 * promtool check metrics on them; a real node_exporter (127.0.0.1, a
 * free port) scraped with curl over the file mctctl and mctfs write; the
 * file never seen half written while both rewrite it; a hung share and a
 * stopped database read as reachable 0 within the timeouts, never as a
 * stalled read or a stale file; deletions, refusals and job runs counted
 * from the deletion log and the state file.
 */
#include <check.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "kit.h"

#define DATE "20241003"
#define RIG  "lab-rig"

static const char *const states[] = {"safe",       "pending",    "recording",   "not_imported",
                                     "unknown",    "not_copied", "unreachable", "unsafe",
                                     "unverified", "gone"};

/* The lab's config with a rig name, the textfile in dir (NULL: none) and
 * more (may be NULL). */
static const char *metrics_config(const char *name, const char *dir, const char *more)
{
    char extra[1024];
    snprintf(extra, sizeof(extra), "metrics:\n  rig_name: \"%s\"\n%s%s%s%s", RIG,
             dir ? "  textfile_dir: \"" : "", dir ? dir : "", dir ? "\"\n" : "", more ? more : "");
    return kit_config_variant(name, NULL, NULL, extra);
}

/* The value of the series "name{rig="lab-rig"[,key="value"]}", or NaN.
 * node_exporter sorts the labels: either order. */
static double value_of(const char *text, const char *name, const char *key, const char *value)
{
    char series[2][256];
    snprintf(series[0], sizeof(series[0]), "\n%s{rig=\"%s\"} ", name, RIG);
    if (key) {
        snprintf(series[0], sizeof(series[0]), "\n%s{rig=\"%s\",%s=\"%s\"} ", name, RIG, key,
                 value);
        snprintf(series[1], sizeof(series[1]), "\n%s{%s=\"%s\",rig=\"%s\"} ", name, key, value,
                 RIG);
    }
    for (int i = 0; i < (key ? 2 : 1); i++) {
        const char *p = strstr(text, series[i]);
        if (p)
            return strtod(p + strlen(series[i]), NULL);
    }
    return NAN;
}

static double must(const char *text, const char *name, const char *key, const char *value)
{
    double v = value_of(text, name, key, value);
    if (isnan(v))
        printf("---- no %s{%s=%s} in ----\n%s----\n", name, key ? key : "", value ? value : "",
               text);
    ck_assert_msg(!isnan(v), "no %s{%s=%s} (the text is on stdout)", name, key ? key : "",
                  value ? value : "");
    return v;
}

static char *mctctl_metrics(const char *config)
{
    struct kit_result r;
    ck_assert_int_eq(kit_mctctl(config, NULL, &r, "metrics", NULL), 0);
    char *out = strdup(r.out);
    kit_result_free(&r);
    return out;
}

static void promtool_check(const char *text)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/check.prom", lab.dir);
    kit_write_file(path, text);
    ck_assert_int_eq(kit_shell("promtool check metrics < '%s'", path), 0);
}

/* What status-range --json says: sessions, safe ones, their bytes. */
struct range {
    size_t n, n_safe;
    uint64_t bytes, safe_bytes;
};

static struct range status_range(void)
{
    struct kit_result r;
    ck_assert_int_eq(kit_mctctl(NULL, NULL, &r, "--json", "status-range", NULL), 0);
    struct range g = {0};
    const char *p = r.out;
    while ((p = strstr(p, "{\"participant_id\":"))) {
        const char *next = strstr(p + 1, "{\"participant_id\":");
        const char *b = strstr(p, "\"bytes\":"); /* the source's comes first */
        ck_assert_ptr_nonnull(b);
        uint64_t bytes = strtoull(b + 8, NULL, 10);
        const char *safe = strstr(p, "\"safe_to_delete\":true");
        g.n++;
        g.bytes += bytes;
        if (safe && (!next || safe < next)) {
            g.n_safe++;
            g.safe_bytes += bytes;
        }
        p++;
    }
    kit_result_free(&r);
    return g;
}

/* The four kinds of session of these tests. */
static void lab_sessions(void)
{
    kit_session("p001 " DATE " --imported --dj --copy");
    kit_session("p002 " DATE " --imported --dj --copy --videos 6 --size 5000");
    kit_session("p003 " DATE " --copy");
    kit_session("p004 " DATE " --imported --dj");
    kit_session("p005 " DATE " --imported --dj --copy --age 1");
}

static void check_against_range(const char *text, const struct range *g)
{
    double n = 0, bytes = 0;
    for (size_t i = 0; i < ARRAY_SIZE(states); i++) {
        n += must(text, "mctfs_sessions", "state", states[i]);
        bytes += must(text, "mctfs_sessions_bytes", "state", states[i]);
    }
    ck_assert_uint_eq((uint64_t)n, g->n);
    ck_assert_uint_eq((uint64_t)bytes, g->bytes);
    ck_assert_uint_eq((uint64_t)must(text, "mctfs_sessions", "state", "safe"), g->n_safe);
    ck_assert_uint_eq((uint64_t)must(text, "mctfs_sessions_bytes", "state", "safe"), g->safe_bytes);
}

static void check_states(const char *text)
{
    ck_assert_int_eq((int)must(text, "mctfs_sessions", "state", "safe"), 2);
    ck_assert_int_eq((int)must(text, "mctfs_sessions", "state", "not_imported"), 1);
    ck_assert_int_eq((int)must(text, "mctfs_sessions", "state", "not_copied"), 1);
    ck_assert_int_eq((int)must(text, "mctfs_sessions", "state", "recording"), 1);
    ck_assert_int_eq((int)must(text, "mctfs_destination_reachable", "destination", "lab share"), 1);
    ck_assert_int_eq((int)must(text, "mctfs_datajoint_reachable", NULL, NULL), 1);
    must(text, "mctfs_oldest_unsafe_session_timestamp_seconds", NULL, NULL);
    must(text, "mctfs_source_free_bytes", NULL, NULL);
    must(text, "mctfs_forecast_until_full_seconds", "counting", "free");
}

START_TEST(mctctl_and_the_mount_agree_with_status_range)
{
    lab_sessions();
    struct range g = status_range();
    ck_assert_uint_eq(g.n, 5);
    const char *cfg = metrics_config("plain", NULL, NULL);
    _cleanup_free_ char *text = mctctl_metrics(cfg);
    check_against_range(text, &g);
    check_states(text);
    promtool_check(text);

    struct kit_mount m;
    kit_mount(&m, cfg, NULL);
    char path[600];
    kit_mpath(&m, path, sizeof(path), ".status");
    free(kit_slurp(path, NULL)); /* waits for the first sweep */
    kit_mpath(&m, path, sizeof(path), ".metrics");
    _cleanup_free_ char *view = kit_slurp(path, NULL);
    ck_assert_ptr_nonnull(view);
    check_against_range(view, &g);
    check_states(view);
    must(view, "mctfs_mount_sweeps_total", NULL, NULL);
    promtool_check(view);

    /* Each session's state attribute, counted, is what .metrics says. */
    size_t count[ARRAY_SIZE(states)] = {0};
    for (int i = 1; i <= 5; i++) {
        char dir[600], state[32] = "";
        kit_mpath(&m, dir, sizeof(dir), "p%03d/%s", i, DATE);
        ssize_t k = getxattr(dir, "user.mctfs.state", state, sizeof(state) - 1);
        ck_assert_int_gt(k, 0);
        state[k] = '\0';
        for (size_t s = 0; s < ARRAY_SIZE(states); s++)
            count[s] += streq(states[s], state);
    }
    for (size_t s = 0; s < ARRAY_SIZE(states); s++)
        ck_assert_uint_eq(count[s], (size_t)must(view, "mctfs_sessions", "state", states[s]));
    kit_unmount(&m);
}
END_TEST

/* ---- node_exporter ---- */

static bool port_free(unsigned port)
{
    char hex[16];
    snprintf(hex, sizeof(hex), ":%04X ", port);
    return kit_shell("! grep -qF -- '%s' /proc/net/tcp /proc/net/tcp6 2>/dev/null", hex) == 0;
}

/* node_exporter with only the textfile collector, reading dir; *port gets
 * its port. Remembered for the teardown; tries a few ports. */
static pid_t node_exporter(const char *dir, unsigned *port)
{
    char log[400], listen[64], textfile[512];
    snprintf(log, sizeof(log), "%s/node_exporter.log", lab.dir);
    snprintf(textfile, sizeof(textfile), "--collector.textfile.directory=%s", dir);
    for (int attempt = 0; attempt < 5; attempt++) {
        do
            *port = 20000 + (unsigned)(random() % 40000);
        while (!port_free(*port));
        snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%u", *port);
        char *argv[] = {"/usr/bin/prometheus-node-exporter",
                        listen,
                        "--collector.disable-defaults",
                        "--collector.textfile",
                        textfile,
                        NULL};
        pid_t pid = kit_spawn(argv, NULL, log, NULL);
        for (int i = 0; i < 50; i++) {
            if (kit_shell("curl -sf -o /dev/null http://127.0.0.1:%u/metrics", *port) == 0)
                return pid;
            if (kit_wait_exit(pid, 100) >= 0)
                break; /* the port was taken meanwhile */
        }
        kill(pid, SIGKILL);
        kit_wait_exit(pid, 2000);
    }
    ck_abort_msg("node_exporter did not start (log: %s)", log);
    return -1;
}

static void node_exporter_stop(pid_t pid)
{
    kill(pid, SIGTERM);
    ck_assert_int_ge(kit_wait_exit(pid, 5000), 0);
}

static char *scrape(unsigned port)
{
    char *argv[] = {"curl", "-sf", NULL, NULL};
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/metrics", port);
    argv[2] = url;
    struct kit_result r;
    ck_assert_int_eq(kit_run(argv, NULL, &r), 0);
    char *out = strdup(r.out);
    kit_result_free(&r);
    return out;
}

static void wait_for_file(const char *path, unsigned ms)
{
    for (unsigned i = 0; i < ms / 50 && !kit_exists(path); i++)
        kit_sleep_ms(50);
    ck_assert_msg(kit_exists(path), "%s never appeared", path);
}

START_TEST(node_exporter_serves_what_mctctl_and_mctfs_write)
{
    lab_sessions();
    struct range g = status_range();
    char dir[400], prom[450];
    snprintf(dir, sizeof(dir), "%s/textfile", lab.dir);
    snprintf(prom, sizeof(prom), "%s/mctfs.prom", dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    unsigned port;
    pid_t ne = node_exporter(dir, &port);

    /* mctctl's file. */
    struct kit_result r;
    ck_assert_int_eq(kit_mctctl(metrics_config("plain", NULL, NULL), NULL, &r, "metrics",
                                "--textfile", dir, NULL),
                     0);
    kit_result_free(&r);
    ck_assert_uint_eq(kit_count_entries(dir, true), 1); /* no temp file left */
    _cleanup_free_ char *a = scrape(port);
    check_against_range(a, &g);
    check_states(a);
    kit_assert_has(a, "node_textfile_scrape_error 0");
    kit_assert_has(a, "node_textfile_mtime_seconds{file=\"");
    printf("---- a scrape of the lab (node_exporter, mctctl's file) ----\n%s----\n", a);

    /* The mount's, rewritten after each sweep. */
    ck_assert_int_eq(unlink(prom), 0);
    struct kit_mount m;
    kit_mount(&m, metrics_config("textfile", dir, NULL), NULL);
    wait_for_file(prom, 10000);
    _cleanup_free_ char *b = scrape(port);
    check_against_range(b, &g);
    check_states(b);
    must(b, "mctfs_mount_sweeps_total", NULL, NULL);
    kit_assert_has(b, "node_textfile_scrape_error 0");
    kit_unmount(&m);
    node_exporter_stop(ne);
}
END_TEST

/* ---- the file is replaced whole ---- */

static void assert_whole(const char *text, size_t len, const char *what)
{
    static const char last[] = "\nmctfs_metrics_generated_timestamp_seconds{rig=\"" RIG "\"} ";
    ck_assert_msg(len > 0 && startswith(text, "# HELP mctfs_info ") && text[len - 1] == '\n',
                  "%s read half written (%zu bytes):\n%s", what, len, text);
    const char *p = strstr(text, last);
    ck_assert_msg(p && strchr(p + strlen(last), '\n') == text + len - 1,
                  "%s does not end with its last series:\n%s", what, text);
}

START_TEST(the_file_is_never_seen_half_written)
{
    lab_sessions();
    char dir[400], prom[450], log[450];
    snprintf(dir, sizeof(dir), "%s/textfile", lab.dir);
    snprintf(prom, sizeof(prom), "%s/mctfs.prom", dir);
    snprintf(log, sizeof(log), "%s/writers.log", lab.dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    /* Two writers: the mount after every sweep (each second), mctctl in
     * a loop. */
    const char *cfg = metrics_config("busy", dir, "mount:\n  cache_seconds: 1\n");
    struct kit_mount m;
    kit_mount(&m, cfg, NULL);
    wait_for_file(prom, 10000);
    char loop[1600];
    snprintf(loop, sizeof(loop),
             "for i in $(seq 20); do MCTFS_ALLOW_ROOT=1 '%s' -c '%s' metrics --textfile '%s' || "
             "exit 1; done",
             getenv("MCTCTL"), cfg, dir);
    char *argv[] = {"/bin/sh", "-c", loop, NULL};
    pid_t writer = kit_spawn(argv, NULL, log, NULL);

    size_t reads = 0, replaced = 0;
    ino_t last_ino = 0;
    char vpath[600];
    kit_mpath(&m, vpath, sizeof(vpath), ".metrics");
    int64_t until = mct_now_ms() + 6000;
    while (mct_now_ms() < until) {
        int fd = open(prom, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        struct stat st;
        ck_assert_int_eq(fstat(fd, &st), 0);
        char buf[65536];
        size_t len = 0;
        ssize_t k;
        while ((k = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
            len += (size_t)k;
        close(fd);
        buf[len] = '\0';
        assert_whole(buf, len, prom);
        replaced += st.st_ino != last_ino;
        last_ino = st.st_ino;
        size_t vlen = 0;
        _cleanup_free_ char *view = kit_slurp(vpath, &vlen);
        assert_whole(view, vlen, ".metrics");
        reads++;
    }
    int rc = kit_wait_exit(writer, 120000);
    ck_assert_int_eq(rc, 0);
    printf("%zu whole reads while the file was replaced %zu times\n", reads, replaced);
    ck_assert_uint_ge(replaced, 3);
    kit_unmount(&m);
    ck_assert_uint_eq(kit_count_entries(dir, true), 1); /* no temp file left behind */
}
END_TEST

/* ---- what cannot answer reads 0, in time ---- */

START_TEST(a_hung_share_reads_unreachable_in_time)
{
    kit_session("p001 " DATE " --imported --dj --copy");
    char hang[400], dir[400], prom[450];
    pid_t hangfs = kit_hangfs_start(hang, sizeof(hang));
    snprintf(dir, sizeof(dir), "%s/textfile", lab.dir);
    snprintf(prom, sizeof(prom), "%s/mctfs.prom", dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    char extra[1024];
    snprintf(extra, sizeof(extra),
             "metrics:\n  rig_name: \"%s\"\n  textfile_dir: \"%s\"\nmount:\n  cache_seconds: 2\n",
             RIG, dir);
    const char *cfg = kit_config_variant("hung", lab.share, hang, extra);

    /* mctctl: within the share's timeout (2 s) and a margin. */
    int64_t t0 = mct_now_ms();
    _cleanup_free_ char *text = mctctl_metrics(cfg);
    int64_t ms = mct_now_ms() - t0;
    ck_assert_msg(ms < 2000 + 2000 + 3000, "mctctl metrics took %lld ms", (long long)ms);
    ck_assert_int_eq((int)must(text, "mctfs_destination_reachable", "destination", "lab share"), 0);
    must(text, "mctfs_destination_unreachable_since_timestamp_seconds", "destination", "lab share");

    /* The mount: every read at once; reachable 0 within the timeouts. */
    struct kit_mount m;
    kit_mount(&m, cfg, NULL);
    int64_t mounted = mct_now_ms();
    char vpath[600];
    kit_mpath(&m, vpath, sizeof(vpath), ".metrics");
    double reach = NAN;
    while (mct_now_ms() - mounted < 2000 + 2000 + 1000 + 1000) {
        t0 = mct_now_ms();
        _cleanup_free_ char *view = kit_slurp(vpath, NULL);
        ck_assert_ptr_nonnull(view);
        ck_assert_msg(mct_now_ms() - t0 < 100, ".metrics read took %lld ms",
                      (long long)(mct_now_ms() - t0));
        reach = value_of(view, "mctfs_destination_reachable", "destination", "lab share");
        if (reach == 0)
            break;
        kit_sleep_ms(100);
    }
    ck_assert_msg(reach == 0, "still reachable %g after %lld ms", reach,
                  (long long)(mct_now_ms() - mounted));
    printf("hung share: .metrics says reachable 0 after %lld ms\n",
           (long long)(mct_now_ms() - mounted));

    /* The file says so too, and keeps being rewritten: never stalled. */
    wait_for_file(prom, 10000);
    struct stat a, b;
    ck_assert_int_eq(stat(prom, &a), 0);
    kit_sleep_ms(3500);
    ck_assert_int_eq(stat(prom, &b), 0);
    ck_assert_msg(a.st_ino != b.st_ino, "%s was not rewritten in 3.5 s", prom);
    _cleanup_free_ char *file = kit_slurp(prom, NULL);
    ck_assert_int_eq((int)must(file, "mctfs_destination_reachable", "destination", "lab share"), 0);
    kit_unmount(&m);
    kit_hangfs_stop(hangfs, hang);
}
END_TEST

START_TEST(a_stopped_database_reads_unreachable_in_time)
{
    kit_session("p001 " DATE " --imported --dj --copy");
    const char *cfg = metrics_config("plain", NULL, "mount:\n  cache_seconds: 2\n");
    struct kit_mount m;
    kit_mount(&m, cfg, NULL);
    char vpath[600];
    kit_mpath(&m, vpath, sizeof(vpath), ".status");
    free(kit_slurp(vpath, NULL));
    kit_mpath(&m, vpath, sizeof(vpath), ".metrics");
    _cleanup_free_ char *before = kit_slurp(vpath, NULL);
    ck_assert_int_eq((int)must(before, "mctfs_datajoint_reachable", NULL, NULL), 1);

    ck_assert_int_eq(kit_lab_sh(&lab, "db-stop"), 0);
    int64_t t0 = mct_now_ms();
    _cleanup_free_ char *text = mctctl_metrics(cfg);
    ck_assert_msg(mct_now_ms() - t0 < 2000 + 3000, "mctctl metrics took %lld ms",
                  (long long)(mct_now_ms() - t0));
    ck_assert_int_eq((int)must(text, "mctfs_datajoint_reachable", NULL, NULL), 0);
    ck_assert_int_eq((int)must(text, "mctfs_sessions", "state", "unknown"), 1);

    /* The mount's next sweep (every second) sees it. */
    double reach = NAN;
    t0 = mct_now_ms();
    while (mct_now_ms() - t0 < 1000 + 2000 + 2000) {
        _cleanup_free_ char *view = kit_slurp(vpath, NULL);
        reach = value_of(view, "mctfs_datajoint_reachable", NULL, NULL);
        if (reach == 0)
            break;
        kit_sleep_ms(100);
    }
    ck_assert_msg(reach == 0, "DataJoint still reachable %g", reach);
    kit_unmount(&m);
    ck_assert_int_eq(kit_lab_sh(&lab, "db-start"), 0);
}
END_TEST

/* ---- counters from the deletion log, jobs from the state file ---- */

static double job(const char *text, const char *metric, const char *name)
{
    return must(text, metric, "job", name);
}

START_TEST(deletions_refusals_and_jobs_are_counted)
{
    kit_session("p010 " DATE " --imported --dj --copy --videos 3 --size 7000");
    kit_session("p011 " DATE " --copy");
    kit_session("p012 " DATE " --imported --dj");
    const char *cfg = metrics_config("plain", NULL, NULL);
    _cleanup_free_ char *before = mctctl_metrics(cfg);
    ck_assert_int_eq((int)must(before, "mctfs_deletions_total", NULL, NULL), 0);
    ck_assert_int_eq((int)job(before, "mctfs_job_last_run_timestamp_seconds", "batch"), 0);
    uint64_t safe_bytes = (uint64_t)must(before, "mctfs_sessions_bytes", "state", "safe");

    struct kit_result r;
    ck_assert_int_eq(kit_mctctl(NULL, "DELETE\n", &r, "delete", "p010", DATE, NULL), 0);
    kit_result_free(&r);
    /* A refusal is logged when the deletion was asked for for real: mctctl
     * refuses on its summary, before the confirmation; .control's write is
     * the confirmation. */
    struct kit_mount m;
    kit_mount(&m, cfg, NULL);
    int err = 0;
    ck_assert_int_lt(kit_control_write(&m, "p011", DATE, "DELETE\n", 7, &err), 0);
    ck_assert_int_eq(err, EPERM);
    kit_unmount(&m);
    ck_assert_int_eq(kit_mctctl(NULL, NULL, &r, "sync", "p012", DATE, NULL), 0);
    kit_result_free(&r);
    ck_assert_int_eq(kit_mctctl(cfg, NULL, &r, "metrics", "--record", "batch=1", NULL), 0);
    kit_result_free(&r);

    time_t now = time(NULL);
    _cleanup_free_ char *after = mctctl_metrics(cfg);
    ck_assert_int_eq((int)must(after, "mctfs_deletions_total", NULL, NULL), 1);
    ck_assert_uint_eq((uint64_t)must(after, "mctfs_deleted_bytes_total", NULL, NULL), safe_bytes);
    ck_assert_int_eq((int)must(after, "mctfs_deletion_refusals_total", "reason", "not_imported"),
                     1);
    ck_assert_int_eq((int)must(after, "mctfs_deletion_refusals_total", "reason", "other"), 0);
    /* The last deletion was the refusal. */
    ck_assert_int_eq((int)job(after, "mctfs_job_last_run_success", "deletion"), 0);
    ck_assert_int_ge((time_t)job(after, "mctfs_job_last_success_timestamp_seconds", "deletion"),
                     now - 60);
    ck_assert_int_eq((int)job(after, "mctfs_job_last_run_success", "sync"), 1);
    ck_assert_int_ge((time_t)job(after, "mctfs_job_last_run_timestamp_seconds", "sync"), now - 60);
    ck_assert_int_eq((int)job(after, "mctfs_job_last_run_success", "batch"), 0);
    ck_assert_int_eq((int)job(after, "mctfs_job_last_success_timestamp_seconds", "batch"), 0);
    promtool_check(after);

    /* The nightly wrapper records its batch and writes the file. */
    char dir[400], prom[450];
    snprintf(dir, sizeof(dir), "%s/textfile", lab.dir);
    snprintf(prom, sizeof(prom), "%s/mctfs.prom", dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    const char *wcfg = metrics_config("timer", dir, NULL);
    ck_assert_int_eq(kit_shell("MCTCTL='%s' '%s' -c '%s' --days 0 --reclaim >/dev/null 2>&1",
                               getenv("MCTCTL"), getenv("MCTCTL_BATCH_RECENT"), wcfg),
                     0);
    _cleanup_free_ char *nightly = kit_slurp(prom, NULL);
    ck_assert_ptr_nonnull(nightly);
    ck_assert_int_eq((int)job(nightly, "mctfs_job_last_run_success", "batch"), 1);
    ck_assert_int_ge((time_t)job(nightly, "mctfs_job_last_success_timestamp_seconds", "batch"),
                     now - 60);
    /* Counters survive the process: they are the log's. */
    ck_assert_int_eq((int)must(nightly, "mctfs_deletions_total", NULL, NULL), 1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("lab");
    tcase_add_checked_fixture(tc, kit_setup, kit_teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, mctctl_and_the_mount_agree_with_status_range);
    tcase_add_test(tc, node_exporter_serves_what_mctctl_and_mctfs_write);
    tcase_add_test(tc, the_file_is_never_seen_half_written);
    tcase_add_test(tc, a_hung_share_reads_unreachable_in_time);
    tcase_add_test(tc, a_stopped_database_reads_unreachable_in_time);
    tcase_add_test(tc, deletions_refusals_and_jobs_are_counted);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return kit_run_suite(suite());
}
