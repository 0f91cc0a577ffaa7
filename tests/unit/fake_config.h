/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Configurations parsed from YAML for the tests of verification by
 * checksum: two destinations, a and b, and the source /data. */
#pragma once

#include "config.h"

/* The two destinations, plus extra YAML lines under them (at "  " for
 * backup's keys, at column 0 for the top level's). */
struct mct_config *fake_config(const char *extra);

/* verify_method checksum, with the hash cache in tmp_dir/cache. */
struct mct_config *fake_config_cached(void);
