// Fills a block device (or file) with the namespace pattern our host checks every read against:
// byte at address a = nvmetcp::pattern_byte(kNamespacePattern, a). It runs inside the qemu guest that
// serves the Linux kernel's nvmet-tcp target (tests/interop), on the RAM disk behind namespace 1, so a
// read from a target nobody here wrote is checked byte for byte as it is against our own target.
// Built static: the guest's initramfs has busybox and no C library.
//
// usage: pattern_fill <device> <bytes>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "nvmetcp/byte_pattern.hpp"

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s <device> <bytes>\n", argv[0]);
        return 2;
    }
    char* end = nullptr;
    const unsigned long long total = std::strtoull(argv[2], &end, 10);
    if (!end || *end != '\0' || total == 0) {
        std::fprintf(stderr, "pattern_fill: '%s' is not a byte count\n", argv[2]);
        return 2;
    }
    const int fd = ::open(argv[1], O_WRONLY);
    if (fd < 0) {
        std::fprintf(stderr, "pattern_fill: open %s: %s\n", argv[1], std::strerror(errno));
        return 1;
    }
    std::vector<uint8_t> chunk(1 << 20);
    for (uint64_t address = 0; address < total;) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), total - address));
        nvmeddp::nvmetcp::fill_pattern(nvmeddp::nvmetcp::kNamespacePattern, address, {chunk.data(), n});
        size_t done = 0;
        while (done < n) {
            const ssize_t w = ::pwrite(fd, chunk.data() + done, n - done, static_cast<off_t>(address + done));
            if (w <= 0) {
                std::fprintf(stderr, "pattern_fill: write %s at %llu: %s\n", argv[1],
                             static_cast<unsigned long long>(address + done), w < 0 ? std::strerror(errno) : "no space");
                ::close(fd);
                return 1;
            }
            done += static_cast<size_t>(w);
        }
        address += n;
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        std::fprintf(stderr, "pattern_fill: sync %s: %s\n", argv[1], std::strerror(errno));
        return 1;
    }
    std::printf("pattern_fill: %llu bytes of the namespace pattern written to %s\n", total, argv[1]);
    return 0;
}
