/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What every unit test program's main() does. */
#pragma once

#include <check.h>

/* Run every test of s (CK_NORMAL output: the "Checks: N" summary line),
 * free it; EXIT_SUCCESS when none failed. */
int unit_run(Suite *s);
