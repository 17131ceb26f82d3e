/* The fio ioengine's job arguments into the host's C API terms: see job_args.h. */
#include "job_args.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int fail(char *err, size_t errlen, const char *what) {
    if (err && errlen)
        snprintf(err, errlen, "%s", what);
    return -1;
}

/* Appends `len` bytes of `word` and a separating space; -1 when it does not fit. */
static int append_word(char *out, size_t out_len, size_t *used, const char *word, size_t len) {
    size_t need = (*used ? 1 : 0) + len;
    if (*used + need + 1 > out_len)
        return -1;
    if (*used)
        out[(*used)++] = ' ';
    memcpy(out + *used, word, len);
    *used += len;
    out[*used] = '\0';
    return 0;
}

static int key_is(const char *word, size_t key_len, const char *key) {
    return strlen(key) == key_len && strncasecmp(word, key, key_len) == 0;
}

int nvmeddp_fio_parse_filename(const char *filename, const char *subnqn, char *trid, size_t trid_len,
                               uint32_t *nsid, char *err, size_t errlen) {
    if (!filename || !trid || trid_len == 0 || !nsid)
        return fail(err, errlen, "no filename");
    const int override_subnqn = subnqn && *subnqn;
    size_t used = 0;
    trid[0] = '\0';
    *nsid = 0; /* no ns=: the first namespace the controller lists as active */
    int words = 0;
    const char *p = filename;
    while (*p) {
        while (*p && isspace((unsigned char)*p))
            ++p;
        if (!*p)
            break;
        const char *word = p;
        while (*p && !isspace((unsigned char)*p))
            ++p;
        const size_t len = (size_t)(p - word);
        const char *eq = memchr(word, '=', len);
        if (!eq || eq == word) {
            if (err && errlen)
                snprintf(err, errlen, "filename word \"%.*s\" is not key=value (a transport ID: \"trtype=tcp "
                         "adrfam=ipv4 traddr=A trsvcid=4420 subnqn=NQN ns=1\", ':' escaped as \"\\:\")",
                         (int)len, word);
            return -1;
        }
        const size_t key_len = (size_t)(eq - word);
        ++words;
        if (key_is(word, key_len, "ns")) {
            char digits[16];
            const size_t vlen = len - key_len - 1;
            if (vlen == 0 || vlen >= sizeof digits)
                return fail(err, errlen, "ns= must be a namespace id (1, 2, ...)");
            memcpy(digits, eq + 1, vlen);
            digits[vlen] = '\0';
            char *end = NULL;
            errno = 0;
            const unsigned long v = strtoul(digits, &end, 10);
            if (errno || *end || v == 0 || v > 0xFFFFFFFEul || !isdigit((unsigned char)digits[0]))
                return fail(err, errlen, "ns= must be a namespace id (1, 2, ...)");
            *nsid = (uint32_t)v;
            continue;
        }
        if (override_subnqn && key_is(word, key_len, "subnqn"))
            continue;
        if (append_word(trid, trid_len, &used, word, len) != 0)
            return fail(err, errlen, "the transport ID in filename is too long");
    }
    if (words == 0)
        return fail(err, errlen, "empty filename: give a transport ID (\"trtype=tcp adrfam=ipv4 traddr=A ...\")");
    if (override_subnqn) {
        char word[320];
        const int n = snprintf(word, sizeof word, "subnqn=%s", subnqn);
        if (n < 0 || (size_t)n >= sizeof word || append_word(trid, trid_len, &used, word, (size_t)n) != 0)
            return fail(err, errlen, "subnqn is too long");
    }
    return 0;
}

int nvmeddp_fio_parse_digest(const char *value, uint8_t *header_digest, uint8_t *data_digest, char *err,
                             size_t errlen) {
    static const struct {
        const char *name;
        uint8_t header, data;
    } choices[] = {{"none", 0, 0}, {"header", 1, 0}, {"data", 0, 1}, {"both", 1, 1}};
    if (!value || !*value)
        value = "none";
    for (size_t i = 0; i < sizeof choices / sizeof choices[0]; ++i) {
        if (strcasecmp(value, choices[i].name) == 0) {
            *header_digest = choices[i].header;
            *data_digest = choices[i].data;
            return 0;
        }
    }
    if (err && errlen)
        snprintf(err, errlen, "digest=%s: choose none, header, data or both", value);
    return -1;
}

int nvmeddp_fio_parse_on_off(const char *name, const char *value, int *out, char *err, size_t errlen) {
    static const char *const on[] = {"on", "1", "yes", "true"};
    static const char *const off[] = {"off", "0", "no", "false"};
    if (!value || !*value) {
        *out = 1;
        return 0;
    }
    for (size_t i = 0; i < sizeof on / sizeof on[0]; ++i) {
        if (strcasecmp(value, on[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(value, off[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    if (err && errlen)
        snprintf(err, errlen, "%s=%s: choose on or off", name, value);
    return -1;
}

int nvmeddp_fio_split_words(const char *text, char *storage, size_t storage_len, char **argv, int max_args) {
    if (!text || !*text)
        return 0;
    if (strlen(text) + 1 > storage_len)
        return -1;
    memcpy(storage, text, strlen(text) + 1);
    int count = 0;
    char *p = storage;
    while (*p) {
        while (*p && isspace((unsigned char)*p))
            *p++ = '\0';
        if (!*p)
            break;
        if (count == max_args)
            return -1;
        argv[count++] = p;
        while (*p && !isspace((unsigned char)*p))
            ++p;
    }
    return count;
}
