/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fake_config.h"

#include <check.h>

#include "tmpdir.h"
#include "util.h"

struct mct_config *fake_config(const char *extra)
{
    _cleanup_free_ char *yaml =
            mct_strdup_printf("backup:\n"
                              "  destinations:\n"
                              "    - {name: a, mount_point: /mnt/a, base_path: /mnt/a/x}\n"
                              "    - {name: b, mount_point: /mnt/b, base_path: /mnt/b/x}\n"
                              "  source: {base_path: /data}\n"
                              "%s",
                              extra);
    struct mct_config *cfg = NULL;
    char err[512] = "";
    ck_assert_msg(mct_config_parse_string("t.yaml", yaml, &cfg, err, sizeof(err)) == 0, "%s", err);
    return cfg;
}

struct mct_config *fake_config_cached(void)
{
    _cleanup_free_ char *extra = mct_strdup_printf(
            "  verification: {verify_method: checksum, cache_dir: %s/cache}\n", tmp_dir);
    return fake_config(extra);
}
