// Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/): generated valid inputs,
// so the fuzzers start from streams and frames that go deep into the code instead of from noise.
// The committed corpus was made with: build/tests/fuzz/make_corpus tests/fuzz/corpus
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "testlib/frame_gen.hpp"
#include "testlib/pdu_stream_gen.hpp"
#include "testlib/read_stream_gen.hpp"

using namespace nvmeddp;

namespace {

void write(const std::filesystem::path& dir, const std::string& name, const std::vector<uint8_t>& bytes) {
    std::filesystem::create_directories(dir);
    std::ofstream(dir / name, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <corpus directory>\n", argv[0]);
        return 2;
    }
    const std::filesystem::path root(argv[1]);
    int files = 0;

    // Parser: config byte (role, digests, PDA, expect IC), cut seed, then a generated stream.
    for (uint8_t config = 0; config < 32; config += 3) {
        testlib::StreamOptions so;
        so.receiver = (config & 1) ? testlib::Role::Controller : testlib::Role::Host;
        so.header_digest = (config & 2) != 0;
        so.data_digest = (config & 4) != 0;
        so.pda = (config & 8) ? 3 : 0;
        so.start_with_ic = (config & 16) != 0;
        so.pdu_count = 6;
        so.max_data_len = 600;
        so.seed = config;
        const auto stream = testlib::generate_stream(so);
        std::vector<uint8_t> in{config, static_cast<uint8_t>(config * 7), 0};
        in.insert(in.end(), stream.bytes.begin(), stream.bytes.end());
        write(root / "parser", "stream_" + std::to_string(config), in);
        ++files;
    }

    // Frames: two bytes of extra length, then a frame of each shape.
    std::vector<testlib::FlowSpec> flows{testlib::ipv4_flow(), testlib::ipv6_flow()};
    flows.push_back(testlib::ipv4_flow());
    flows.back().c_vlan = 5;
    flows.back().ipv4_option_words = 2;
    flows.push_back(testlib::ipv6_flow());
    flows.back().s_vlan = 1;
    flows.back().c_vlan = 2;
    for (size_t i = 0; i < flows.size(); ++i) {
        testlib::TcpFields tcp;
        tcp.options = static_cast<testlib::TcpOptions>(i % 3);
        const std::vector<uint8_t> payload(40 + i * 10, static_cast<uint8_t>(i));
        auto frame = testlib::build_frame(flows[i], tcp, payload).bytes;
        frame.insert(frame.begin(), {static_cast<uint8_t>(i), 0});
        write(root / "frame", "frame_" + std::to_string(i), frame);
        ++files;
    }

    // Engine: configuration bytes (see fuzz_engine.cpp), no flips; and raw mode with a read stream.
    std::mt19937_64 rng(1);
    for (int i = 0; i < 12; ++i) {
        std::vector<uint8_t> in(48);
        for (auto& b : in) b = static_cast<uint8_t>(rng());
        in[0] = 0;  // structured mode
        write(root / "engine", "config_" + std::to_string(i), in);
        ++files;
    }
    for (int i = 0; i < 3; ++i) {
        testlib::ReadStreamOptions ro;
        ro.commands = 3;
        ro.min_len = 100;
        ro.max_len = 900;
        ro.data_digest = i != 1;
        ro.first_cid = 0;
        ro.seed = static_cast<uint64_t>(i);
        const auto stream = testlib::generate_read_stream(ro);
        std::vector<uint8_t> in(48, 0);
        in[0] = 1;  // raw mode
        in.insert(in.end(), stream.bytes.begin(), stream.bytes.end());
        write(root / "engine", "raw_" + std::to_string(i), in);
        ++files;
    }
    // TCP receive queue: random operations, half of them starting just before the sequence wrap
    // (the first byte's low bit, see fuzz_tcp_receive.cpp), of growing length.
    std::mt19937_64 rx_rng(2);
    for (int i = 0; i < 8; ++i) {
        std::vector<uint8_t> in(64 + 160 * static_cast<size_t>(i));
        for (auto& b : in) b = static_cast<uint8_t>(rx_rng());
        in[0] = static_cast<uint8_t>(i & 1);
        write(root / "tcp_receive", "ops_" + std::to_string(i), in);
        ++files;
    }
    // TCP connection: random operations of growing length; the fourth byte picks the active open
    // (see fuzz_tcp_connection.cpp), and half of the seeds open actively with a proper SYN-ACK.
    std::mt19937_64 conn_rng(3);
    for (int i = 0; i < 8; ++i) {
        std::vector<uint8_t> in(256 + 512 * static_cast<size_t>(i));
        for (auto& b : in) b = static_cast<uint8_t>(conn_rng());
        write(root / "tcp_connection", "ops_" + std::to_string(i), in);
        ++files;
    }
    // Host queue: random settings and operations of growing length (the harness builds well-formed
    // PDUs from the choices, see fuzz_host_queue.cpp).
    std::mt19937_64 host_rng(4);
    for (int i = 0; i < 12; ++i) {
        std::vector<uint8_t> in(64 + 256 * static_cast<size_t>(i));
        for (auto& b : in) b = static_cast<uint8_t>(host_rng());
        write(root / "host_queue", "ops_" + std::to_string(i), in);
        ++files;
    }
    // Transmit digest: random choices of growing length, the harness building a host's PDUs from
    // them (the first byte 0: as the host sends them; 160: with bytes flipped; see
    // fuzz_tx_digest.cpp); and raw mode (first byte 255) with generated host-to-controller streams
    // in the layout the harness reads: digest flags, CPDA, length, the stream, then random choices.
    std::mt19937_64 tx_rng(5);
    for (int i = 0; i < 8; ++i) {
        std::vector<uint8_t> in(96 + 192 * static_cast<size_t>(i));
        for (auto& b : in) b = static_cast<uint8_t>(tx_rng());
        in[0] = i < 6 ? 0 : 160;
        write(root / "tx_digest", "ops_" + std::to_string(i), in);
        ++files;
    }
    for (int i = 0; i < 2; ++i) {
        testlib::StreamOptions so;
        so.receiver = testlib::Role::Controller;
        so.header_digest = i == 1;
        so.data_digest = true;
        so.pda = i == 1 ? 3 : 0;
        so.start_with_ic = false;
        so.pdu_count = 8;
        so.max_data_len = 300;
        so.seed = 50 + static_cast<uint64_t>(i);
        const auto stream = testlib::generate_stream(so);
        std::vector<uint8_t> in{255, static_cast<uint8_t>(so.header_digest), 255};
        auto put32 = [&in](uint32_t v) {
            for (int k = 0; k < 4; ++k) in.push_back(static_cast<uint8_t>(v >> (8 * k)));
        };
        put32(so.pda);
        put32(static_cast<uint32_t>(stream.bytes.size()));
        in.insert(in.end(), stream.bytes.begin(), stream.bytes.end());
        for (int k = 0; k < 256; ++k) in.push_back(static_cast<uint8_t>(tx_rng()));
        write(root / "tx_digest", "raw_" + std::to_string(i), in);
        ++files;
    }
    std::printf("wrote %d seed inputs under %s\n", files, root.c_str());
    return 0;
}
