// Test helpers: Ethernet/IP/TCP frames carrying a TCP byte stream (e.g. generate_stream()'s NVMe/TCP
// bytes), with a seeded fault plan (reordering, loss and retransmission, duplicates, retransmission
// with different segmentation, sequence wraparound, a corrupted byte) and per-frame ground truth.
//
// The frames are written byte by byte at explicit offsets, independently of pmd/packet/net_headers.hpp, so
// that a layout mistake there does not cancel out between the generator and the parser under test.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <vector>

namespace nvmeddp::testlib {

struct FlowSpec {
    bool ipv6 = false;
    std::array<uint8_t, 16> src_ip{};  // IPv4: the first 4 bytes
    std::array<uint8_t, 16> dst_ip{};
    uint16_t src_port = 4420;          // the sender of the frames (an NVMe/TCP target)
    uint16_t dst_port = 40000;
    std::array<uint8_t, 6> src_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
    std::array<uint8_t, 6> dst_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
    std::optional<uint16_t> s_vlan;    // outer 802.1ad S-tag (TPID 0x88A8)
    std::optional<uint16_t> c_vlan;    // 802.1Q C-tag (TPID 0x8100), inside the S-tag when both are set
    uint8_t ipv4_option_words = 0;     // 0..10 words of IPv4 options (NOPs then EOL)
};

// For the generators' byte-crunching (frames, checksums, random bytes): no coverage instrumentation
// in a -fsanitize=fuzzer-no-link build. Its comparison hooks in those per-byte loops cost the engine
// fuzzer more than the engine itself, and their coverage is of the test's inputs, not of the code
// under test. Not inlined: code inlined into an instrumented caller is instrumented with it. (Clang
// only; GCC has no such attribute under this name.)
#if defined(__clang__)
#define NVMEDDP_TESTLIB_NO_COVERAGE __attribute__((no_sanitize("coverage"), noinline))
#else
#define NVMEDDP_TESTLIB_NO_COVERAGE
#endif

// A draw in [0, 1): exactly what std::uniform_real_distribution<double>(0, 1)(rng) gives with
// libstdc++ (double(rng()) / 2^64, below 1), so seeded tests keep their outcomes, without the log()
// that libstdc++'s generate_canonical computes on every call (the fuzzers draw millions of coins).
// Any engine of 64-bit draws (std::mt19937_64, or one with the same numbers) will do.
template <typename Rng>
double unit_draw(Rng& rng) {
    static_assert(Rng::min() == 0 && Rng::max() == UINT64_MAX, "an engine of 64-bit draws");
    const double r = static_cast<double>(rng()) * 0x1p-64;
    return r < 1.0 ? r : std::nextafter(1.0, 0.0);
}

FlowSpec ipv4_flow();  // 192.0.2.1:4420 -> 192.0.2.2:40000
FlowSpec ipv6_flow();  // [2001:db8::1]:4420 -> [2001:db8::2]:40000

// TCP options of one frame: none, timestamps (12 bytes), timestamps and one SACK block (24 bytes).
enum class TcpOptions : uint8_t { None, Timestamps, TimestampsAndSack };
size_t tcp_options_len(TcpOptions options) noexcept;

inline constexpr uint8_t kTcpAck = 0x10;
inline constexpr uint8_t kTcpPsh = 0x08;

struct TcpFields {
    uint32_t seq = 0;
    uint32_t ack = 0;
    uint8_t flags = kTcpAck | kTcpPsh;
    uint16_t window = 0xFFFF;
    TcpOptions options = TcpOptions::None;
    uint32_t tsval = 1;
};

// Where the parts of a built frame are (offsets from the first byte).
struct FrameLayout {
    uint16_t l3_offset = 0;
    uint16_t l4_offset = 0;
    uint16_t payload_offset = 0;
    uint32_t payload_len = 0;
    uint16_t ip_end = 0;  // end of the IP packet; the frame may be longer (padding)
};

struct BuiltFrame {
    std::vector<uint8_t> bytes;
    FrameLayout layout;
};

// One frame with a valid IPv4 header checksum and TCP checksum; frames shorter than 60 bytes are
// padded with zeros up to the Ethernet minimum when pad_to_minimum (as a sender's NIC does). The IPv4
// identification is the low 16 bits of the sequence number.
BuiltFrame build_frame(const FlowSpec& flow, const TcpFields& tcp, std::span<const uint8_t> payload,
                       bool pad_to_minimum = true);

// RFC 1071 Internet checksum helpers (exposed for tests that craft frames).
uint16_t internet_checksum(std::span<const uint8_t> bytes, uint32_t initial = 0) noexcept;

struct ByteRange {
    uint64_t offset = 0;
    uint64_t length = 0;
    uint64_t end() const noexcept { return offset + length; }
    friend bool operator==(const ByteRange&, const ByteRange&) = default;
};

// What produced a frame: bits, 0 for a first transmission in its place.
namespace fault {
inline constexpr uint8_t kReordered = 0x01;    // delivered later than its place in sending order
inline constexpr uint8_t kRetransmit = 0x02;   // sent again after the original was lost
inline constexpr uint8_t kDuplicate = 0x04;    // an extra copy of a segment that is also delivered
inline constexpr uint8_t kResegmented = 0x08;  // retransmission of already sent bytes, cut differently
inline constexpr uint8_t kCorrupted = 0x10;    // one payload byte altered (FaultPlan::corrupt_offset)
inline constexpr uint8_t kWireCorrupt = 0x20;  // a byte altered on the wire: bad checksum, a receiver drops it
inline constexpr uint8_t kLying = 0x40;        // a payload byte altered with a valid checksum (this copy only)
}  // namespace fault

struct FaultPlan {
    uint64_t seed = 1;
    double reorder = 0;           // probability a frame is delivered 1..max_displacement places late
    double loss = 0;              // probability a frame is lost
    bool retransmit_lost = true;  // a lost frame is sent again, 1..max_displacement places later
    double duplicate = 0;         // probability a frame is delivered twice (copy 0..max_displacement later)
    // Probability, after each segment, of a retransmission of a random range of the last (up to)
    // three segments, cut into pieces of random sizes (1..mss): its frames overlap the originals
    // without matching their boundaries.
    double resegment = 0;
    uint32_t max_displacement = 4;
    // Stream offset of a byte to alter (xor corrupt_xor) in the first delivered frame carrying it.
    // The frame's checksums are computed over the altered byte: corruption that got past the TCP
    // checksum, which only the NVMe/TCP data digest catches.
    std::optional<uint64_t> corrupt_offset;
    uint8_t corrupt_xor = 0x5A;  // non-zero
    // Probability a frame is corrupted on the wire: one byte of its IP packet altered after the
    // checksums were computed (a receiver drops it), the clean segment retransmitted later.
    double wire_corrupt = 0;
    // Probability a frame's copy carries a lying byte: one payload byte altered and the checksum
    // computed over it (a peer or middlebox that lies; other copies of the same bytes are clean).
    double lying = 0;
};

enum class OptionMode : uint8_t { None, Timestamps, Varying };  // Varying: cycles none/TS/TS+SACK

struct FrameGenOptions {
    FlowSpec flow = ipv4_flow();
    uint32_t first_seq = 1;  // sequence number of stream byte 0 (ISN + 1); see first_seq_wrapping_at()
    uint32_t ack = 1;
    uint32_t mss = 1448;     // most payload bytes per frame
    bool random_segment_sizes = false;  // clean segmentation with sizes 1..mss instead of mss
    // Stream offsets, ascending, where a segment ends besides: a sender that writes each PDU by
    // itself (TCP_NODELAY) starts a segment at every PDU.
    std::vector<uint64_t> cut_at{};
    uint64_t segment_seed = 1;
    OptionMode options = OptionMode::None;
    bool pad_to_minimum = true;
};

inline constexpr size_t kNoSegment = ~size_t{0};

struct FrameTruth {
    uint64_t stream_offset = 0;  // first stream byte of the payload
    uint32_t length = 0;         // payload bytes
    uint32_t seq = 0;
    uint8_t faults = 0;          // fault:: bits
    size_t segment = kNoSegment; // index in FrameSequence::segments, kNoSegment for resegmented ones
    FrameLayout layout;
};

struct GeneratedFrame {
    std::vector<uint8_t> bytes;
    FrameTruth truth;
};

struct FrameSequence {
    std::vector<GeneratedFrame> frames;  // in arrival order
    std::vector<ByteRange> segments;     // the clean segmentation, in stream order
    std::vector<ByteRange> missing;      // stream ranges no frame carries (loss without retransmission)
    std::optional<size_t> corrupted_frame;  // index in frames of the frame with the altered byte
};

// Rewrites the TCP sequence number of a built frame in place (replaying a stream with later sequence
// numbers), and its TCP checksum with it.
void rewrite_tcp_seq(std::vector<uint8_t>& frame, const FrameLayout& layout, uint32_t seq) noexcept;
// Recomputes the TCP checksum of a built frame after its bytes were changed.
void refresh_tcp_checksum(std::vector<uint8_t>& frame, const FrameLayout& layout) noexcept;
// Whether the IPv4 header checksum (IPv4) and the TCP checksum of a built frame are right: what a
// receiving host's IP and TCP check before they accept a segment.
bool checksums_ok(std::span<const uint8_t> frame, const FrameLayout& layout, bool ipv6) noexcept;

// Sequence number for stream byte 0 such that the sequence space wraps (to 0) at stream offset `at`.
constexpr uint32_t first_seq_wrapping_at(uint64_t at) noexcept { return static_cast<uint32_t>(0 - at); }

FrameSequence generate_frames(std::span<const uint8_t> stream, const FrameGenOptions& options,
                              const FaultPlan& plan = {});

}  // namespace nvmeddp::testlib
