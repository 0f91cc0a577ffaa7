/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * backup_config.yaml parser on arbitrary bytes. Besides not crashing or
 * leaking: a config that loads holds only normalised absolute paths and
 * valid templates; a config that does not load leaves *ret alone and says
 * why, naming the file; the same text always gives the same answer.
 */
#include <errno.h>
#include <stdbool.h>

#include "config.h"
#include "fuzz.h"
#include "session.h"

#define NAME "fuzz.yaml"

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    /* The DJ_* overrides would make the answer depend on the environment. */
    unsetenv("DJ_HOST");
    unsetenv("DJ_USER");
    unsetenv("DJ_PASS");
    unsetenv("DJ_PORT");
    return 0;
}

/* Absolute, no empty, "." or ".." components, no trailing '/' (but "/"). */
static bool normalised_path(const char *p)
{
    if (!p || p[0] != '/')
        return false;
    if (p[1] == '\0')
        return true;
    for (const char *s = p + 1;;) {
        size_t n = strcspn(s, "/");
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return false;
        if (s[n] == '\0')
            return true;
        s += n + 1;
    }
}

static void check_loaded(const struct mct_config *cfg)
{
    FUZZ_ASSERT(cfg);
    FUZZ_ASSERT(cfg->path && strcmp(cfg->path, NAME) == 0);
    FUZZ_ASSERT(normalised_path(cfg->source_base_path));
    FUZZ_ASSERT(normalised_path(cfg->recording_db_path));
    FUZZ_ASSERT(normalised_path(cfg->deletion_log_path));
    FUZZ_ASSERT(mct_template_validate(cfg->source_path_structure, NULL, 0) == 0);
    FUZZ_ASSERT(cfg->rsync_flags);
    FUZZ_ASSERT(cfg->rsync_timeout_s >= 1);
    FUZZ_ASSERT(cfg->datajoint.port >= 1 && cfg->datajoint.port <= 65535);
    FUZZ_ASSERT(cfg->share_timeout_s >= 1 && cfg->database_timeout_s >= 1);
    FUZZ_ASSERT(cfg->n_destinations == 0 || cfg->destinations);
    for (size_t i = 0; i < cfg->n_destinations; i++) {
        const struct mct_destination *d = &cfg->destinations[i];
        FUZZ_ASSERT(d->name);
        FUZZ_ASSERT(normalised_path(d->mount_point));
        FUZZ_ASSERT(normalised_path(d->base_path));
        FUZZ_ASSERT(mct_template_validate(d->path_structure, NULL, 0) == 0);
    }
    FUZZ_ASSERT(mct_config_enabled_destinations(cfg) <= cfg->n_destinations);
    FUZZ_ASSERT(cfg->mount.n_allow_uids == 0 || cfg->mount.allow_uids);
    FUZZ_ASSERT(cfg->mount.n_allow_gids == 0 || cfg->mount.allow_gids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* mct_config_load refuses files over 1 MiB before parsing. */
    if (size > 64 * 1024)
        return 0;
    char *text = fuzz_strndup(data, size);
    if (!text)
        return 0;

    char err[512] = "", err2[512] = "";
    struct mct_config *cfg = NULL, *cfg2 = NULL;
    int r = mct_config_parse_string(NAME, text, &cfg, err, sizeof(err));
    if (r == 0) {
        check_loaded(cfg);
    } else {
        FUZZ_ASSERT(r < 0);
        FUZZ_ASSERT(!cfg);
        if (r == -EINVAL)
            FUZZ_ASSERT(strncmp(err, NAME ":", strlen(NAME ":")) == 0 &&
                        strlen(err) > strlen(NAME ":"));
    }

    /* Deterministic: no hidden state carried from one parse to the next. */
    int r2 = mct_config_parse_string(NAME, text, &cfg2, err2, sizeof(err2));
    FUZZ_ASSERT(r2 == r);
    FUZZ_ASSERT(strcmp(err, err2) == 0);
    FUZZ_ASSERT(!cfg == !cfg2);
    if (cfg)
        FUZZ_ASSERT(cfg->n_destinations == cfg2->n_destinations &&
                    strcmp(cfg->source_base_path, cfg2->source_base_path) == 0);

    /* A tiny message buffer truncates, never overflows. */
    char small[8] = "";
    struct mct_config *cfg3 = NULL;
    FUZZ_ASSERT(mct_config_parse_string(NAME, text, &cfg3, small, sizeof(small)) == r);
    FUZZ_ASSERT(r < 0 ? strlen(small) < sizeof(small) : cfg3 != NULL);

    mct_config_free(cfg);
    mct_config_free(cfg2);
    mct_config_free(cfg3);
    free(text);
    return 0;
}
