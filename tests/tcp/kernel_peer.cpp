// The Linux kernel's TCP as the peer of our endpoint in tests: plain sockets, one connection,
// listening or connecting. It sends the test pattern (nvmetcp/byte_pattern.hpp, direction 1)
// and checks every byte it receives against direction 0, in bulk (--expect / --send) or as
// request/response rounds (--rr). At the end it prints what the kernel says of the connection
// (TCP_INFO, the numbers `ss -ti` shows) and the longest time nothing moved.
//
// Exit status 0 only when every byte arrived exactly once and in order, the expected count came,
// the connection closed in order (FIN, no RST) and nothing timed out. It also prints how many
// resets the kernel sent (in this network namespace) until its end of the connection had closed:
// the test script tells those from resets to segments that arrived after it (tcp_kernel_peer.sh).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "nvmetcp/byte_pattern.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using nvmeddp::nvmetcp::fill_pattern;
using nvmeddp::nvmetcp::first_mismatch;

// Pattern directions: what our endpoint sends (this peer checks it) and what this peer sends.
// --as-ours swaps them, so two kernel peers can stand in for both ends (the baseline figure).
uint32_t kToKernel = 0;
uint32_t kFromKernel = 1;

struct Options {
    bool listen = false;
    sockaddr_storage addr{};  // IPv4 or IPv6
    socklen_t addr_len = 0;
    uint64_t expect = 0;
    uint64_t send = 0;
    uint64_t rr_count = 0, rr_req = 0, rr_resp = 0;
    unsigned timeout_s = 120;
    double max_stall_ms = 0;  // 0: not checked
};

[[noreturn]] void usage(const char* why) {
    if (why != nullptr) std::fprintf(stderr, "kernel_peer: %s\n", why);
    std::fprintf(stderr,
                 "usage: tcp_kernel_peer (--listen | --connect) ADDR:PORT [--expect BYTES] [--send BYTES]\n"
                 "                       [--rr COUNT:REQ:RESP] [--timeout SECONDS] [--as-ours] [--max-stall-ms MS]\n"
                 "  --max-stall-ms: fail when nothing moved for longer than this (a bound on RTO stalls)\n"
                 "  --as-ours: send and check the pattern as our endpoint does (a kernel-to-kernel baseline)\n");
    std::exit(why ? 2 : 0);
}

// "192.0.2.1:5001" or "[2001:db8::1]:5001".
bool parse_addr(const char* text, Options& o) {
    std::string s(text);
    const size_t colon = s.rfind(':');
    if (colon == std::string::npos) return false;
    const auto port = htons(static_cast<uint16_t>(std::atoi(s.c_str() + colon + 1)));
    if (port == 0) return false;
    std::string host = s.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        auto* a6 = reinterpret_cast<sockaddr_in6*>(&o.addr);
        a6->sin6_family = AF_INET6;
        a6->sin6_port = port;
        o.addr_len = sizeof(sockaddr_in6);
        return inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &a6->sin6_addr) == 1;
    }
    auto* a4 = reinterpret_cast<sockaddr_in*>(&o.addr);
    a4->sin_family = AF_INET;
    a4->sin_port = port;
    o.addr_len = sizeof(sockaddr_in);
    return inet_pton(AF_INET, host.c_str(), &a4->sin_addr) == 1;
}

// A byte count with an optional K, M or G suffix (powers of two), as nvmeddp-tcp takes them.
uint64_t parse_size(const char* text) {
    char* end = nullptr;
    uint64_t v = std::strtoull(text, &end, 0);
    switch (*end) {
        case 'K': case 'k': v <<= 10; ++end; break;
        case 'M': case 'm': v <<= 20; ++end; break;
        case 'G': case 'g': v <<= 30; ++end; break;
        default: break;
    }
    if (end == text || *end != '\0') usage("a byte count is a number with an optional K, M or G");
    return v;
}

Options parse(int argc, char** argv) {
    Options o;
    bool have_addr = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto val = [&]() -> const char* {
            if (i + 1 >= argc) usage((a + " needs a value").c_str());
            return argv[++i];
        };
        if (a == "--listen" || a == "--connect") {
            o.listen = a == "--listen";
            if (!parse_addr(val(), o)) usage("bad ADDR:PORT (IPv6 as [ADDR]:PORT)");
            have_addr = true;
        } else if (a == "--expect") {
            o.expect = parse_size(val());
        } else if (a == "--send") {
            o.send = parse_size(val());
        } else if (a == "--rr") {
            unsigned long long c, q, r;
            if (std::sscanf(val(), "%llu:%llu:%llu", &c, &q, &r) != 3 || c == 0 || q == 0 || r == 0)
                usage("--rr needs COUNT:REQ:RESP, all > 0");
            o.rr_count = c;
            o.rr_req = q;
            o.rr_resp = r;
        } else if (a == "--max-stall-ms") {
            o.max_stall_ms = std::atof(val());
        } else if (a == "--as-ours") {
            kToKernel = 1;
            kFromKernel = 0;
        } else if (a == "--timeout") {
            o.timeout_s = static_cast<unsigned>(std::atoi(val()));
        } else if (a == "--help" || a == "-h") {
            usage(nullptr);
        } else {
            usage(("unknown option " + a).c_str());
        }
    }
    if (!have_addr) usage("--listen or --connect is required");
    return o;
}

int open_connection(const Options& o, unsigned timeout_s) {
    const int s = socket(o.addr.ss_family, SOCK_STREAM, 0);
    if (s < 0) return -1;
    const int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (!o.listen) {
        if (connect(s, reinterpret_cast<const sockaddr*>(&o.addr), o.addr_len) != 0) {
            std::fprintf(stderr, "kernel_peer: connect: %s\n", std::strerror(errno));
            close(s);
            return -1;
        }
        return s;
    }
    if (bind(s, reinterpret_cast<const sockaddr*>(&o.addr), o.addr_len) != 0 || ::listen(s, 1) != 0) {
        std::fprintf(stderr, "kernel_peer: bind/listen: %s\n", std::strerror(errno));
        close(s);
        return -1;
    }
    std::printf("kernel peer: listening\n");
    std::fflush(stdout);
    pollfd p{s, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout_s * 1000)) != 1) {
        std::fprintf(stderr, "kernel_peer: nobody connected within %u s\n", timeout_s);
        close(s);
        return -1;
    }
    const int c = accept(s, nullptr, nullptr);
    close(s);
    return c;
}

void print_tcp_info(int s, double longest_stall_ms) {
    tcp_info ti{};
    socklen_t len = sizeof ti;
    if (getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) return;
    std::printf("kernel peer: ss -ti: rto:%u rtt:%.3f/%.3f mss:%u cwnd:%u retrans:%u/%u lost:%u reordering:%u "
                "sacked:%u rcv_space:%u; longest stall %.1f ms\n",
                ti.tcpi_rto / 1000, ti.tcpi_rtt / 1000.0, ti.tcpi_rttvar / 1000.0, ti.tcpi_snd_mss, ti.tcpi_snd_cwnd,
                ti.tcpi_retransmits, ti.tcpi_total_retrans, ti.tcpi_lost, ti.tcpi_reordering, ti.tcpi_sacked,
                ti.tcpi_rcv_space, longest_stall_ms);
}

// The kernel's count of resets sent (Tcp OutRsts in /proc/net/snmp, this network namespace's);
// -1 when it cannot be read.
long long tcp_out_rsts() {
    std::ifstream snmp("/proc/net/snmp");
    std::string names, values;
    while (std::getline(snmp, names)) {
        if (names.rfind("Tcp:", 0) != 0 || !std::getline(snmp, values)) continue;
        std::istringstream n(names), v(values);
        std::string name, value;
        while (n >> name && v >> value) {
            if (name == "OutRsts") return std::atoll(value.c_str());
        }
    }
    return -1;
}

// Waits (at most max_ms) until the kernel's end of the connection has closed: CLOSE (its FIN
// acknowledged after the peer's) or TIME-WAIT (it closed first). From then on a segment of the
// peer's finds no connection and the kernel answers it with a reset, as RFC 9293 says; a reset
// before then is one the connection saw.
void report_close(int s, long long rsts_at_start, unsigned max_ms) {
    const auto start = Clock::now();
    tcp_info ti{};
    bool closed = false;
    for (;;) {
        socklen_t len = sizeof ti;
        if (getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) break;
        closed = ti.tcpi_state == TCP_CLOSE || ti.tcpi_state == TCP_TIME_WAIT;
        if (closed || Clock::now() - start >= std::chrono::milliseconds(max_ms)) break;
        usleep(500);
    }
    const double waited = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    const long long now = tcp_out_rsts();
    std::printf("kernel peer: %s %.1f ms after the transfer (state %u); resets the kernel sent until then: %lld\n",
                closed ? "its end closed" : "its end had not closed", waited, ti.tcpi_state,
                rsts_at_start < 0 || now < 0 ? -1 : now - rsts_at_start);
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);
    const long long rsts_at_start = tcp_out_rsts();
    const int s = open_connection(o, o.timeout_s);
    if (s < 0) return 1;
    fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);

    // Bulk: expect / send at once. Request/response: rounds of REQ in, RESP out (as the listener),
    // or REQ out, RESP in (connecting).
    const bool rr = o.rr_count > 0;
    const uint64_t total_in = rr ? o.rr_count * (o.listen ? o.rr_req : o.rr_resp) : o.expect;
    const uint64_t total_out = rr ? o.rr_count * (o.listen ? o.rr_resp : o.rr_req) : o.send;
    uint64_t got = 0, sent = 0, allowed_out = rr ? (o.listen ? 0 : o.rr_req) : total_out;
    bool shut = false, eof = false, failed = false;
    std::vector<uint8_t> buf(1 << 16);
    const auto start = Clock::now();
    auto last_progress = start;
    double longest_stall_ms = 0;
    char stall_where[200] = "";
    double read_done_s = -1, write_done_s = -1;  // when each direction had all its bytes

    // Until both directions are done: everything sent (then our FIN), and the peer's FIN read.
    while (!failed && !(eof && sent == total_out)) {
        if (sent == total_out && !shut) {
            shutdown(s, SHUT_WR);
            shut = true;
        }
        const short events = static_cast<short>((eof ? 0 : POLLIN) | (sent < allowed_out ? POLLOUT : 0));
        if (events == 0) {
            std::printf("kernel peer: FAILED: the peer closed before the request it owed (sent %llu of %llu)\n",
                        static_cast<unsigned long long>(sent), static_cast<unsigned long long>(total_out));
            failed = true;
            break;
        }
        pollfd p{s, events, 0};
        const int r = ::poll(&p, 1, 100);
        const auto now = Clock::now();
        if (std::chrono::duration_cast<std::chrono::seconds>(now - start).count() >= o.timeout_s) {
            std::printf("kernel peer: FAILED: timed out after %u s (received %llu of %llu, sent %llu of %llu)\n",
                        o.timeout_s, static_cast<unsigned long long>(got), static_cast<unsigned long long>(total_in),
                        static_cast<unsigned long long>(sent), static_cast<unsigned long long>(total_out));
            failed = true;
            break;
        }
        if (r <= 0) continue;
        bool moved = false;
        if (!eof && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
            const ssize_t n = read(s, buf.data(), buf.size());
            if (n > 0) {
                const size_t bad = first_mismatch(kToKernel, got, {buf.data(), static_cast<size_t>(n)});
                if (bad != static_cast<size_t>(n)) {
                    std::printf("kernel peer: FAILED: byte at offset %llu is 0x%02x, expected 0x%02x\n",
                                static_cast<unsigned long long>(got + bad), buf[bad],
                                nvmeddp::nvmetcp::pattern_byte(kToKernel, got + bad));
                    failed = true;
                }
                got += static_cast<uint64_t>(n);
                if (got > total_in) {
                    std::printf("kernel peer: FAILED: received %llu bytes, more than the %llu expected\n",
                                static_cast<unsigned long long>(got), static_cast<unsigned long long>(total_in));
                    failed = true;
                }
                if (rr && o.listen) allowed_out = got / o.rr_req * o.rr_resp;
                if (rr && !o.listen) allowed_out = std::min(total_out, (got / o.rr_resp + 1) * o.rr_req);
                moved = true;
            } else if (n == 0) {
                eof = true;
            } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
                std::printf("kernel peer: FAILED: read: %s\n", std::strerror(errno));
                failed = true;
            }
        }
        if (!failed && (p.revents & POLLOUT) && sent < allowed_out) {
            const size_t want = static_cast<size_t>(std::min<uint64_t>(allowed_out - sent, buf.size()));
            fill_pattern(kFromKernel, sent, {buf.data(), want});
            const ssize_t n = write(s, buf.data(), want);
            if (n > 0) {
                sent += static_cast<uint64_t>(n);
                moved = true;
            } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                std::printf("kernel peer: FAILED: write: %s\n", std::strerror(errno));
                failed = true;
            }
        }
        if (moved && got == total_in && read_done_s < 0) read_done_s = std::chrono::duration<double>(now - start).count();
        if (moved && sent == total_out && write_done_s < 0) write_done_s = std::chrono::duration<double>(now - start).count();
        if (moved) {
            const double stall = std::chrono::duration<double, std::milli>(now - last_progress).count();
            if (stall > longest_stall_ms) {
                longest_stall_ms = stall;
                // Where it was: which direction had stopped, to tell a lost retransmission of ours
                // from one of the kernel's.
                std::snprintf(stall_where, sizeof stall_where,
                              "ended %.3f s in, after reading %llu of %llu and writing %llu of %llu bytes%s",
                              std::chrono::duration<double>(now - start).count(), static_cast<unsigned long long>(got),
                              static_cast<unsigned long long>(total_in), static_cast<unsigned long long>(sent),
                              static_cast<unsigned long long>(total_out), shut ? " (our FIN queued)" : "");
            }
            last_progress = now;
        }
    }
    if (!failed && got != total_in) {
        std::printf("kernel peer: FAILED: the peer closed after %llu of %llu bytes\n",
                    static_cast<unsigned long long>(got), static_cast<unsigned long long>(total_in));
        failed = true;
    }
    if (!failed && sent != total_out) {
        std::printf("kernel peer: FAILED: sent only %llu of %llu bytes\n", static_cast<unsigned long long>(sent),
                    static_cast<unsigned long long>(total_out));
        failed = true;
    }
    const double secs = std::chrono::duration<double>(Clock::now() - start).count();
    if (!failed) report_close(s, rsts_at_start, 500);
    print_tcp_info(s, longest_stall_ms);
    std::printf("kernel peer: read all %llu bytes at %.3f s, wrote all %llu at %.3f s (-1: never)\n",
                static_cast<unsigned long long>(total_in), read_done_s, static_cast<unsigned long long>(total_out),
                write_done_s);
    if (!failed && o.max_stall_ms > 0 && longest_stall_ms > o.max_stall_ms) {
        std::printf("kernel peer: FAILED: nothing moved for %.1f ms, more than the %.1f ms allowed; it %s\n",
                    longest_stall_ms, o.max_stall_ms, stall_where);
        failed = true;
    }
    close(s);
    if (failed) return 1;
    std::printf("kernel peer: OK: received %llu bytes exact and in order, sent %llu, closed in order (%.2f s, %.1f MB/s in, "
                "%.1f MB/s out)\n",
                static_cast<unsigned long long>(got), static_cast<unsigned long long>(sent), secs, got / secs / 1e6,
                sent / secs / 1e6);
    return 0;
}
