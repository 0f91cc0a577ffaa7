/* SPDX-License-Identifier: GPL-2.0-or-later */
/* backup_config.yaml: defaults, every key, every error and where it points. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

#define NAME "t.yaml"

static char err[1024];

static struct mct_config *parse_ok(const char *yaml)
{
    struct mct_config *cfg = NULL;
    err[0] = '\0';
    int r = mct_config_parse_string(NAME, yaml, &cfg, err, sizeof(err));
    ck_assert_msg(r == 0, "parse failed (%d): %s\n---\n%s", r, err, yaml);
    ck_assert_ptr_nonnull(cfg);
    return cfg;
}

/* Fails with -EINVAL and a message containing every given fragment. */
#define parse_fails(yaml, ...)                                                                     \
    do {                                                                                           \
        struct mct_config *_cfg = NULL;                                                            \
        err[0] = '\0';                                                                             \
        int _r = mct_config_parse_string(NAME, (yaml), &_cfg, err, sizeof(err));                   \
        ck_assert_msg(_r == -EINVAL, "expected -EINVAL, got %d (%s)\n---\n%s", _r, err, (yaml));   \
        ck_assert_ptr_null(_cfg);                                                                  \
        const char *_want[] = {__VA_ARGS__};                                                       \
        for (size_t _i = 0; _i < sizeof(_want) / sizeof(_want[0]); _i++)                           \
            ck_assert_msg(strstr(err, _want[_i]), "message '%s' lacks '%s'", err, _want[_i]);      \
    } while (0)

static const char dest_ok[] = "backup:\n"
                              "  destinations:\n"
                              "    - name: Share\n"
                              "      mount_point: /mnt/share\n"
                              "      base_path: /mnt/share/data\n";

static void clean_env(void)
{
    unsetenv("DJ_HOST");
    unsetenv("DJ_PORT");
    unsetenv("DJ_USER");
    unsetenv("DJ_PASS");
    unsetenv("MCTFS_CONFIG");
}

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

START_TEST(test_defaults)
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

START_TEST(test_destination_defaults)
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

START_TEST(test_every_key)
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

START_TEST(test_recording_db_follows_source)
{
    _cleanup_config_ struct mct_config *cfg =
            parse_ok("backup:\n  source:\n    base_path: /rig/\n");
    ck_assert_str_eq(cfg->source_base_path, "/rig");
    ck_assert_str_eq(cfg->recording_db_path, "/rig/recordings.db");
}
END_TEST

START_TEST(test_paths_normalised)
{
    _cleanup_config_ struct mct_config *cfg =
            parse_ok("backup:\n  source:\n    base_path: //srv/./rig//\n");
    ck_assert_str_eq(cfg->source_base_path, "/srv/rig");
}
END_TEST

START_TEST(test_null_optional_strings_and_lists)
{
    _cleanup_config_ struct mct_config *cfg =
            parse_ok("datajoint:\n  user: ~\n  socket:\nbackup:\n  filters:\n"
                     "    participant_prefixes:\nmount:\n  allow_uids: []\n");
    ck_assert_ptr_null(cfg->datajoint.user);
    ck_assert_ptr_null(cfg->datajoint.socket);
    ck_assert_uint_eq(mct_strv_length(cfg->participant_prefixes), 0);
    ck_assert_uint_eq(cfg->mount.n_allow_uids, 0);
}
END_TEST

START_TEST(test_bool_spellings)
{
    static const struct {
        const char *text;
        bool value;
    } cases[] = {{"true", true},   {"True", true}, {"YES", true},  {"on", true},
                 {"false", false}, {"No", false},  {"OFF", false}, {"\"yes\"", true}};
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char yaml[128];
        snprintf(yaml, sizeof(yaml), "backup:\n  verification:\n    verify_after_sync: %s\n",
                 cases[i].text);
        _cleanup_config_ struct mct_config *cfg = parse_ok(yaml);
        ck_assert_msg(cfg->verify_after_sync == cases[i].value, "%s", cases[i].text);
    }
}
END_TEST

START_TEST(test_bad_bool)
{
    parse_fails("backup:\n  verification:\n    verify_after_sync: maybe\n",
                NAME ":3: ", "backup.verification.verify_after_sync", "'maybe'");
    parse_fails("datajoint:\n  normalize_participant_ids: 1\n",
                NAME ":2: ", "datajoint.normalize_participant_ids", "'1'");
}
END_TEST

START_TEST(test_syntax_error)
{
    parse_fails("backup:\n  rsync:\n    flags: \"-avh\n", NAME ":4: ", "YAML syntax error",
                "quoted scalar", "starts at line 3");
    parse_fails("backup:\n  source: [a, b\n  filters: {}\n", NAME ":", "YAML syntax error");
    parse_fails("backup:\n  rsync:\n    flags: -avh\n   timeout: 5\n",
                NAME ":4: ", "YAML syntax error");
}
END_TEST

START_TEST(test_unknown_keys)
{
    parse_fails("backup:\n  verification:\n    verify_methd: size\n",
                NAME ":3: unknown key 'verify_methd' in backup.verification");
    parse_fails("\nbakup:\n  rsync: {}\n", NAME ":2: unknown key 'bakup' in the top level");
    parse_fails("backup:\n  destinations:\n    - name: a\n      mount_point: /m\n"
                "      base_path: /m/b\n      enable: false\n",
                NAME ":6: unknown key 'enable' in backup.destinations[0]");
    parse_fails("datajoint:\n  pasword: x\n", NAME ":2: unknown key 'pasword' in datajoint");
}
END_TEST

START_TEST(test_bad_integers)
{
    parse_fails("backup:\n  rsync:\n    timeout: abc\n",
                NAME ":3: backup.rsync.timeout: expected a non-negative integer, got 'abc'");
    parse_fails("backup:\n  rsync:\n    bandwidth_limit: -5\n",
                NAME ":3: ", "backup.rsync.bandwidth_limit", "non-negative integer", "'-5'");
    parse_fails("deletion:\n  min_age_minutes: 1.5\n", NAME ":2: ", "deletion.min_age_minutes",
                "'1.5'");
    parse_fails("mount:\n  cache_seconds: 99999999999999999999999\n",
                NAME ":2: ", "mount.cache_seconds", "out of range");
}
END_TEST

START_TEST(test_out_of_range)
{
    parse_fails("datajoint:\n  port: 70000\n", NAME ":2: datajoint.port: 70000 is out of range");
    parse_fails("datajoint:\n  port: 0\n", NAME ":2: datajoint.port: 0 is out of range");
    parse_fails("backup:\n  rsync:\n    timeout: 0\n", NAME ":3: backup.rsync.timeout: 0");
    parse_fails("timeouts:\n  share_seconds: 0\n", NAME ":2: timeouts.share_seconds");
    parse_fails("timeouts:\n  database_seconds: 3601\n", NAME ":2: timeouts.database_seconds");
    parse_fails("mount:\n  cache_seconds: 86401\n", NAME ":2: mount.cache_seconds");
    parse_fails("mount:\n  attr_seconds: 3601\n", NAME ":2: mount.attr_seconds");
}
END_TEST

START_TEST(test_mapping_for_scalar)
{
    parse_fails("backup:\n  rsync:\n    flags:\n      a: b\n", NAME ":4: ", "backup.rsync.flags",
                "got a mapping");
    parse_fails("datajoint:\n  port: {a: 1}\n", NAME ":2: ", "datajoint.port", "got a mapping");
    parse_fails("backup:\n  filters:\n    participant_prefixes: [[p]]\n",
                NAME ":3: ", "backup.filters.participant_prefixes[0]", "got a list");
}
END_TEST

START_TEST(test_scalar_for_mapping)
{
    parse_fails("backup:\n  rsync: fast\n",
                NAME ":2: backup.rsync: expected a mapping, got a scalar");
    parse_fails("backup: [1, 2]\n", NAME ":1: backup: expected a mapping, got a list");
    parse_fails("backup:\n  destinations: CottonLab\n",
                NAME ":2: backup.destinations: expected a list");
    parse_fails("backup:\n  filters:\n    exclude_patterns: \"*.tmp\"\n",
                NAME ":3: ", "backup.filters.exclude_patterns: expected a list");
    parse_fails("backup:\n  destinations:\n    - CottonLab\n",
                NAME ":3: ", "backup.destinations[0]: expected a mapping");
}
END_TEST

START_TEST(test_duplicate_keys)
{
    parse_fails("backup:\n  rsync:\n    timeout: 5\n    timeout: 6\n",
                NAME ":4: duplicate key 'timeout' in backup.rsync");
    parse_fails("datajoint: {}\nmount: {}\ndatajoint: {}\n",
                NAME ":3: duplicate key 'datajoint' in the top level");
}
END_TEST

START_TEST(test_verify_method)
{
    parse_fails("backup:\n  verification:\n    verify_method: sha256\n",
                NAME ":3: ", "backup.verification.verify_method", "'size' or 'checksum'",
                "'sha256'");
    _cleanup_config_ struct mct_config *cfg =
            parse_ok("backup:\n  verification:\n    verify_method: size\n");
    ck_assert_int_eq(cfg->verify_method, MCT_VERIFY_SIZE);
}
END_TEST

START_TEST(test_bad_templates)
{
    parse_fails("backup:\n  source:\n    path_structure: \"{participant_id}\"\n",
                NAME ":3: ", "backup.source.path_structure");
    parse_fails("backup:\n  source:\n    path_structure: \"/{participant_id}/{session_date}\"\n",
                NAME ":3: ", "backup.source.path_structure");
    parse_fails(
            "backup:\n  destinations:\n    - name: a\n      mount_point: /m\n"
            "      base_path: /m/b\n      path_structure: \"{session_date}/../{participant_id}\"\n",
            NAME ":6: ", "backup.destinations[0].path_structure");
}
END_TEST

START_TEST(test_bad_paths)
{
    parse_fails("backup:\n  source:\n    base_path: data\n", NAME ":3: ", "backup.source.base_path",
                "not an absolute path");
    parse_fails("backup:\n  destinations:\n    - name: a\n      mount_point: mnt\n"
                "      base_path: /m/b\n",
                NAME ":4: ", "backup.destinations[0].mount_point", "absolute");
    parse_fails("backup:\n  source:\n    base_path: /data/../etc\n", NAME ":3: ", "'..'");
    parse_fails("recording_db:\n  path: recordings.db\n", NAME ":2: recording_db.path");
    parse_fails("deletion:\n  log_path: \"\"\n", NAME ":2: deletion.log_path: must not be empty");
}
END_TEST

START_TEST(test_source_destination_overlap)
{
    /* Destination inside the source. */
    parse_fails("backup:\n  source:\n    base_path: /data\n  destinations:\n    - name: a\n"
                "      mount_point: /data\n      base_path: /data/backup\n",
                NAME ":7: ", "backup.destinations[0].base_path", "backup.source.base_path",
                "no backup");
    /* Source inside the destination, source given after the destinations. */
    parse_fails("backup:\n  destinations:\n    - name: a\n      mount_point: /srv\n"
                "      base_path: /srv\n  source:\n    base_path: /srv/data\n",
                NAME ":5: ", "overlaps");
    /* Equal, after normalisation. */
    parse_fails("backup:\n  destinations:\n    - name: a\n      mount_point: /data\n"
                "      base_path: /data/\n",
                NAME ":5: ", "overlaps");
    /* A common prefix is not containment. */
    _cleanup_config_ struct mct_config *cfg =
            parse_ok("backup:\n  destinations:\n    - name: a\n      mount_point: /data2\n"
                     "      base_path: /data2/x\n");
    ck_assert_str_eq(cfg->destinations[0].base_path, "/data2/x");
}
END_TEST

START_TEST(test_empty_document)
{
    parse_fails("", NAME ":1: empty configuration");
    parse_fails("# only a comment\n", "empty configuration");
}
END_TEST

START_TEST(test_top_level_not_mapping)
{
    parse_fails("- backup\n", NAME ":1: the top level must be a mapping, got a list");
    parse_fails("backup\n", NAME ":1: the top level must be a mapping, got a scalar");
}
END_TEST

START_TEST(test_multiple_documents)
{
    parse_fails("backup: {}\n---\nbackup: {}\n", NAME ":3: ", "more than one YAML document");
}
END_TEST

START_TEST(test_missing_required_destination_keys)
{
    parse_fails("backup:\n  destinations:\n    - mount_point: /m\n      base_path: /m/b\n",
                NAME ":3: ", "backup.destinations[0]", "missing required key 'name'");
    parse_fails("backup:\n  destinations:\n    - name: a\n      base_path: /m/b\n",
                NAME ":3: ", "missing required key 'mount_point'");
    parse_fails("backup:\n  destinations:\n    - name: a\n      mount_point: /m\n",
                NAME ":3: ", "missing required key 'base_path'");
    parse_fails("backup:\n  destinations:\n    - name: \"\"\n      mount_point: /m\n"
                "      base_path: /m/b\n",
                NAME ":3: ", "backup.destinations[0].name: must not be empty");
}
END_TEST

START_TEST(test_duplicate_destination_names)
{
    char yaml[512];
    snprintf(yaml, sizeof(yaml),
             "%s    - name: Share\n      mount_point: /mnt/other\n      base_path: /mnt/other\n",
             dest_ok);
    parse_fails(yaml, NAME ":6: ", "backup.destinations[1].name",
                "duplicate destination name 'Share'");
}
END_TEST

START_TEST(test_base_path_outside_mount_point)
{
    parse_fails("backup:\n  destinations:\n    - name: a\n      mount_point: /mnt/share\n"
                "      base_path: /mnt/share2/x\n",
                NAME ":5: ", "backup.destinations[0].base_path", "not inside mount_point");
    /* Without mount verification the mount point is only a label. */
    _cleanup_config_ struct mct_config *cfg =
            parse_ok("backup:\n  destinations:\n    - name: a\n      mount_point: /mnt/share\n"
                     "      base_path: /mnt/share2/x\n      verify_mount: false\n");
    ck_assert(!cfg->destinations[0].verify_mount);
}
END_TEST

START_TEST(test_schema_identifiers)
{
    parse_fails("datajoint:\n  sessions_schema: \"mocap`; DROP TABLE x\"\n",
                NAME ":2: ", "datajoint.sessions_schema", "plain identifier");
    parse_fails("datajoint:\n  tracking_schema: a.b\n", NAME ":2: ", "datajoint.tracking_schema");
}
END_TEST

START_TEST(test_rsync_flags)
{
    parse_fails("backup:\n  rsync:\n    flags: \"-avh /etc\"\n", NAME ":3: ", "backup.rsync.flags",
                "'/etc'");
    parse_fails("backup:\n  rsync:\n    flags: \"-avh --delete\"\n", NAME ":3: ", "'--delete'",
                "not allowed");
    parse_fails("backup:\n  rsync:\n    flags: \"--remove-source-files\"\n",
                NAME ":3: ", "'--remove-source-files'");
    parse_fails("backup:\n  rsync:\n    flags: \"\"\n", NAME ":3: ", "must not be empty");
    /* An allowlist: what is not a backup's business is refused by name. */
    parse_fails("backup:\n  rsync:\n    flags: \"-avh --log-file=x\"\n",
                NAME ":3: backup.rsync.flags: '--log-file=x' is not allowed (allowed: -a -v");
    parse_fails("backup:\n  rsync:\n    flags: \"-avhe\"\n",
                NAME ":3: backup.rsync.flags: '-e' is not allowed (in '-avhe')");
    /* Only deleting options are refused, not everything that starts alike. */
    _cleanup_config_ struct mct_config *cfg =
            parse_ok("backup:\n  rsync:\n    flags: \"-a --delay-updates\t--partial\"\n");
    ck_assert_str_eq(cfg->rsync_flags, "-a --delay-updates\t--partial");
}
END_TEST

START_TEST(test_list_elements)
{
    parse_fails("mount:\n  allow_uids: [1000, bob]\n", NAME ":2: ", "mount.allow_uids[1]", "'bob'");
    parse_fails("mount:\n  allow_gids: [4294967295]\n", NAME ":2: ", "mount.allow_gids[0]",
                "out of range");
    parse_fails("backup:\n  filters:\n    participant_prefixes: [\"p\", \"\"]\n",
                NAME ":3: ", "backup.filters.participant_prefixes[1]: must not be empty");
}
END_TEST

START_TEST(test_no_destinations)
{
    _cleanup_config_ struct mct_config *cfg = parse_ok("backup:\n  destinations: []\n");
    ck_assert_uint_eq(cfg->n_destinations, 0);
    ck_assert_str_eq(err, "");
}
END_TEST

/* DJ_* fill what the datajoint section leaves unset; its own keys win. */
START_TEST(test_env_fills_unset)
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

START_TEST(test_env_empty_is_unset)
{
    setenv("DJ_HOST", "", 1);
    _cleanup_config_ struct mct_config *cfg = parse_ok("datajoint:\n  host: h\n");
    ck_assert_str_eq(cfg->datajoint.host, "h");
    clean_env();
}
END_TEST

START_TEST(test_env_bad_port)
{
    static const char *const bad[] = {"abc", "0", "65536", "-1", "33o6", " 3306"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        setenv("DJ_PORT", bad[i], 1);
        parse_fails("datajoint: {}\n", NAME, "DJ_PORT", bad[i]);
    }
    clean_env();
}
END_TEST

START_TEST(test_password_file)
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

START_TEST(test_password_file_unreadable)
{
    parse_fails("datajoint:\n  user: u\n  password_file: /nonexistent/mctfs-pw\n",
                NAME ":3: ", "datajoint.password_file", "'/nonexistent/mctfs-pw'");
}
END_TEST

START_TEST(test_password_and_password_file)
{
    parse_fails("datajoint:\n  password: x\n  password_file: /etc/hostname\n",
                NAME ":3: ", "password", "password_file", "not both");
}
END_TEST

START_TEST(test_load_file)
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

START_TEST(test_find_explicit)
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

START_TEST(test_find_explicit_missing_does_not_fall_through)
{
    char *p = NULL;
    write_file("backup_config.yaml", "backup:\n");
    ck_assert_int_eq(mct_config_find("missing.yaml", &p, err, sizeof(err)), -ENOENT);
    ck_assert_ptr_null(p);
    ck_assert_ptr_nonnull(strstr(err, "missing.yaml"));
    ck_assert_ptr_nonnull(strstr(err, "-c"));
}
END_TEST

START_TEST(test_find_env)
{
    _cleanup_free_ char *p = NULL;
    write_file("other.yaml", "backup:\n");
    write_file("backup_config.yaml", "backup:\n");
    setenv("MCTFS_CONFIG", "other.yaml", 1);
    ck_assert_int_eq(mct_config_find(NULL, &p, err, sizeof(err)), 0);
    ck_assert_str_eq(p, "other.yaml");
}
END_TEST

START_TEST(test_find_env_missing_does_not_fall_through)
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

START_TEST(test_find_local)
{
    _cleanup_free_ char *p = NULL;
    write_file("backup_config.yaml", "backup:\n");
    ck_assert_int_eq(mct_config_find(NULL, &p, err, sizeof(err)), 0);
    ck_assert_str_eq(p, "./backup_config.yaml");
}
END_TEST

START_TEST(test_find_none)
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
START_TEST(test_find_directory)
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

START_TEST(test_example_config)
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
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_destination_defaults);
    tcase_add_test(tc, test_every_key);
    tcase_add_test(tc, test_recording_db_follows_source);
    tcase_add_test(tc, test_paths_normalised);
    tcase_add_test(tc, test_null_optional_strings_and_lists);
    tcase_add_test(tc, test_bool_spellings);
    tcase_add_test(tc, test_no_destinations);
    tcase_add_test(tc, test_verify_method);
    tcase_add_test(tc, test_example_config);
    tcase_add_test(tc, test_load_file);
    suite_add_tcase(s, tc);

    TCase *te = tcase_create("errors");
    tcase_add_checked_fixture(te, clean_env, clean_env);
    tcase_add_test(te, test_bad_bool);
    tcase_add_test(te, test_syntax_error);
    tcase_add_test(te, test_unknown_keys);
    tcase_add_test(te, test_bad_integers);
    tcase_add_test(te, test_out_of_range);
    tcase_add_test(te, test_mapping_for_scalar);
    tcase_add_test(te, test_scalar_for_mapping);
    tcase_add_test(te, test_duplicate_keys);
    tcase_add_test(te, test_bad_templates);
    tcase_add_test(te, test_bad_paths);
    tcase_add_test(te, test_source_destination_overlap);
    tcase_add_test(te, test_empty_document);
    tcase_add_test(te, test_top_level_not_mapping);
    tcase_add_test(te, test_multiple_documents);
    tcase_add_test(te, test_missing_required_destination_keys);
    tcase_add_test(te, test_duplicate_destination_names);
    tcase_add_test(te, test_base_path_outside_mount_point);
    tcase_add_test(te, test_schema_identifiers);
    tcase_add_test(te, test_rsync_flags);
    tcase_add_test(te, test_list_elements);
    suite_add_tcase(s, te);

    TCase *tv = tcase_create("env");
    tcase_add_checked_fixture(tv, clean_env, clean_env);
    tcase_add_test(tv, test_env_fills_unset);
    tcase_add_test(tv, test_env_empty_is_unset);
    tcase_add_test(tv, test_env_bad_port);
    tcase_add_test(tv, test_password_file);
    tcase_add_test(tv, test_password_file_unreadable);
    tcase_add_test(tv, test_password_and_password_file);
    suite_add_tcase(s, tv);

    TCase *tf = tcase_create("find");
    tcase_add_checked_fixture(tf, find_setup, find_teardown);
    tcase_add_test(tf, test_find_explicit);
    tcase_add_test(tf, test_find_explicit_missing_does_not_fall_through);
    tcase_add_test(tf, test_find_env);
    tcase_add_test(tf, test_find_env_missing_does_not_fall_through);
    tcase_add_test(tf, test_find_local);
    tcase_add_test(tf, test_find_none);
    tcase_add_test(tf, test_find_directory);
    suite_add_tcase(s, tf);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(config_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
