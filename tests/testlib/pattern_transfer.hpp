// A tcp/ connection handler that moves the test pattern (byte_pattern.hpp): it sends direction 0 as
// fast as the connection takes it and checks every received byte against direction 1, in bulk or in
// request/response rounds, then closes its side. Used by nvmeddp-tcp against the kernel and by the
// in-process endpoint tests, so both judge a transfer the same way. Header-only: its users link tcp/.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>

#include "tcp/connection.hpp"
#include "nvmetcp/byte_pattern.hpp"

namespace nvmeddp::testlib {

using nvmetcp::fill_pattern;
using nvmetcp::first_mismatch;

class PatternTransfer : public tcp::ConnectionHandler {
public:
    static constexpr uint32_t kOut = 0;  // the pattern direction this side sends
    static constexpr uint32_t kIn = 1;   // and the one it checks

    struct Plan {
        uint64_t total_out = 0, total_in = 0;
        // Request/response: rounds of `req` bytes from the connecting side, `resp` from the other.
        uint64_t rounds = 0, req = 0, resp = 0;
        bool requester = false;
    };
    static Plan bulk(uint64_t send, uint64_t expect) { return Plan{send, expect, 0, 0, 0, false}; }
    static Plan request_response(uint64_t rounds, uint64_t req, uint64_t resp, bool requester) {
        Plan p;
        p.rounds = rounds;
        p.req = req;
        p.resp = resp;
        p.requester = requester;
        p.total_out = rounds * (requester ? req : resp);
        p.total_in = rounds * (requester ? resp : req);
        return p;
    }

    // `in_direction`/`out_direction`: which pattern each way (the peer uses them the other way round).
    explicit PatternTransfer(const Plan& plan, uint32_t out_direction = kOut, uint32_t in_direction = kIn)
        : plan_(plan), out_dir_(out_direction), in_dir_(in_direction) {
        allowed_out_ = plan.rounds > 0 ? (plan.requester ? plan.req : 0) : plan.total_out;
    }

    void on_connected(tcp::Connection& c) override {
        connected_ = true;
        pump(c);
    }
    void on_data(tcp::Connection& c, std::span<tcp::RxSegment> segments) override {
        for (const tcp::RxSegment& s : segments) {
            for (const rte_mbuf* m = s.m; m != nullptr; m = m->next) {
                const std::span<const uint8_t> b(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len);
                const size_t bad = first_mismatch(in_dir_, got_, b);
                if (bad != b.size()) fail("byte at offset " + std::to_string(got_ + bad) + " is wrong");
                got_ += b.size();
            }
        }
        if (got_ > plan_.total_in) {
            fail("received " + std::to_string(got_) + " bytes, more than the " + std::to_string(plan_.total_in) +
                 " expected");
        }
        if (plan_.rounds > 0) {
            allowed_out_ = plan_.requester ? std::min(plan_.total_out, (got_ / plan_.resp + 1) * plan_.req)
                                           : got_ / plan_.req * plan_.resp;
        }
        pump(c);
    }
    void on_acked(tcp::Connection& c, uint64_t) override { pump(c); }
    void on_peer_closed(tcp::Connection& c) override {
        peer_closed_ = true;
        pump(c);
    }
    void on_closed(tcp::Connection& c, tcp::TcpError e) override {
        closed_ = true;
        error_ = e;
        final_info_ = c.info();  // the connection's counters at its end, for the report
    }

    bool closed() const { return closed_; }
    bool connected() const { return connected_; }
    bool failed() const { return failed_; }
    const std::string& why() const { return why_; }
    const std::string& final_info() const { return final_info_; }
    tcp::TcpError error() const { return error_; }
    uint64_t received() const { return got_; }
    uint64_t sent() const { return sent_; }
    const Plan& plan() const { return plan_; }
    // Every byte both ways, exactly, and an orderly close.
    bool complete() const {
        return closed_ && !failed_ && error_ == tcp::TcpError::None && got_ == plan_.total_in &&
               sent_ == plan_.total_out;
    }

private:
    void pump(tcp::Connection& c) {
        uint8_t chunk[16384];
        while (sent_ < allowed_out_) {
            const size_t want = static_cast<size_t>(std::min<uint64_t>(allowed_out_ - sent_, sizeof chunk));
            fill_pattern(out_dir_, sent_, {chunk, want});
            const size_t n = c.send({chunk, want});
            sent_ += n;
            if (n < want) break;
        }
        // Our side closes once everything went out and everything came (or the peer closed first).
        if (!close_sent_ && sent_ == plan_.total_out && (got_ == plan_.total_in || peer_closed_)) {
            close_sent_ = true;
            c.close();
        }
    }
    void fail(const std::string& why) {
        if (!failed_) {
            why_ = why;
            std::printf("pattern transfer: FAILED: %s\n", why.c_str());
        }
        failed_ = true;
    }

    Plan plan_;
    uint32_t out_dir_, in_dir_;
    uint64_t allowed_out_ = 0, sent_ = 0, got_ = 0;
    bool connected_ = false, peer_closed_ = false, close_sent_ = false, closed_ = false, failed_ = false;
    tcp::TcpError error_ = tcp::TcpError::None;
    std::string why_;
    std::string final_info_;
};

}  // namespace nvmeddp::testlib
