/* SPDX-License-Identifier: GPL-2.0-or-later */
/* backup_config.yaml (fs/core/config.c): defaults, every key, the DJ_*
 * variables, the password file, and which file is loaded. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake_config.h"
#include "parse_config.h"
#include "unit.h"
#include "util.h"

/* A fresh temp dir; the caller removes what it made. */
static void tmpdir(char *out, size_t len)
{
    snprintf(out, len, "/tmp/test_config.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(out));
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_msg(f, "cannot create %s", path);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(an_almost_empty_config_gets_every_documented_default)
{
    _cleanup_config_ struct mct_config *cfg = parse_ok("backup:\n");
    ck_assert_str_eq(cfg->path, NAME);
    ck_assert_uint_eq(cfg->n_destinations, 0);
    ck_assert_uint_eq(mct_config_enabled_destinations(cfg), 0);
    ck_assert_str_eq(cfg->source_base_path, "/data");
    ck_assert_str_eq(cfg->source_path_structure, "{participant_id}/{session_date}");
    ck_assert_uint_eq(mct_strv_length(cfg->participant_prefixes), 0);
    ck_assert_uint_eq(mct_strv_length(cfg->exclude_patterns), 0);
    ck_assert_str_eq(cfg->rsync_flags, "-avh");
    ck_assert_uint_eq(cfg->rsync_bwlimit_kb, 0);
    ck_assert_uint_eq(cfg->rsync_timeout_s, 600);
    ck_assert(cfg->verify_after_sync);
    ck_assert_int_eq(cfg->verify_method, MCT_VERIFY_SIZE);
    ck_assert_str_eq(cfg->datajoint.host, "localhost");
    ck_assert_uint_eq(cfg->datajoint.port, 3306);
    ck_assert_ptr_null(cfg->datajoint.user);
    ck_assert_ptr_null(cfg->datajoint.password);
    ck_assert_ptr_null(cfg->datajoint.password_file);
    ck_assert_ptr_null(cfg->datajoint.socket);
    ck_assert_str_eq(cfg->datajoint.sessions_schema, "mocap_sessions");
    ck_assert_str_eq(cfg->datajoint.tracking_schema, "multicamera_tracking");
    ck_assert(cfg->datajoint.normalize_participant_ids);
    ck_assert_str_eq(cfg->recording_db_path, "/data/recordings.db");
    ck_assert_uint_eq(cfg->deletion_min_age_minutes, 60);
    ck_assert_str_eq(cfg->deletion_log_path, "/var/log/mctfs/deletions.log");
    ck_assert_uint_eq(cfg->share_timeout_s, 5);
    ck_assert_uint_eq(cfg->database_timeout_s, 5);
    ck_assert_uint_eq(cfg->mount.cache_seconds, 30);
    ck_assert_uint_eq(cfg->mount.attr_seconds, 10);
    ck_assert_uint_eq(cfg->mount.n_allow_uids, 0);
    ck_assert_uint_eq(cfg->mount.n_allow_gids, 0);
}
END_TEST

START_TEST(a_destination_gets_its_documented_defaults)
{
    _cleanup_config_ struct mct_config *cfg = parse_ok(dest_ok);
    ck_assert_uint_eq(cfg->n_destinations, 1);
    const struct mct_destination *d = &cfg->destinations[0];
    ck_assert_str_eq(d->name, "Share");
    ck_assert_str_eq(d->mount_point, "/mnt/share");
    ck_assert_str_eq(d->base_path, "/mnt/share/data");
    ck_assert_str_eq(d->path_structure, "{session_date}/{participant_id}");
    ck_assert(d->enabled);
    ck_assert(d->verify_mount);
    ck_assert_uint_eq(mct_config_enabled_destinations(cfg), 1);
}
END_TEST

static const char full[] = "backup:\n"
                           "  destinations:\n"
                           "    - name: \"A\"\n"
                           "      mount_point: /mnt/a\n"
                           "      base_path: /mnt/a/x\n"
                           "      path_structure: \"{participant_id}/{session_date}\"\n"
                           "      enabled: false\n"
                           "      verify_mount: no\n"
                           "    - name: B\n"
                           "      mount_point: /mnt/b\n"
                           "      base_path: /mnt/b\n"
                           "  source:\n"
                           "    base_path: /srv/rig\n"
                           "    path_structure: \"{session_date}/{participant_id}\"\n"
                           "  filters:\n"
                           "    participant_prefixes: [\"p\", \"TR\"]\n"
                           "    exclude_patterns:\n"
                           "      - \"*.tmp\"\n"
                           "  rsync:\n"
                           "    flags: \"-avzh --partial\"\n"
                           "    bandwidth_limit: 5000\n"
                           "    timeout: 120\n"
                           "  verification:\n"
                           "    verify_after_sync: off\n"
                           "    verify_method: checksum\n"
                           "datajoint:\n"
                           "  host: db.lab\n"
                           "  port: 3307\n"
                           "  user: rig\n"
                           "  password: s3cret\n"
                           "  socket: /run/mysqld/mysqld.sock\n"
                           "  sessions_schema: my_sessions\n"
                           "  tracking_schema: my$tracking\n"
                           "  normalize_participant_ids: FALSE\n"
                           "recording_db:\n"
                           "  path: /srv/rig/db/recordings.db\n"
                           "deletion:\n"
                           "  min_age_minutes: 0\n"
                           "  log_path: /var/log/x.log\n"
                           "timeouts:\n"
                           "  share_seconds: 3600\n"
                           "  database_seconds: 1\n"
                           "mount:\n"
                           "  cache_seconds: 0\n"
                           "  attr_seconds: 0\n"
                           "  allow_uids: [1000, 0]\n"
                           "  allow_gids: [27]\n";

START_TEST(every_key_is_read_into_its_field)
{
    _cleanup_config_ struct mct_config *cfg = parse_ok(full);
    ck_assert_uint_eq(cfg->n_destinations, 2);
    ck_assert_str_eq(cfg->destinations[0].name, "A");
    ck_assert_str_eq(cfg->destinations[0].path_structure, "{participant_id}/{session_date}");
    ck_assert(!cfg->destinations[0].enabled);
    ck_assert(!cfg->destinations[0].verify_mount);
    ck_assert_str_eq(cfg->destinations[1].base_path, "/mnt/b");
    ck_assert(cfg->destinations[1].enabled);
    ck_assert_uint_eq(mct_config_enabled_destinations(cfg), 1);
    ck_assert_str_eq(cfg->source_base_path, "/srv/rig");
    ck_assert_str_eq(cfg->source_path_structure, "{session_date}/{participant_id}");
    ck_assert_uint_eq(mct_strv_length(cfg->participant_prefixes), 2);
    ck_assert_str_eq(cfg->participant_prefixes[1], "TR");
    ck_assert_uint_eq(mct_strv_length(cfg->exclude_patterns), 1);
    ck_assert_str_eq(cfg->exclude_patterns[0], "*.tmp");
    ck_assert_str_eq(cfg->rsync_flags, "-avzh --partial");
    ck_assert_uint_eq(cfg->rsync_bwlimit_kb, 5000);
    ck_assert_uint_eq(cfg->rsync_timeout_s, 120);
    ck_assert(!cfg->verify_after_sync);
    ck_assert_int_eq(cfg->verify_method, MCT_VERIFY_CHECKSUM);
    ck_assert_str_eq(cfg->datajoint.host, "db.lab");
    ck_assert_uint_eq(cfg->datajoint.port, 3307);
    ck_assert_str_eq(cfg->datajoint.user, "rig");
    ck_assert_str_eq(cfg->datajoint.password, "s3cret");
    ck_assert_str_eq(cfg->datajoint.socket, "/run/mysqld/mysqld.sock");
    ck_assert_str_eq(cfg->datajoint.sessions_schema, "my_sessions");
    ck_assert_str_eq(cfg->datajoint.tracking_schema, "my$tracking");
    ck_assert(!cfg->datajoint.normalize_participant_ids);
    ck_assert_str_eq(cfg->recording_db_path, "/srv/rig/db/recordings.db");
    ck_assert_uint_eq(cfg->deletion_min_age_minutes, 0);
    ck_assert_str_eq(cfg->deletion_log_path, "/var/log/x.log");
    ck_assert_uint_eq(cfg->share_timeout_s, 3600);
    ck_assert_uint_eq(cfg->database_timeout_s, 1);
    ck_assert_uint_eq(cfg->mount.cache_seconds, 0);
    ck_assert_uint_eq(cfg->mount.attr_seconds, 0);
    ck_assert_uint_eq(cfg->mount.n_allow_uids, 2);
    ck_assert_uint_eq(cfg->mount.allow_uids[0], 1000);
    ck_assert_uint_eq(cfg->mount.allow_uids[1], 0);
    ck_assert_uint_eq(cfg->mount.n_allow_gids, 1);
    ck_assert_uint_eq(cfg->mount.allow_gids[0], 27);
}
END_TEST

START_TEST(the_recording_db_defaults_to_the_source_folder)
{
    _cleanup_config_ struct mct_config *cfg =
            parse_ok("backup:\n  source:\n    base_path: /rig/\n");
    ck_assert_str_eq(cfg->source_base_path, "/rig");
    ck_assert_str_eq(cfg->recording_db_path, "/rig/recordings.db");
}
END_TEST

START_TEST(an_empty_destination_list_is_valid)
{
    _cleanup_config_ struct mct_config *cfg = parse_ok("backup:\n  destinations: []\n");
    ck_assert_uint_eq(cfg->n_destinations, 0);
    ck_assert_str_eq(err, "");
}
END_TEST

START_TEST(required_copies_defaults_to_the_enabled_destinations_at_most_two)
{
    _cleanup_config_ struct mct_config *def = fake_config("");
    ck_assert_uint_eq(def->required_copies, 0);
    ck_assert_uint_eq(mct_config_required_copies(def), 2);
    ck_assert_str_eq(def->cache_dir, "/var/cache/mctfs");
    _cleanup_config_ struct mct_config *one = fake_config("  required_copies: 1\n");
    ck_assert_uint_eq(mct_config_required_copies(one), 1);

    static const char *const bad[] = {"  required_copies: 3\n", "  required_copies: 0\n",
                                      "  required_copies: two\n"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        _cleanup_free_ char *yaml = mct_strdup_printf(
                "backup:\n  destinations:\n"
                "    - {name: a, mount_point: /mnt/a, base_path: /mnt/a/x}\n"
                "    - {name: b, mount_point: /mnt/b, base_path: /mnt/b/x, enabled: %s}\n"
                "%s",
                i == 0 ? "true" : "false", bad[i]);
        struct mct_config *cfg = NULL;
        char why[512] = "";
        ck_assert_int_eq(mct_config_parse_string("t.yaml", yaml, &cfg, why, sizeof(why)), -EINVAL);
        ck_assert_msg(strstr(why, "t.yaml:5") && strstr(why, "required_copies"), "%s", why);
    }
    /* Disabling a destination lowers the default with it. */
    _cleanup_config_ struct mct_config *dis = fake_config("");
    dis->destinations[1].enabled = false;
    ck_assert_uint_eq(mct_config_required_copies(dis), 1);
}
END_TEST

/* The config yaml, or NULL and the message in why. */
static struct mct_config *parse_or_null(const char *yaml, char *why, size_t len)
{
    struct mct_config *cfg = NULL;
    return mct_config_parse_string("t.yaml", yaml, &cfg, why, len) < 0 ? NULL : cfg;
}

START_TEST(the_reclaim_keys_default_to_off_10_percent_and_14_days_and_are_checked)
{
    char why[512] = "";
    _cleanup_config_ struct mct_config *def =
            parse_or_null("deletion:\n  min_age_minutes: 5\n", why, sizeof(why));
    ck_assert_msg(def, "%s", why);
    ck_assert(!def->reclaim.enabled);
    ck_assert_uint_eq(def->reclaim.keep_free.percent_x100, 1000);
    ck_assert_uint_eq(def->reclaim.keep_recent_days, 14);

    _cleanup_config_ struct mct_config *on =
            parse_or_null("deletion:\n  reclaim:\n    enabled: true\n    keep_free: 500G\n"
                          "    keep_recent_days: 3\n",
                          why, sizeof(why));
    ck_assert_msg(on, "%s", why);
    ck_assert(on->reclaim.enabled);
    ck_assert_uint_eq(on->reclaim.keep_free.bytes, 500ull << 30);
    ck_assert_uint_eq(on->reclaim.keep_free.percent_x100, 0);
    ck_assert_uint_eq(on->reclaim.keep_recent_days, 3);

    ck_assert_ptr_null(
            parse_or_null("deletion:\n  reclaim:\n    keep_free: lots\n", why, sizeof(why)));
    ck_assert_msg(startswith(why, "t.yaml:3: deletion.reclaim.keep_free: 'lots' is not a size"),
                  "%s", why);
    ck_assert_ptr_null(
            parse_or_null("deletion:\n  reclaim:\n    keep_recent: 3\n", why, sizeof(why)));
    ck_assert_msg(strstr(why, "t.yaml:3: unknown key 'keep_recent'"), "%s", why);
    ck_assert_ptr_null(
            parse_or_null("deletion:\n  reclaim:\n    keep_free: [1]\n", why, sizeof(why)));
    ck_assert_msg(strstr(why, "expected a string"), "%s", why);
}
END_TEST

/* DJ_* fill what the datajoint section leaves unset; its own keys win. */
START_TEST(dj_variables_fill_what_the_datajoint_section_leaves_unset)
{
    setenv("DJ_HOST", "envhost", 1);
    setenv("DJ_PORT", "13306", 1);
    setenv("DJ_USER", "envuser", 1);
    setenv("DJ_PASS", "envpass", 1);
    _cleanup_config_ struct mct_config *cfg = parse_ok("datajoint:\n  user: null\n");
    ck_assert_str_eq(cfg->datajoint.host, "envhost");
    ck_assert_uint_eq(cfg->datajoint.port, 13306);
    ck_assert_str_eq(cfg->datajoint.user, "envuser");
    ck_assert_str_eq(cfg->datajoint.password, "envpass");

    _cleanup_config_ struct mct_config *cfg2 =
            parse_ok("datajoint:\n  host: h\n  port: 1\n  user: u\n  password: p\n");
    ck_assert_str_eq(cfg2->datajoint.host, "h");
    ck_assert_uint_eq(cfg2->datajoint.port, 1);
    ck_assert_str_eq(cfg2->datajoint.user, "u");
    ck_assert_str_eq(cfg2->datajoint.password, "p");
    clean_env();
}
END_TEST

START_TEST(an_empty_dj_variable_counts_as_unset)
{
    setenv("DJ_HOST", "", 1);
    _cleanup_config_ struct mct_config *cfg = parse_ok("datajoint:\n  host: h\n");
    ck_assert_str_eq(cfg->datajoint.host, "h");
    clean_env();
}
END_TEST

START_TEST(a_bad_dj_port_is_refused_naming_the_variable)
{
    static const char *const bad[] = {"abc", "0", "65536", "-1", "33o6", " 3306"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        setenv("DJ_PORT", bad[i], 1);
        parse_fails("datajoint: {}\n", NAME, "DJ_PORT", bad[i]);
    }
    clean_env();
}
END_TEST

START_TEST(the_password_is_read_from_password_file_which_wins_over_dj_pass)
{
    char dir[64], pf[128], yaml[256];
    tmpdir(dir, sizeof(dir));
    snprintf(pf, sizeof(pf), "%s/pw", dir);
    write_file(pf, "hunter2\n");
    snprintf(yaml, sizeof(yaml), "datajoint:\n  password_file: %s\n", pf);
    _cleanup_config_ struct mct_config *cfg = parse_ok(yaml);
    ck_assert_str_eq(cfg->datajoint.password, "hunter2");
    ck_assert_str_eq(cfg->datajoint.password_file, pf);

    /* The file is the config's own key: it wins over DJ_PASS. */
    setenv("DJ_PASS", "fromenv", 1);
    _cleanup_config_ struct mct_config *cfg2 = parse_ok(yaml);
    ck_assert_str_eq(cfg2->datajoint.password, "hunter2");
    clean_env();
    unlink(pf);
    rmdir(dir);
}
END_TEST

START_TEST(an_unreadable_password_file_is_refused_with_its_line)
{
    parse_fails("datajoint:\n  user: u\n  password_file: /nonexistent/mctfs-pw\n",
                NAME ":3: ", "datajoint.password_file", "'/nonexistent/mctfs-pw'");
}
END_TEST

START_TEST(password_and_password_file_together_are_refused)
{
    parse_fails("datajoint:\n  password: x\n  password_file: /etc/hostname\n",
                NAME ":3: ", "password", "password_file", "not both");
}
END_TEST

START_TEST(a_loaded_file_is_named_in_its_messages_and_a_nul_byte_in_it_is_refused)
{
    char dir[64], path[128];
    tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/backup_config.yaml", dir);
    write_file(path, "backup:\n  rsync:\n    timeout: 7\n");
    _cleanup_config_ struct mct_config *cfg = NULL;
    ck_assert_int_eq(mct_config_load(path, &cfg, err, sizeof(err)), 0);
    ck_assert_str_eq(cfg->path, path);
    ck_assert_uint_eq(cfg->rsync_timeout_s, 7);

    /* Messages name the file it came from. */
    write_file(path, "backup:\n  rsync:\n    timeot: 7\n");
    struct mct_config *bad = NULL;
    ck_assert_int_eq(mct_config_load(path, &bad, err, sizeof(err)), -EINVAL);
    char want[256];
    snprintf(want, sizeof(want), "%s:3: unknown key 'timeot' in backup.rsync", path);
    ck_assert_str_eq(err, want);

    /* libyaml would stop at a NUL and never see what follows. */
    static const char with_nul[] = "backup: {}\n\0bakup: 1\n";
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(with_nul, 1, sizeof(with_nul) - 1, f), sizeof(with_nul) - 1);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(mct_config_load(path, &bad, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "NUL"));
    unlink(path);

    ck_assert_int_eq(mct_config_load(path, &bad, err, sizeof(err)), -ENOENT);
    ck_assert_ptr_nonnull(strstr(err, path));
    rmdir(dir);
}
END_TEST

/* chdir into a temp dir for the find tests and back again afterwards. */
static char saved_cwd[PATH_MAX];
static char find_dir[64];

static void find_setup(void)
{
    clean_env();
    ck_assert_ptr_nonnull(getcwd(saved_cwd, sizeof(saved_cwd)));
    tmpdir(find_dir, sizeof(find_dir));
    ck_assert_int_eq(chdir(find_dir), 0);
}

static void find_teardown(void)
{
    unlink("backup_config.yaml");
    unlink("other.yaml");
    ck_assert_int_eq(chdir(saved_cwd), 0);
    rmdir(find_dir);
    clean_env();
}

START_TEST(an_explicit_config_wins_over_mctfs_config_and_the_local_file)
{
    _cleanup_free_ char *p = NULL;
    write_file("other.yaml", "backup:\n");
    write_file("backup_config.yaml", "backup:\n");
    setenv("MCTFS_CONFIG", "backup_config.yaml", 1);
    ck_assert_int_eq(mct_config_find("other.yaml", &p, err, sizeof(err)), 0);
    ck_assert_str_eq(p, "other.yaml");
    char *q = NULL;
    ck_assert_int_eq(mct_config_find("", &q, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_null(q);
}
END_TEST

START_TEST(a_missing_explicit_config_is_enoent_not_another_file)
{
    char *p = NULL;
    write_file("backup_config.yaml", "backup:\n");
    ck_assert_int_eq(mct_config_find("missing.yaml", &p, err, sizeof(err)), -ENOENT);
    ck_assert_ptr_null(p);
    ck_assert_ptr_nonnull(strstr(err, "missing.yaml"));
    ck_assert_ptr_nonnull(strstr(err, "-c"));
}
END_TEST

START_TEST(mctfs_config_wins_over_the_local_file)
{
    _cleanup_free_ char *p = NULL;
    write_file("other.yaml", "backup:\n");
    write_file("backup_config.yaml", "backup:\n");
    setenv("MCTFS_CONFIG", "other.yaml", 1);
    ck_assert_int_eq(mct_config_find(NULL, &p, err, sizeof(err)), 0);
    ck_assert_str_eq(p, "other.yaml");
}
END_TEST

START_TEST(a_missing_mctfs_config_is_enoent_not_another_file)
{
    char *p = NULL;
    write_file("backup_config.yaml", "backup:\n");
    setenv("MCTFS_CONFIG", "/nonexistent/mctfs.yaml", 1);
    ck_assert_int_eq(mct_config_find(NULL, &p, err, sizeof(err)), -ENOENT);
    ck_assert_ptr_null(p);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/mctfs.yaml"));
    ck_assert_ptr_nonnull(strstr(err, "MCTFS_CONFIG"));
}
END_TEST

START_TEST(without_c_or_mctfs_config_the_local_file_is_used)
{
    _cleanup_free_ char *p = NULL;
    write_file("backup_config.yaml", "backup:\n");
    ck_assert_int_eq(mct_config_find(NULL, &p, err, sizeof(err)), 0);
    ck_assert_str_eq(p, "./backup_config.yaml");
}
END_TEST

START_TEST(with_no_config_anywhere_only_the_system_one_is_found)
{
    char *p = NULL;
    int r = mct_config_find(NULL, &p, err, sizeof(err));
    if (access(MCT_DEFAULT_CONFIG, F_OK) == 0) {
        /* This machine has a real config: it is the last resort. */
        ck_assert_int_eq(r, 0);
        ck_assert_str_eq(p, MCT_DEFAULT_CONFIG);
        free(p);
        return;
    }
    ck_assert_int_eq(r, -ENOENT);
    ck_assert_ptr_null(p);
    ck_assert_ptr_nonnull(strstr(err, "./backup_config.yaml"));
    ck_assert_ptr_nonnull(strstr(err, MCT_DEFAULT_CONFIG));
}
END_TEST

/* A folder in its place is skipped like any local file that is not ours
 * to use (test_trust.c), never loaded. */
START_TEST(a_folder_named_like_the_local_config_is_skipped)
{
    _cleanup_free_ char *p = NULL;
    ck_assert_int_eq(mkdir("backup_config.yaml", 0700), 0);
    int r = mct_config_find(NULL, &p, err, sizeof(err));
    ck_assert(r == -ENOENT || (r == 0 && streq(p, MCT_DEFAULT_CONFIG)));
    rmdir("backup_config.yaml");
}
END_TEST

/* config/backup_config.example.yaml, found from the source root meson
 * gives tests, or else from this file's own path. */
static void example_path(char *out, size_t len)
{
    const char *root = getenv("MESON_SOURCE_ROOT");
    if (root) {
        snprintf(out, len, "%s/config/backup_config.example.yaml", root);
        return;
    }
    char here[PATH_MAX];
    snprintf(here, sizeof(here), "%s", __FILE__);
    snprintf(out, len, "%s/../../config/backup_config.example.yaml", dirname(here));
}

START_TEST(the_shipped_example_config_loads_as_documented)
{
    char path[PATH_MAX];
    example_path(path, sizeof(path));
    ck_assert_msg(access(path, R_OK) == 0, "example config not found at %s", path);
    _cleanup_config_ struct mct_config *cfg = NULL;
    int r = mct_config_load(path, &cfg, err, sizeof(err));
    ck_assert_msg(r == 0, "%s", err);
    ck_assert_uint_eq(cfg->n_destinations, 1);
    ck_assert_str_eq(cfg->destinations[0].name, "CottonLab Network");
    ck_assert_str_eq(cfg->destinations[0].mount_point, "/mnt/CottonLab");
    ck_assert_str_eq(cfg->destinations[0].base_path, "/mnt/CottonLab/mobile_system_data");
    ck_assert_str_eq(cfg->destinations[0].path_structure, "{session_date}/{participant_id}");
    ck_assert_str_eq(cfg->source_base_path, "/data");
    /* The example sets what its comment calls the default: every participant. */
    ck_assert_uint_eq(mct_strv_length(cfg->participant_prefixes), 0);
    ck_assert_uint_eq(mct_strv_length(cfg->exclude_patterns), 2);
    ck_assert_str_eq(cfg->rsync_flags, "-avzh");
    ck_assert_int_eq(cfg->verify_method, MCT_VERIFY_SIZE);
    ck_assert_str_eq(cfg->datajoint.sessions_schema, "mocap_sessions");
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("parse");
    tcase_add_checked_fixture(tc, clean_env, clean_env);
    tcase_add_test(tc, an_almost_empty_config_gets_every_documented_default);
    tcase_add_test(tc, a_destination_gets_its_documented_defaults);
    tcase_add_test(tc, every_key_is_read_into_its_field);
    tcase_add_test(tc, the_recording_db_defaults_to_the_source_folder);
    tcase_add_test(tc, an_empty_destination_list_is_valid);
    tcase_add_test(tc, required_copies_defaults_to_the_enabled_destinations_at_most_two);
    tcase_add_test(tc, the_reclaim_keys_default_to_off_10_percent_and_14_days_and_are_checked);
    tcase_add_test(tc, the_shipped_example_config_loads_as_documented);
    tcase_add_test(tc, a_loaded_file_is_named_in_its_messages_and_a_nul_byte_in_it_is_refused);
    suite_add_tcase(s, tc);

    TCase *tv = tcase_create("env");
    tcase_add_checked_fixture(tv, clean_env, clean_env);
    tcase_add_test(tv, dj_variables_fill_what_the_datajoint_section_leaves_unset);
    tcase_add_test(tv, an_empty_dj_variable_counts_as_unset);
    tcase_add_test(tv, a_bad_dj_port_is_refused_naming_the_variable);
    tcase_add_test(tv, the_password_is_read_from_password_file_which_wins_over_dj_pass);
    tcase_add_test(tv, an_unreadable_password_file_is_refused_with_its_line);
    tcase_add_test(tv, password_and_password_file_together_are_refused);
    suite_add_tcase(s, tv);

    TCase *tf = tcase_create("find");
    tcase_add_checked_fixture(tf, find_setup, find_teardown);
    tcase_add_test(tf, an_explicit_config_wins_over_mctfs_config_and_the_local_file);
    tcase_add_test(tf, a_missing_explicit_config_is_enoent_not_another_file);
    tcase_add_test(tf, mctfs_config_wins_over_the_local_file);
    tcase_add_test(tf, a_missing_mctfs_config_is_enoent_not_another_file);
    tcase_add_test(tf, without_c_or_mctfs_config_the_local_file_is_used);
    tcase_add_test(tf, with_no_config_anywhere_only_the_system_one_is_found);
    tcase_add_test(tf, a_folder_named_like_the_local_config_is_skipped);
    suite_add_tcase(s, tf);
    return s;
}

int main(void)
{
    return unit_run(config_suite());
}
