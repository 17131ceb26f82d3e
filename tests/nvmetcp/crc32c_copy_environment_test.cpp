// NVMEDDP_CRC32C_PATH, read once when the library starts: a path this CPU runs is used instead of
// the calibration; an unknown name, or an emulation, is refused on stderr with the names that would
// do, and the calibration decides. The variable takes effect only at start-up, so each case runs
// this test binary again with it set, and the child prints what it chose.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <unistd.h>

#include "nvmetcp/crc32c_copy.hpp"

using namespace nvmeddp::nvmetcp;

namespace {

constexpr const char* kChildMarker = "NVMEDDP_CRC32C_ENVIRONMENT_TEST_CHILD";
constexpr const char* kChildFailed = "(child exit status ";
constexpr const char* kTestName = "Crc32cCopyEnvironment.NamesThePathOrIsRefusedAndTheCalibrationDecides";

// What a child started with NVMEDDP_CRC32C_PATH=value printed (stdout and stderr).
std::string child_output(const std::string& value) {
    char self[4096];
    const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return "readlink /proc/self/exe failed";
    self[n] = '\0';
    // Without the runner's sharding or output file: the child runs this one test and writes no report.
    const std::string command = std::string("env -u GTEST_SHARD_INDEX -u GTEST_TOTAL_SHARDS -u GTEST_OUTPUT ") +
                                kChildMarker + "=1 NVMEDDP_CRC32C_PATH='" + value + "' '" + self +
                                "' --gtest_filter=" + kTestName + " 2>&1";
    FILE* p = popen(command.c_str(), "r");
    if (p == nullptr) return "popen failed";
    std::string out;
    char buf[512];
    while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
    const int status = pclose(p);
    if (status != 0) out += "\n" + std::string(kChildFailed) + std::to_string(status) + ")";
    return out;
}

std::string chosen_line(const std::string& name, const std::string& reason) {
    return "chosen: " + name + " (" + reason + ")";
}

TEST(Crc32cCopyEnvironment, NamesThePathOrIsRefusedAndTheCalibrationDecides) {
    if (std::getenv(kChildMarker) != nullptr) {  // the child: say what start-up chose
        std::printf("%s\n", chosen_line(crc32c_copy_name(), crc32c_copy_default_reason()).c_str());
        return;
    }
    // Every CPU runs two-pass; this one's default is never it where it has a one-pass path, so
    // naming it shows the variable took effect.
    const std::string forced = child_output("two-pass");
    EXPECT_EQ(forced.find(kChildFailed), std::string::npos) << forced;
    EXPECT_NE(forced.find(chosen_line("two-pass", "set by NVMEDDP_CRC32C_PATH")), std::string::npos) << forced;
    EXPECT_EQ(forced.find("is not a copy + CRC32C path"), std::string::npos) << forced;

    for (const std::string refused : {"sse9", "avx2-emulated", "AVX512"}) {
        const std::string out = child_output(refused);
        EXPECT_EQ(out.find(kChildFailed), std::string::npos) << out;
        EXPECT_NE(out.find("nvmeddp: NVMEDDP_CRC32C_PATH=" + refused +
                           " is not a copy + CRC32C path this CPU runs (it runs: two-pass"),
                  std::string::npos)
            << out;
        EXPECT_EQ(out.find("-emulated,"), std::string::npos) << out;  // emulations are not offered
        // The calibration decided: a reason that is not the variable's (the path itself may differ
        // from this process's when the two folds measure within the margin).
        EXPECT_NE(out.find("chosen: "), std::string::npos) << out;
        EXPECT_EQ(out.find("set by NVMEDDP_CRC32C_PATH"), std::string::npos) << out;
    }
}

}  // namespace
