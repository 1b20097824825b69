/* cmd_keys.c - treatylog keygen: Ed25519 log/party keys (type 0x01) and witness
 * cosignature/v1 keys (type 0x04) in their C2SP text forms. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "treatylog/key.h"

/* Writes text to path with mode, refusing to overwrite an existing file. */
static tl_err write_new(const char *path, const char *text, size_t len, mode_t mode, tl_diag *d)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return tl_fail(d, errno == EEXIST ? TL_ERR_USAGE : TL_ERR_IO, "%s: %s%s", path,
                       strerror(errno), errno == EEXIST ? " (refusing to overwrite a key)" : "");
    tl_err e = TL_OK;
    if (write(fd, text, len) != (ssize_t)len || fsync(fd) != 0)
        e = tl_fail(d, TL_ERR_IO, "writing %s: %s", path, strerror(errno));
    if (close(fd) != 0 && e == TL_OK)
        e = tl_fail(d, TL_ERR_IO, "closing %s: %s", path, strerror(errno));
    return e;
}

int cmd_keygen(int argc, char **argv)
{
    const char *out = NULL, *seed_hex = NULL;
    bool witness = false;
    const cli_opt opts[] = {
        {"out", &out, NULL}, {"seed", &seed_hex, NULL}, {"witness", NULL, &witness}};
    const char *pos[1];
    size_t npos = 0;
    int rc = cli_parse("keygen", argc, argv, opts, 3, pos, 1, &npos);
    if (rc)
        return rc;
    if (npos != 1 || !out)
        return cli_usage("keygen", "usage: treatylog keygen NAME --out PREFIX [--witness] "
                                   "[--seed HEX64]");
    const char *name = pos[0];
    uint8_t type = witness ? TL_KEY_COSIG_V1 : TL_KEY_ED25519;
    tl_skey k;
    tl_diag d = {{0}};
    tl_err e;
    if (seed_hex) {
        uint8_t seed[TL_SEED_LEN];
        size_t bin_len = 0;
        if (strlen(seed_hex) != 64 ||
            sodium_hex2bin(seed, sizeof seed, seed_hex, 64, NULL, &bin_len, NULL) != 0 ||
            bin_len != TL_SEED_LEN)
            return cli_usage("keygen", "--seed needs 64 hex digits");
        e = tl_skey_from_seed(&k, name, strlen(name), type, seed, &d);
        sodium_memzero(seed, sizeof seed);
    } else {
        e = tl_skey_generate(&k, name, strlen(name), type, &d);
    }
    if (e != TL_OK)
        return cli_fail("keygen", e, &d);
    char skey[TL_SKEY_TEXT_MAX + 1], vkey[TL_VKEY_TEXT_MAX + 1];
    size_t sn = tl_skey_format(skey, &k);
    skey[sn++] = '\n';
    size_t vn = tl_vkey_format(vkey, &k.vkey);
    vkey[vn++] = '\n';
    tl_skey_wipe(&k);
    char kpath[4096], ppath[4096];
    int n1 = snprintf(kpath, sizeof kpath, "%s.key", out);
    int n2 = snprintf(ppath, sizeof ppath, "%s.pub", out);
    if (n1 < 0 || (size_t)n1 >= sizeof kpath || n2 < 0 || (size_t)n2 >= sizeof ppath)
        return cli_usage("keygen", "--out path too long");
    e = write_new(kpath, skey, sn, 0600, &d);
    sodium_memzero(skey, sizeof skey);
    if (e == TL_OK) {
        e = write_new(ppath, vkey, vn, 0644, &d);
        if (e != TL_OK)
            (void)unlink(kpath); /* do not leave half a key pair */
    }
    if (e != TL_OK)
        return cli_fail("keygen", e, &d);
    return cli_write_stdout(vkey, vn) ? 0 : EXIT_USAGE;
}
