/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Private to config.c and config_yaml.c. */
#pragma once

#include <stddef.h>

#include "config.h"

/*
 * Parse yaml over cfg, which holds the defaults; checks everything that
 * needs a line number (and reads datajoint.password_file). -EINVAL with
 * "NAME:LINE: message" in err.
 */
int mct_config_parse_yaml(struct mct_config *cfg, const char *name, const char *yaml, char *err,
                          size_t errlen);
