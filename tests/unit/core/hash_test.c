/* hash_test.c - SHA-256 and the RFC 6962 leaf/node hashes (hash.c); vectors from
 * reference/test-vectors.md §1.3 (transparency-dev/merkle rfc6962_test.go, Go tlog) and §1.1. */
#include <stdlib.h>

#include "testutil.h"
#include "treatylog/hash.h"
#include "treatylog/text.h"

static void test_empty(void **state)
{
    (void)state;
    uint8_t h[TL_HASH_LEN];
    tl_sha256(h, "", 0);
    assert_hash_hex(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_memory_equal(h, TL_EMPTY_ROOT, TL_HASH_LEN);
    tl_sha256_2(h, "", 0, "", 0);
    assert_memory_equal(h, TL_EMPTY_ROOT, TL_HASH_LEN);
}

static void test_leaf_vectors(void **state)
{
    (void)state;
    uint8_t h[TL_HASH_LEN];
    /* LEAF("") is not the empty root. */
    tl_leaf_hash(h, "", 0);
    assert_hash_hex(h, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
    assert_memory_not_equal(h, TL_EMPTY_ROOT, TL_HASH_LEN);
    tl_leaf_hash(h, "L123456", 7);
    assert_hash_hex(h, "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56");
    /* Same as hashing 00 4c 31 32 33 34 35 36 directly. */
    uint8_t raw[8] = {0x00, 'L', '1', '2', '3', '4', '5', '6'};
    uint8_t h2[TL_HASH_LEN];
    tl_sha256(h2, raw, sizeof raw);
    assert_memory_equal(h, h2, TL_HASH_LEN);
    /* Go tlog.RecordHash("hello world"). */
    tl_leaf_hash(h, "hello world", 11);
    char b64[45];
    tl_b64_encode(b64, h, TL_HASH_LEN);
    assert_string_equal(b64, "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=");
}

static void test_node_vector(void **state)
{
    (void)state;
    /* NODE("N123", "N456") over raw 4-byte strings: SHA-256(01 || "N123" || "N456"). */
    uint8_t h[TL_HASH_LEN];
    tl_sha256_2(h, "\x01N123", 5, "N456", 4);
    assert_hash_hex(h, "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb");
    tl_sha256(h, "\x01N123N456", 9);
    assert_hash_hex(h, "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb");
}

static const char *const LEAF_IN[8] = {"", "00", "10", "2021", "3031", "40414243",
                                       "5051525354555657", "606162636465666768696a6b6c6d6e6f"};
static const char *const LEAF_OUT[8] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
};

/* §1.1: the 8 standard leaves, one by one and in a batch, and the interior nodes. */
static void test_eight_leaves(void **state)
{
    (void)state;
    uint8_t in[8][16];
    size_t lens[8];
    const uint8_t *ptrs[8];
    uint8_t one[8][TL_HASH_LEN], many[8][TL_HASH_LEN];
    for (size_t i = 0; i < 8; i++) {
        lens[i] = tu_hex(in[i], LEAF_IN[i]);
        ptrs[i] = in[i];
        tl_leaf_hash(one[i], in[i], lens[i]);
        assert_hash_hex(one[i], LEAF_OUT[i]);
    }
    tl_leaf_hash_many(many, ptrs, lens, 8);
    assert_memory_equal(many, one, sizeof one);

    uint8_t l1[4][TL_HASH_LEN], l2[2][TL_HASH_LEN], root[TL_HASH_LEN];
    for (size_t i = 0; i < 4; i++)
        tl_node_hash(l1[i], one[2 * i], one[2 * i + 1]);
    assert_hash_hex(l1[0], "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125");
    assert_hash_hex(l1[1], "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e");
    assert_hash_hex(l1[2], "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a");
    assert_hash_hex(l1[3], "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0");
    tl_node_hash(l2[0], l1[0], l1[1]);
    tl_node_hash(l2[1], l1[2], l1[3]);
    assert_hash_hex(l2[0], "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7");
    assert_hash_hex(l2[1], "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4");
    tl_node_hash(root, l2[0], l2[1]);
    assert_hash_hex(root, "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
    /* out may alias an input. */
    uint8_t a[TL_HASH_LEN];
    memcpy(a, l2[0], TL_HASH_LEN);
    tl_node_hash(a, a, l2[1]);
    assert_memory_equal(a, root, TL_HASH_LEN);
    memcpy(a, l2[1], TL_HASH_LEN);
    tl_node_hash(a, l2[0], a);
    assert_memory_equal(a, root, TL_HASH_LEN);
}

static void test_split_input(void **state)
{
    (void)state;
    /* tl_sha256_2 equals tl_sha256 of the concatenation for every split point. */
    uint8_t data[200];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 37 + 1);
    uint8_t whole[TL_HASH_LEN], part[TL_HASH_LEN];
    tl_sha256(whole, data, sizeof data);
    for (size_t cut = 0; cut <= sizeof data; cut += 7) {
        tl_sha256_2(part, data, cut, data + cut, sizeof data - cut);
        assert_memory_equal(part, whole, TL_HASH_LEN);
    }
}

int main(void)
{
    if (tl_init() != TL_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),        cmocka_unit_test(test_leaf_vectors),
        cmocka_unit_test(test_node_vector),  cmocka_unit_test(test_eight_leaves),
        cmocka_unit_test(test_split_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
