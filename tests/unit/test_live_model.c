/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mount's live model (fs/model.c) with its threads, over a source tree
 * in a temp folder, with no destination and a DataJoint server that
 * refuses at once (or one that never answers): a stat never waits; a read
 * within cache_seconds gets the snapshot there is; with cache_seconds 0
 * every read computes; a command's invalidate or a file added to the
 * session folder brings a new computation; a file's mtime moves only when
 * its text does; a read waits at most share + database timeout + 1 s and
 * what is not known by then is never "safe". The renderings are fakes
 * whose text the test sets.
 */
#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "model.h"
#include "tmpdir.h"
#include "unit.h"
#include "util.h"

/* ---- the fake renderings ---- */

static const char *slot0_text = "first text";

static int slot_render(const struct mct_session_status *st, unsigned slot, struct mct_buf *out)
{
    return mct_buf_puts(out, slot == 0 ? __atomic_load_n(&slot0_text, __ATOMIC_ACQUIRE) : "x");
}

static int root_render(const struct mct_session_status *st, size_t n, bool last,
                       struct status_root_render *rr)
{
    return mct_buf_printf(&rr->out[0], "%zu sessions\n", n);
}

static void set_text(const char *text)
{
    __atomic_store_n(&slot0_text, text, __ATOMIC_RELEASE);
}

/* ---- a model of tmp_dir ---- */

static const struct mct_session_ref p001 = {"p001", "20250104"};
static struct mct_config *cfg;
static int base_fd = -1;
static struct model *model;

/* The DataJoint server: port 1 refuses at once; a socket that listens and
 * never accepts is a server that does not answer. */
static int start_model(unsigned cache_seconds, int db_port)
{
    _cleanup_free_ char *yaml =
            mct_strdup_printf("backup:\n"
                              "  destinations: []\n"
                              "  source: {base_path: %s}\n"
                              "datajoint: {host: 127.0.0.1, port: %d, user: u, password: p}\n"
                              "timeouts: {share_seconds: 1, database_seconds: 1}\n"
                              "mount: {cache_seconds: %u}\n",
                              tmp_dir, db_port, cache_seconds);
    char err[512] = "";
    ck_assert_msg(mct_config_parse_string("t.yaml", yaml, &cfg, err, sizeof(err)) == 0, "%s", err);
    base_fd = open(tmp_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_ge(base_fd, 0);
    struct model_hooks hooks = {.root_render = root_render, .slot_render = slot_render};
    return model_new(cfg, base_fd, 2, &hooks, &model);
}

static void pause_ms(long ms)
{
    struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    nanosleep(&t, NULL);
}

/* The sweep at mount has published: none follows for cache_seconds / 2,
 * so nothing but the test's own reads computes. */
static void wait_for_the_first_sweep(void)
{
    for (int i = 0; i < 1000; i++) {
        struct model_counters c;
        model_counters(model, &c);
        if (c.sweeps > 0)
            return;
        pause_ms(10);
    }
    ck_abort_msg("no sweep at mount");
}

static void model_setup(void)
{
    tmp_setup();
    tmp_make_file("p001/20250104/a.mp4", 100, 'v');
    set_text("first text");
}

static void model_teardown(void)
{
    model_free(model);
    model = NULL;
    mct_config_free(cfg);
    cfg = NULL;
    close(base_fd);
    tmp_teardown();
}

static struct status_snap *get(unsigned flags)
{
    struct status_snap *s = NULL;
    ck_assert_int_eq(model_get(model, &p001, flags, &s, NULL), 0);
    ck_assert_ptr_nonnull(s);
    return s;
}

/* A TCP port on 127.0.0.1 that takes connections and never says a word. */
static int silent_server(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(fd, 16), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* ---- reads ---- */

START_TEST(a_read_gets_a_computed_status_younger_than_cache_seconds)
{
    ck_assert_int_eq(start_model(60, 1), 0);
    _cleanup_snap_ struct status_snap *s = get(0);
    ck_assert(!s->placeholder);
    ck_assert_uint_eq(s->n, 1);
    ck_assert_str_eq(s->st[0].ref.participant_id, "p001");
    ck_assert_int_lt(mct_now_ms() - s->computed_ms, 60 * 1000);
    ck_assert(!s->st[0].safe_to_delete); /* DataJoint unknown */
}
END_TEST

START_TEST(a_read_within_cache_seconds_gets_the_same_snapshot)
{
    ck_assert_int_eq(start_model(60, 1), 0);
    wait_for_the_first_sweep();
    _cleanup_snap_ struct status_snap *a = get(0);
    _cleanup_snap_ struct status_snap *b = get(0);
    ck_assert_ptr_eq(a, b);
}
END_TEST

/* After change, run between two reads, the second read gets a new
 * computation, one that started after the change. */
static void assert_computed_anew_after(void (*change)(void))
{
    _cleanup_snap_ struct status_snap *a = get(0);
    pause_ms(20); /* past the file system's clock tick */
    int64_t changed = mct_now_ms();
    change();
    _cleanup_snap_ struct status_snap *b = get(0);
    ck_assert_ptr_ne(a, b);
    ck_assert_int_ge(b->computed_ms, changed);
}

static void nothing(void)
{
}

static void invalidate(void)
{
    model_invalidate(model, &p001);
}

static void add_a_file(void)
{
    tmp_make_file("p001/20250104/b.mp4", 10, 'v');
}

START_TEST(with_cache_seconds_0_every_read_computes_anew)
{
    ck_assert_int_eq(start_model(0, 1), 0);
    assert_computed_anew_after(nothing);
}
END_TEST

/* A finished SYNC, VERIFY or DELETE invalidates. */
START_TEST(after_an_invalidate_a_read_gets_a_new_computation)
{
    ck_assert_int_eq(start_model(60, 1), 0);
    wait_for_the_first_sweep();
    assert_computed_anew_after(invalidate);
}
END_TEST

START_TEST(a_file_added_to_the_session_folder_brings_a_new_computation)
{
    ck_assert_int_eq(start_model(60, 1), 0);
    wait_for_the_first_sweep();
    assert_computed_anew_after(add_a_file);
}
END_TEST

/* ---- modification times ---- */

START_TEST(a_files_mtime_moves_only_when_its_text_does)
{
    ck_assert_int_eq(start_model(60, 1), 0);
    wait_for_the_first_sweep();
    _cleanup_snap_ struct status_snap *a = get(0);
    ck_assert(timespec_eq(&a->changed_at[0], &a->computed_at));

    /* Computed again, the same text: the old time. */
    pause_ms(20);
    model_invalidate(model, &p001);
    _cleanup_snap_ struct status_snap *b = get(0);
    ck_assert_ptr_ne(a, b);
    ck_assert(!timespec_eq(&b->computed_at, &a->computed_at));
    ck_assert(timespec_eq(&b->changed_at[0], &a->changed_at[0]));

    /* Another text: the new computation's time. */
    pause_ms(20);
    set_text("second text");
    model_invalidate(model, &p001);
    _cleanup_snap_ struct status_snap *c = get(0);
    ck_assert(timespec_eq(&c->changed_at[0], &c->computed_at));
    ck_assert(!timespec_eq(&c->changed_at[0], &a->changed_at[0]));
    /* A slot whose text stayed keeps its time. */
    ck_assert(timespec_eq(&c->changed_at[1], &a->changed_at[1]));
}
END_TEST

/* ---- stats never wait ---- */

/* ls -la of a session nobody asked about yet: "pending" at once, and the
 * session is computed behind it. */
START_TEST(a_stat_of_a_session_never_computed_is_pending_at_once)
{
    ck_assert_int_eq(start_model(0, 1), 0);
    int64_t t0 = mct_now_ms();
    _cleanup_snap_ struct status_snap *s = get(MODEL_NO_WAIT);
    ck_assert_int_lt(mct_now_ms() - t0, 500);
    ck_assert(s->placeholder);
    ck_assert(startswith(s->placeholder_reason, "pending"));
    ck_assert(!s->st[0].safe_to_delete);

    /* It was queued: a computed status comes without another read. */
    for (int i = 0; i < 500; i++) {
        _cleanup_snap_ struct status_snap *t = get(MODEL_NO_WAIT);
        if (!t->placeholder)
            return;
        pause_ms(10);
    }
    ck_abort_msg("a stat did not set off a computation");
}
END_TEST

START_TEST(a_stat_takes_the_newest_snapshot_whatever_its_age)
{
    ck_assert_int_eq(start_model(0, 1), 0);
    _cleanup_snap_ struct status_snap *a = get(0);
    _cleanup_snap_ struct status_snap *b = get(MODEL_NO_WAIT);
    ck_assert_ptr_eq(a, b);
}
END_TEST

/* The database takes connections and never answers: a computation costs
 * database_seconds, which no stat pays, and a read pays at most the wait
 * bound; what it gets is never "safe". */
START_TEST(a_stat_never_waits_for_a_database_that_does_not_answer)
{
    int port;
    _cleanup_close_ int server = silent_server(&port);
    ck_assert_int_eq(start_model(60, port), 0);
    for (int i = 0; i < 20; i++) {
        int64_t t0 = mct_now_ms();
        _cleanup_snap_ struct status_snap *s = get(MODEL_NO_WAIT);
        ck_assert_int_lt(mct_now_ms() - t0, 500);
        ck_assert(!s->st[0].safe_to_delete);
    }
}
END_TEST

START_TEST(a_read_waits_at_most_share_plus_database_timeout_plus_one_second)
{
    int port;
    _cleanup_close_ int server = silent_server(&port);
    ck_assert_int_eq(start_model(0, port), 0);
    ck_assert_uint_eq(model_wait_seconds(model), 3);
    int64_t t0 = mct_now_ms();
    _cleanup_snap_ struct status_snap *s = get(0);
    int64_t waited = mct_now_ms() - t0;
    ck_assert_msg(waited <= 3 * 1000 + 500, "waited %lld ms", (long long)waited);
    ck_assert(!s->st[0].safe_to_delete);
    ck_assert_int_ne(s->st[0].dj.state, MCT_YES);
}
END_TEST

static Suite *live_model_suite(void)
{
    Suite *s = suite_create("live_model");
    TCase *tc = tcase_create("reads");
    tcase_add_checked_fixture(tc, model_setup, model_teardown);
    tcase_add_test(tc, a_read_gets_a_computed_status_younger_than_cache_seconds);
    tcase_add_test(tc, a_read_within_cache_seconds_gets_the_same_snapshot);
    tcase_add_test(tc, with_cache_seconds_0_every_read_computes_anew);
    tcase_add_test(tc, after_an_invalidate_a_read_gets_a_new_computation);
    tcase_add_test(tc, a_file_added_to_the_session_folder_brings_a_new_computation);
    tcase_add_test(tc, a_files_mtime_moves_only_when_its_text_does);
    suite_add_tcase(s, tc);

    tc = tcase_create("stats");
    tcase_add_checked_fixture(tc, model_setup, model_teardown);
    tcase_add_test(tc, a_stat_of_a_session_never_computed_is_pending_at_once);
    tcase_add_test(tc, a_stat_takes_the_newest_snapshot_whatever_its_age);
    tcase_add_test(tc, a_stat_never_waits_for_a_database_that_does_not_answer);
    tcase_add_test(tc, a_read_waits_at_most_share_plus_database_timeout_plus_one_second);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(live_model_suite());
}
