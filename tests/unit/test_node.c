/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What an entry of the mount is (fs/node.c), on a source tree in a temp
 * folder: which names are virtual files at the top and in a session
 * folder, which folders are sessions, what is hidden or refused, and
 * which cached entries the kernel is told to forget when a status
 * changes. The kernel's side is a fake that records what it is told.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ino.h"
#include "mctfs.h"
#include "node.h"
#include "tmpdir.h"
#include "unit.h"
#include "util.h"

/* ---- the kernel's side: what it was told to forget ---- */

static char forgotten[64][PATH_MAX + 16];
static size_t n_forgotten;

static void remember(const char *what, const char *a, const char *b)
{
    ck_assert_uint_lt(n_forgotten, ARRAY_SIZE(forgotten));
    snprintf(forgotten[n_forgotten++], sizeof(forgotten[0]), "%s %s%s%s", what, a, b ? "/" : "",
             b ? b : "");
}

void mctfs_kernel_forget(struct mctfs *fs, const char *dir, const char *name)
{
    remember("attr", dir, name);
}

void mctfs_kernel_forget_entry(struct mctfs *fs, const char *rel)
{
    remember("entry", rel, NULL);
}

static bool was_forgotten(const char *line)
{
    for (size_t i = 0; i < n_forgotten; i++)
        if (streq(forgotten[i], line))
            return true;
    return false;
}

/* ---- a mount of tmp_dir ---- */

static char *prefixes[] = {"p", "TF", NULL};
static struct mct_config cfg;
static struct mctfs fs;

static void mount_setup(void)
{
    tmp_setup();
    tmp_make_dir("p001/20250104/sub");
    tmp_make_dir("p001/notes");
    tmp_make_dir("TF47/20250105");
    tmp_make_dir("x1/20250104"); /* not a selected participant */
    tmp_make_dir(MCTFS_TRASH_NAME "/p001/20250101");
    tmp_make_file("p001/20250106", 10, 'x'); /* a file shaped like a session */

    cfg = (struct mct_config){
            .source_base_path = tmp_dir,
            .source_path_structure = "{participant_id}/{session_date}",
            .participant_prefixes = prefixes,
    };
    fs = (struct mctfs){.cfg = &cfg, .base_fd = open(tmp_dir, O_PATH | O_DIRECTORY | O_CLOEXEC)};
    ck_assert_int_ge(fs.base_fd, 0);
    struct stat st;
    ck_assert_int_eq(fstat(fs.base_fd, &st), 0);
    fs.base_dev = st.st_dev;
    fs.base_ino = ino_real(fs.base_dev, &st);
    n_forgotten = 0;
}

static void mount_teardown(void)
{
    close(fs.base_fd);
    ino_table_free();
    tmp_teardown();
}

/* The node at path ("." the root), resolved name by name as lookups do. */
static struct node resolve(const char *path)
{
    struct node n;
    ck_assert_int_eq(node_root(&n), 0);
    if (streq(path, "."))
        return n;
    _cleanup_free_ char *copy = strdup(path);
    char *save = NULL;
    for (char *name = strtok_r(copy, "/", &save); name; name = strtok_r(NULL, "/", &save)) {
        struct node child;
        int r = node_child(&fs, &n, name, &child);
        ck_assert_msg(r == 0, "%s: %s at %s", path, strerror(-r), name);
        node_done(&n);
        n = child;
    }
    return n;
}

/* node_child of name below path: its result, and *ret. */
static int child_of(const char *path, const char *name, struct node *ret)
{
    struct node parent = resolve(path);
    int r = node_child(&fs, &parent, name, ret);
    node_done(&parent);
    return r;
}

/* ---- the names ---- */

START_TEST(virtual_files_are_dot_files_so_a_plain_ls_stays_clean)
{
    for (size_t i = 0; node_root_vfiles[i]; i++)
        ck_assert_msg(node_root_vfiles[i][0] == '.', "%s", node_root_vfiles[i]);
    for (size_t i = 0; node_session_vfiles[i]; i++)
        ck_assert_msg(node_session_vfiles[i][0] == '.', "%s", node_session_vfiles[i]);
}
END_TEST

/* names (NULL-terminated) is exactly want, in that order, each of its kind. */
static void assert_vfiles(const char *const *names, bool root, const char *const *want,
                          const enum node_kind *kinds, size_t n)
{
    size_t i = 0;
    for (; names[i]; i++) {
        ck_assert_uint_lt(i, n);
        ck_assert_str_eq(names[i], want[i]);
        ck_assert(node_name_in(names, want[i]));
        ck_assert_int_eq(node_vfile_kind(root, want[i]), kinds[i]);
        ck_assert(node_is_virtual(kinds[i]));
    }
    ck_assert_uint_eq(i, n);
}

START_TEST(the_top_shows_status_status_json_control_and_metrics)
{
    static const char *const want[] = {".status", ".status.json", ".control", ".metrics"};
    static const enum node_kind kinds[] = {NODE_ROOT_STATUS, NODE_ROOT_STATUS_JSON, NODE_CONTROL,
                                           NODE_ROOT_METRICS};
    assert_vfiles(node_root_vfiles, true, want, kinds, ARRAY_SIZE(want));
}
END_TEST

START_TEST(a_session_folder_shows_its_four_status_files_and_control)
{
    static const char *const want[] = {".status", ".status.json", ".backup_status",
                                       ".safe_to_delete", ".control"};
    static const enum node_kind kinds[] = {NODE_STATUS, NODE_STATUS_JSON, NODE_BACKUP_STATUS,
                                           NODE_SAFE_TO_DELETE, NODE_CONTROL};
    assert_vfiles(node_session_vfiles, false, want, kinds, ARRAY_SIZE(want));
    for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
        ck_assert(node_is_session_vfile(kinds[i]));
}
END_TEST

START_TEST(metrics_is_only_at_the_top_and_backup_status_only_in_a_session)
{
    ck_assert_int_eq(node_vfile_kind(false, ".metrics"), NODE_REAL);
    ck_assert_int_eq(node_vfile_kind(true, ".backup_status"), NODE_REAL);
    ck_assert_int_eq(node_vfile_kind(true, ".safe_to_delete"), NODE_REAL);
    /* .status at the top is the table, in a session the report. */
    ck_assert_int_ne(node_vfile_kind(true, ".status"), node_vfile_kind(false, ".status"));
}
END_TEST

START_TEST(a_virtual_files_kind_names_it_back)
{
    for (size_t i = 0; node_root_vfiles[i]; i++)
        ck_assert_str_eq(node_vfile_name(node_vfile_kind(true, node_root_vfiles[i])),
                         node_root_vfiles[i]);
    for (size_t i = 0; node_session_vfiles[i]; i++)
        ck_assert_str_eq(node_vfile_name(node_vfile_kind(false, node_session_vfiles[i])),
                         node_session_vfiles[i]);
    ck_assert_str_eq(node_vfile_name(NODE_REAL), "?");
}
END_TEST

START_TEST(names_that_only_resemble_a_virtual_files_are_real)
{
    static const char *const real[] = {"status",        ".Status",   ".status ", " .status",
                                       ".status.json~", ".control.", "",         "."};
    for (size_t i = 0; i < ARRAY_SIZE(real); i++) {
        ck_assert_int_eq(node_vfile_kind(true, real[i]), NODE_REAL);
        ck_assert_int_eq(node_vfile_kind(false, real[i]), NODE_REAL);
        ck_assert(!node_name_in(node_session_vfiles, real[i]));
    }
    ck_assert(!node_is_virtual(NODE_REAL));
    ck_assert(node_is_virtual(NODE_CONTROL));
    ck_assert(!node_is_session_vfile(NODE_ROOT_STATUS));
}
END_TEST

/* ---- resolving names ---- */

/* n is in the session participant/date, whose folder is participant/date. */
static void assert_in_session(const struct node *n, const char *participant, const char *date)
{
    ck_assert(n->session);
    ck_assert_str_eq(n->ref.participant_id, participant);
    ck_assert_str_eq(n->ref.session_date, date);
    _cleanup_free_ char *rel = node_session_rel(n);
    _cleanup_free_ char *want = mct_strdup_printf("%s/%s", participant, date);
    ck_assert_str_eq(rel, want);
}

START_TEST(a_top_virtual_file_takes_the_tops_number_for_its_folder)
{
    struct node n;
    ck_assert_int_eq(child_of(".", ".status.json", &n), 0);
    ck_assert_int_eq(n.kind, NODE_ROOT_STATUS_JSON);
    ck_assert(!n.session);
    ck_assert_uint_eq(n.dir_ino, fs.base_ino);
    ck_assert_str_eq(n.rel, ".status.json");
    node_done(&n);

    /* The top's .control has no session (an empty ref: RECLAIM). */
    ck_assert_int_eq(child_of(".", ".control", &n), 0);
    ck_assert_int_eq(n.kind, NODE_CONTROL);
    ck_assert_str_eq(n.ref.participant_id, "");
    node_done(&n);
}
END_TEST

START_TEST(a_folder_shaped_like_a_selected_session_is_a_session)
{
    struct node n = resolve("p001/20250104");
    ck_assert_int_eq(n.kind, NODE_REAL);
    assert_in_session(&n, "p001", "20250104");
    node_done(&n);

    n = resolve("TF47/20250105");
    assert_in_session(&n, "TF47", "20250105");
    node_done(&n);
}
END_TEST

START_TEST(a_session_folders_virtual_files_belong_to_its_session)
{
    struct node n;
    ck_assert_int_eq(child_of("p001/20250104", ".safe_to_delete", &n), 0);
    ck_assert_int_eq(n.kind, NODE_SAFE_TO_DELETE);
    assert_in_session(&n, "p001", "20250104");
    ck_assert_str_eq(n.rel, "p001/20250104/.safe_to_delete");

    /* Its folder's number as stat shows it (ino.h). */
    _cleanup_free_ char *dir = tmp_path("p001/20250104");
    struct stat st;
    ck_assert_int_eq(stat(dir, &st), 0);
    ck_assert_uint_eq(n.dir_ino, st.st_ino);
    node_done(&n);

    ck_assert_int_eq(child_of("p001/20250104", ".control", &n), 0);
    ck_assert_int_eq(n.kind, NODE_CONTROL);
    assert_in_session(&n, "p001", "20250104");
    node_done(&n);
}
END_TEST

/* A participant's folder, a folder not named by a date, a folder below a
 * session, a participant the configuration does not select: real folders
 * whose dot names are real names (the caller's stat says whether they
 * exist). */
START_TEST(folders_that_are_not_sessions_have_no_virtual_files)
{
    static const char *const plain[] = {".", "p001", "p001/notes", "p001/20250104/sub",
                                        "x1/20250104"};
    for (size_t i = 0; i < ARRAY_SIZE(plain); i++) {
        struct node n = resolve(plain[i]);
        ck_assert_msg(!n.session, "%s is a session", plain[i]);
        node_done(&n);
        if (streq(plain[i], "."))
            continue;
        ck_assert_int_eq(child_of(plain[i], ".safe_to_delete", &n), 0);
        ck_assert_msg(n.kind == NODE_REAL, "%s/.safe_to_delete is virtual", plain[i]);
        node_done(&n);
    }
}
END_TEST

START_TEST(the_session_template_decides_which_folders_are_sessions)
{
    cfg.source_path_structure = "{session_date}/{participant_id}";
    tmp_make_dir("20250104/p002");
    struct node n = resolve("20250104/p002");
    ck_assert(n.session);
    ck_assert_str_eq(n.ref.participant_id, "p002");
    ck_assert_str_eq(n.ref.session_date, "20250104");
    node_done(&n);
    n = resolve("p001/20250104");
    ck_assert(!n.session);
    node_done(&n);
    struct mct_session_ref ref;
    ck_assert(!node_rel_is_session(&fs, "20250104", &ref));
    ck_assert(!node_rel_is_session(&fs, "20250104/p002/x", &ref));
}
END_TEST

START_TEST(the_trash_folder_is_hidden_at_the_top_only)
{
    struct node n;
    ck_assert_int_eq(child_of(".", MCTFS_TRASH_NAME, &n), -ENOENT);
    ck_assert_ptr_null(n.rel);
    ck_assert_int_eq(child_of("p001", MCTFS_TRASH_NAME, &n), 0);
    ck_assert_int_eq(n.kind, NODE_REAL);
    node_done(&n);
}
END_TEST

START_TEST(a_sessions_virtual_files_are_gone_with_its_folder)
{
    struct node session = resolve("p001/20250104");
    _cleanup_free_ char *dir = tmp_path("p001/20250104");
    _cleanup_free_ char *sub = tmp_path("p001/20250104/sub");
    ck_assert_int_eq(rmdir(sub), 0);
    ck_assert_int_eq(rmdir(dir), 0);
    struct node n;
    ck_assert_int_eq(node_child(&fs, &session, ".status", &n), -ENOENT);
    ck_assert_ptr_null(n.rel);
    node_done(&session);
}
END_TEST

START_TEST(a_file_shaped_like_a_session_has_no_virtual_files)
{
    struct node n = resolve("p001/20250106");
    struct node v;
    ck_assert_int_eq(node_child(&fs, &n, ".status", &v), -ENOENT);
    node_done(&n);
}
END_TEST

START_TEST(nothing_is_found_below_a_virtual_file)
{
    struct node v;
    ck_assert_int_eq(child_of("p001/20250104", ".status", &v), 0);
    struct node n;
    ck_assert_int_eq(node_child(&fs, &v, "x", &n), -ENOTDIR);
    ck_assert_ptr_null(n.rel);
    node_done(&v);
}
END_TEST

START_TEST(a_name_with_a_slash_or_dot_or_dot_dot_is_einval)
{
    static const char *const bad[] = {"a/b", "/", ".", "..", "p001/20250104"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct node n;
        ck_assert_msg(child_of(".", bad[i], &n) == -EINVAL, "'%s' resolved", bad[i]);
        ck_assert_ptr_null(n.rel);
    }
}
END_TEST

START_TEST(a_path_of_path_max_or_more_is_enametoolong)
{
    /* A parent whose path is one name short of PATH_MAX. */
    char *deep = malloc(PATH_MAX);
    ck_assert_ptr_nonnull(deep);
    memset(deep, 'd', PATH_MAX - 4);
    deep[PATH_MAX - 4] = '\0';
    for (size_t i = 200; i < PATH_MAX - 4; i += 201)
        deep[i] = '/';
    struct node parent = {.kind = NODE_REAL, .rel = deep};
    struct node n;
    ck_assert_int_eq(node_child(&fs, &parent, "abc", &n), -ENAMETOOLONG);
    ck_assert_ptr_null(n.rel);
    ck_assert_int_eq(node_child(&fs, &parent, "ab", &n), 0);
    node_done(&n);
    node_done(&parent);
}
END_TEST

/* ---- what the kernel is told to forget ---- */

static const struct mct_session_ref p001 = {"p001", "20250104"};

/* Never .control: this runs inside a write to it, and its inode is the
 * writer's own. */
START_TEST(a_new_status_drops_the_sessions_and_the_tops_status_files_but_never_control)
{
    node_forget_session(&fs, &p001, false);
    static const char *const want[] = {
            "attr p001/20250104/.status",
            "attr p001/20250104/.status.json",
            "attr p001/20250104/.backup_status",
            "attr p001/20250104/.safe_to_delete",
            "attr ./.status",
            "attr ./.status.json",
            "attr ./.metrics",
    };
    for (size_t i = 0; i < ARRAY_SIZE(want); i++)
        ck_assert_msg(was_forgotten(want[i]), "%s not forgotten", want[i]);
    ck_assert_uint_eq(n_forgotten, ARRAY_SIZE(want));
    for (size_t i = 0; i < n_forgotten; i++)
        ck_assert_msg(!strstr(forgotten[i], ".control"), "%s", forgotten[i]);
}
END_TEST

/* So a deleted session disappears at once, not after attr_seconds. */
START_TEST(a_deleted_session_drops_its_folder_and_its_participants_folder)
{
    node_forget_session(&fs, &p001, true);
    ck_assert(was_forgotten("entry p001/20250104"));
    ck_assert(was_forgotten("entry p001"));
    ck_assert(was_forgotten("attr ./.status"));
}
END_TEST

START_TEST(a_new_top_status_drops_the_tops_status_files_only)
{
    node_forget_session(&fs, NULL, false);
    ck_assert_uint_eq(n_forgotten, 3);
    ck_assert(was_forgotten("attr ./.status"));
    ck_assert(was_forgotten("attr ./.status.json"));
    ck_assert(was_forgotten("attr ./.metrics"));
}
END_TEST

static Suite *node_suite(void)
{
    Suite *s = suite_create("node");
    TCase *tc = tcase_create("names");
    tcase_add_test(tc, virtual_files_are_dot_files_so_a_plain_ls_stays_clean);
    tcase_add_test(tc, the_top_shows_status_status_json_control_and_metrics);
    tcase_add_test(tc, a_session_folder_shows_its_four_status_files_and_control);
    tcase_add_test(tc, metrics_is_only_at_the_top_and_backup_status_only_in_a_session);
    tcase_add_test(tc, a_virtual_files_kind_names_it_back);
    tcase_add_test(tc, names_that_only_resemble_a_virtual_files_are_real);
    suite_add_tcase(s, tc);

    tc = tcase_create("resolve");
    tcase_add_checked_fixture(tc, mount_setup, mount_teardown);
    tcase_add_test(tc, a_top_virtual_file_takes_the_tops_number_for_its_folder);
    tcase_add_test(tc, a_folder_shaped_like_a_selected_session_is_a_session);
    tcase_add_test(tc, a_session_folders_virtual_files_belong_to_its_session);
    tcase_add_test(tc, folders_that_are_not_sessions_have_no_virtual_files);
    tcase_add_test(tc, the_session_template_decides_which_folders_are_sessions);
    tcase_add_test(tc, the_trash_folder_is_hidden_at_the_top_only);
    tcase_add_test(tc, a_sessions_virtual_files_are_gone_with_its_folder);
    tcase_add_test(tc, a_file_shaped_like_a_session_has_no_virtual_files);
    tcase_add_test(tc, nothing_is_found_below_a_virtual_file);
    tcase_add_test(tc, a_name_with_a_slash_or_dot_or_dot_dot_is_einval);
    tcase_add_test(tc, a_path_of_path_max_or_more_is_enametoolong);
    suite_add_tcase(s, tc);

    tc = tcase_create("forget");
    tcase_add_checked_fixture(tc, mount_setup, mount_teardown);
    tcase_add_test(tc, a_new_status_drops_the_sessions_and_the_tops_status_files_but_never_control);
    tcase_add_test(tc, a_deleted_session_drops_its_folder_and_its_participants_folder);
    tcase_add_test(tc, a_new_top_status_drops_the_tops_status_files_only);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(node_suite());
}
