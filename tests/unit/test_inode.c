/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The inode table (fs/inode.c): what the kernel knows, by the number it
 * knows it by. A name looked up again is the same inode until the kernel
 * forgets it; a .control being written is left to its writer, so the next
 * lookup makes an inode of its own (a second writer gets EBUSY from mctfs,
 * not a place in the kernel's queue); an open status file keeps its inode
 * and size to itself, and an open of it with another text is sent to look
 * the name up again; generations tell a new inode from an old one at a
 * reused number.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "inode.h"
#include "unit.h"
#include "util.h"

/* A text of len bytes changed at mtime (its content hash all zeros). */
#define TEXT(l, t) (&(struct inode_text){.len = (l), .mtime = (t)})

/* node.c tells the kernel to forget; nothing here does. */
void mctfs_kernel_forget(struct mctfs *fs, const char *dir, const char *name)
{
    ck_abort_msg("unexpected");
}

void mctfs_kernel_forget_entry(struct mctfs *fs, const char *rel)
{
    ck_abort_msg("unexpected");
}

static void table_setup(void)
{
    ck_assert_int_eq(inode_table_init(), 0);
}

static void table_teardown(void)
{
    inode_table_free();
}

/* A lookup of rel resolved to kind: its inode, one lookup more. */
static struct inode *lookup(const char *rel, enum node_kind kind)
{
    struct node n = {.kind = kind, .rel = strdup(rel)};
    ck_assert_ptr_nonnull(n.rel);
    struct inode *in = inode_ref(&n, NULL);
    ck_assert_ptr_nonnull(in);
    ck_assert_ptr_null(n.rel); /* taken over */
    return in;
}

START_TEST(a_name_looked_up_again_is_the_same_inode_until_forgotten)
{
    struct inode *a = lookup("p001/20250104", NODE_REAL);
    struct inode *b = lookup("p001/20250104", NODE_REAL);
    ck_assert_ptr_eq(a, b);
    ck_assert_uint_eq(a->nlookup, 2);
    ck_assert_str_eq(a->node.rel, "p001/20250104");
    fuse_ino_t ino = inode_ino(a);
    ck_assert_ptr_eq(inode_get(ino), a);
    ck_assert_uint_eq(inode_find("p001/20250104"), ino);

    inode_forget(ino, 1);
    ck_assert_uint_eq(inode_find("p001/20250104"), ino);
    inode_forget(ino, 1);
    ck_assert_uint_eq(inode_find("p001/20250104"), 0);
}
END_TEST

START_TEST(a_name_never_looked_up_is_not_found)
{
    ck_assert_uint_eq(inode_find("p001"), 0);
    struct inode *a = lookup("p001/20250104", NODE_REAL);
    ck_assert_uint_eq(inode_find("p001"), 0);
    ck_assert_uint_eq(inode_find("p001/2025010"), 0);
    inode_forget(inode_ino(a), 1);
}
END_TEST

START_TEST(forgetting_more_lookups_than_counted_frees_the_inode)
{
    struct inode *a = lookup("p001", NODE_REAL);
    inode_forget(inode_ino(a), 10);
    ck_assert_uint_eq(inode_find("p001"), 0);
}
END_TEST

START_TEST(the_top_is_fuse_root_id_and_is_never_forgotten)
{
    struct inode *root = inode_get(FUSE_ROOT_ID);
    ck_assert_str_eq(root->node.rel, ".");
    ck_assert_int_eq(root->node.kind, NODE_REAL);
    ck_assert_uint_eq(inode_ino(root), FUSE_ROOT_ID);
    ck_assert_uint_eq(inode_find("."), FUSE_ROOT_ID);
    inode_forget(FUSE_ROOT_ID, 100);
    ck_assert_uint_eq(inode_find("."), FUSE_ROOT_ID);
    ck_assert_str_eq(inode_get(FUSE_ROOT_ID)->node.rel, ".");
}
END_TEST

/* A second writer of .control must not wait behind the first in the
 * kernel's per-inode lock: it gets EBUSY from mctfs at once. */
START_TEST(a_control_being_written_is_left_to_its_writer)
{
    struct inode *a = lookup("p001/20250104/.control", NODE_CONTROL);
    struct inode *b = lookup("p001/20250104/.control", NODE_CONTROL);
    /* Nobody writes: one inode, as for any name (ls -l pays no churn). */
    ck_assert_ptr_eq(a, b);
    ck_assert_uint_eq(a->nlookup, 2);
    inode_writer_begin(inode_ino(a));
    struct inode *c = lookup("p001/20250104/.control", NODE_CONTROL);
    ck_assert_ptr_ne(a, c);
    ck_assert(c->born_busy);
    ck_assert_uint_eq(inode_find("p001/20250104/.control"), inode_ino(c));
    inode_writer_end(inode_ino(a));
    inode_forget(inode_ino(a), 2);
    ck_assert_uint_eq(c->nlookup, 1);
    inode_forget(inode_ino(c), 1);
}
END_TEST

/* An open of a status file whose inode another open holds with an older
 * text: ESTALE, so the kernel looks the name up again; never twice. */
START_TEST(an_open_of_a_held_status_file_with_another_text_is_estale_once)
{
    struct timespec t1 = {.tv_sec = 1}, t2 = {.tv_sec = 2};
    struct inode *in = lookup("p001/20250104/.status", NODE_STATUS);
    fuse_ino_t ino = inode_ino(in);
    ck_assert_int_eq(inode_pin_text(ino, TEXT(10, t1), false), 0);
    /* The same text shares it. */
    ck_assert_int_eq(inode_pin_text(ino, TEXT(10, t1), false), 0);
    ck_assert_int_eq(inode_pin_text(ino, TEXT(12, t2), false), -ESTALE);
    /* The kernel's retry: counted, never a second ESTALE. */
    ck_assert_int_eq(inode_pin_text(ino, TEXT(12, t2), true), 1);
    size_t len;
    struct timespec mtime;
    ck_assert(inode_pinned(ino, &len, &mtime));
    ck_assert_uint_eq(len, 10);
    /* The retry's lookup makes an inode of its own, which never says ESTALE. */
    struct inode *fresh = lookup("p001/20250104/.status", NODE_STATUS);
    ck_assert_ptr_ne(fresh, in);
    ck_assert_int_eq(inode_pin_text(inode_ino(fresh), TEXT(12, t2), false), 0);
    ck_assert_int_eq(inode_pin_text(inode_ino(fresh), TEXT(14, t1), false), 1);
    for (int i = 0; i < 3; i++)
        inode_unpin(ino);
    ck_assert(!inode_pinned(ino, &len, &mtime));
    inode_unpin(inode_ino(fresh));
    inode_unpin(inode_ino(fresh));
    inode_forget(ino, 1);
    inode_forget(inode_ino(fresh), 1);
}
END_TEST

/* Two texts of one length and time are still two texts: the content
 * tells them apart. */
START_TEST(texts_of_one_length_and_time_differ_by_content)
{
    struct timespec t1 = {.tv_sec = 1};
    struct inode_text a = {.len = 4, .mtime = t1}, b = a;
    b.hash[15] = 1;
    struct inode *in = lookup("p001/20250104/.safe_to_delete", NODE_SAFE_TO_DELETE);
    fuse_ino_t ino = inode_ino(in);
    ck_assert_int_eq(inode_pin_text(ino, &a, false), 0);
    ck_assert_int_eq(inode_pin_text(ino, &b, false), -ESTALE);
    inode_unpin(ino);
    inode_forget(ino, 1);
}
END_TEST

/* The inode of a status file looked up, opened and closed once: claims
 * come after pins (inode.h). */
static fuse_ino_t opened_once(const char *rel, enum node_kind kind)
{
    fuse_ino_t ino = inode_ino(lookup(rel, kind));
    ck_assert_int_eq(inode_pin_text(ino, TEXT(1, (struct timespec){0}), false), 0);
    inode_unpin(ino);
    return ino;
}

/* The kernel's pages of a status file are kept for an open only when they
 * are known to hold its very text: never at first (they may hold a size
 * from a listing), never after another text, never when the kernel could
 * not be told to drop them. */
START_TEST(pages_are_kept_only_for_the_text_they_hold)
{
    struct timespec t1 = {.tv_sec = 1}, t2 = {.tv_sec = 2};
    struct inode_text a = {.len = 4, .mtime = t1}, b = {.len = 4, .mtime = t2}, c = a;
    c.hash[0] = 7;
    fuse_ino_t ino = opened_once("p001/20250104/.safe_to_delete", NODE_SAFE_TO_DELETE);
    ck_assert(!inode_pages_claim(ino, &a));
    inode_pages_dropped(ino, true);
    ck_assert(inode_pages_claim(ino, &a));
    ck_assert(inode_pages_claim(ino, &a));
    ck_assert(!inode_pages_claim(ino, &b)); /* another time */
    inode_pages_dropped(ino, true);
    ck_assert(!inode_pages_claim(ino, &c)); /* another content */
    inode_pages_dropped(ino, false);
    ck_assert(!inode_pages_claim(ino, &c)); /* not told: unknown */
    inode_pages_dropped(ino, true);
    ck_assert(inode_pages_claim(ino, &c));

    /* An open with another text (a retry) may fill them by mmap, even
     * while a drop is under way. */
    ck_assert_int_eq(inode_pin_text(ino, &c, false), 0);
    ck_assert_int_eq(inode_pin_text(ino, &b, true), 1);
    ck_assert(!inode_pages_claim(ino, &c));
    ck_assert_int_eq(inode_pin_text(ino, &a, true), 1);
    inode_pages_dropped(ino, true);
    ck_assert(!inode_pages_claim(ino, &c));
    inode_pages_dropped(ino, true);
    ck_assert(inode_pages_claim(ino, &c));
    for (int i = 0; i < 3; i++)
        inode_unpin(ino);
    inode_forget(ino, 1);
}
END_TEST

/* The kernel reads through pages only up to the size it was last told: a
 * size told since, of a newer status (an ls -l between two opens), makes
 * the next open drop them with the size; an inode an open holds is told
 * its open's size, whatever the status is now. */
START_TEST(a_size_told_since_the_drop_drops_the_pages_again)
{
    struct timespec t1 = {.tv_sec = 1}, t2 = {.tv_sec = 2};
    struct inode_text a = {.len = 4, .mtime = t1};
    fuse_ino_t ino = opened_once("p001/20250104/.status", NODE_STATUS);
    ck_assert(!inode_pages_claim(ino, &a));
    inode_pages_dropped(ino, true);
    ck_assert(inode_pages_claim(ino, &a));

    size_t len = 90;
    struct timespec mtime = t2;
    ck_assert(!inode_attr_told(ino, &len, &mtime, true)); /* not held: as it is */
    ck_assert_uint_eq(len, 90);
    ck_assert(!inode_pages_claim(ino, &a));
    inode_pages_dropped(ino, true);
    ck_assert(inode_pages_claim(ino, &a));

    ck_assert_int_eq(inode_pin_text(ino, &a, false), 0);
    len = 90;
    ck_assert(inode_attr_told(ino, &len, &mtime, true)); /* held: the open's */
    ck_assert_uint_eq(len, 4);
    ck_assert_int_eq(mtime.tv_sec, 1);
    ck_assert(inode_pages_claim(ino, &a));
    len = 7; /* an open's fstat of another text */
    ck_assert(!inode_attr_told(ino, &len, &mtime, false));
    ck_assert(!inode_pages_claim(ino, &a));
    inode_pages_dropped(ino, true);
    inode_unpin(ino);

    /* A lookup that gives the kernel a size tells it too. */
    struct node n = {.kind = NODE_STATUS, .rel = strdup("p001/20250104/.status")};
    ck_assert_ptr_nonnull(n.rel);
    struct stat told = {.st_size = 5};
    ck_assert_ptr_eq(inode_ref(&n, &told), inode_get(ino));
    ck_assert(!inode_pages_claim(ino, &a));
    inode_pages_dropped(ino, true);
    inode_forget(ino, 2);
}
END_TEST

struct claimer {
    fuse_ino_t ino;
    const struct inode_text *text;
    bool kept, done;
};

static void *claim_in_thread(void *arg)
{
    struct claimer *c = arg;
    c->kept = inode_pages_claim(c->ino, c->text);
    __atomic_store_n(&c->done, true, __ATOMIC_SEQ_CST);
    return NULL;
}

/* An open of the same text while another is making the kernel drop the
 * pages waits for that, and then keeps them: it never reads pages the
 * drop has not reached yet. */
START_TEST(a_claim_waits_while_the_pages_are_dropped)
{
    struct inode_text a = {.len = 4, .mtime = {.tv_sec = 1}};
    fuse_ino_t ino = opened_once("p001/20250104/.status", NODE_STATUS);
    ck_assert(!inode_pages_claim(ino, &a)); /* dropping, by "us" */
    struct claimer c = {.ino = ino, .text = &a};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, claim_in_thread, &c), 0);
    usleep(100 * 1000);
    ck_assert(!__atomic_load_n(&c.done, __ATOMIC_SEQ_CST));
    inode_pages_dropped(ino, true);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert(c.done);
    ck_assert(c.kept);
    inode_forget(ino, 1);
}
END_TEST

/* Node ids are addresses, which come back after a FORGET. */
START_TEST(a_new_inode_has_a_newer_generation_than_every_one_before)
{
    uint64_t last = 0;
    for (int i = 0; i < 100; i++) {
        struct inode *in = lookup(i % 2 ? "p001/.status" : "p001/20250104/.control",
                                  i % 2 ? NODE_REAL : NODE_CONTROL);
        ck_assert_uint_gt(in->generation, last);
        last = in->generation;
        inode_forget(inode_ino(in), 1);
    }
    /* Looked up again while known: the same inode, the same generation. */
    struct inode *a = lookup("p002", NODE_REAL);
    struct inode *b = lookup("p002", NODE_REAL);
    ck_assert_uint_eq(a->generation, b->generation);
    inode_forget(inode_ino(a), 2);
}
END_TEST

/* tail -f of .status never sees it shrink: what stat says of an open
 * status file is what its first open read; a new lookup of the name gets
 * an inode of its own for the new text. */
START_TEST(an_open_status_file_keeps_its_inode_and_size_to_itself)
{
    struct inode *open = lookup("p001/20250104/.status", NODE_STATUS);
    fuse_ino_t ino = inode_ino(open);
    struct timespec t1 = {1700000000, 1}, t2 = {1700000100, 2}, mtime;
    size_t len;

    ck_assert(!inode_pinned(ino, &len, &mtime));
    ck_assert_int_eq(inode_pin(ino, TEXT(100, t1)), 0);
    ck_assert_int_eq(inode_pin(ino, TEXT(200, t2)),
                     0); /* a second open: the first one's size stays */
    ck_assert(inode_pinned(ino, &len, &mtime));
    ck_assert_uint_eq(len, 100);
    ck_assert_int_eq(mtime.tv_sec, t1.tv_sec);

    struct inode *fresh = lookup("p001/20250104/.status", NODE_STATUS);
    ck_assert_ptr_ne(fresh, open);
    ck_assert_uint_eq(inode_find("p001/20250104/.status"), inode_ino(fresh));
    ck_assert(!inode_pinned(inode_ino(fresh), &len, &mtime));

    /* The old one is still the kernel's, until it forgets it. */
    inode_unpin(ino);
    ck_assert(inode_pinned(ino, &len, &mtime));
    inode_unpin(ino);
    ck_assert(!inode_pinned(ino, &len, &mtime));
    inode_unpin(ino); /* one close too many changes nothing */
    ck_assert(!inode_pinned(ino, &len, &mtime));
    inode_forget(ino, 1);
    ck_assert_uint_eq(inode_find("p001/20250104/.status"), inode_ino(fresh));
    inode_forget(inode_ino(fresh), 1);
}
END_TEST

/* A real file named like a virtual one before its folder became a
 * session, say: the kernel keeps the old inode, the name the new one. */
START_TEST(a_name_that_resolves_to_another_kind_gets_a_new_inode)
{
    struct inode *old = lookup("p001/20250104/.status", NODE_REAL);
    struct inode *now = lookup("p001/20250104/.status", NODE_STATUS);
    ck_assert_ptr_ne(old, now);
    ck_assert_int_eq(old->node.kind, NODE_REAL);
    ck_assert_int_eq(now->node.kind, NODE_STATUS);
    ck_assert_uint_eq(inode_find("p001/20250104/.status"), inode_ino(now));
    inode_forget(inode_ino(old), 1);
    ck_assert_uint_eq(inode_find("p001/20250104/.status"), inode_ino(now));
    inode_forget(inode_ino(now), 1);
    ck_assert_uint_eq(inode_find("p001/20250104/.status"), 0);
}
END_TEST

/* Whatever the kernel did not FORGET before the unmount is freed by the
 * teardown (ASan and valgrind builds see a leak otherwise). */
START_TEST(the_table_frees_what_the_kernel_never_forgot)
{
    lookup("p001", NODE_REAL);
    lookup("p001/20250104/.control", NODE_CONTROL);
    struct inode *pinned = lookup("p001/20250104/.status", NODE_STATUS);
    ck_assert_int_eq(inode_pin(inode_ino(pinned), TEXT(1, (struct timespec){0})), 0);
    lookup("p001/20250104/.status", NODE_STATUS);
}
END_TEST

static Suite *inode_suite(void)
{
    Suite *s = suite_create("inode");
    TCase *tc = tcase_create("table");
    tcase_add_checked_fixture(tc, table_setup, table_teardown);
    tcase_add_test(tc, a_name_looked_up_again_is_the_same_inode_until_forgotten);
    tcase_add_test(tc, a_name_never_looked_up_is_not_found);
    tcase_add_test(tc, forgetting_more_lookups_than_counted_frees_the_inode);
    tcase_add_test(tc, the_top_is_fuse_root_id_and_is_never_forgotten);
    tcase_add_test(tc, a_control_being_written_is_left_to_its_writer);
    tcase_add_test(tc, texts_of_one_length_and_time_differ_by_content);
    tcase_add_test(tc, pages_are_kept_only_for_the_text_they_hold);
    tcase_add_test(tc, a_claim_waits_while_the_pages_are_dropped);
    tcase_add_test(tc, a_size_told_since_the_drop_drops_the_pages_again);
    tcase_add_test(tc, an_open_of_a_held_status_file_with_another_text_is_estale_once);
    tcase_add_test(tc, a_new_inode_has_a_newer_generation_than_every_one_before);
    tcase_add_test(tc, an_open_status_file_keeps_its_inode_and_size_to_itself);
    tcase_add_test(tc, a_name_that_resolves_to_another_kind_gets_a_new_inode);
    tcase_add_test(tc, the_table_frees_what_the_kernel_never_forgot);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(inode_suite());
}
