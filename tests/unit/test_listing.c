/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Folder listings served by offset (fs/listing.c) over a fake folder
 * (a fake real_list): read once per sequence, sequences never mixed, an
 * offset whose listing went still served. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "listing.h"
#include "mctfs.h"
#include "real.h"
#include "unit.h"
#include "util.h"

/* ---- a fake folder of n_names entries ---- */

static int n_names = 1000;
static int reads;     /* folders read whole */
static int open_err;  /* opendir's answer */
static int name_base; /* changes the names, as a folder changed on disk */

/* The folder as real.c would list it. */
int real_list(struct mctfs *fs, const struct node *n, real_list_fn emit, void *ud)
{
    if (open_err)
        return open_err;
    reads++;
    for (int i = 0; i < n_names; i++) {
        char name[32];
        snprintf(name, sizeof(name), "f%06d", name_base + i);
        if (emit(ud, name, i % 2 ? S_IFDIR : S_IFREG, (uint64_t)(name_base + i + 100)))
            break;
    }
    return 0;
}

/* listings_serve of the folder named rel. */
static int serve(struct listings *ls, const char *rel, off_t off, listing_emit_fn emit, void *ud)
{
    struct node n = {.kind = NODE_REAL, .rel = (char *)rel};
    return listings_serve(ls, NULL, &n, off, emit, ud);
}

/* ---- a reply of at most room entries ---- */

struct reply {
    int room, got;
    char first[32], last[32];
    mode_t last_type;
    off_t next;
};

static bool take(void *ud, const char *name, mode_t type, uint64_t ino, off_t next)
{
    struct reply *r = ud;
    ck_assert_uint_eq(ino, (uint64_t)strtoul(name + 1, NULL, 10) + 100);
    if (r->got == r->room)
        return false;
    if (r->got++ == 0)
        snprintf(r->first, sizeof(r->first), "%s", name);
    snprintf(r->last, sizeof(r->last), "%s", name);
    r->last_type = type;
    r->next = next;
    return true;
}

/* A whole READDIR sequence from off 0, room entries per reply: the entries
 * seen; the names must follow each other. */
static int list_all(struct listings *ls, const char *path, int room)
{
    off_t off = 0;
    int seen = 0;
    for (;;) {
        struct reply r = {.room = room};
        ck_assert_int_eq(serve(ls, path, off, take, &r), 0);
        if (r.got == 0)
            return seen;
        char want[32];
        snprintf(want, sizeof(want), "f%06d", name_base + seen);
        ck_assert_str_eq(r.first, want);
        seen += r.got;
        off = r.next;
    }
}

static void reset(void)
{
    n_names = 1000;
    reads = 0;
    open_err = 0;
    name_base = 0;
}

START_TEST(a_folder_is_read_once_per_listing_whatever_the_reply_size)
{
    struct listings *ls;
    reset();
    ck_assert_int_eq(listings_new(&ls), 0);
    ck_assert_int_eq(list_all(ls, "/a", 7), 1000);
    ck_assert_int_eq(reads, 1);
    ck_assert_int_eq(list_all(ls, "/a", 1000), 1000);
    ck_assert_int_eq(reads, 2);
    listings_free(ls);
}
END_TEST

START_TEST(entries_keep_their_types_and_a_folder_that_cannot_be_opened_says_why)
{
    struct listings *ls;
    reset();
    ck_assert_int_eq(listings_new(&ls), 0);
    struct reply r = {.room = 2};
    ck_assert_int_eq(serve(ls, "/a", 0, take, &r), 0);
    ck_assert_int_eq(r.got, 2);
    ck_assert(S_ISDIR(r.last_type));
    open_err = -ELOOP;
    struct reply e = {.room = 2};
    ck_assert_int_eq(serve(ls, "/b", 0, take, &e), -ELOOP);
    ck_assert_int_eq(e.got, 0);
    listings_free(ls);
}
END_TEST

START_TEST(a_listing_sees_the_folder_as_it_was_when_it_started)
{
    struct listings *ls;
    reset();
    ck_assert_int_eq(listings_new(&ls), 0);
    /* A reads half, the folder changes, B lists it all, A goes on: A
     * still sees the folder as it was when A started. */
    struct reply a = {.room = 500};
    ck_assert_int_eq(serve(ls, "/a", 0, take, &a), 0);
    name_base = 5000;
    ck_assert_int_eq(list_all(ls, "/a", 100), 1000);
    struct reply a2 = {.room = 1000};
    ck_assert_int_eq(serve(ls, "/a", a.next, take, &a2), 0);
    ck_assert_int_eq(a2.got, 500);
    ck_assert_str_eq(a2.first, "f000500");
    ck_assert_str_eq(a2.last, "f000999");
    /* An offset of /a is not one of /b. */
    struct reply b = {.room = 1};
    int before = reads;
    ck_assert_int_eq(serve(ls, "/b", a.next, take, &b), 0);
    ck_assert_int_eq(reads, before + 1);
    listings_free(ls);
}
END_TEST

START_TEST(an_offset_of_a_listing_gone_is_served_from_a_new_read)
{
    struct listings *ls;
    reset();
    ck_assert_int_eq(listings_new(&ls), 0);
    struct reply a = {.room = 10};
    ck_assert_int_eq(serve(ls, "/a", 0, take, &a), 0);
    listings_free(ls);
    /* A new table (as after the listing expired): read again, skip to it. */
    ck_assert_int_eq(listings_new(&ls), 0);
    struct reply b = {.room = 5};
    ck_assert_int_eq(serve(ls, "/a", a.next, take, &b), 0);
    ck_assert_str_eq(b.first, "f000010");
    ck_assert_int_eq(reads, 2);
    struct reply c = {.room = 5};
    ck_assert_int_eq(serve(ls, "/a", b.next, take, &c), 0);
    ck_assert_str_eq(c.first, "f000015");
    ck_assert_int_eq(reads, 2);
    listings_free(ls);
}
END_TEST

static Suite *listing_suite(void)
{
    Suite *s = suite_create("listing");
    TCase *tc = tcase_create("listing");
    tcase_add_test(tc, a_folder_is_read_once_per_listing_whatever_the_reply_size);
    tcase_add_test(tc, entries_keep_their_types_and_a_folder_that_cannot_be_opened_says_why);
    tcase_add_test(tc, a_listing_sees_the_folder_as_it_was_when_it_started);
    tcase_add_test(tc, an_offset_of_a_listing_gone_is_served_from_a_new_read);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(listing_suite());
}
