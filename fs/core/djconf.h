/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * DataJoint's own configuration file (dj_local_conf.json in a working
 * folder, ~/.datajoint_config.json): the connection settings every lab
 * member already has. Only database.host, .port, .user, .password and
 * .use_tls are read, written flat ("database.host": ...) as DataJoint
 * saves them or nested ("database": {"host": ...}); the rest of the file
 * is DataJoint's business and ignored.
 */
#pragma once

#include <stddef.h>

struct mct_djconf {
    char *host; /* NULL: not in the file */
    char *user;
    char *password;
    unsigned port; /* 0: not in the file (nor as "host:port") */
    int use_tls;   /* -1: null or absent (DataJoint then prefers TLS), 0 false, 1 true */
    /* Line of each value in the file, for messages and mctctl config. */
    size_t line_host, line_user, line_password, line_port, line_use_tls;
};

/*
 * Parse text (JSON) read from name into out (zeroed first). -EINVAL with
 * "NAME:LINE: message" in err when the file is not a JSON object or one of
 * the keys above has a value of the wrong type; -ENOMEM.
 */
int mct_djconf_parse(const char *name, const char *text, struct mct_djconf *out, char *err,
                     size_t errlen);

/* Free what out holds, wiping the password. */
void mct_djconf_clear(struct mct_djconf *d);
