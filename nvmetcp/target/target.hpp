// The built-in NVMe/TCP target (controller side): one RAM namespace behind an NVMe/TCP listener on
// kernel sockets, for the tests, demos and benchmarks of our host. It is a test tool, yet it follows
// the NVMe/TCP 1.0 transport and NVMe-oF 1.1 closely enough for the Linux kernel's nvme-tcp host.
//
// Single-threaded: every connection is served from one epoll loop, driven by run() or poll(). Faults
// can be injected into what it sends (TargetFaults) to test a host's error paths.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace nvmeddp::nvmetcp::target {

struct TargetFaults {  // all 0 = off; counted per connection
    // Once this many C2HData data bytes were sent on a connection: the C2HData PDU under way is cut
    // short at exactly that byte (its header says so, without LAST_PDU), a C2HTermReq follows (FES 2,
    // PDU sequence error: the controller stops the data transfer it started; FEI 0, no error data),
    // and the connection is closed. The host sees a command's data end early, then the TermReq.
    uint64_t term_after_data_bytes = 0;
    // Closes the connection in the middle of a C2HData PDU (its header announced more data) after
    // this many C2HData data bytes.
    uint64_t disconnect_after_data_bytes = 0;
    // Every Nth C2HData PDU carries a wrong DDGST (when data digests are on).
    uint32_t corrupt_data_digest_every = 0;
};

struct TargetConfig {
    std::string listen_address = "127.0.0.1";  // IPv4 or IPv6 literal
    uint16_t port = 4420;                       // 0: any free port (see Target::port())
    std::string subnqn = "nqn.2026-12.io.nvmeddp:target";
    uint64_t namespace_bytes = 64ull << 20;  // one RAM namespace holding the namespace pattern
    uint32_t nsid = 1;                        // ... and its id (1..0xFFFFFFFE)
    uint32_t block_size = 512;               // 512 or 4096
    uint16_t max_io_queues = 8;
    uint16_t max_queue_depth = 128;   // CAP.MQES + 1
    uint8_t cpda = 0;                 // alignment the target asks for H2CData (ICResp.CPDA)
    uint32_t maxh2cdata = 128u << 10;  // ICResp.MAXH2CDATA; a larger H2CData is FES 5
    uint32_t in_capsule_data = 8192;   // I/O queue in-capsule data bytes (IOCCSZ = (64 + this) / 16)
    uint32_t c2h_split = 0;            // max data bytes per C2HData PDU; 0 = one per command
    uint32_t r2t_split = 0;            // max bytes per R2T; 0 = one R2T for the whole write
    bool send_success = true;          // SUCCESS on the last C2HData when the queue disabled SQ flow control
    bool allow_header_digest = true;   // grant HDGST when the host asks
    bool allow_data_digest = true;
    bool verbose = false;              // one line per connection open/close (with the reason) to stderr
    TargetFaults faults;
};

struct TargetStats {  // cumulative
    uint64_t connections = 0;
    uint64_t connections_closed = 0;  // connections - connections_closed are open now
    uint64_t controllers = 0, commands = 0, reads = 0, writes = 0, flushes = 0, admin_commands = 0;
    uint64_t bytes_read = 0, bytes_written = 0, c2h_pdus = 0, r2ts = 0, h2c_pdus = 0;
    uint64_t errors_sent = 0;      // C2HTermReqs sent
    uint64_t errors_received = 0;  // H2CTermReqs received
    uint64_t digest_errors = 0;    // data digest mismatches in H2CData or in-capsule data (command failed)
    uint64_t faults_injected = 0;
};

class TargetImpl;

class Target {
public:
    // Binds and listens; null (and a message in *error) when the config or the socket fails.
    static std::unique_ptr<Target> create(const TargetConfig& config, std::string* error);
    ~Target();
    Target(const Target&) = delete;
    Target& operator=(const Target&) = delete;

    uint16_t port() const noexcept;  // the bound port
    // Serves until *stop becomes true (checked at least every 50 ms).
    void run(const std::atomic<bool>& stop);
    // One epoll round, waiting at most timeout_ms (tests may drive the target this way).
    void poll(int timeout_ms);
    // Safe to call from another thread while run() runs.
    TargetStats stats() const;
    // The namespace's bytes; not synchronized with run(): call when idle.
    std::span<const uint8_t> namespace_bytes() const noexcept;

private:
    explicit Target(std::unique_ptr<TargetImpl> impl);
    std::unique_ptr<TargetImpl> impl_;
};

}  // namespace nvmeddp::nvmetcp::target
