// Writes or checks a byte pattern on a block device (or file): byte at address a =
// nvmetcp::pattern_byte(pattern, a). It runs inside the qemu guest of tests/interop:
//  - serving the Linux kernel's nvmet-tcp target, it fills the RAM disk behind namespace 1 with the
//    namespace pattern, so our host checks every read from a target nobody here wrote as it does
//    against our own;
//  - as the Linux kernel's nvme-tcp host in front of our target, it checks what the kernel read from
//    it, and writes another pattern through it and reads that back.
// Built static: the guest's initramfs has busybox and no C library.
//
// usage: pattern_fill [--check] [--pattern N] [--offset BYTES] [--block BYTES] [--direct] <device> <bytes>
//   --check   read and compare instead of writing (exit 1 at the first wrong byte, naming it)
//   --pattern the pattern (default: the namespace pattern, nvmetcp::kNamespacePattern)
//   --offset  where on the device to start (addresses, and so the pattern, count from the device's start)
//   --block   bytes per read or write (default 1 MiB): the I/O size the device sees with --direct
//   --direct  O_DIRECT, past the page cache: every block is an I/O on the device
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "nvmetcp/byte_pattern.hpp"

namespace {

struct Options {
    bool check = false;
    bool direct = false;
    uint8_t pattern = nvmeddp::nvmetcp::kNamespacePattern;
    uint64_t offset = 0;
    uint64_t block = 1 << 20;
    const char* device = nullptr;
    uint64_t bytes = 0;
};

int usage(const char* program) {
    std::fprintf(stderr,
                 "usage: %s [--check] [--pattern N] [--offset BYTES] [--block BYTES] [--direct] <device> <bytes>\n",
                 program);
    return 2;
}

bool parse_count(const char* text, uint64_t* out) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0') return false;
    *out = v;
    return true;
}

// Whole blocks of `block` bytes from `offset`, in one aligned buffer (O_DIRECT wants the buffer,
// the offset and the length aligned to the logical block size; 4 KiB covers every device here).
int run(const Options& o) {
    const int fd = ::open(o.device, (o.check ? O_RDONLY : O_WRONLY) | (o.direct ? O_DIRECT : 0));
    if (fd < 0) {
        std::fprintf(stderr, "pattern_fill: open %s: %s\n", o.device, std::strerror(errno));
        return 1;
    }
    const size_t block = static_cast<size_t>(o.block);
    const size_t room = (block + 4095) / 4096 * 4096;
    std::unique_ptr<uint8_t, decltype(&std::free)> buf(static_cast<uint8_t*>(std::aligned_alloc(4096, room)), &std::free);
    std::unique_ptr<uint8_t[]> want(new uint8_t[block]);
    if (!buf) {
        std::fprintf(stderr, "pattern_fill: no memory for a %zu-byte block\n", block);
        ::close(fd);
        return 1;
    }
    for (uint64_t done = 0; done < o.bytes;) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(block, o.bytes - done));
        const uint64_t address = o.offset + done;
        uint8_t* expected = o.check ? want.get() : buf.get();
        nvmeddp::nvmetcp::fill_pattern(o.pattern, address, {expected, n});
        const ssize_t r = o.check ? ::pread(fd, buf.get(), n, static_cast<off_t>(address))
                                  : ::pwrite(fd, buf.get(), n, static_cast<off_t>(address));
        if (r != static_cast<ssize_t>(n)) {
            std::fprintf(stderr, "pattern_fill: %s %s at %llu (%zu bytes): %s\n", o.check ? "read" : "write", o.device,
                         static_cast<unsigned long long>(address), n,
                         r < 0 ? std::strerror(errno) : ("only " + std::to_string(r) + " bytes").c_str());
            ::close(fd);
            return 1;
        }
        if (o.check) {
            const auto [got, exp] = std::mismatch(buf.get(), buf.get() + n, want.get());
            if (got != buf.get() + n) {
                std::fprintf(stderr, "pattern_fill: byte at address %llu of %s is 0x%02x, expected 0x%02x (pattern %u)\n",
                             static_cast<unsigned long long>(address + static_cast<uint64_t>(got - buf.get())),
                             o.device, *got, *exp, o.pattern);
                ::close(fd);
                return 1;
            }
        }
        done += n;
    }
    if ((!o.check && ::fsync(fd) != 0) || ::close(fd) != 0) {
        std::fprintf(stderr, "pattern_fill: sync %s: %s\n", o.device, std::strerror(errno));
        return 1;
    }
    std::printf("pattern_fill: %llu bytes of pattern %u %s %s at %llu in %llu-byte %sblocks\n",
                static_cast<unsigned long long>(o.bytes), o.pattern, o.check ? "checked on" : "written to", o.device,
                static_cast<unsigned long long>(o.offset), static_cast<unsigned long long>(o.block),
                o.direct ? "direct " : "");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; ++i) {
        const std::string a = argv[i];
        uint64_t v = 0;
        const bool has_value = a == "--pattern" || a == "--offset" || a == "--block";
        if (has_value && (i + 1 >= argc || !parse_count(argv[i + 1], &v))) {
            std::fprintf(stderr, "pattern_fill: %s needs a number\n", a.c_str());
            return usage(argv[0]);
        }
        if (a == "--check") {
            o.check = true;
        } else if (a == "--direct") {
            o.direct = true;
        } else if (a == "--pattern" && v <= 255) {
            o.pattern = static_cast<uint8_t>(v);
        } else if (a == "--offset") {
            o.offset = v;
        } else if (a == "--block" && v > 0 && v <= (64u << 20)) {
            o.block = v;
        } else {
            std::fprintf(stderr, "pattern_fill: bad option %s%s%s\n", a.c_str(), has_value ? " " : "",
                         has_value ? argv[i + 1] : "");
            return usage(argv[0]);
        }
        if (has_value) ++i;
    }
    if (argc - i != 2) return usage(argv[0]);
    o.device = argv[i];
    if (!parse_count(argv[i + 1], &o.bytes) || o.bytes == 0) {
        std::fprintf(stderr, "pattern_fill: '%s' is not a byte count\n", argv[i + 1]);
        return 2;
    }
    return run(o);
}
