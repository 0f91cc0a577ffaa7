/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The share probe: is a destination mounted, answering, and able to hold
 * a copy at all? One forked child (share.c) stats the mount point and
 * opens base_path the way every copy is reached (share_copy.c: no symlink,
 * no other filesystem below the trusted root), then the parent rules out
 * what answers but is no backup: the source itself (overlapping paths,
 * the source's filesystem, or the source seen through an mctfs mount).
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "beneath.h"
#include "health.h"
#include "share.h"
#include "util.h"

struct probe_args {
    const struct mct_destination *dest;
    const char *source_base;
    bool resolve; /* resolve mount_point for the parent's mountinfo check */
};

struct probe_msg {
    int mount_err;
    int base_err;
    int resolved_ok;
    int inside_source;    /* base_path and the source overlap once resolved */
    int other_device;     /* base_path is not on the filesystem mounted at mount_point */
    int on_source_device; /* base_path is on the source's filesystem */
    uint64_t symlink_end; /* base_err ELOOP: base_path[0..symlink_end) is a symlink */
    uint64_t base_dev;
    char resolved[PATH_MAX];
    char base_real[PATH_MAX];
};

static bool path_within(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/' || streq(dir, "/"));
}

/* getdents64 needs 8-byte alignment; one call is all the probe makes. */
union dents_buf {
    struct dirent64 de;
    char b[1024];
};

/* A readdir makes a network filesystem talk to its server. ENOENT is a
 * deleted folder's end, as readdir() has it. */
static int readable(int fd)
{
    union dents_buf buf;
    return getdents64(fd, buf.b, sizeof(buf.b)) >= 0 || errno == ENOENT ? 0 : errno;
}

/* realpath() without its malloc and lock: the kernel's name for what path
 * resolves to (symlinks followed), which is the path as mountinfo lists
 * it, relative to our root and unescaped. false when it cannot be had. */
static bool resolve_path(const char *path, char out[PATH_MAX])
{
    _cleanup_close_ int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0)
        return false;
    char link[32];
    ssize_t n = readlink(mct_fd_path_static(fd, link, sizeof(link)), out, PATH_MAX);
    /* A relative answer ("pipe:[..]") or one cut short is no path. */
    if (n <= 0 || n >= PATH_MAX || out[0] != '/')
        return false;
    out[n] = '\0';
    return true;
}

static void probe_base(const struct probe_args *a, struct probe_msg *m)
{
    const struct mct_destination *dest = a->dest;
    size_t end = 0;
    int fd = mct_share_open_in_child(dest, dest->base_path, false, &end);
    if (fd < 0) {
        m->base_err = -fd;
        m->symlink_end = end;
        return;
    }
    struct stat st, mst, sst;
    m->base_err = readable(fd);
    if (!m->base_err && fstat(fd, &st) < 0)
        m->base_err = errno;
    close(fd);
    if (m->base_err)
        return;
    m->base_dev = st.st_dev;
    if (dest->verify_mount && !m->mount_err && stat(dest->mount_point, &mst) == 0)
        m->other_device = mst.st_dev != st.st_dev;
    if (!strempty(a->source_base) && stat(a->source_base, &sst) == 0)
        m->on_source_device = sst.st_dev == st.st_dev;
    /* The config check compares the paths as written; through a symlink
     * (or a bind mount of a parent) a "share" may still be the source. */
    char src_real[PATH_MAX];
    if (!strempty(a->source_base) && resolve_path(dest->base_path, m->base_real) &&
        resolve_path(a->source_base, src_real))
        m->inside_source =
                path_within(m->base_real, src_real) || path_within(src_real, m->base_real);
}

static void probe_child(int wfd, void *ud)
{
    const struct probe_args *a = ud;
    static struct probe_msg m;
    struct stat st;
    memset(&m, 0, sizeof(m));
    if (!strempty(a->dest->mount_point) && stat(a->dest->mount_point, &st) < 0)
        m.mount_err = errno;
    if (a->resolve && resolve_path(a->dest->mount_point, m.resolved))
        m.resolved_ok = 1;
    probe_base(a, &m);
    mct_write_all(wfd, &m, sizeof(m));
}

/* What answers but cannot hold a backup: -EXDEV with the reason. */
static int probe_not_a_copy(const struct mct_destination *dest, const struct probe_msg *m,
                            char *why, size_t whylen)
{
    char fstype[64] = "";
    if (m->other_device) {
        snprintf(why, whylen,
                 "destination '%s': %s is not on the share mounted at %s (another "
                 "filesystem is mounted on the way)",
                 dest->name, dest->base_path, dest->mount_point);
        return -EXDEV;
    }
    if (m->inside_source) {
        snprintf(why, whylen,
                 "destination '%s': %s is %s, which overlaps the source: a copy inside the "
                 "source is no backup",
                 dest->name, dest->base_path, m->base_real);
        return -EXDEV;
    }
    if (m->on_source_device) {
        snprintf(why, whylen,
                 "destination '%s': not a copy: %s is on the source's own filesystem "
                 "(device %u:%u): one disk holding both is no backup",
                 dest->name, dest->base_path, major((dev_t)m->base_dev), minor((dev_t)m->base_dev));
        return -EXDEV;
    }
    if (mct_mountinfo_fstype((dev_t)m->base_dev, fstype, sizeof(fstype)) > 0 &&
        streq(fstype, "fuse.mctfs")) {
        snprintf(why, whylen,
                 "destination '%s': not a copy: %s is an mctfs mount, the source seen "
                 "through the view",
                 dest->name, dest->base_path);
        return -EXDEV;
    }
    return 0;
}

static int probe_explain(const struct mct_destination *dest, const struct probe_msg *m, char *why,
                         size_t whylen)
{
    if (dest->verify_mount && m->mount_err) {
        snprintf(why, whylen, "destination '%s': cannot access %s: %s", dest->name,
                 dest->mount_point, strerror(m->mount_err));
        return -m->mount_err;
    }
    if (m->base_err == ELOOP) {
        size_t end = m->symlink_end ? (size_t)m->symlink_end : strlen(dest->base_path);
        snprintf(why, whylen,
                 "destination '%s': unsafe: symlink at %.*s on the share: copies are never "
                 "written or read through a symlink",
                 dest->name, (int)end, dest->base_path);
        return -ELOOP;
    }
    if (m->base_err == EXDEV) {
        snprintf(why, whylen,
                 "destination '%s': %s is not below the share's mount point %s or crosses "
                 "into another filesystem",
                 dest->name, dest->base_path, dest->mount_point);
        return -EXDEV;
    }
    if (m->base_err == ENOENT) {
        snprintf(why, whylen, "destination '%s': %s does not exist", dest->name, dest->base_path);
        return -ENOENT;
    }
    if (m->base_err) {
        snprintf(why, whylen, "destination '%s': cannot read %s: %s", dest->name, dest->base_path,
                 strerror(m->base_err));
        return -m->base_err;
    }
    int r = probe_not_a_copy(dest, m, why, whylen);
    if (r < 0)
        return r;
    snprintf(why, whylen, "destination '%s': %s is reachable", dest->name, dest->base_path);
    return 0;
}

static int probe_now(const struct mct_config *cfg, const struct mct_destination *dest, bool listed,
                     char *why, size_t whylen)
{
    struct probe_args a = {dest, cfg->source_base_path, dest->verify_mount && !listed};
    struct mct_share_child c = {.dest = dest, .fd = -1};
    int r = mct_share_child_start(&c, probe_child, &a);
    if (r == -ETIMEDOUT) {
        snprintf(why, whylen,
                 "destination '%s': an earlier access to %s is still stuck (hung "
                 "mount)",
                 dest->name, dest->verify_mount ? dest->mount_point : dest->base_path);
        return r;
    }
    if (r < 0) {
        snprintf(why, whylen, "destination '%s': cannot start the share probe: %s", dest->name,
                 strerror(-r));
        return r;
    }
    _cleanup_free_ struct probe_msg *m = calloc(1, sizeof(*m));
    r = m ? mct_share_child_read(&c, m, sizeof(*m), mct_share_timeout_ms(cfg)) : -ENOMEM;
    mct_share_child_finish(&c);

    if (r == 0 && a.resolve && !(m->resolved_ok && mct_mountinfo_has(m->resolved) > 0))
        r = -ENOTCONN;
    if (r == 0)
        r = probe_explain(dest, m, why, whylen);
    else if (r == -ENOTCONN)
        snprintf(why, whylen, "destination '%s': %s is not a mount point (share not mounted?)",
                 dest->name, dest->mount_point);
    else if (r == -ETIMEDOUT)
        snprintf(why, whylen,
                 "destination '%s': %s did not answer within %d s (stale or hung mount)",
                 dest->name, dest->verify_mount ? dest->mount_point : dest->base_path,
                 mct_share_timeout_ms(cfg) / 1000);
    else if (r < 0)
        snprintf(why, whylen, "destination '%s': share probe failed: %s", dest->name, strerror(-r));
    return r;
}

int mct_share_probe(const struct mct_config *cfg, const struct mct_destination *dest, char *why,
                    size_t whylen)
{
    char dummy[1];
    if (!why || !whylen) {
        why = dummy;
        whylen = sizeof(dummy);
    }
    if (strempty(dest->base_path) || (dest->verify_mount && strempty(dest->mount_point))) {
        snprintf(why, whylen, "destination '%s': no base_path or mount_point configured",
                 dest->name);
        return -EINVAL;
    }
    bool listed = false;
    if (dest->verify_mount) {
        int r = mct_mount_point_listed(dest->mount_point);
        if (r < 0) {
            snprintf(why, whylen, "cannot read /proc/self/mountinfo: %s", strerror(-r));
            return r;
        }
        listed = r > 0;
    }

    /* One probe of a destination at a time, and a hung one is not asked
     * again before its backoff (health.h). */
    int wait_ms = mct_share_timeout_ms(cfg) + 1000;
    int r = mct_health_probe_begin(dest, wait_ms, why, whylen);
    if (r < 0)
        return r;
    int64_t t0 = mct_now_ms();
    r = probe_now(cfg, dest, listed, why, whylen);
    /* Answers about what the share holds are a healthy share's. */
    bool unreachable = r < 0 && r != -ENOENT && r != -ELOOP && r != -EXDEV;
    mct_health_probe_end(dest, unreachable ? r : 0, why, mct_now_ms() - t0);
    if (unreachable)
        mct_health_probe_why(dest, why, whylen);
    return r;
}
