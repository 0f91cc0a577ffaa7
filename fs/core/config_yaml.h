/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private to config.c (which owns the schema: what keys exist and where
 * they go) and config_yaml.c (which walks a YAML document against it).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

enum mct_key_kind {
    K_SECTION,  /* a mapping described by sub */
    K_DESTS,    /* backup.destinations: a list of mappings described by sub */
    K_STR,      /* non-empty string */
    K_OPTSTR,   /* string; null leaves it unset */
    K_PATH,     /* absolute path without "..", stored normalised */
    K_OPTPATH,  /* the same; null leaves it unset */
    K_TEMPLATE, /* path template, mct_template_validate() */
    K_IDENT,    /* SQL identifier: it is interpolated into queries */
    K_FLAGS,    /* rsync flags */
    K_BOOL,
    K_UINT,   /* unsigned, min..max */
    K_STRV,   /* list of non-empty strings */
    K_IDS,    /* list of uids/gids; aux is the offset of the count */
    K_ENUM,   /* an enum (int-sized): the index of the value in names */
    K_CUSTOM, /* a string that parse turns into the field */
};

/* One known key. Tables end with {NULL}. */
struct mct_key {
    const char *name;
    enum mct_key_kind kind;
    size_t off; /* of the field in the struct being filled */
    size_t aux;
    unsigned long long min, max;
    const struct mct_key *sub;
    const char *const *names; /* K_ENUM: the values, NULL-terminated */
    bool required;            /* only for string kinds: the field must end up non-NULL */
    /* K_CUSTOM: fill the field from s, or -EINVAL with why. */
    int (*parse)(const char *s, void *field, char *why, size_t whylen);
};

/*
 * Parse yaml over cfg, which already holds the defaults, and note the line
 * of every key it sets (mct_config_set_origin). Also checks what needs a
 * line number: the source/destination overlap and required_copies.
 * -EINVAL with "NAME:LINE: message" in err.
 */
int mct_config_parse_yaml(struct mct_config *cfg, const struct mct_key *schema, const char *name,
                          const char *yaml, char *err, size_t errlen);

/* The schema config.c defines (for mct_config_show). */
extern const struct mct_key mct_config_schema[];

/*
 * The datajoint section after the YAML (config_datajoint.c): read
 * password_file, fill host, port, user, password and tls from the
 * environment and then config_file where the YAML left them unset, check
 * the TLS keys. config_st is the fstat of the config file (NULL for a
 * string): when given, the config and the files it names must pass
 * trust.h's ownership rules before they are read. -EINVAL/-EPERM with
 * "NAME:LINE: message" in err.
 */
struct stat;
int mct_config_resolve_datajoint(struct mct_config *cfg, const struct stat *config_st, char *err,
                                 size_t errlen);

/* Warn when a password comes from a file every user may read. */
void mct_config_warn_password_modes(const struct mct_config *cfg, const struct stat *config_st);
