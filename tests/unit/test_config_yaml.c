/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading backup_config.yaml against its schema (fs/core/config_yaml.c):
 * value spellings, and every error with the file, line and key it names.
 */
#include <check.h>

#include "parse_config.h"
#include "unit.h"
#include "util.h"

START_TEST(paths_are_normalised)
{
    _cleanup_config_ struct mct_config *cfg =
            parse_ok("backup:\n  source:\n    base_path: //srv/./rig//\n");
    ck_assert_str_eq(cfg->source_base_path, "/srv/rig");
}
END_TEST

START_TEST(null_or_empty_optional_strings_and_lists_read_as_unset)
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

START_TEST(booleans_take_the_yaml_spellings_in_any_case)
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

START_TEST(verify_method_is_size_or_checksum)
{
    parse_fails("backup:\n  verification:\n    verify_method: sha256\n",
                NAME ":3: ", "backup.verification.verify_method", "'size' or 'checksum'",
                "'sha256'");
    _cleanup_config_ struct mct_config *cfg =
            parse_ok("backup:\n  verification:\n    verify_method: size\n");
    ck_assert_int_eq(cfg->verify_method, MCT_VERIFY_SIZE);
}
END_TEST

START_TEST(a_value_that_is_no_boolean_is_refused_with_its_key_and_line)
{
    parse_fails("backup:\n  verification:\n    verify_after_sync: maybe\n",
                NAME ":3: ", "backup.verification.verify_after_sync", "'maybe'");
    parse_fails("datajoint:\n  normalize_participant_ids: 1\n",
                NAME ":2: ", "datajoint.normalize_participant_ids", "'1'");
}
END_TEST

START_TEST(a_yaml_syntax_error_names_its_line)
{
    parse_fails("backup:\n  rsync:\n    flags: \"-avh\n", NAME ":4: ", "YAML syntax error",
                "quoted scalar", "starts at line 3");
    parse_fails("backup:\n  source: [a, b\n  filters: {}\n", NAME ":", "YAML syntax error");
    parse_fails("backup:\n  rsync:\n    flags: -avh\n   timeout: 5\n",
                NAME ":4: ", "YAML syntax error");
}
END_TEST

START_TEST(an_unknown_key_is_refused_with_its_line_and_section)
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

START_TEST(a_value_that_is_no_non_negative_integer_is_refused)
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

START_TEST(an_integer_out_of_its_range_is_refused)
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

START_TEST(a_mapping_or_list_where_a_value_belongs_is_refused)
{
    parse_fails("backup:\n  rsync:\n    flags:\n      a: b\n", NAME ":4: ", "backup.rsync.flags",
                "got a mapping");
    parse_fails("datajoint:\n  port: {a: 1}\n", NAME ":2: ", "datajoint.port", "got a mapping");
    parse_fails("backup:\n  filters:\n    participant_prefixes: [[p]]\n",
                NAME ":3: ", "backup.filters.participant_prefixes[0]", "got a list");
}
END_TEST

START_TEST(a_value_where_a_mapping_or_list_belongs_is_refused)
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

START_TEST(a_duplicate_key_is_refused)
{
    parse_fails("backup:\n  rsync:\n    timeout: 5\n    timeout: 6\n",
                NAME ":4: duplicate key 'timeout' in backup.rsync");
    parse_fails("datajoint: {}\nmount: {}\ndatajoint: {}\n",
                NAME ":3: duplicate key 'datajoint' in the top level");
}
END_TEST

START_TEST(an_invalid_path_template_is_refused)
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

START_TEST(a_relative_or_dot_dot_or_empty_path_is_refused)
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

START_TEST(a_destination_that_overlaps_the_source_is_refused)
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

START_TEST(an_empty_config_is_refused)
{
    parse_fails("", NAME ":1: empty configuration");
    parse_fails("# only a comment\n", "empty configuration");
}
END_TEST

START_TEST(a_top_level_that_is_no_mapping_is_refused)
{
    parse_fails("- backup\n", NAME ":1: the top level must be a mapping, got a list");
    parse_fails("backup\n", NAME ":1: the top level must be a mapping, got a scalar");
}
END_TEST

START_TEST(more_than_one_yaml_document_is_refused)
{
    parse_fails("backup: {}\n---\nbackup: {}\n", NAME ":3: ", "more than one YAML document");
}
END_TEST

START_TEST(a_destination_without_name_mount_point_or_base_path_is_refused)
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

START_TEST(two_destinations_of_one_name_are_refused)
{
    char yaml[512];
    snprintf(yaml, sizeof(yaml),
             "%s    - name: Share\n      mount_point: /mnt/other\n      base_path: /mnt/other\n",
             dest_ok);
    parse_fails(yaml, NAME ":6: ", "backup.destinations[1].name",
                "duplicate destination name 'Share'");
}
END_TEST

START_TEST(a_base_path_outside_its_mount_point_is_refused_unless_mounts_go_unchecked)
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

START_TEST(schema_names_must_be_plain_identifiers)
{
    parse_fails("datajoint:\n  sessions_schema: \"mocap`; DROP TABLE x\"\n",
                NAME ":2: ", "datajoint.sessions_schema", "plain identifier");
    parse_fails("datajoint:\n  tracking_schema: a.b\n", NAME ":2: ", "datajoint.tracking_schema");
}
END_TEST

START_TEST(rsync_flags_that_could_harm_are_refused_at_load)
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

START_TEST(a_bad_list_element_is_refused_with_its_index)
{
    parse_fails("mount:\n  allow_uids: [1000, bob]\n", NAME ":2: ", "mount.allow_uids[1]", "'bob'");
    parse_fails("mount:\n  allow_gids: [4294967295]\n", NAME ":2: ", "mount.allow_gids[0]",
                "out of range");
    parse_fails("backup:\n  filters:\n    participant_prefixes: [\"p\", \"\"]\n",
                NAME ":3: ", "backup.filters.participant_prefixes[1]: must not be empty");
}
END_TEST

static Suite *config_yaml_suite(void)
{
    Suite *s = suite_create("config_yaml");
    TCase *tc;
    tc = tcase_create("values");
    tcase_add_checked_fixture(tc, clean_env, clean_env);
    tcase_add_test(tc, paths_are_normalised);
    tcase_add_test(tc, null_or_empty_optional_strings_and_lists_read_as_unset);
    tcase_add_test(tc, booleans_take_the_yaml_spellings_in_any_case);
    tcase_add_test(tc, verify_method_is_size_or_checksum);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_checked_fixture(tc, clean_env, clean_env);
    tcase_add_test(tc, a_value_that_is_no_boolean_is_refused_with_its_key_and_line);
    tcase_add_test(tc, a_yaml_syntax_error_names_its_line);
    tcase_add_test(tc, an_unknown_key_is_refused_with_its_line_and_section);
    tcase_add_test(tc, a_value_that_is_no_non_negative_integer_is_refused);
    tcase_add_test(tc, an_integer_out_of_its_range_is_refused);
    tcase_add_test(tc, a_mapping_or_list_where_a_value_belongs_is_refused);
    tcase_add_test(tc, a_value_where_a_mapping_or_list_belongs_is_refused);
    tcase_add_test(tc, a_duplicate_key_is_refused);
    tcase_add_test(tc, an_invalid_path_template_is_refused);
    tcase_add_test(tc, a_relative_or_dot_dot_or_empty_path_is_refused);
    tcase_add_test(tc, a_destination_that_overlaps_the_source_is_refused);
    tcase_add_test(tc, an_empty_config_is_refused);
    tcase_add_test(tc, a_top_level_that_is_no_mapping_is_refused);
    tcase_add_test(tc, more_than_one_yaml_document_is_refused);
    tcase_add_test(tc, a_destination_without_name_mount_point_or_base_path_is_refused);
    tcase_add_test(tc, two_destinations_of_one_name_are_refused);
    tcase_add_test(tc, a_base_path_outside_its_mount_point_is_refused_unless_mounts_go_unchecked);
    tcase_add_test(tc, schema_names_must_be_plain_identifiers);
    tcase_add_test(tc, rsync_flags_that_could_harm_are_refused_at_load);
    tcase_add_test(tc, a_bad_list_element_is_refused_with_its_index);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(config_yaml_suite());
}
