/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Many at once, against a real mount: eight readers of the status files of
 * fifty sessions while SYNCs run through .control; a DELETE through the
 * mount racing `mctctl delete` of the same session; `mctctl batch` while
 * the mount serves reads. No crash, no deadlock (everything within a
 * bound), every read well-formed, and mctfs's peak memory reported.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include "kit.h"

#define N_SESSIONS 50
#define N_SYNC     10 /* the last ones have no copy yet */
#define N_READERS  8

typedef void (*ref_fn)(int i, char *p, size_t plen, char *d, size_t dlen);

static void ref_of(int i, char *p, size_t plen, char *d, size_t dlen)
{
    snprintf(p, plen, "p%03d", 600 + i);
    snprintf(d, dlen, "202307%02d", i % 28 + 1);
}

/* The sessions of the batch test. */
static void ref_batch(int i, char *p, size_t plen, char *d, size_t dlen)
{
    snprintf(p, plen, "s%d", 800 + i);
    snprintf(d, dlen, "202309%02d", i + 1);
}

/* Is text what the named virtual file of P/D may contain? */
static bool well_formed(const char *name, const char *p, const char *d, const char *text)
{
    size_t len = strlen(text);
    if (streq(name, ".status.json")) {
        char id[64];
        snprintf(id, sizeof(id), "\"participant_id\":\"%s\"", p);
        return text[0] == '{' && (endswith(text, "}") || endswith(text, "}\n")) && strstr(text, id);
    }
    if (len == 0 || text[len - 1] != '\n')
        return false;
    if (streq(name, ".status")) {
        char head[64];
        snprintf(head, sizeof(head), "Session %s %s\n", p, d);
        return startswith(text, head) && strstr(text, "\nSafe to delete: ");
    }
    if (streq(name, ".safe_to_delete"))
        return (streq(text, "yes\n") || startswith(text, "no: ")) &&
               strchr(text, '\n') == text + len - 1;
    if (streq(name, ".backup_status")) {
        static const char *const words[] = {"verified ",    "unverified ", "missing ",
                                            "unreachable ", "syncing ",    "verifying "};
        for (size_t i = 0; i < ARRAY_SIZE(words); i++)
            if (startswith(text, words[i]))
                return strchr(text, '\n') == text + len - 1;
        return false;
    }
    return false;
}

struct reader {
    const struct kit_mount *m;
    ref_fn ref;
    int id;
    int first, count; /* the sessions it reads */
    volatile bool *stop;
    size_t reads, bad, errors;
    int64_t worst_ms;
    char last_bad[1100];
};

static void *reader_thread(void *arg)
{
    static const char *const names[] = {".status", ".status.json", ".safe_to_delete",
                                        ".backup_status"};
    struct reader *r = arg;
    for (unsigned k = (unsigned)r->id; !*r->stop; k++) {
        char p[16], d[16], path[700];
        r->ref(r->first + (int)(k % (unsigned)r->count), p, sizeof(p), d, sizeof(d));
        const char *name = names[k % ARRAY_SIZE(names)];
        kit_mpath(r->m, path, sizeof(path), "%s/%s/%s", p, d, name);
        int64_t t0 = mct_now_ms();
        _cleanup_free_ char *text = kit_slurp(path, NULL);
        int64_t took = mct_now_ms() - t0;
        if (took > r->worst_ms)
            r->worst_ms = took;
        r->reads++;
        if (!text) {
            r->errors++;
            snprintf(r->last_bad, sizeof(r->last_bad), "%.600s: %s", path, strerror(errno));
        } else if (!well_formed(name, p, d, text)) {
            r->bad++;
            snprintf(r->last_bad, sizeof(r->last_bad), "%.600s: \"%.400s\"", path, text);
        }
        if (k % 40 == 0) { /* now and then the root table too */
            kit_mpath(r->m, path, sizeof(path), ".status");
            _cleanup_free_ char *root = kit_slurp(path, NULL);
            r->reads++;
            if (!root || !strstr(root, "safe to delete ("))
                r->bad++;
        }
    }
    return NULL;
}

static void start_readers(struct reader *rs, pthread_t *ts, size_t n, const struct kit_mount *m,
                          ref_fn ref, int count, volatile bool *stop)
{
    for (size_t i = 0; i < n; i++) {
        rs[i] = (struct reader){.m = m, .ref = ref, .id = (int)i, .count = count, .stop = stop};
        ck_assert_int_eq(pthread_create(&ts[i], NULL, reader_thread, &rs[i]), 0);
    }
}

/* A read may wait for a status at most share + database timeout + 1 s
 * (the mount's contract), plus scheduling slack on a loaded machine. */
static int64_t read_bound_ms = 10000;

static void stop_readers(struct reader *rs, pthread_t *ts, size_t n, volatile bool *stop)
{
    *stop = true;
    size_t reads = 0;
    int64_t worst = 0;
    for (size_t i = 0; i < n; i++) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 30;
        ck_assert_msg(pthread_timedjoin_np(ts[i], NULL, &deadline) == 0,
                      "reader %zu is stuck (deadlock?)", i);
        ck_assert_msg(rs[i].bad == 0 && rs[i].errors == 0, "reader %zu: %zu bad, %zu errors: %s", i,
                      rs[i].bad, rs[i].errors, rs[i].last_bad);
        reads += rs[i].reads;
        worst = rs[i].worst_ms > worst ? rs[i].worst_ms : worst;
    }
    printf("%zu readers: %zu reads, slowest %lld ms\n", n, reads, (long long)worst);
    ck_assert_uint_gt(reads, n);
    ck_assert_msg(worst < read_bound_ms, "a read took %lld ms (bound %lld ms)", (long long)worst,
                  (long long)read_bound_ms);
}

static void report_rss(const struct kit_mount *m, const char *when)
{
    long kb = kit_vmhwm_kb(m->pid);
    printf("mctfs peak RSS (VmHWM) %s: %ld kB\n", when, kb);
    ck_assert_int_gt(kb, 0);
    ck_assert_msg(kb < 256 * 1024, "mctfs used %ld kB", kb);
}

struct syncer {
    const struct kit_mount *m;
    int first, count;
    size_t ok;
    char failed[1024];
};

static void *sync_thread(void *arg)
{
    struct syncer *s = arg;
    for (int i = s->first; i < s->first + s->count; i++) {
        char p[16], d[16];
        int err;
        ref_of(i, p, sizeof(p), d, sizeof(d));
        if (kit_control_write(s->m, p, d, "SYNC\n", 5, &err) == 5) {
            s->ok++;
        } else {
            /* .control says why: the failure is then readable in the log. */
            _cleanup_free_ char *why = kit_vfile(s->m, p, d, ".control");
            snprintf(s->failed, sizeof(s->failed), "SYNC %s/%s: %s\n%s", p, d, strerror(err),
                     why ? why : "(no .control)");
        }
    }
    return NULL;
}

START_TEST(status_reads_stay_whole_while_syncs_run)
{
    int64_t t_start = mct_now_ms();
    for (int i = 0; i < N_SESSIONS; i++) {
        char p[16], d[16];
        ref_of(i, p, sizeof(p), d, sizeof(d));
        kit_plain_session(p, d, 4, i >= N_SESSIONS - N_SYNC ? 400000 : 20000);
        if (i < N_SESSIONS - N_SYNC) {
            char src[512], dst[512];
            kit_source_path(p, d, src, sizeof(src));
            kit_dest_path(p, d, dst, sizeof(dst));
            ck_assert_int_eq(kit_shell("mkdir -p '%s' && cp -a '%s/.' '%s/'", dst, src, dst), 0);
        }
    }
    _cleanup_free_ char *data_before = kit_tree_digest(lab.data);
    const char *cfg = kit_config_variant("slow", "    flags: \"-avh\"\n",
                                         "    flags: \"-avh\"\n    bandwidth_limit: 4000\n", NULL);
    /* No share hangs in this test. Under the ASan build on a loaded CI
     * machine a forked share probe missed the lab's 2 s deadline and a SYNC
     * failed as "unreachable" (the safe direction, but not what is tested
     * here): 5 s, and the readers' bound follows the mount's contract. */
    ck_assert_int_eq(kit_shell("sed -i 's/share_seconds: 2$/share_seconds: 5/' '%s'", cfg), 0);
    read_bound_ms = (5 + 2 + 1 + 4) * 1000;
    struct kit_mount m;
    kit_mount(&m, cfg, NULL);

    volatile bool stop = false;
    struct reader rs[N_READERS];
    pthread_t ts[N_READERS];
    start_readers(rs, ts, N_READERS, &m, ref_of, N_SESSIONS, &stop);
    struct syncer sy[2] = {
            {.m = &m, .first = N_SESSIONS - N_SYNC, .count = N_SYNC / 2},
            {.m = &m, .first = N_SESSIONS - N_SYNC / 2, .count = N_SYNC / 2},
    };
    pthread_t st[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&st[i], NULL, sync_thread, &sy[i]), 0);
    for (int i = 0; i < 2; i++) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 60;
        ck_assert_msg(pthread_timedjoin_np(st[i], NULL, &deadline) == 0, "SYNCs stuck");
        ck_assert_msg(sy[i].ok == N_SYNC / 2, "%s", sy[i].failed);
    }
    kit_sleep_ms(500);
    stop_readers(rs, ts, N_READERS, &stop);

    for (int i = N_SESSIONS - N_SYNC; i < N_SESSIONS; i++) {
        char p[16], d[16];
        ref_of(i, p, sizeof(p), d, sizeof(d));
        _cleanup_free_ char *b = kit_vfile(&m, p, d, ".backup_status");
        kit_assert_starts(b, "verified");
    }
    report_rss(&m, "after 8 readers and 10 SYNCs on 50 sessions");
    ck_assert_msg(kit_proc_state(m.pid) != 0, "mctfs died");
    kit_unmount(&m);
    _cleanup_free_ char *data_after = kit_tree_digest(lab.data);
    ck_assert_str_eq(data_before, data_after);
    printf("status_reads_stay_whole_while_syncs_run: %lld ms\n",
           (long long)(mct_now_ms() - t_start));
}
END_TEST

struct deleter {
    const struct kit_mount *m;
    const char *p, *d;
    unsigned delay_ms; /* after the gate: lets mctctl start first */
    pthread_barrier_t *gate;
    ssize_t n;
    int err;
};

static void *mount_delete(void *arg)
{
    struct deleter *x = arg;
    pthread_barrier_wait(x->gate);
    kit_sleep_ms(x->delay_ms);
    x->n = kit_control_write(x->m, x->p, x->d, "DELETE\n", 7, &x->err);
    return NULL;
}

START_TEST(a_delete_from_the_mount_and_mctctl_at_once_deletes_once)
{
    static const char *const sessions[][2] = {
            {"p701", "20240801"}, {"p702", "20240802"}, {"p703", "20240803"}, {"p704", "20240804"}};
    /* The mount's write goes at once or a little later: either may win. */
    static const unsigned delays[] = {0, 10, 30, 80};
    for (size_t i = 0; i < ARRAY_SIZE(sessions); i++)
        kit_session("%s %s --imported --dj --copy", sessions[i][0], sessions[i][1]);
    char yes[400];
    snprintf(yes, sizeof(yes), "%s/yes", lab.dir);
    kit_write_file(yes, "DELETE\n");
    struct kit_mount m;
    kit_mount(&m, NULL, NULL);

    for (size_t i = 0; i < ARRAY_SIZE(sessions); i++) {
        const char *p = sessions[i][0], *d = sessions[i][1];
        char dst[512], log[450];
        kit_dest_path(p, d, dst, sizeof(dst));
        _cleanup_free_ char *copy = kit_tree_digest(dst);
        snprintf(log, sizeof(log), "%s/delete-%s.log", lab.dir, p);
        pthread_barrier_t gate;
        pthread_barrier_init(&gate, NULL, 2);
        struct deleter x = {.m = &m, .p = p, .d = d, .gate = &gate, .delay_ms = delays[i]};
        pthread_t t;
        ck_assert_int_eq(pthread_create(&t, NULL, mount_delete, &x), 0);
        char *argv[] = {getenv("MCTCTL"), "-c", lab.config, "delete", (char *)p, (char *)d, NULL};
        pthread_barrier_wait(&gate);
        pid_t pid = kit_spawn(argv, yes, log, NULL);
        int st = kit_wait_exit(pid, 60000);
        pthread_join(t, NULL);
        pthread_barrier_destroy(&gate);
        _cleanup_free_ char *out = kit_slurp(log, NULL);

        bool mount_won = x.n == 7, cli_won = st == 0;
        printf("race %zu (mount %u ms later): mount %s, mctctl exit %d\n", i, delays[i],
               mount_won ? "deleted" : strerror(x.err), st);
        ck_assert_msg(mount_won != cli_won, "mount %zd (%s), mctctl %d:\n%s", x.n, strerror(x.err),
                      st, out);
        if (cli_won)
            ck_assert_msg(x.err == EBUSY || x.err == ENOENT || x.err == EPERM, "mount: %s",
                          strerror(x.err));
        else
            ck_assert_msg(st == 1 && (strstr(out, "another command is running") ||
                                      strstr(out, "not found") || strstr(out, "gone")),
                          "mctctl exit %d:\n%s", st, out);
        char src[512];
        kit_source_path(p, d, src, sizeof(src));
        ck_assert(!kit_exists(src));
        ck_assert_int_eq(kit_log_count(p, d, "deleted"), 1);
        ck_assert(kit_trash_empty());
        _cleanup_free_ char *copy_after = kit_tree_digest(dst);
        ck_assert_str_eq(copy, copy_after);
    }
    kit_unmount(&m);
}
END_TEST

START_TEST(a_batch_and_the_mount_reading_agree)
{
    /* Ten sessions known to recordings.db, none copied yet. */
    const char *refs[10];
    char buf[10][32];
    for (int i = 0; i < 10; i++) {
        char p[16], d[16];
        ref_batch(i, p, sizeof(p), d, sizeof(d));
        kit_plain_session(p, d, 3, 200000);
        snprintf(buf[i], sizeof(buf[i]), "%s:%s", p, d);
        refs[i] = buf[i];
    }
    kit_recdb_add(refs, 10);
    _cleanup_free_ char *data_before = kit_tree_digest(lab.data);
    /* A short cache, so the mount notices the copies soon after. */
    const char *cfg = kit_config_variant("cache2", NULL, NULL, "mount:\n  cache_seconds: 2\n");
    struct kit_mount m;
    kit_mount(&m, cfg, NULL);

    volatile bool stop = false;
    struct reader rs[4];
    pthread_t ts[4];
    start_readers(rs, ts, 4, &m, ref_batch, 10, &stop);
    struct kit_result r;
    int64_t t0 = mct_now_ms();
    int st = kit_mctctl(cfg, NULL, &r, "batch", "20230901", "20230910", NULL);
    printf("batch of 10 took %lld ms while 4 readers read\n", (long long)(mct_now_ms() - t0));
    ck_assert_msg(st == 0, "batch exit %d\n%s\n%s", st, r.out, r.err);
    kit_assert_has(r.out, "10 succeeded, 0 failed, 0 skipped");
    kit_result_free(&r);
    kit_sleep_ms(300);
    stop_readers(rs, ts, 4, &stop);

    /* Within the cache time (and a refresh), the mount sees the copies. */
    int64_t end = mct_now_ms() + 15000;
    for (int i = 0; i < 10; i++) {
        char p[16], d[16];
        ref_batch(i, p, sizeof(p), d, sizeof(d));
        for (;;) {
            _cleanup_free_ char *b = kit_vfile(&m, p, d, ".backup_status");
            if (startswith(b, "verified"))
                break;
            ck_assert_msg(mct_now_ms() < end, "%s/%s still %s", p, d, b);
            kit_sleep_ms(250);
        }
    }
    report_rss(&m, "after a batch of 10 under 4 readers");
    kit_unmount(&m);
    _cleanup_free_ char *data_after = kit_tree_digest(lab.data);
    ck_assert_str_eq(data_before, data_after);
}
END_TEST

static Suite *concurrency_suite(void)
{
    Suite *s = suite_create("concurrency");
    TCase *tc = tcase_create("many at once");
    tcase_add_unchecked_fixture(tc, kit_setup, kit_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, status_reads_stay_whole_while_syncs_run);
    tcase_add_test(tc, a_delete_from_the_mount_and_mctctl_at_once_deletes_once);
    tcase_add_test(tc, a_batch_and_the_mount_reading_agree);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return kit_run_suite(concurrency_suite());
}
