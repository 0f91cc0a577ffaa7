/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one hash table of the mount (hashtab.h): entries found by key
 * through collisions, removed from anywhere in a chain, each visited once
 * by an iteration and handed over once by a clear; FNV-1a as published.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashtab.h"
#include "util.h"

struct item {
    struct mct_hash_link link;
    char key[16];
    int value;
    int seen;
};

static bool is_key(const struct mct_hash_link *link, const void *key)
{
    return streq(mct_hash_entry(link, struct item, link)->key, key);
}

static struct item *find(const struct mct_hashtab *t, const char *key, uint64_t hash)
{
    struct mct_hash_link *l = mct_hashtab_find(t, hash, is_key, key);
    return l ? mct_hash_entry(l, struct item, link) : NULL;
}

/* The hash each test uses: the real one, or one that puts every key in
 * the same bucket. */
static uint64_t hash_of(const char *key, bool collide)
{
    return collide ? 42 : mct_fnv1a(MCT_FNV1A_INIT, key);
}

static int dropped;

static void drop(struct mct_hash_link *link)
{
    mct_hash_entry(link, struct item, link)->seen += 100;
    dropped++;
}

START_TEST(test_fnv1a_as_published)
{
    ck_assert_uint_eq(mct_fnv1a(MCT_FNV1A_INIT, ""), 0xcbf29ce484222325ull);
    ck_assert_uint_eq(mct_fnv1a(MCT_FNV1A_INIT, "a"), 0xaf63dc4c8601ec8cull);
    ck_assert_uint_eq(mct_fnv1a(MCT_FNV1A_INIT, "foobar"), 0x85944171f73967e8ull);
    /* A key in parts hashes as the whole. */
    ck_assert_uint_eq(mct_fnv1a(mct_fnv1a(MCT_FNV1A_INIT, "foo"), "bar"),
                      mct_fnv1a(MCT_FNV1A_INIT, "foobar"));
}
END_TEST

/* Each of 1000 keys, in 1, 7 or 1024 buckets, with real hashes or all
 * the same: found, iterated once, removed from the middle of a chain,
 * and cleared. */
START_TEST(test_add_find_remove_iterate)
{
    static const size_t buckets[] = {1, 7, 1024};
    enum { N = 1000 };
    size_t n_buckets = buckets[_i % 3];
    bool collide = _i >= 3;
    struct mct_hashtab t;
    ck_assert_int_eq(mct_hashtab_init(&t, n_buckets), 0);
    struct item *items = calloc(N, sizeof(*items));
    ck_assert_ptr_nonnull(items);
    for (int i = 0; i < N; i++) {
        snprintf(items[i].key, sizeof(items[i].key), "k%d", i);
        items[i].value = i;
        mct_hashtab_add(&t, &items[i].link, hash_of(items[i].key, collide));
    }
    ck_assert_uint_eq(t.n, N);
    for (int i = 0; i < N; i++) {
        struct item *it = find(&t, items[i].key, hash_of(items[i].key, collide));
        ck_assert_ptr_eq(it, &items[i]);
    }
    ck_assert_ptr_null(find(&t, "absent", hash_of("absent", collide)));

    mct_hashtab_foreach (l, &t)
        mct_hash_entry(l, struct item, link)->seen++;
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(items[i].seen, 1);

    /* Every third one out: the rest are still found, the removed not. */
    for (int i = 0; i < N; i += 3)
        mct_hashtab_remove(&t, &items[i].link);
    ck_assert_uint_eq(t.n, N - (N + 2) / 3);
    for (int i = 0; i < N; i++) {
        struct item *it = find(&t, items[i].key, hash_of(items[i].key, collide));
        ck_assert_ptr_eq(it, i % 3 ? &items[i] : NULL);
    }
    size_t visited = 0;
    mct_hashtab_foreach (l, &t)
        visited++;
    ck_assert_uint_eq(visited, t.n);

    dropped = 0;
    mct_hashtab_clear(&t, drop);
    ck_assert_int_eq(dropped, N - (N + 2) / 3);
    ck_assert_uint_eq(t.n, 0);
    ck_assert_ptr_null(mct_hashtab_first(&t));
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(items[i].seen, i % 3 ? 101 : 1);
    mct_hashtab_done(&t);
    free(items);
}
END_TEST

/* Two entries with the same key: the newer is found first, the older
 * again once the newer is out (the inode table's renamed-over names). */
START_TEST(test_same_key_newest_first)
{
    struct mct_hashtab t;
    ck_assert_int_eq(mct_hashtab_init(&t, 8), 0);
    struct item a = {.key = "x"}, b = {.key = "x"};
    uint64_t h = hash_of("x", false);
    mct_hashtab_add(&t, &a.link, h);
    mct_hashtab_add(&t, &b.link, h);
    ck_assert_ptr_eq(find(&t, "x", h), &b);
    mct_hashtab_remove(&t, &b.link);
    ck_assert_ptr_eq(find(&t, "x", h), &a);
    mct_hashtab_remove(&t, &a.link);
    ck_assert_ptr_null(find(&t, "x", h));
    ck_assert_uint_eq(t.n, 0);
    mct_hashtab_done(&t);
}
END_TEST

/* A table never set up (zeroed) finds nothing and clears to nothing, as
 * a mount that failed before its tables were made tears down. */
START_TEST(test_zeroed_table_is_empty)
{
    struct mct_hashtab t = {0};
    ck_assert_ptr_null(find(&t, "x", 1));
    ck_assert_ptr_null(mct_hashtab_first(&t));
    dropped = 0;
    mct_hashtab_clear(&t, drop);
    ck_assert_int_eq(dropped, 0);
    mct_hashtab_done(&t);
}
END_TEST

static Suite *hashtab_suite(void)
{
    Suite *s = suite_create("hashtab");
    TCase *tc = tcase_create("hashtab");
    tcase_add_test(tc, test_fnv1a_as_published);
    tcase_add_loop_test(tc, test_add_find_remove_iterate, 0, 6);
    tcase_add_test(tc, test_same_key_newest_first);
    tcase_add_test(tc, test_zeroed_table_is_empty);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(hashtab_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
