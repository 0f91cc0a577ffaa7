/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mctfs [-c CONFIG] MOUNTPOINT [-f] [-d] [-o OPTIONS]: option parsing with
 * fuse_opt (our own -c, then libfuse's command line), the config, the
 * engine's trash recovery, and the multithreaded FUSE loop.
 */
#include "mctfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <fuse_lowlevel.h>

#include "config.h"
#include "control.h"
#include "datajoint.h"
#include "fdcap.h"
#include "ino.h"
#include "inode.h"
#include "listing.h"
#include "log.h"
#include "node.h"
#include "opencache.h"
#include "operations.h"
#include "privilege.h"
#include "model.h"
#include "share.h"
#include "vfile.h"
#include "vmetrics.h"

/* Workers compute what reads queue, every queued session in one
 * collection; two, so one waiting on a slow share does not hold up a
 * second batch. The sweeper (model.h) is a thread of its own. */
#define STATUS_WORKERS 2

enum {
    KEY_CACHE_OPTION,
};

struct options {
    char *config;   /* strdup'd by fuse_opt_parse: ours to free */
    char *log_file; /* the same */
    int allow_root;
};

#define OPTION(t, p)                                                                               \
    {                                                                                              \
        t, offsetof(struct options, p), 1                                                          \
    }
static const struct fuse_opt option_spec[] = {
        OPTION("-c %s", config),
        OPTION("--config %s", config),
        OPTION("--config=%s", config),
        OPTION("--allow-root", allow_root),
        /* "--log-file %s" also matches "--log-file=F" (as "=F"): the
         * later template is applied last and wins. */
        OPTION("--log-file %s", log_file),
        OPTION("--log-file=%s", log_file),
        /* -o log_file=FILE: what an fstab line can say (mount.mctfs). */
        OPTION("log_file=%s", log_file),
        FUSE_OPT_KEY("kernel_cache", KEY_CACHE_OPTION),
        FUSE_OPT_KEY("auto_cache", KEY_CACHE_OPTION),
        FUSE_OPT_END,
};

static int option_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
    if (key == KEY_CACHE_OPTION) {
        /* libfuse would apply them after our open() and also cache the
         * status files, which then go stale. */
        fprintf(stderr, "mctfs: -o %s is not supported: mctfs caches unchanged files itself\n",
                arg);
        return -1;
    }
    return 1; /* everything else is libfuse's */
}

static void usage(FILE *f, const char *prog)
{
    fprintf(f,
            "usage: %s [-c CONFIG] MOUNTPOINT [-f] [-d] [-o OPTIONS]\n"
            "\n"
            "A read-only view of the rig's data folder with status files in each\n"
            "session folder (.status, .status.json, .backup_status, .safe_to_delete)\n"
            "and a .control file that runs SYNC, VERIFY or DELETE.\n"
            "\n"
            "    -c, --config=FILE      configuration (default: $MCTFS_CONFIG,\n"
            "                           ./backup_config.yaml, " MCT_DEFAULT_CONFIG ")\n"
            "    --allow-root           run as root when service.user is not set (not\n"
            "                           advised: see mctfs(8))\n"
            "    --log-file=FILE        also log to FILE (-o log_file=FILE), e.g. where a\n"
            "                           detached mctfs has no syslog\n"
            "    -h, --help             this help\n"
            "    -V, --version          the version\n"
            "\n",
            prog);
}

/* The daemon changes to "/": a relative path in the config would then
 * point elsewhere. */
static int check_absolute(const struct mct_config *cfg)
{
    const char *paths[] = {cfg->source_base_path, cfg->recording_db_path, cfg->deletion_log_path};
    for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
        if (paths[i] && paths[i][0] != '/')
            return log_error_errno(-EINVAL, "%s: path %s must be absolute for the mount", cfg->path,
                                   paths[i]);
    for (size_t i = 0; i < cfg->n_destinations; i++) {
        const struct mct_destination *d = &cfg->destinations[i];
        if ((d->mount_point && d->mount_point[0] != '/') ||
            (d->base_path && d->base_path[0] != '/'))
            return log_error_errno(-EINVAL, "%s: destination %s: paths must be absolute", cfg->path,
                                   d->name);
    }
    return 0;
}

static int load_config(const char *explicit_path, struct mct_config **ret)
{
    char err[2048] = "";
    int r = mct_config_find_load(explicit_path, ret, err, sizeof(err));
    if (r < 0)
        return log_error("%s", *err ? err : "cannot load the configuration"), r;
    return 0;
}

/* Does -o name one of the options (comma-separated) the mount gets? */
static bool has_mount_option(const struct fuse_args *args, const char *opt)
{
    for (int i = 0; i < args->argc; i++) {
        const char *a = args->argv[i];
        if (startswith(a, "-o") && a[2])
            a += 2;
        else if (streq(a, "-o") && i + 1 < args->argc)
            a = args->argv[++i];
        else
            continue;
        for (const char *p = a; *p; p += strcspn(p, ","), p += *p == ',') {
            size_t n = strcspn(p, ",");
            if (n == strlen(opt) && strncmp(p, opt, n) == 0)
                return true;
        }
    }
    return false;
}

static bool fuse_conf_allows_other(void)
{
    _cleanup_free_ char *text = NULL;
    if (mct_read_regular_file("/etc/fuse.conf", 64 * 1024, &text) < 0)
        return false;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        line += strspn(line, " \t");
        if (strncmp(line, "user_allow_other", 16) == 0 && !line[16 + strspn(line + 16, " \t")])
            return true;
    }
    return false;
}

/* Not root, the mount goes through fusermount3 after libfuse opened
 * /dev/fuse itself, and fusermount3 refuses allow_other unless
 * /etc/fuse.conf permits it: say so before either fails obscurely. */
static int check_user_mount(const struct fuse_args *args)
{
    if (geteuid() == 0)
        return 0;
    if (access("/dev/fuse", R_OK | W_OK) < 0)
        return log_error_errno(errno,
                               "mctfs runs as uid %u and cannot open /dev/fuse (it is usually "
                               "mode 0666, as udev makes it: chmod 0666 /dev/fuse)",
                               (unsigned)geteuid());
    if (!has_mount_option(args, "allow_other") || fuse_conf_allows_other())
        return 0;
    return log_error_errno(-EPERM,
                           "-o allow_other: mctfs runs as uid %u, and fusermount3 lets a user "
                           "mount with allow_other only when /etc/fuse.conf has a line "
                           "'user_allow_other' (add it, or mount without allow_other)",
                           (unsigned)geteuid());
}

/* A second mctfs on the same mount point would hide the first (mounts
 * stack), and a dead one must be detached, not buried: refuse both. */
static int check_mount_point(const char *mountpoint)
{
    char fstype[64] = "";
    int r = mct_mountinfo_fstype_at(mountpoint, fstype, sizeof(fstype));
    if (r < 0)
        return log_error_errno(r, "cannot read /proc/self/mountinfo");
    if (r > 0 && streq(fstype, "fuse.mctfs"))
        return log_error_errno(-EBUSY,
                               "%s is already an mctfs mount: unmount it first (umount %s, or "
                               "fusermount3 -u %s; -z when it is dead); a second mount would "
                               "only hide the first",
                               mountpoint, mountpoint, mountpoint);
    return 0;
}

static void recover_trash(const struct mct_config *cfg)
{
    struct mct_op_result res = {};
    int r = mct_trash_recover(cfg, false, &res);

    for (size_t i = 0; res.lines && res.lines[i]; i++)
        log_notice("trash: %s", res.lines[i]);
    for (size_t i = 0; res.reasons && res.reasons[i]; i++)
        log_warning("trash: %s", res.reasons[i]);
    if (r < 0)
        log_warning_errno(r, "recovering the deletion trash under %s failed",
                          cfg->source_base_path);
    mct_op_result_free(&res);
}

/* Reads of real files arrive at the mount's read-ahead size, 128 KiB by
 * default; 1 MiB read a cold video about a fifth faster here (measured by
 * tools/bench/run). The kernel sets the read-ahead when INIT is answered,
 * so it is raised afterwards: this thread's first request on the mount
 * waits for INIT, and the mount's bdi is named by its st_dev. Writing it
 * needs root; a higher value an admin chose is kept. */
#define READ_AHEAD_KB    1024
#define FUSE_SUPER_MAGIC 0x65735546

static void *raise_read_ahead(void *arg)
{
    _cleanup_free_ char *mountpoint = arg;
    struct statfs sfs;
    struct stat st;
    char path[64];
    unsigned kb = 0;

    int fd = open(mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    /* Only our own mount's bdi, never the folder under it. */
    bool ours = fstatfs(fd, &sfs) == 0 && sfs.f_type == FUSE_SUPER_MAGIC && fstat(fd, &st) == 0;
    close(fd);
    if (!ours)
        return NULL;

    snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb", major(st.st_dev),
             minor(st.st_dev));
    FILE *f = fopen(path, "re");
    if (f) {
        if (fscanf(f, "%u", &kb) != 1)
            kb = 0;
        fclose(f);
    }
    if (kb >= READ_AHEAD_KB)
        return NULL;
    f = fopen(path, "we");
    if (!f || fprintf(f, "%u\n", READ_AHEAD_KB) < 0 || fclose(f) != 0) {
        log_debug("cannot set %s to %u: %m", path, READ_AHEAD_KB);
        return NULL;
    }
    log_debug("read-ahead of %s set to %u KiB", mountpoint, READ_AHEAD_KB);
    return NULL;
}

static void start_raise_read_ahead(const char *mountpoint)
{
    pthread_attr_t attr;
    pthread_t t;
    char *arg = strdup(mountpoint);

    if (!arg)
        return;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, raise_read_ahead, arg) != 0)
        free(arg);
    pthread_attr_destroy(&attr);
}

/* A new status was computed: the kernel forgets the old sizes. */
static void on_status_update(void *ud, const struct mct_session_ref *ref)
{
    node_forget_session(ud, ref, false);
    /* ref NULL: a sweep ended (model.h). */
    if (!ref)
        vmetrics_sweep_ended(ud);
}

static int run(struct mctfs *fs, struct fuse_args *args, const struct fuse_cmdline_opts *opts)
{
    struct fuse_session *se = fuse_session_new(args, &mctfs_ll_ops, sizeof(mctfs_ll_ops), fs);
    if (!se)
        return log_error_errno(-EINVAL, "cannot set up the FUSE filesystem");
    if (fuse_session_mount(se, opts->mountpoint) != 0) {
        fuse_session_destroy(se);
        return log_error_errno(-EIO, "cannot mount on %s", opts->mountpoint);
    }
    if (fuse_daemonize(opts->foreground) != 0) {
        fuse_session_unmount(se);
        fuse_session_destroy(se);
        return -EIO;
    }
    /* Detached: stderr is /dev/null now. */
    if (!opts->foreground)
        mct_log_setup("mctfs", true, opts->debug ? LOG_DEBUG : LOG_INFO);
    fs->se = se;

    /* Threads only after daemonizing: fork keeps none of them. */
    struct model_hooks hooks = {
            .root_render = vfile_render_root_part,
            .slot_render = vfile_render_slot,
            .on_update = on_status_update,
            .ud = fs,
    };
    int r = model_new(fs->cfg, fs->base_fd, STATUS_WORKERS, &hooks, &fs->model);
    if (r < 0) {
        fs->se = NULL;
        fuse_session_unmount(se);
        fuse_session_destroy(se);
        return log_error_errno(r, "cannot start the status workers");
    }

    if (fuse_set_signal_handlers(se) != 0)
        r = log_error_errno(-EIO, "cannot install signal handlers");
    if (r >= 0) {
        log_notice("mounted %s on %s", fs->cfg->source_base_path, opts->mountpoint);
        start_raise_read_ahead(opts->mountpoint);
        struct fuse_loop_config *lc = fuse_loop_cfg_create();
        if (!lc) {
            r = -ENOMEM;
        } else {
            fuse_loop_cfg_set_clone_fd(lc, opts->clone_fd);
            if (opts->max_idle_threads != UINT_MAX) /* UINT_MAX: not given */
                fuse_loop_cfg_set_idle_threads(lc, opts->max_idle_threads);
            /* UINT_MAX: not given; libfuse's default stands (passing it
             * on made libfuse warn at every mount). */
            if (opts->max_threads != UINT_MAX)
                fuse_loop_cfg_set_max_threads(lc, opts->max_threads);
            /* > 0: the signal that ended it (SIGTERM from systemd is the
             * ordinary way to stop), < 0: an error. */
            int lr = fuse_session_loop_mt(se, lc);
            if (lr > 0)
                log_notice("stopping on signal %d (%s)", lr, strsignal(lr));
            else if (lr < 0)
                r = log_error_errno(lr, "the FUSE loop failed");
            fuse_loop_cfg_destroy(lc);
        }
        fuse_remove_signal_handlers(se);
    }

    /* Unmount first, so users are not kept waiting for a worker that is
     * still finishing a status (bounded by the engine's timeouts). */
    fuse_session_unmount(se);
    model_free(TAKE_PTR(fs->model));
    fs->se = NULL;
    fuse_session_destroy(se);
    log_notice("unmounted %s", opts->mountpoint);
    return r;
}

int main(int argc, char *argv[])
{
    struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
    struct options options = {};
    struct fuse_cmdline_opts opts = {};
    int ret = 1;

    /* The sweep builds the root's texts (12 MB of JSON with 10,000
     * sessions) in buffers that grow and are freed every cache_seconds / 2.
     * glibc's moving mmap threshold would soon put them on the heap, where
     * growing copies them and freeing keeps the memory: 70 -> 63 MB peak
     * RSS with 10,000 sessions. A fixed threshold keeps them mapped. */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);

    if (fuse_opt_parse(&args, &options, option_spec, option_proc) != 0 ||
        fuse_parse_cmdline(&args, &opts) != 0) {
        ret = 2;
        goto out;
    }

    if (opts.show_help) {
        usage(stdout, argv[0]);
        printf("FUSE options:\n");
        fuse_cmdline_help();
        fuse_lowlevel_help();
        ret = 0;
        goto out;
    }
    if (opts.show_version) {
        printf("mctfs %s (libfuse %s)\n", MCT_VERSION, fuse_pkgversion());
        ret = 0;
        goto out;
    }
    if (!opts.mountpoint) {
        usage(stderr, argv[0]);
        ret = 2;
        goto out;
    }

    /* stderr while we can still talk to the user; syslog once detached. */
    mct_log_setup("mctfs", false, opts.debug ? LOG_DEBUG : LOG_INFO);

    struct mct_config *cfg = NULL;
    if (load_config(options.config, &cfg) < 0 || check_absolute(cfg) < 0) {
        mct_config_free(cfg);
        ret = 2;
        goto out;
    }
    char err[1024] = "";
    if (mct_privilege_drop(cfg, options.allow_root, "mctfs", err, sizeof(err)) < 0) {
        log_error("%s", err);
        mct_config_free(cfg);
        ret = 2;
        goto out;
    }
    if (check_user_mount(&args) < 0) {
        mct_config_free(cfg);
        ret = 2;
        goto out;
    }
    if (check_mount_point(opts.mountpoint) < 0) {
        mct_config_free(cfg);
        goto out;
    }
    /* Opened as the service user, before daemonizing: an error still
     * reaches the terminal. */
    int lr = options.log_file ? mct_log_open_file(options.log_file) : 0;
    if (lr < 0) {
        log_error_errno(lr, "cannot open the log file %s", options.log_file);
        mct_config_free(cfg);
        ret = 2;
        goto out;
    }

    struct mctfs fs = {
            .cfg = cfg,
            /* Whoever the mount runs as (the service user, whether systemd
             * or root started us) owns it and may write .control. */
            .owner_uid = getuid(),
            .owner_gid = getgid(),
            .base_fd = open(cfg->source_base_path, O_PATH | O_DIRECTORY | O_CLOEXEC),
    };
    mctfs_instance = &fs;
    struct stat base_st;
    if (fs.base_fd < 0 || fstat(fs.base_fd, &base_st) < 0) {
        log_error_errno(errno, "cannot open %s", cfg->source_base_path);
        goto done;
    }
    fs.base_dev = base_st.st_dev;
    fs.base_ino = ino_real(fs.base_dev, &base_st);
    if (inode_table_init() < 0) {
        log_error_errno(-ENOMEM, "out of memory");
        goto done;
    }
    /* Every real file open through the mount holds a descriptor: the
     * limit goes to the hard one, and viewers get a share of it
     * (fdcap.h). */
    long nofile = mct_raise_nofile();
    if (nofile < 0) {
        log_warning_errno((int)nofile, "cannot read the descriptor limit");
        nofile = 1024;
    }
    if (control_new(&fs.control) < 0 || opencache_new(&fs.opencache) < 0 ||
        fdcap_new(nofile, FDCAP_PER_UID, FDCAP_RESERVE, &fs.fdcap) < 0 ||
        listings_new(&fs.listings) < 0 || vmetrics_new(&fs, &fs.metrics) < 0) {
        log_error_errno(-ENOMEM, "out of memory");
        goto done;
    }

    recover_trash(cfg);

    /* The kernel enforces the real files' modes (and ACLs, see ll_init)
     * for other users (with allow_other), as on the source itself, from
     * attributes it caches; opens are checked against the disk again. */
    if (fuse_opt_add_arg(&args, "-odefault_permissions,fsname=mctfs,subtype=mctfs") != 0)
        goto done;
    ret = run(&fs, &args, &opts) < 0 ? 1 : 0;

done:
    inode_table_free();
    ino_table_free();
    control_free(fs.control);
    opencache_free(fs.opencache);
    fdcap_free(fs.fdcap);
    listings_free(fs.listings);
    vmetrics_free(fs.metrics);
    if (fs.base_fd >= 0)
        close(fs.base_fd);
    mct_config_free(cfg);
out:
    free(options.config);
    free(options.log_file);
    free(opts.mountpoint);
    fuse_opt_free_args(&args);
    /* A DataJoint check given up on may still be inside the client
     * library: the exit's destructors must not pull it from under it. */
    if (mct_dj_checks_running()) {
        fflush(NULL);
        _exit(ret);
    }
    return ret;
}
