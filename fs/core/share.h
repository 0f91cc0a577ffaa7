/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The network share. Nothing here may hang: a stale NFS/SMB mount blocks
 * every access in uninterruptible sleep, so every access to a share
 * happens in a forked child that the caller can abandon after a deadline
 * (timeouts.share_seconds). A thread would not do: a process cannot exit
 * while one of its threads is stuck in the kernel.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "scan.h"

/*
 * Is path listed as a mount point in /proc/self/mountinfo (octal escapes
 * such as \040 decoded)? 1 yes, 0 no, -errno if mountinfo cannot be read.
 * Comparing st_dev with the parent would miss bind mounts, hence mountinfo.
 */
int mct_is_mount_point(const char *path);
/* The same without resolving symlinks (path as written); and is the
 * normalised absolute path listed? 1, 0 or -errno. */
int mct_mount_point_listed(const char *path);
int mct_mountinfo_has(const char *norm);
/* The filesystem type mountinfo gives for device dev ("ext4",
 * "fuse.mctfs", ...) into out: 1 found, 0 not listed, -errno. */
int mct_mountinfo_fstype(dev_t dev, char *out, size_t len);
/* The filesystem type of the topmost mount at the normalised absolute
 * path norm (mounts stacked there: the last one): 1 found, 0 none, -errno. */
int mct_mountinfo_fstype_at(const char *norm, char *out, size_t len);

/*
 * Is the destination usable right now? 0 yes; -ENOTCONN "not mounted"
 * (verify_mount and mount_point is not a mount point); -ETIMEDOUT when a
 * stat of mount_point and base_path does not answer within
 * cfg->share_timeout_s; -ENOENT when base_path does not exist; -ELOOP
 * when base_path is reached through a symlink on the share; -EXDEV when
 * what answers cannot hold a copy: base_path on another filesystem than
 * the share at mount_point, overlapping the source, on the source's own
 * filesystem, or an mctfs mount (the source seen through the view);
 * other -errno. why gets a sentence naming the path.
 */
int mct_share_probe(const struct mct_config *cfg, const struct mct_destination *dest, char *why,
                    size_t whylen);

/*
 * In a share child: open the folder path (absolute, at or below
 * dest->base_path) from the destination's trusted root, which is its
 * mount_point when verify_mount and path lies below it, else base_path
 * itself. Nothing below that root may be a symlink or on another
 * filesystem: anyone who may write to the share could plant one. With
 * create, missing folders are made (0755). Returns an O_DIRECTORY fd, or
 * -ELOOP (path[0..*symlink_end) is the symlink), -EXDEV, -ENOENT, -errno.
 * Allocation-free.
 */
int mct_share_open_in_child(const struct mct_destination *dest, const char *path, bool create,
                            size_t *symlink_end);

/* In a share child: the .mctfs-copy text of the folder dirfd into buf
 * (NUL-terminated, *n bytes). 0, -ENOENT, -EBADMSG (not a regular file,
 * or too big), -errno. Allocation-free. */
int mct_share_read_marker(int dirfd, char *buf, size_t len, size_t *n);

/* A session's copy folder on one destination, as a scan saw it. */
struct mct_copy_scan {
    const char *path;   /* in: the copy folder (mct_session_dest_path) */
    char **partners;    /* in, may be NULL: copy folders of local sessions whose ids
                         * differ from this one's only in case (strv) */
    int err;            /* 0; -ENOENT no copy; -ELOOP symlink_end; -EXDEV; -ETIMEDOUT; -errno */
    size_t symlink_end; /* -ELOOP: path[0..symlink_end) is a symlink */
    dev_t dev;          /* the copy folder itself */
    ino_t ino;
    char *marker;         /* the .mctfs-copy text, NULL when there is none */
    int marker_err;       /* 0, -ENOENT, or why it could not be read */
    size_t folded;        /* 1 + index of a partner that is this very folder, else 0 */
    struct mct_scan scan; /* the files, excludes and the marker left out */
};
void mct_copy_scan_done(struct mct_copy_scan *c);

/*
 * Scan n copy folders of dest in one forked child, each resolved with
 * mct_share_open_in_child, streaming the results back. The deadline is an
 * idle timeout: share_timeout_s without a result from the child; on a
 * timeout the remaining ones get -ETIMEDOUT. Returns 0, or -ETIMEDOUT if
 * any timed out, or -errno if the child could not be started.
 */
int mct_share_scan_copies(const struct mct_config *cfg, const struct mct_destination *dest,
                          struct mct_copy_scan *copies, size_t n);

/*
 * For sync: make (create) or open the copy folder path of dest in a
 * child, and hand its descriptor to us, so rsync writes into exactly the
 * folder that was checked (/proc/self/fd/N) whatever a share user renames
 * meanwhile. out->fd (or -1), dev, ino, marker, err as in a scan. 0 when
 * the child answered (see out->err), -ETIMEDOUT, -errno.
 */
int mct_share_open_copy(const struct mct_config *cfg, const struct mct_destination *dest,
                        const char *path, bool create, struct mct_copy_scan *out, int *fd_out);

/* Write text as path's .mctfs-copy (temp file + rename) in a child. */
int mct_share_write_marker(const struct mct_config *cfg, const struct mct_destination *dest,
                           const char *path, const char *text);

/*
 * The child-with-a-deadline machinery the probe and the scan use, for
 * other readers of the share (checksum.c hashes copies with it). fn runs
 * in a forked child with only wfd (and stdio) open and must write its
 * results to wfd; the parent reads them with mct_share_child_read(),
 * which gives up after idle_ms without a byte (-ETIMEDOUT) and returns
 * -EIO when the child died early. mct_share_child_finish() kills and
 * reaps it without ever blocking (a child stuck on a hung share is left
 * to a detached reaper thread).
 */
struct mct_share_child {
    /* Set before start: the destination the child works on. No child is
     * started there while an earlier one is stuck (health.h), and one
     * that does not die is remembered as stuck. */
    const struct mct_destination *dest;
    pid_t pid;
    int fd; /* our end of the child's socket */
};
typedef void (*mct_share_child_fn)(int wfd, void *ud);
int mct_share_child_start(struct mct_share_child *c, mct_share_child_fn fn, void *ud);
int mct_share_child_read(struct mct_share_child *c, void *buf, size_t n, int idle_ms);
void mct_share_child_finish(struct mct_share_child *c);
/* The deadline: timeouts.share_seconds in milliseconds. */
int mct_share_timeout_ms(const struct mct_config *cfg);
/* In the child: write all of buf to wfd. -errno. */
int mct_share_child_write(int wfd, const void *buf, size_t n);
/* In the child: the same, handing fd along (-1: none). */
int mct_share_child_send_fd(int wfd, const void *buf, size_t n, int fd);
/* mct_share_child_read that also takes a descriptor the child sent
 * (*fd_out, -1 when none came). */
int mct_share_child_read_fd(struct mct_share_child *c, void *buf, size_t n, int idle_ms,
                            int *fd_out);
