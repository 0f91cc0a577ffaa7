/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The DataJoint connection settings: datajoint.tls and its files, the
 * precedence config key > DJ_* > datajoint.config_file > default, reading
 * DataJoint's JSON file, and mct_config_show() (what mctctl config prints)
 * never showing the password.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "unit.h"
#include "util.h"

#define NAME "t.yaml"

static char err[1024];
static char dir[64], djfile[128];

static void setup(void)
{
    unsetenv("DJ_HOST");
    unsetenv("DJ_PORT");
    unsetenv("DJ_USER");
    unsetenv("DJ_PASS");
    snprintf(dir, sizeof(dir), "/tmp/test_config_dj.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(djfile, sizeof(djfile), "%s/dj_local_conf.json", dir);
}

static void teardown(void)
{
    char yaml[160];
    snprintf(yaml, sizeof(yaml), "%s/c.yaml", dir);
    unlink(yaml);
    unlink(djfile);
    rmdir(dir);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    ck_assert_msg(f, "cannot create %s", path);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(chmod(path, mode), 0);
}

static struct mct_config *parse_ok(const char *yaml)
{
    struct mct_config *cfg = NULL;
    err[0] = '\0';
    int r = mct_config_parse_string(NAME, yaml, &cfg, err, sizeof(err));
    ck_assert_msg(r == 0, "parse failed (%d): %s\n---\n%s", r, err, yaml);
    return cfg;
}

static void parse_fails(const char *yaml, const char *want1, const char *want2)
{
    struct mct_config *cfg = NULL;
    err[0] = '\0';
    int r = mct_config_parse_string(NAME, yaml, &cfg, err, sizeof(err));
    ck_assert_msg(r < 0, "expected an error for\n%s", yaml);
    ck_assert_ptr_null(cfg);
    ck_assert_msg(strstr(err, want1), "message '%s' lacks '%s'", err, want1);
    ck_assert_msg(!want2 || strstr(err, want2), "message '%s' lacks '%s'", err, want2);
}

/* The datajoint section naming the DataJoint file, plus extra lines. */
static struct mct_config *with_djfile(const char *json, const char *extra)
{
    char yaml[512];
    write_file(djfile, json, 0600);
    snprintf(yaml, sizeof(yaml), "datajoint:\n  config_file: %s\n%s", djfile, extra);
    return parse_ok(yaml);
}

static enum mct_origin origin(const struct mct_config *cfg, const char *key)
{
    const struct mct_config_origin *o = mct_config_origin_of(cfg, key);
    return o ? o->kind : MCT_ORIGIN_DEFAULT;
}

START_TEST(tls_is_off_preferred_required_or_verify_and_preferred_by_default)
{
    static const char *const names[] = {"off", "preferred", "required", "verify"};
    _cleanup_config_ struct mct_config *def = parse_ok("datajoint: {}\n");
    ck_assert_int_eq(def->datajoint.tls, MCT_DJ_TLS_PREFERRED);
    for (int i = 0; i < 4; i++) {
        char yaml[64];
        snprintf(yaml, sizeof(yaml), "datajoint:\n  tls: %s\n", names[i]);
        _cleanup_config_ struct mct_config *cfg = parse_ok(yaml);
        ck_assert_int_eq(cfg->datajoint.tls, i);
        ck_assert_str_eq(mct_dj_tls_names[i], names[i]);
    }
    parse_fails("datajoint:\n  tls: yes please\n", NAME ":2: datajoint.tls",
                "expected 'off', 'preferred', 'required' or 'verify', got 'yes please'");
}
END_TEST

START_TEST(tls_files_are_read_and_a_ca_file_without_verify_is_refused)
{
    _cleanup_config_ struct mct_config *cfg =
            parse_ok("datajoint:\n  tls: verify\n  ca_file: /etc/ca.pem\n"
                     "  cert_file: /etc/c.pem\n  key_file: /etc/k.pem\n");
    ck_assert_str_eq(cfg->datajoint.ca_file, "/etc/ca.pem");
    ck_assert_str_eq(cfg->datajoint.cert_file, "/etc/c.pem");
    ck_assert_str_eq(cfg->datajoint.key_file, "/etc/k.pem");
    /* A CA that would not be used must not look like verification. */
    parse_fails("datajoint:\n  tls: required\n  ca_file: /etc/ca.pem\n",
                NAME ":3: datajoint.ca_file: only used with tls: verify", "tls is required");
    parse_fails("datajoint:\n  ca_file: /etc/ca.pem\n", NAME ":2: ", "tls is preferred");
    parse_fails("datajoint:\n  tls: verify\n  cert_file: /etc/c.pem\n",
                NAME ":3: ", "both cert_file and key_file");
    parse_fails("datajoint:\n  tls: off\n  cert_file: /c\n  key_file: /k\n",
                NAME ":3: ", "needs TLS (tls is off)");
    parse_fails("datajoint:\n  tls: verify\n  ca_file: ca.pem\n",
                NAME ":3: ", "not an absolute path");
}
END_TEST

START_TEST(a_datajoint_file_with_dotted_keys_gives_host_port_user_password_and_tls)
{
    _cleanup_config_ struct mct_config *cfg =
            with_djfile("{\n    \"database.host\": \"db.lab.example:3307\",\n"
                        "    \"database.password\": \"s3cret\",\n"
                        "    \"database.user\": \"alice\",\n"
                        "    \"database.use_tls\": true,\n"
                        "    \"loglevel\": \"INFO\",\n"
                        "    \"stores\": {\"raw\": {\"protocol\": \"file\"}}\n}\n",
                        "");
    ck_assert_str_eq(cfg->datajoint.host, "db.lab.example");
    ck_assert_uint_eq(cfg->datajoint.port, 3307);
    ck_assert_str_eq(cfg->datajoint.user, "alice");
    ck_assert_str_eq(cfg->datajoint.password, "s3cret");
    ck_assert_int_eq(cfg->datajoint.tls, MCT_DJ_TLS_REQUIRED);
    const char *keys[] = {"datajoint.host", "datajoint.port", "datajoint.user",
                          "datajoint.password", "datajoint.tls"};
    const size_t lines[] = {2, 2, 4, 3, 5};
    for (size_t i = 0; i < 5; i++) {
        const struct mct_config_origin *o = mct_config_origin_of(cfg, keys[i]);
        ck_assert_msg(o && o->kind == MCT_ORIGIN_DJ_FILE, "%s not from the file", keys[i]);
        ck_assert_uint_eq(o->line, lines[i]);
    }
}
END_TEST

START_TEST(a_datajoint_file_with_nested_keys_is_read_and_use_tls_null_is_preferred)
{
    _cleanup_config_ struct mct_config *cfg = with_djfile(
            "{\"database\": {\"host\": \"h\", \"port\": 3310, \"use_tls\": false}}", "");
    ck_assert_str_eq(cfg->datajoint.host, "h");
    ck_assert_uint_eq(cfg->datajoint.port, 3310);
    ck_assert_int_eq(cfg->datajoint.tls, MCT_DJ_TLS_OFF);
    /* null is DataJoint's default: TLS when offered. */
    _cleanup_config_ struct mct_config *cfg2 =
            with_djfile("{\"database.use_tls\": null, \"database.port\": \"3311\"}", "");
    ck_assert_int_eq(cfg2->datajoint.tls, MCT_DJ_TLS_PREFERRED);
    ck_assert_int_eq(origin(cfg2, "datajoint.tls"), MCT_ORIGIN_DEFAULT);
    ck_assert_uint_eq(cfg2->datajoint.port, 3311);
}
END_TEST

/* Config key, then DJ_*, then the DataJoint file, then the default. */
START_TEST(a_config_key_wins_over_dj_variables_over_the_datajoint_file_over_the_default)
{
    static const char json[] = "{\"database.host\": \"filehost\", \"database.user\": \"fileuser\","
                               " \"database.password\": \"filepw\", \"database.port\": 3000,"
                               " \"database.use_tls\": false}";
    setenv("DJ_HOST", "envhost", 1);
    setenv("DJ_PASS", "envpw", 1);
    _cleanup_config_ struct mct_config *cfg = with_djfile(json, "  host: cfghost\n  tls: verify\n");
    ck_assert_str_eq(cfg->datajoint.host, "cfghost");
    ck_assert_int_eq(origin(cfg, "datajoint.host"), MCT_ORIGIN_CONFIG);
    ck_assert_str_eq(cfg->datajoint.password, "envpw");
    ck_assert_int_eq(origin(cfg, "datajoint.password"), MCT_ORIGIN_ENV);
    ck_assert_str_eq(mct_config_origin_of(cfg, "datajoint.password")->var, "DJ_PASS");
    ck_assert_str_eq(cfg->datajoint.user, "fileuser");
    ck_assert_int_eq(origin(cfg, "datajoint.user"), MCT_ORIGIN_DJ_FILE);
    ck_assert_uint_eq(cfg->datajoint.port, 3000);
    ck_assert_int_eq(cfg->datajoint.tls, MCT_DJ_TLS_VERIFY);

    unsetenv("DJ_HOST");
    _cleanup_config_ struct mct_config *cfg2 = with_djfile(json, "");
    ck_assert_str_eq(cfg2->datajoint.host, "filehost");
    ck_assert_int_eq(cfg2->datajoint.tls, MCT_DJ_TLS_OFF);

    unsetenv("DJ_PASS");
    _cleanup_config_ struct mct_config *cfg3 = with_djfile("{}", "");
    ck_assert_str_eq(cfg3->datajoint.host, "localhost");
    ck_assert_uint_eq(cfg3->datajoint.port, 3306);
    ck_assert_ptr_null(cfg3->datajoint.password);
    ck_assert_int_eq(origin(cfg3, "datajoint.host"), MCT_ORIGIN_DEFAULT);
}
END_TEST

START_TEST(a_datajoint_file_missing_or_malformed_is_refused_naming_it)
{
    char yaml[256];
    snprintf(yaml, sizeof(yaml), "datajoint:\n  config_file: %s/missing.json\n", dir);
    parse_fails(yaml, NAME ":2: datajoint.config_file: cannot read", "missing.json");

    write_file(djfile, "[1, 2]", 0600);
    snprintf(yaml, sizeof(yaml), "datajoint:\n  config_file: %s\n", djfile);
    parse_fails(yaml, djfile, "expected a JSON object");
    write_file(djfile, "{\"database.port\": \"x\"}", 0600);
    parse_fails(yaml, djfile, "database.port: expected a port");
    write_file(djfile, "{\"database.host\": 12}", 0600);
    parse_fails(yaml, "database.host: expected a string", NULL);
    write_file(djfile, "{\n\"database.use_tls\": {\"ssl\": {\"ca\": \"/x\"}}}", 0600);
    parse_fails(yaml, ":2: database.use_tls", "datajoint.tls");
    write_file(djfile, "{\"database.host\": \"h\"", 0600);
    parse_fails(yaml, "not valid JSON", NULL);
}
END_TEST

/* The DataJoint file decides where the checks go: as trusted as the config. */
START_TEST(a_datajoint_file_others_could_write_is_refused_as_the_config_would_be)
{
    char path[160], yaml[256];
    struct mct_config *cfg = NULL;
    snprintf(path, sizeof(path), "%s/c.yaml", dir);
    snprintf(yaml, sizeof(yaml), "datajoint:\n  config_file: %s\n", djfile);
    write_file(path, yaml, 0600);
    write_file(djfile, "{\"database.host\": \"h\"}", 0666);
    ck_assert_int_eq(mct_config_load(path, &cfg, err, sizeof(err)), -EPERM);
    ck_assert_msg(strstr(err, "DataJoint config file") && strstr(err, djfile), "%s", err);
    ck_assert_int_eq(chmod(djfile, 0600), 0);
    ck_assert_int_eq(mct_config_load(path, &cfg, err, sizeof(err)), 0);
    ck_assert_str_eq(cfg->datajoint.host, "h");
    mct_config_free(cfg);
}
END_TEST

struct shown {
    char text[8192];
    char password_row[256];
};

static void collect(void *ud, const char *key, const char *value, const char *from)
{
    struct shown *s = ud;
    size_t n = strlen(s->text);
    snprintf(s->text + n, sizeof(s->text) - n, "%s=%s #%s\n", key, value, from);
    if (streq(key, "datajoint.password"))
        snprintf(s->password_row, sizeof(s->password_row), "%s #%s", value, from);
}

START_TEST(config_show_names_each_values_origin_and_never_the_password)
{
    struct shown s = {0};
    setenv("DJ_USER", "envuser", 1);
    _cleanup_config_ struct mct_config *cfg =
            with_djfile("{\"database.password\": \"hunter2-secret\"}",
                        "  tls: verify\n  ca_file: /etc/mctfs/ca.pem\n");
    ck_assert_int_eq(mct_config_show(cfg, collect, &s), 0);
    char want[256];
    ck_assert_msg(!strstr(s.text, "hunter2-secret"), "password shown:\n%s", s.text);
    snprintf(want, sizeof(want), "******** #%s:1 (datajoint.config_file)", djfile);
    ck_assert_str_eq(s.password_row, want);
    const char *rows[] = {"datajoint.user=\"envuser\" #$DJ_USER\n",
                          "datajoint.tls=verify #" NAME ":3\n",
                          "datajoint.ca_file=\"/etc/mctfs/ca.pem\" #" NAME ":4\n",
                          "datajoint.port=3306 #default\n",
                          "backup.rsync.flags=\"-avh\" #default\n",
                          "mount.allow_uids=[] #default\n"};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        ck_assert_msg(strstr(s.text, rows[i]), "no row %s in\n%s", rows[i], s.text);
}
END_TEST

Suite *config_dj_suite(void);
Suite *config_dj_suite(void)
{
    Suite *s = suite_create("config_datajoint");
    TCase *tc = tcase_create("datajoint");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, tls_is_off_preferred_required_or_verify_and_preferred_by_default);
    tcase_add_test(tc, tls_files_are_read_and_a_ca_file_without_verify_is_refused);
    tcase_add_test(tc, a_datajoint_file_with_dotted_keys_gives_host_port_user_password_and_tls);
    tcase_add_test(tc, a_datajoint_file_with_nested_keys_is_read_and_use_tls_null_is_preferred);
    tcase_add_test(tc,
                   a_config_key_wins_over_dj_variables_over_the_datajoint_file_over_the_default);
    tcase_add_test(tc, a_datajoint_file_missing_or_malformed_is_refused_naming_it);
    tcase_add_test(tc, a_datajoint_file_others_could_write_is_refused_as_the_config_would_be);
    tcase_add_test(tc, config_show_names_each_values_origin_and_never_the_password);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(config_dj_suite());
}
