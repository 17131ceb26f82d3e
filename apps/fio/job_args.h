/* The fio ioengine's job arguments turned into what the host's C API (nvmeddp/host.h) takes: the
 * fio `filename` into a transport ID and a namespace id, the engine options' words (digest=, ddp=)
 * into values, the eal= string into an argument vector. Pure C with no fio header, so that it is
 * unit-tested without fio (tests/fio/job_args_test.cpp).
 *
 * The filename is a transport ID in SPDK's syntax, whitespace-separated key=value words:
 *   "trtype=tcp adrfam=ipv4 traddr=192.0.2.1 trsvcid=4420 subnqn=nqn.2026-12.io.nvmeddp\:demo ns=1"
 * fio splits `filename` on ':' into several files unless the ':' is escaped as "\:" (fio removes
 * the backslash before the engine sees the name), and NQNs contain ':'. So either escape them, or
 * leave subnqn= out of the filename and give the engine option subnqn= instead (it wins). */
#ifndef NVMEDDP_FIO_JOB_ARGS_H
#define NVMEDDP_FIO_JOB_ARGS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Splits `filename` into the transport ID for nvmeddp_ctrlr_connect (every word but ns=, with
 * subnqn= replaced by `subnqn` when that is non-NULL and non-empty) and the namespace id (ns=; 0
 * without one: the first namespace the controller lists as active). Returns 0, or -1 with a sentence in err (an empty name, a word without '=', ns= not a
 * positive number, a trid that does not fit). */
int nvmeddp_fio_parse_filename(const char *filename, const char *subnqn, char *trid, size_t trid_len,
                               uint32_t *nsid, char *err, size_t errlen);

/* digest=none|header|data|both. Returns 0 and sets both flags, or -1 (err says the choices). NULL or
 * "" is none. */
int nvmeddp_fio_parse_digest(const char *value, uint8_t *header_digest, uint8_t *data_digest, char *err,
                             size_t errlen);

/* ddp=on|off (also 1|0, yes|no, true|false). NULL or "" is on. Returns 0 or -1. */
int nvmeddp_fio_parse_on_off(const char *name, const char *value, int *out, char *err, size_t errlen);

/* Splits `text` on whitespace into at most max_args words, written into storage (storage_len bytes,
 * at least strlen(text) + 1) and pointed to by argv. Returns the count, or -1 when there are more
 * words or storage is too small. NULL or "" gives 0. */
int nvmeddp_fio_split_words(const char *text, char *storage, size_t storage_len, char **argv, int max_args);

#ifdef __cplusplus
}
#endif

#endif /* NVMEDDP_FIO_JOB_ARGS_H */
