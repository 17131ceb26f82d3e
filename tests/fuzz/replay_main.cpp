// Runs a fuzz target over files and directories of inputs (seed corpus, crash regressions) without
// libFuzzer, so the normal test suite replays them with any compiler. Prints how many inputs ran;
// exits non-zero if none were found (a missing corpus must not pass silently).
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
    size_t ran = 0;
    auto run_file = [&](const std::filesystem::path& p) {
        std::ifstream f(p, std::ios::binary);
        const std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
        LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
        ++ran;
    };
    for (int i = 1; i < argc; ++i) {
        const std::filesystem::path p(argv[i]);
        if (std::filesystem::is_directory(p)) {
            for (const auto& e : std::filesystem::directory_iterator(p)) {
                // Dot files (.keep holds an empty directory in git) are not inputs.
                if (e.is_regular_file() && e.path().filename().string().front() != '.') run_file(e.path());
            }
        } else if (std::filesystem::exists(p)) {
            run_file(p);
        }
    }
    std::printf("replayed %zu inputs\n", ran);
    return ran > 0 ? 0 : 1;
}
