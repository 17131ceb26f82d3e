// Header prediction (connection_fast_path.cpp) must leave a connection exactly where the full
// input path would: two connections, one with it and one without, get the same generated segments
// (mostly the next bytes in order, among them old, overlapping and early ones, ACKs that move or
// not, window changes and zero windows, old timestamps, SACK blocks, a FIN) while the application
// sends, and time passes; after every step both must have delivered the same bytes, sent the same
// segments and counted the same.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "connection_rig.hpp"

namespace nvmeddp::tcp_test {
namespace {

namespace F = pmd::tcp_flags;
using tcp::Seq;

uint8_t peer_byte(uint64_t offset) { return static_cast<uint8_t>((offset * 2654435761u) >> 11); }

bool same_options(const tcp::TcpOptions& a, const tcp::TcpOptions& b) {
    if (a.has_mss != b.has_mss || a.mss != b.mss || a.has_wscale != b.has_wscale || a.wscale != b.wscale ||
        a.sack_permitted != b.sack_permitted || a.has_timestamps != b.has_timestamps || a.ts_val != b.ts_val ||
        a.ts_ecr != b.ts_ecr || a.sack_count != b.sack_count)
        return false;
    for (uint8_t i = 0; i < a.sack_count; ++i) {
        if (a.sack[i].left != b.sack[i].left || a.sack[i].right != b.sack[i].right) return false;
    }
    return true;
}

// Everything counted, but the count of segments the fast path took.
tcp::ConnectionStats without_predicted(tcp::ConnectionStats s) {
    s.predicted = 0;
    return s;
}

struct Scenario {
    bool timestamps;
    bool sack;
    bool wscale;
};

class Twins {
public:
    explicit Twins(const Scenario& sc) : on_(config(true)), off_(config(false)) {
        tcp::TcpOptions peer = linux_syn_ack();
        peer.sack_permitted = sc.sack;
        peer.has_timestamps = sc.timestamps;
        peer.has_wscale = sc.wscale;
        ts_ = peer.ts_val;
        iss_ = on_.establish(irs_, peer);
        EXPECT_EQ(off_.establish(irs_, peer), iss_);
        highest_sent_ = iss_ + 1;
        ack_ = iss_ + 1;
    }

    // One step of the peer, the application or the clock, the same for both; then both compared.
    void step(std::mt19937& rng) {
        auto pick = [&](uint32_t n) { return static_cast<uint32_t>(rng() % n); };
        // The peer goes on mostly from what the connection delivered (it resends what was dropped
        // or is still missing), sometimes from where it left off.
        if (pick(4) != 0) peer_next_ = on_.handler().data.size();
        const uint32_t what = pick(20);
        if (what < 14) {
            peer_segment(pick);
        } else if (what < 16) {
            const std::vector<uint8_t> data = bytes(1 + pick(6000), static_cast<uint8_t>(pick(256)));
            EXPECT_EQ(on_.conn().send(data), off_.conn().send(data));
            both([](ConnectionRig& r) { r.finish_burst(); });
        } else if (what < 18) {
            const uint64_t us = pick(4) == 0 ? 250'000 : pick(2'000);
            both([us](ConnectionRig& r) { r.advance_us(us); });
        } else {
            // Several segments in one rx burst: the ACK and the delivery come at its end.
            both([](ConnectionRig& r) { r.hold_burst = true; });
            for (uint32_t k = 0, n = 2 + pick(6); k < n; ++k) peer_segment(pick);
            both([](ConnectionRig& r) {
                r.hold_burst = false;
                r.finish_burst();
            });
        }
        compare();
    }

    uint64_t predicted() { return on_.conn().stats().predicted; }
    uint64_t predicted_without() { return off_.conn().stats().predicted; }
    uint64_t delivered() { return on_.handler().data.size(); }
    bool alive() { return on_.conn().state() == tcp::TcpState::Established; }

private:
    static tcp::ConnectionConfig config(bool prediction) {
        tcp::ConnectionConfig c;
        c.header_prediction = prediction;
        c.ready_segments = 8;  // a full ready list is reached in bursts
        c.rcv_buf = 64 * 1024;
        return c;
    }

    template <class Fn>
    void both(Fn fn) {
        fn(on_);
        fn(off_);
    }

    template <class Pick>
    void peer_segment(Pick pick) {
        // Where it starts: mostly the next byte the peer has not sent yet, else old, overlapping or early.
        uint64_t start = peer_next_;
        const uint32_t where = pick(10);
        if (where == 7 && peer_next_ > 0) start = peer_next_ - std::min<uint64_t>(peer_next_, 1 + pick(3000));
        if (where == 8) start = peer_next_ + 1 + pick(4000);
        const uint32_t len = pick(12) == 0 ? 0 : 1 + pick(1448);
        uint8_t flags = F::kAck;
        if (pick(2) == 0) flags |= F::kPsh;
        if (pick(3000) == 0) flags |= F::kFin;
        if (pick(300) == 0) flags |= F::kUrg;
        // The ACK: mostly as before, sometimes up to what we sent (new data acknowledged).
        if (pick(5) == 0) ack_ = highest_sent_;
        if (pick(10) == 0) window_ = static_cast<uint16_t>(pick(3) == 0 ? 0 : 100 + pick(0xFF00));
        tcp::TcpOptions o;
        if (pick(20) != 0) {
            o.has_timestamps = true;
            if (pick(15) == 0) {
                o.ts_val = ts_ - 1 - pick(100);  // older than the last one: PAWS
            } else {
                ts_ += pick(3);
                o.ts_val = ts_;
            }
            o.ts_ecr = 1;
        }
        // SACK blocks for some of what we sent beyond the ACK: duplicate ACKs, recoveries.
        const uint32_t outstanding = ack_.bytes_to(highest_sent_);
        if (outstanding > 2 && pick(6) == 0) {
            const Seq left = ack_ + 1 + pick(outstanding - 1);
            o.sack[0] = tcp::SackBlock{left, left + 1 + pick(left.bytes_to(highest_sent_))};
            o.sack_count = 1;
        }
        std::vector<uint8_t> payload(len);
        for (uint32_t i = 0; i < len; ++i) payload[i] = peer_byte(start + i);
        const Seq seq = irs_ + 1 + static_cast<uint32_t>(start);
        both([&](ConnectionRig& r) { r.feed(seq, ack_, flags, payload, o, window_); });
        peer_next_ = std::max<uint64_t>(peer_next_, start + len);
    }

    void compare() {
        const std::vector<Sent> a = on_.take_sent();
        const std::vector<Sent> b = off_.take_sent();
        ASSERT_EQ(a.size(), b.size()) << "the two sent a different number of segments";
        for (size_t i = 0; i < a.size(); ++i) {
            EXPECT_EQ(a[i].seq, b[i].seq);
            EXPECT_EQ(a[i].ack, b[i].ack) << "segment " << i;
            EXPECT_EQ(a[i].flags, b[i].flags);
            EXPECT_EQ(a[i].window, b[i].window);
            EXPECT_TRUE(same_options(a[i].options, b[i].options)) << "segment " << i << "'s options differ";
            EXPECT_EQ(a[i].payload, b[i].payload);
            const Seq end = a[i].seq + static_cast<uint32_t>(a[i].payload.size());
            if (end > highest_sent_) highest_sent_ = end;
        }
        EXPECT_EQ(on_.handler().data, off_.handler().data) << "delivered bytes differ";
        EXPECT_EQ(on_.handler().seqs, off_.handler().seqs);
        EXPECT_EQ(on_.handler().acked, off_.handler().acked);
        EXPECT_EQ(on_.handler().peer_closed, off_.handler().peer_closed);
        const tcp::ConnectionStats sa = without_predicted(on_.conn().stats());
        const tcp::ConnectionStats sb = without_predicted(off_.conn().stats());
        EXPECT_EQ(std::memcmp(&sa, &sb, sizeof sa), 0) << "counts differ: " << on_.conn().info() << "\n vs " << off_.conn().info();
        const tcp::ConnectionSnapshot na = on_.conn().snapshot();
        const tcp::ConnectionSnapshot nb = off_.conn().snapshot();
        EXPECT_STREQ(na.state, nb.state);
        EXPECT_EQ(na.rcv_wnd, nb.rcv_wnd);
        EXPECT_EQ(na.snd_wnd, nb.snd_wnd);
        EXPECT_EQ(na.rcvmss, nb.rcvmss);
        EXPECT_EQ(na.cwnd_bytes, nb.cwnd_bytes);
        EXPECT_EQ(na.rto_us, nb.rto_us);
        EXPECT_EQ(na.srtt_us, nb.srtt_us);
        EXPECT_EQ(na.unacked_segs, nb.unacked_segs);
        // What the peer's bytes are, checked once on one side (the other equals it).
        const std::vector<uint8_t>& got = on_.handler().data;
        for (size_t i = checked_; i < got.size(); ++i) {
            if (got[i] != peer_byte(i)) {
                ADD_FAILURE() << "delivered byte " << i << " is not the peer's";
                break;
            }
        }
        checked_ = got.size();
    }

    ConnectionRig on_;
    ConnectionRig off_;
    Seq irs_{0x7FFFF000};  // the peer's sequence numbers wrap during the run
    Seq iss_;
    Seq ack_;
    Seq highest_sent_;
    uint64_t peer_next_ = 0;
    uint16_t window_ = 0xFFFF;
    uint32_t ts_ = 0;
    size_t checked_ = 0;
};

TEST(HeaderPrediction, LeavesTheConnectionAsTheFullPathWould) {
    const Scenario scenarios[] = {{true, true, true}, {false, false, true}, {true, false, false}, {false, true, true}};
    uint64_t predicted = 0, delivered = 0;
    for (uint32_t seed = 1; seed <= 40; ++seed) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        const Scenario& sc = scenarios[seed % 4];
        std::mt19937 rng(seed);
        Twins twins(sc);
        for (int i = 0; i < 400 && twins.alive() && !HasFailure(); ++i) twins.step(rng);
        ASSERT_FALSE(HasFailure());
        EXPECT_EQ(twins.predicted_without(), 0u) << "the path was taken where it was turned off";
        predicted += twins.predicted();
        delivered += twins.delivered();
    }
    // The comparison means something only if the short path ran often, and data flowed.
    EXPECT_GT(predicted, 2000u);
    EXPECT_GT(delivered, 4'000'000u);
}

// The shapes it must not take: each goes the full way (counted nowhere as predicted).
TEST(HeaderPrediction, TakesOnlyTheNextInOrderDataThatAcknowledgesNothingNew) {
    ConnectionRig rig;
    const Seq irs(5000);
    const Seq iss = rig.establish(irs, linux_syn_ack());
    const auto predicted = [&] { return rig.conn().stats().predicted; };
    const std::vector<uint8_t> d = bytes(100);
    rig.feed(irs + 1, iss + 1, F::kAck, {}, ts(5000));  // the window as scaled from now on: no change below
    rig.feed(irs + 1, iss + 1, F::kAck | F::kPsh, d, ts(5001));
    EXPECT_EQ(predicted(), 1u) << "the next bytes, in order";
    rig.feed(irs + 201, iss + 1, F::kAck, d, ts(5002));
    EXPECT_EQ(predicted(), 1u) << "bytes after a gap";
    rig.feed(irs + 101, iss + 1, F::kAck, d, ts(5003));
    EXPECT_EQ(predicted(), 1u) << "filling a hole (the out-of-order queue is not empty)";
    rig.feed(irs + 301, iss + 1, F::kAck, d, ts(5004));
    EXPECT_EQ(predicted(), 2u) << "in order again";
    rig.feed(irs + 401, iss + 1, F::kAck, d, ts(4000));
    EXPECT_EQ(predicted(), 2u) << "an old timestamp";
    EXPECT_EQ(rig.conn().stats().paws_rejected, 1u);
    rig.feed(irs + 401, iss + 1, F::kAck, d, ts(5005), 0x1000);
    EXPECT_EQ(predicted(), 2u) << "a changed window";
    rig.feed(irs + 501, iss + 1, F::kAck | F::kFin, d, ts(5006), 0x1000);
    EXPECT_EQ(predicted(), 2u) << "a FIN";
    EXPECT_EQ(rig.handler().data.size(), 600u);
    EXPECT_EQ(rig.handler().peer_closed, 1);
}

}  // namespace
}  // namespace nvmeddp::tcp_test
