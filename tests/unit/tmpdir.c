/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tmpdir.h"

#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

char tmp_dir[64];

void tmp_setup(void)
{
    snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/mct-unit.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path) < 0 ? -1 : 0;
}

/* Root removes what a test made unreadable (chmod 0) all the same. */
void tmp_teardown(void)
{
    ck_assert_int_eq(nftw(tmp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

char *tmp_path(const char *rel)
{
    char *p = mct_path_join(tmp_dir, rel);
    ck_assert_ptr_nonnull(p);
    return p;
}

void tmp_make_dir(const char *rel)
{
    _cleanup_free_ char *p = tmp_path(rel);
    ck_assert_int_eq(mct_mkdir_p(p, 0755), 0);
}

/* tmp_dir/rel created empty for writing, with its parents. */
static int create(const char *rel)
{
    _cleanup_free_ char *p = tmp_path(rel);
    _cleanup_free_ char *dir = strdup(p);
    ck_assert_ptr_nonnull(dir);
    *strrchr(dir, '/') = '\0';
    ck_assert_int_eq(mct_mkdir_p(dir, 0755), 0);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_int_ge(fd, 0);
    return fd;
}

void tmp_make_file(const char *rel, size_t size, char fill)
{
    _cleanup_close_ int fd = create(rel);
    char buf[4096];
    memset(buf, fill, sizeof(buf));
    for (size_t left = size; left;) {
        size_t n = left < sizeof(buf) ? left : sizeof(buf);
        ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
        left -= n;
    }
}

void tmp_write(const char *rel, const void *data, size_t n)
{
    _cleanup_close_ int fd = create(rel);
    ck_assert_int_eq(write(fd, data, n), (ssize_t)n);
}
