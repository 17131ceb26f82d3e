// The fio ioengine's job arguments (apps/fio/job_args.h): fio filenames in SPDK's transport ID syntax
// into the host's trid and namespace id, the digest= and ddp= words, eal= split into arguments.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "job_args.h"

namespace {

struct Parsed {
    int rc;
    std::string trid;
    uint32_t nsid;
    std::string err;
};

Parsed parse(const char *filename, const char *subnqn = nullptr) {
    char trid[256], err[256] = "";
    uint32_t nsid = 0;
    const int rc = nvmeddp_fio_parse_filename(filename, subnqn, trid, sizeof trid, &nsid, err, sizeof err);
    return {rc, rc == 0 ? trid : "", nsid, err};
}

TEST(FioFilename, NsIsTakenOutOfTheTransportId) {
    // fio has already removed the backslash of "\:" by the time the engine sees the name.
    const Parsed p = parse("trtype=tcp adrfam=ipv4 traddr=192.0.2.1 trsvcid=4420 subnqn=nqn.2026-12.io.nvmeddp:demo ns=1");
    ASSERT_EQ(p.rc, 0) << p.err;
    EXPECT_EQ(p.trid, "trtype=tcp adrfam=ipv4 traddr=192.0.2.1 trsvcid=4420 subnqn=nqn.2026-12.io.nvmeddp:demo");
    EXPECT_EQ(p.nsid, 1u);
}

TEST(FioFilename, NsDefaultsToTheFirstActiveAndMayComeAnywhere) {
    Parsed p = parse("  trtype=tcp   traddr=192.0.2.1 ");
    ASSERT_EQ(p.rc, 0) << p.err;
    EXPECT_EQ(p.trid, "trtype=tcp traddr=192.0.2.1");
    EXPECT_EQ(p.nsid, 0u) << "0: the first namespace the controller lists as active";
    p = parse("NS=7 trtype=tcp traddr=192.0.2.1");
    ASSERT_EQ(p.rc, 0) << p.err;
    EXPECT_EQ(p.trid, "trtype=tcp traddr=192.0.2.1");
    EXPECT_EQ(p.nsid, 7u);
}

TEST(FioFilename, SubnqnOptionReplacesTheFilenamesOne) {
    const Parsed p = parse("trtype=tcp traddr=192.0.2.1 subnqn=nqn.wrong ns=1", "nqn.2014-08.org.nvmexpress:uuid:1234");
    ASSERT_EQ(p.rc, 0) << p.err;
    EXPECT_EQ(p.trid, "trtype=tcp traddr=192.0.2.1 subnqn=nqn.2014-08.org.nvmexpress:uuid:1234");
    const Parsed empty_option = parse("trtype=tcp subnqn=nqn.kept", "");
    ASSERT_EQ(empty_option.rc, 0);
    EXPECT_EQ(empty_option.trid, "trtype=tcp subnqn=nqn.kept");
}

TEST(FioFilename, RefusesWhatIsNotATransportId) {
    EXPECT_EQ(parse("").rc, -1);
    EXPECT_EQ(parse("   ").rc, -1);
    const Parsed job_name = parse("job1.0.0");  // fio's default filename when none is given
    EXPECT_EQ(job_name.rc, -1);
    EXPECT_NE(job_name.err.find("job1.0.0"), std::string::npos) << job_name.err;
    EXPECT_EQ(parse("trtype=tcp =x").rc, -1);
    EXPECT_EQ(parse("trtype=tcp ns=0").rc, -1);
    EXPECT_EQ(parse("trtype=tcp ns=").rc, -1);
    EXPECT_EQ(parse("trtype=tcp ns=1x").rc, -1);
    EXPECT_EQ(parse("trtype=tcp ns=-1").rc, -1);
}

TEST(FioFilename, RefusesATransportIdThatDoesNotFit) {
    char trid[16], err[128];
    uint32_t nsid;
    EXPECT_EQ(nvmeddp_fio_parse_filename("trtype=tcp traddr=192.0.2.1", nullptr, trid, sizeof trid, &nsid, err, sizeof err), -1);
    EXPECT_EQ(nvmeddp_fio_parse_filename("trtype=tcp", nullptr, trid, sizeof trid, &nsid, err, sizeof err), 0);
    EXPECT_STREQ(trid, "trtype=tcp");
}

TEST(FioOptions, Digest) {
    uint8_t h = 9, d = 9;
    char err[128];
    ASSERT_EQ(nvmeddp_fio_parse_digest("both", &h, &d, err, sizeof err), 0);
    EXPECT_EQ(h, 1);
    EXPECT_EQ(d, 1);
    ASSERT_EQ(nvmeddp_fio_parse_digest("Header", &h, &d, err, sizeof err), 0);
    EXPECT_EQ(h, 1);
    EXPECT_EQ(d, 0);
    ASSERT_EQ(nvmeddp_fio_parse_digest("data", &h, &d, err, sizeof err), 0);
    EXPECT_EQ(h, 0);
    EXPECT_EQ(d, 1);
    ASSERT_EQ(nvmeddp_fio_parse_digest(nullptr, &h, &d, err, sizeof err), 0);
    EXPECT_EQ(h, 0);
    EXPECT_EQ(d, 0);
    EXPECT_EQ(nvmeddp_fio_parse_digest("crc", &h, &d, err, sizeof err), -1);
    EXPECT_NE(std::strstr(err, "none, header, data or both"), nullptr) << err;
}

TEST(FioOptions, OnOff) {
    int v = -1;
    char err[128];
    ASSERT_EQ(nvmeddp_fio_parse_on_off("ddp", "off", &v, err, sizeof err), 0);
    EXPECT_EQ(v, 0);
    ASSERT_EQ(nvmeddp_fio_parse_on_off("ddp", "ON", &v, err, sizeof err), 0);
    EXPECT_EQ(v, 1);
    ASSERT_EQ(nvmeddp_fio_parse_on_off("ddp", "0", &v, err, sizeof err), 0);
    EXPECT_EQ(v, 0);
    ASSERT_EQ(nvmeddp_fio_parse_on_off("ddp", "", &v, err, sizeof err), 0);
    EXPECT_EQ(v, 1);
    EXPECT_EQ(nvmeddp_fio_parse_on_off("ddp", "maybe", &v, err, sizeof err), -1);
    EXPECT_STREQ(err, "ddp=maybe: choose on or off");
}

TEST(FioOptions, EalWords) {
    char storage[64];
    char *argv[4];
    ASSERT_EQ(nvmeddp_fio_split_words(" --vdev=net_af_packet0,iface=veth1  -l 0 ", storage, sizeof storage, argv, 4), 3);
    EXPECT_STREQ(argv[0], "--vdev=net_af_packet0,iface=veth1");
    EXPECT_STREQ(argv[1], "-l");
    EXPECT_STREQ(argv[2], "0");
    EXPECT_EQ(nvmeddp_fio_split_words(nullptr, storage, sizeof storage, argv, 4), 0);
    EXPECT_EQ(nvmeddp_fio_split_words("a b c d e", storage, sizeof storage, argv, 4), -1);
    EXPECT_EQ(nvmeddp_fio_split_words("0123456789", storage, 8, argv, 4), -1);
}

}  // namespace
