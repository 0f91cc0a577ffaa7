/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Manifests (fs/core/manifest.c): what a verification by checksum
 * hashed, in xxhsum's format next to the deletion log.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "fake_config.h"
#include "manifest.h"
#include "tmpdir.h"
#include "unit.h"
#include "util.h"

START_TEST(a_manifest_round_trips_in_xxhsum_format_and_refuses_what_it_cannot_hold)
{
    struct mct_manifest m = {0};
    struct mct_hash a, b;
    mct_hash_buffer("a", 1, &a);
    mct_hash_buffer("b", 1, &b);
    ck_assert_int_eq(mct_manifest_add(&m, "trial.22001.mp4", &a), 0);
    ck_assert_int_eq(mct_manifest_add(&m, "sub dir/x.json", &b), 0);
    _cleanup_free_ char *path = tmp_path("logs/manifests/p001__20250104.xxh128");
    char why[512] = "";
    ck_assert_int_eq(mct_manifest_write(path, &m, why, sizeof(why)), 0);
    _cleanup_free_ char *text = NULL;
    ck_assert_int_eq(mct_read_file(path, 1 << 20, &text), 0);
    char ha[33], hb[33];
    mct_hash_hex(&a, ha);
    mct_hash_hex(&b, hb);
    _cleanup_free_ char *want =
            mct_strdup_printf("%s  trial.22001.mp4\n%s  sub dir/x.json\n", ha, hb);
    ck_assert_str_eq(text, want);

    struct mct_manifest r = {0};
    ck_assert_int_eq(mct_manifest_read(path, &r, why, sizeof(why)), 0);
    ck_assert_uint_eq(r.n, 2);
    ck_assert_str_eq(r.entries[1].relpath, "sub dir/x.json");
    ck_assert(mct_hash_eq(&r.entries[1].hash, &b));
    mct_manifest_free(&r);

    ck_assert_int_eq(mct_manifest_add(&m, "bad\nname", &a), 0);
    ck_assert_int_eq(mct_manifest_write(path, &m, why, sizeof(why)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "bad"));
    mct_manifest_free(&m);

    FILE *f = fopen(path, "a");
    fputs("nothex  file\n", f);
    fclose(f);
    ck_assert_int_eq(mct_manifest_read(path, &r, why, sizeof(why)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(why, ":3:"));
    _cleanup_free_ char *none = tmp_path("none.xxh128");
    ck_assert_int_eq(mct_manifest_read(none, &r, why, sizeof(why)), -ENOENT);
}
END_TEST

START_TEST(manifests_live_next_to_the_deletion_log)
{
    _cleanup_config_ struct mct_config *cfg =
            fake_config("deletion: {log_path: /var/log/mctfs/deletions.log}\n");
    struct mct_session_ref ref;
    ck_assert_int_eq(mct_session_ref_init(&ref, "p001", "20250104", NULL, 0), 0);
    _cleanup_free_ char *p = NULL;
    ck_assert_int_eq(mct_manifest_path(cfg, &ref, &p), 0);
    ck_assert_str_eq(p, "/var/log/mctfs/manifests/p001__20250104.xxh128");
}
END_TEST

static Suite *manifest_suite(void)
{
    Suite *s = suite_create("manifest");
    TCase *tc = tcase_create("manifest");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, a_manifest_round_trips_in_xxhsum_format_and_refuses_what_it_cannot_hold);
    tcase_add_test(tc, manifests_live_next_to_the_deletion_log);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(manifest_suite());
}
