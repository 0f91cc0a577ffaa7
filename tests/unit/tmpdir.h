/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A temporary folder of its own for each unit test: tmp_setup and
 * tmp_teardown are a Check checked fixture (tcase_add_checked_fixture), so
 * they also run, and clean up, with CK_FORK=no (valgrind).
 */
#pragma once

#include <stddef.h>

extern char tmp_dir[64];

void tmp_setup(void);
void tmp_teardown(void);

/* tmp_dir/rel, malloc'd. */
char *tmp_path(const char *rel);

/* tmp_dir/rel as a folder, with its parents. */
void tmp_make_dir(const char *rel);

/* tmp_dir/rel as a file of size bytes of fill, with its parents. */
void tmp_make_file(const char *rel, size_t size, char fill);

/* tmp_dir/rel holding the n bytes of data, with its parents. */
void tmp_write(const char *rel, const void *data, size_t n);
