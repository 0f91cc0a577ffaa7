/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * datajoint.tls against real servers: the lab's MariaDB started with a CA
 * and server certificate made by openssl for this run and
 * require_secure_transport=ON (lab.sh up --tls, reached over TCP on
 * 127.0.0.1), and a plain lab without TLS. Every mode against both; what
 * cannot be secured as asked is UNKNOWN with the reason, never a plain
 * connection. The password never shows in what mctctl prints.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "datajoint.h"
#include "kit.h"
#include "session.h"
#include "util.h"

/* The TLS lab is the kit's lab; plain has no TLS. */
static struct kit_lab plain;

#define PASSWORD "djpass"

static void setup(void)
{
    unsetenv("DJ_HOST");
    unsetenv("DJ_PORT");
    unsetenv("DJ_USER");
    unsetenv("DJ_PASS");
    kit_lab_up_tls(&lab);
    kit_lab_up(&plain);
    ck_assert_int_eq(kit_lab_sh(&lab, "session p001 20250104 --imported --dj --copy"), 0);
    ck_assert_int_eq(kit_lab_sh(&plain, "session p001 20250104 --imported --dj --copy"), 0);
}

static void teardown(void)
{
    kit_lab_down(&plain);
    kit_lab_down(&lab);
}

static void set(char **field, const char *value)
{
    free(*field);
    *field = value ? strdup(value) : NULL;
}

/* The lab's config with datajoint.tls (and ca_file, NULL: none) replaced. */
static struct mct_config *config(const struct kit_lab *l, enum mct_dj_tls tls, const char *ca_name)
{
    struct mct_config *cfg = NULL;
    char err[512] = "", ca[400];
    ck_assert_msg(mct_config_load(l->config, &cfg, err, sizeof(err)) == 0, "%s", err);
    cfg->datajoint.tls = tls;
    snprintf(ca, sizeof(ca), "%s/tls/%s", l->dir, ca_name ? ca_name : "");
    set(&cfg->datajoint.ca_file, ca_name ? ca : NULL);
    return cfg;
}

static struct mct_dj_status check(const struct mct_config *cfg)
{
    struct mct_session_ref ref;
    struct mct_dj_status st;
    char err[128];
    ck_assert_int_eq(mct_session_ref_init(&ref, "p001", "20250104", err, sizeof(err)), 0);
    mct_dj_check_sessions(cfg, &ref, 1, &st);
    /* What the closing note of the change shows: mode, server, outcome. */
    printf("tls=%-9s ca=%-12s -> %s%s%s\n", mct_dj_tls_names[cfg->datajoint.tls],
           cfg->datajoint.ca_file ? strrchr(cfg->datajoint.ca_file, '/') + 1 : "-",
           st.state == MCT_YES  ? "imported"
           : st.state == MCT_NO ? "no"
                                : "unknown",
           st.reason[0] ? ": " : "", st.reason);
    return st;
}

static long tls_handshakes(const struct kit_lab *l)
{
    /* --skip-ssl: the client would count itself. */
    char *argv[] = {"mariadb",
                    "--no-defaults",
                    "--skip-ssl",
                    "-S",
                    (char *)l->socket,
                    "-uroot",
                    "-N",
                    "-B",
                    "-e",
                    "SHOW GLOBAL STATUS LIKE 'Ssl_finished_accepts'",
                    NULL};
    struct kit_result r;
    ck_assert_int_eq(kit_run(argv, NULL, &r), 0);
    long n = strtol(strchr(r.out, '\t') + 1, NULL, 10);
    kit_result_free(&r);
    return n;
}

static void assert_yes(const struct mct_config *cfg)
{
    struct mct_dj_status st = check(cfg);
    ck_assert_msg(st.state == MCT_YES, "not imported: %s", st.reason);
}

static void assert_unknown(const struct mct_config *cfg, const char *why1, const char *why2)
{
    struct mct_dj_status st = check(cfg);
    ck_assert_msg(st.state == MCT_UNKNOWN, "state %d, reason %s", st.state, st.reason);
    kit_assert_has(st.reason, why1);
    kit_assert_has(st.reason, why2);
}

START_TEST(verify_with_the_right_ca_uses_tls)
{
    _cleanup_config_ struct mct_config *cfg = config(&lab, MCT_DJ_TLS_VERIFY, "ca.pem");
    long before = tls_handshakes(&lab);
    assert_yes(cfg);
    ck_assert_int_gt(tls_handshakes(&lab), before);
}
END_TEST

START_TEST(verify_with_a_wrong_ca_is_unknown)
{
    _cleanup_config_ struct mct_config *cfg = config(&lab, MCT_DJ_TLS_VERIFY, "wrong-ca.pem");
    assert_unknown(cfg, "TLS/SSL error", "datajoint.tls is verify, against ");
    kit_assert_has(check(cfg).reason, "wrong-ca.pem");
    /* The system's CAs do not know the lab's either. */
    _cleanup_config_ struct mct_config *sys = config(&lab, MCT_DJ_TLS_VERIFY, NULL);
    assert_unknown(sys, "TLS/SSL error", "against the system's CAs");
}
END_TEST

START_TEST(off_against_a_tls_only_server_is_unknown)
{
    _cleanup_config_ struct mct_config *cfg = config(&lab, MCT_DJ_TLS_OFF, NULL);
    long before = tls_handshakes(&lab);
    assert_unknown(cfg, "Access denied", "datajoint.tls is off");
    ck_assert_int_eq(tls_handshakes(&lab), before);
}
END_TEST

START_TEST(required_and_preferred_use_tls_when_offered)
{
    for (enum mct_dj_tls t = MCT_DJ_TLS_PREFERRED; t <= MCT_DJ_TLS_REQUIRED; t++) {
        _cleanup_config_ struct mct_config *cfg = config(&lab, t, NULL);
        long before = tls_handshakes(&lab);
        assert_yes(cfg);
        ck_assert_int_gt(tls_handshakes(&lab), before);
    }
}
END_TEST

/* The client library would go on in plain text here: required must not. */
START_TEST(required_against_a_server_without_tls_is_unknown)
{
    _cleanup_config_ struct mct_config *cfg = config(&plain, MCT_DJ_TLS_REQUIRED, NULL);
    assert_unknown(cfg, "not encrypted (the server offers no TLS)", "datajoint.tls is required");
    _cleanup_config_ struct mct_config *v = config(&plain, MCT_DJ_TLS_VERIFY, NULL);
    set(&v->datajoint.ca_file, NULL);
    assert_unknown(v, "SSL is required, but the server does not support it", "verify");
    /* preferred and off: plain is what was asked for. */
    _cleanup_config_ struct mct_config *p = config(&plain, MCT_DJ_TLS_PREFERRED, NULL);
    assert_yes(p);
    _cleanup_config_ struct mct_config *o = config(&plain, MCT_DJ_TLS_OFF, NULL);
    assert_yes(o);
}
END_TEST

static const char *lab_port(void)
{
    static char port[16];
    char path[400];
    snprintf(path, sizeof(path), "%s/tls/port", lab.dir);
    _cleanup_free_ char *text = kit_slurp(path, NULL);
    ck_assert_ptr_nonnull(text);
    snprintf(port, sizeof(port), "%.*s", (int)strcspn(text, "\n"), text);
    return port;
}

/* The TLS lab's config with host, port, user and password taken out and
 * datajoint.config_file naming a DataJoint file that holds them. */
static const char *djfile_config(const char *name, const char *tls_from, const char *tls_to)
{
    char dj[400], text[512], from[160], to[480];
    snprintf(dj, sizeof(dj), "%s/dj_local_conf.json", lab.dir);
    snprintf(text, sizeof(text),
             "{\n    \"database.host\": \"127.0.0.1:%s\",\n    \"database.user\": \"dj\",\n"
             "    \"database.password\": \"" PASSWORD "\",\n    \"database.use_tls\": true\n}\n",
             lab_port());
    kit_write_file(dj, text);
    ck_assert_int_eq(chmod(dj, 0600), 0);
    snprintf(from, sizeof(from),
             "  host: \"127.0.0.1\"\n  port: %s\n  user: \"dj\"\n  password: \"" PASSWORD "\"\n%s",
             lab_port(), tls_from);
    snprintf(to, sizeof(to), "  config_file: \"%s\"\n%s", dj, tls_to);
    const char *path = kit_config_variant(name, from, to, NULL);
    ck_assert_int_eq(chmod(path, 0600), 0);
    return path;
}

/* Every mctctl command that reaches the database or shows the config,
 * verbose: none of their output holds the password. */
static void assert_password_never_shown(const char *cfg, const char *what)
{
    static const char *const cmds[][4] = {
            {"config", NULL},
            {"-v", "-v", "status", "p001"},
            {"status", "p001", "20250104", NULL},
            {"--json", "status", "p001", "20250104"},
            {"-v", "-v", "status-range", NULL},
            {"--json", "status-range", NULL},
            {"verify", "p001", "20250104", NULL},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
        struct kit_result r = {};
        kit_mctctl(cfg, NULL, &r, cmds[i][0], cmds[i][1], cmds[i][2], cmds[i][3], NULL);
        ck_assert_msg(!strstr(r.out, PASSWORD) && !strstr(r.err, PASSWORD),
                      "%s: mctctl %s shows the password:\n%s%s", what, cmds[i][0], r.out, r.err);
        kit_result_free(&r);
    }
}

/* DataJoint's own file names the server and the account; the config says
 * to verify. use_tls: true alone would be required. */
START_TEST(a_dj_file_with_verify_is_honoured)
{
    const char *cfg = djfile_config("djfile", "", "");
    struct kit_result r = {};
    ck_assert_int_eq(kit_mctctl(cfg, NULL, &r, "status", "p001", "20250104", NULL), 0);
    kit_assert_has(r.out, "Safe to delete: YES");
    kit_result_free(&r);

    ck_assert_int_eq(kit_mctctl(cfg, NULL, &r, "config", NULL), 0);
    kit_assert_has(r.out, "datajoint.password                     ********");
    kit_assert_has(r.out, "dj_local_conf.json:4 (datajoint.config_file)");
    kit_assert_has(r.out, "datajoint.tls                          verify");
    printf("%s", r.out);
    kit_result_free(&r);
    assert_password_never_shown(cfg, "DataJoint file, verify");

    const char *req = djfile_config("djfile-required", "  tls: verify\n  ca_file:", "  # ca_file:");
    ck_assert_int_eq(kit_mctctl(req, NULL, &r, "config", NULL), 0);
    kit_assert_has(r.out, "datajoint.tls                          required");
    kit_assert_has(r.out, "dj_local_conf.json:5 (datajoint.config_file)");
    kit_result_free(&r);
}
END_TEST

/* Failures quote the server's and the library's words, never the password:
 * a wrong CA, TLS off, and the password from DJ_PASS. */
START_TEST(the_password_is_never_shown)
{
    assert_password_never_shown(lab.config, "verify");
    assert_password_never_shown(
            kit_config_variant("wrong-ca", "/tls/ca.pem", "/tls/wrong-ca.pem", NULL), "wrong CA");
    char from[80];
    snprintf(from, sizeof(from), "  tls: verify\n  ca_file:");
    assert_password_never_shown(kit_config_variant("off", from, "  tls: off\n  # ca_file:", NULL),
                                "off");
    const char *env = kit_config_variant("env", "  password: \"" PASSWORD "\"\n", "", NULL);
    setenv("DJ_PASS", PASSWORD, 1);
    struct kit_result r = {};
    ck_assert_int_eq(kit_mctctl(env, NULL, &r, "config", NULL), 0);
    kit_assert_has(r.out, "********");
    kit_assert_has(r.out, "# $DJ_PASS");
    kit_result_free(&r);
    assert_password_never_shown(env, "DJ_PASS");
    /* A deletion checked over TLS: its log line neither. */
    ck_assert_int_eq(kit_lab_sh(&lab, "session p002 20250104 --imported --dj --copy"), 0);
    ck_assert_int_eq(kit_mctctl(env, "DELETE\n", &r, "delete", "p002", "20250104", NULL), 0);
    kit_assert_lacks(r.out, PASSWORD);
    kit_assert_lacks(r.err, PASSWORD);
    kit_result_free(&r);
    unsetenv("DJ_PASS");
    char log[400];
    snprintf(log, sizeof(log), "%s/deletions.log", lab.dir);
    _cleanup_free_ char *text = kit_slurp(log, NULL);
    ck_assert_ptr_nonnull(text);
    kit_assert_has(text, "p002");
    kit_assert_lacks(text, PASSWORD);
}
END_TEST

/* A server whose TLS the client cannot speak (TLS 1.0 only): preferred
 * goes on in plain text, as DataJoint does; required does not. Last: it
 * restarts the server. */
START_TEST(a_failed_handshake_goes_plain_only_when_preferred)
{
    ck_assert_int_eq(kit_lab_sh(&lab, "db-stop"), 0);
    ck_assert_int_eq(
            kit_lab_sh(&lab, "db-start --tls-version=TLSv1.0 --require-secure-transport=OFF"), 0);
    _cleanup_config_ struct mct_config *p = config(&lab, MCT_DJ_TLS_PREFERRED, NULL);
    assert_yes(p);
    _cleanup_config_ struct mct_config *r = config(&lab, MCT_DJ_TLS_REQUIRED, NULL);
    assert_unknown(r, "TLS/SSL error", "127.0.0.1");
    ck_assert_int_eq(kit_lab_sh(&lab, "db-stop"), 0);
    ck_assert_int_eq(kit_lab_sh(&lab, "db-start"), 0);
}
END_TEST

static Suite *tls_suite(void)
{
    Suite *s = suite_create("datajoint_tls");
    TCase *tc = tcase_create("lab");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, verify_with_the_right_ca_uses_tls);
    tcase_add_test(tc, verify_with_a_wrong_ca_is_unknown);
    tcase_add_test(tc, off_against_a_tls_only_server_is_unknown);
    tcase_add_test(tc, required_and_preferred_use_tls_when_offered);
    tcase_add_test(tc, required_against_a_server_without_tls_is_unknown);
    tcase_add_test(tc, a_dj_file_with_verify_is_honoured);
    tcase_add_test(tc, the_password_is_never_shown);
    tcase_add_test(tc, a_failed_handshake_goes_plain_only_when_preferred);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return kit_run_suite(tls_suite());
}
