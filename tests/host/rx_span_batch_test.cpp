// Spans handed to a queue in runs (RxSpanBatch -> Queue::receive_data_run) end every read exactly as
// the same spans handed over one by one (Queue::receive): the same bytes in every buffer, the same
// completions, the same counts of copied, placed, claimed, refused, trusted and computed. Generated
// streams: several reads interleaved, C2HData PDUs of random sizes, packets of random sizes cut into
// chains of spans, placement claims (run 1 and run 2) that are right or wrong in one field, digest
// verdicts, a corrupted data digest; with and without the offload and data digests.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "nvmetcp/host/rx_span_batch.hpp"
#include "offload_harness.hpp"

namespace nvmeddp::nvmetcp::host::test {
namespace {

constexpr uint32_t kC2HHeaderLen = sizeof(C2HDataPdu);

struct Variant {
    bool offload;
    bool data_digest;
    bool corrupt_digest;  // one C2HData's DDGST is wrong: its read must fail
    bool success = false; // SQ flow control off: some reads end with a C2HData with SUCCESS
};

// What one delivery of a generated stream ended with.
struct Outcome {
    std::vector<std::vector<uint8_t>> buffers;
    std::vector<std::string> completions;  // per read: status, bytes and reason
    std::vector<uint64_t> counts;
    QueueState state{};
    std::vector<size_t> completed_after;  // completions after each packet (batched: where the batch was flushed)
    uint64_t gathered = 0;        // spans the batch kept for a run (batched delivery only)
    uint64_t placed = 0, refused = 0;
    bool reads_right = true;      // every read's buffer holds its data, unless its digest was corrupted
    bool corrupted_read_failed = true;
};

struct Read {
    uint16_t cid = 0;
    std::vector<uint8_t> data;
    std::vector<uint8_t> buffer;
    std::vector<IoVec> iovs;
    bool corrupted = false;
};

struct WirePdu {
    bool c2h = false;
    size_t read = 0;
    uint32_t datao = 0;
    uint64_t begin = 0, data_begin = 0, data_end = 0, end = 0;  // offsets in the generated stream
    bool corrupted = false;  // its DDGST is wrong
};

struct Packet {
    uint64_t begin = 0, end = 0;
    std::vector<uint64_t> cuts;  // where its later spans begin
    const ::nvmeddp_pkt_meta* meta = nullptr;
};

uint32_t pick(std::mt19937& rng, uint32_t lo, uint32_t hi) { return std::uniform_int_distribution<uint32_t>(lo, hi)(rng); }
bool chance(std::mt19937& rng, uint32_t percent) { return pick(rng, 0, 99) < percent; }

Outcome deliver(uint32_t seed, const Variant& v, bool batched) {
    Outcome out;
    OffloadHarness h(v.data_digest, v.offload, v.success);
    h.bring_up();
    if (::testing::Test::HasFatalFailure()) return out;
    std::mt19937 rng(seed);

    // Reads, each over 1 to 3 buffers.
    std::deque<Read> reads(pick(rng, 2, 6));
    for (size_t r = 0; r < reads.size(); ++r) {
        Read& rd = reads[r];
        static constexpr uint32_t kLens[] = {700, 4096, 9000, 16384, 40000};
        const uint32_t len = kLens[pick(rng, 0, 4)];
        rd.data = pattern(len, seed * 7 + static_cast<uint32_t>(r));
        rd.buffer.assign(len, 0);
        uint32_t at = 0;
        const uint32_t pieces = pick(rng, 1, 3);
        for (uint32_t p = 0; p < pieces; ++p) {
            const uint32_t n = p + 1 == pieces ? len - at : pick(rng, 1, (len - at) / 2);
            rd.iovs.push_back(IoVec{rd.buffer.data() + at, n});
            at += n;
        }
        rd.cid = h.read(rd.iovs, len);
    }

    // The controller's PDUs: each read's data in C2HData PDUs of random sizes, then its CapsuleResp,
    // the reads' PDUs interleaved.
    std::vector<uint8_t> stream;
    std::vector<WirePdu> pdus;
    std::vector<uint32_t> sent(reads.size(), 0);
    std::vector<bool> responded(reads.size(), false);
    const size_t corrupt_read = v.corrupt_digest ? pick(rng, 0, static_cast<uint32_t>(reads.size()) - 1) : SIZE_MAX;
    for (;;) {
        std::vector<size_t> open;
        for (size_t r = 0; r < reads.size(); ++r) {
            if (!responded[r]) open.push_back(r);
        }
        if (open.empty()) break;
        const size_t r = open[pick(rng, 0, static_cast<uint32_t>(open.size()) - 1)];
        Read& rd = reads[r];
        const uint32_t len = static_cast<uint32_t>(rd.data.size());
        WirePdu p;
        p.read = r;
        p.begin = stream.size();
        std::vector<uint8_t> bytes;
        if (sent[r] < len) {
            const uint32_t n = std::min(len - sent[r], chance(rng, 30) ? pick(rng, 1, 600) : pick(rng, 600, 12000));
            const bool last = sent[r] + n == len;
            const bool success = last && v.success && chance(rng, 50);
            const uint8_t flags = last ? pdu_flags::kLastPdu | (success ? pdu_flags::kSuccess : 0) : 0;
            bytes = h.wire.c2h(rd.cid, sent[r], std::span(rd.data).subspan(sent[r], n), flags);
            responded[r] = success;  // no CapsuleResp follows
            p.c2h = true;
            p.datao = sent[r];
            p.data_begin = p.begin + kC2HHeaderLen;
            p.data_end = p.data_begin + n;
            if (r == corrupt_read && v.data_digest && !rd.corrupted) {
                bytes.back() ^= 0x40;
                rd.corrupted = p.corrupted = true;
            }
            sent[r] += n;
        } else {
            bytes = h.wire.capsule_resp(rd.cid);
            responded[r] = true;
        }
        stream.insert(stream.end(), bytes.begin(), bytes.end());
        p.end = stream.size();
        pdus.push_back(p);
    }
    const uint32_t base = h.seq;  // sequence number of stream[0]

    // Packets, cut into chains of spans, with what the device would stamp on them.
    std::vector<Packet> packets;
    std::deque<::nvmeddp_pkt_meta> metas;
    auto tag_of = [&](uint16_t cid) { return h.dev.device->registration_tag(h.rx->handle(), cid); };
    for (uint64_t at = 0; at < stream.size();) {
        Packet pk;
        const uint32_t want = chance(rng, 10) ? pick(rng, 1, 64) : chance(rng, 70) ? pick(rng, 100, 1500) : pick(rng, 1500, 9000);
        pk.begin = at;
        pk.end = std::min<uint64_t>(stream.size(), at + want);
        for (uint32_t c = pick(rng, 0, 3); c > 0 && pk.end - pk.begin > 1; --c)
            pk.cuts.push_back(pk.begin + pick(rng, 1, static_cast<uint32_t>(pk.end - pk.begin) - 1));
        std::sort(pk.cuts.begin(), pk.cuts.end());
        pk.cuts.erase(std::unique(pk.cuts.begin(), pk.cuts.end()), pk.cuts.end());
        at = pk.end;
        if (!v.offload || chance(rng, 10)) {
            packets.push_back(pk);
            continue;
        }
        ::nvmeddp_pkt_meta m{};
        m.conn_id = kConnId;
        m.flags = NVMEDDP_PKT_CRC;
        // Run 1: the first C2HData data in the packet; run 2: the next C2HData's first bytes when
        // run 1 reaches its PDU's data end.
        const auto first = std::find_if(pdus.begin(), pdus.end(), [&](const WirePdu& p) {
            return p.c2h && p.data_end > pk.begin && p.data_begin < pk.end;
        });
        if (first != pdus.end() && chance(rng, 75)) {
            const WirePdu& p = *first;
            Read& rd = reads[p.read];
            const uint64_t from = std::max(pk.begin, p.data_begin), to = std::min(pk.end, p.data_end);
            m.flags |= NVMEDDP_PKT_PLACED;
            m.place_seq = base + static_cast<uint32_t>(from);
            m.place_len = static_cast<uint16_t>(to - from);
            m.place_cccid = rd.cid;
            m.place_tag = tag_of(rd.cid);
            m.place_buf_off = p.datao + static_cast<uint32_t>(from - p.data_begin);
            const uint32_t wrong = chance(rng, 20) ? pick(rng, 1, 3) : 0;  // which field is wrong, if any
            if (wrong == 1) ++m.place_tag;
            if (wrong == 2) ++m.place_buf_off;
            if (wrong == 3) --m.place_seq;
            if (wrong == 0 && h.rx->registered(rd.cid))  // what the device placed
                std::memcpy(rd.buffer.data() + m.place_buf_off, rd.data.data() + m.place_buf_off, m.place_len);
            const auto next = std::find_if(first + 1, pdus.end(), [](const WirePdu& q) { return q.c2h; });
            if (to == p.data_end && next != pdus.end() && next->data_begin < pk.end && chance(rng, 80)) {
                Read& rd2 = reads[next->read];
                m.place2_len = static_cast<uint16_t>(std::min(pk.end, next->data_end) - next->data_begin);
                m.place2_tag = tag_of(rd2.cid) + (chance(rng, 15) ? 1 : 0);
                if (m.place2_tag == tag_of(rd2.cid) && h.rx->registered(rd2.cid))
                    std::memcpy(rd2.buffer.data() + next->datao, rd2.data.data() + next->datao, m.place2_len);
            }
        }
        // A digest verdict for the first C2HData to end in the packet, which covers every PDU that
        // ends there: never when one of them has a corrupted digest.
        const auto ends_here = [&](const WirePdu& p) { return p.end > pk.begin && p.end <= pk.end; };
        const auto ending = std::find_if(pdus.begin(), pdus.end(), ends_here);
        const bool bad_ends_here =
            std::any_of(pdus.begin(), pdus.end(), [&](const WirePdu& p) { return ends_here(p) && p.corrupted; });
        if (v.data_digest && ending != pdus.end() && ending->c2h && !bad_ends_here && chance(rng, 50)) {
            m.flags |= NVMEDDP_PKT_DIGEST_OK;
            m.digest_pdu_seq = base + static_cast<uint32_t>(ending->begin);
        }
        metas.push_back(m);
        pk.meta = &metas.back();
        packets.push_back(pk);
    }

    // Delivery: span by span, or through the batch with a flush where a burst of packets ends.
    RxSpanBatch batch(*h.queue);
    for (const Packet& pk : packets) {
        std::vector<uint64_t> edges{pk.begin};
        edges.insert(edges.end(), pk.cuts.begin(), pk.cuts.end());
        edges.push_back(pk.end);
        for (size_t i = 0; i + 1 < edges.size(); ++i) {
            const RxSpan span{std::span(stream).subspan(edges[i], edges[i + 1] - edges[i]),
                              RxPiece{base + static_cast<uint32_t>(edges[i]), pk.meta, i > 0}};
            if (!batched) {
                h.queue->receive(span.bytes, span.piece);
            } else if (!batch.add(span)) {
                ++out.gathered;
            }
        }
        const bool burst_ends = &pk == &packets.back() || chance(rng, 30);
        if (batched && burst_ends) batch.flush();
        out.completed_after.push_back(!batched || burst_ends ? h.log.entries.size() : SIZE_MAX);
    }
    h.seq = base + static_cast<uint32_t>(stream.size());

    for (const Read& rd : reads) {
        out.buffers.push_back(rd.buffer);
        const CompletionLog::Entry* e = h.log.find(rd.cid);
        out.completions.push_back(e == nullptr ? "none"
                                               : std::to_string(e->completion.status.value) + " " +
                                                     std::to_string(e->completion.bytes) + " " + e->reason);
        const bool ok = e != nullptr && e->completion.status.ok();
        if (rd.corrupted) out.corrupted_read_failed = out.corrupted_read_failed && e != nullptr && !ok;
        else out.reads_right = out.reads_right && ok && rd.buffer == rd.data;
    }
    const QueueStats& q = h.queue->stats();
    const DdpReceiveStats& d = h.rx->stats();
    const ParserStats& p = h.queue->parser().stats();
    out.counts = {q.bytes_copied, q.bytes_placed, q.c2h_bytes, q.c2h_pdus, q.digests_computed, q.digests_offloaded,
                  q.digest_errors, q.capsule_resps, d.bytes_claimed, d.bytes_refused, d.digests_trusted,
                  d.digests_recomputed, p.bytes, p.data_bytes, p.digests_verified, p.digest_mismatches, p.pdus};
    out.state = h.queue->state();
    out.placed = q.bytes_placed;
    out.refused = d.bytes_refused;
    return out;
}

void expect_alike(const Variant& v, uint32_t seeds, bool expect_placement) {
    uint64_t gathered = 0, placed = 0, refused = 0;
    for (uint32_t seed = 1; seed <= seeds; ++seed) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        const Outcome one = deliver(seed, v, false);
        const Outcome run = deliver(seed, v, true);
        ASSERT_FALSE(::testing::Test::HasFatalFailure());
        EXPECT_TRUE(one.reads_right);
        EXPECT_TRUE(one.corrupted_read_failed);
        EXPECT_EQ(run.buffers, one.buffers);
        EXPECT_EQ(run.completions, one.completions);
        EXPECT_EQ(run.counts, one.counts);
        EXPECT_EQ(run.state, one.state);
        // Where a burst ended every completion of the bytes handed over so far has happened.
        ASSERT_EQ(run.completed_after.size(), one.completed_after.size());
        for (size_t i = 0; i < run.completed_after.size(); ++i) {
            if (run.completed_after[i] != SIZE_MAX) {
                EXPECT_EQ(run.completed_after[i], one.completed_after[i]) << "after packet " << i;
            }
        }
        if (::testing::Test::HasFailure()) return;  // one seed's story is enough
        gathered += run.gathered;
        placed += run.placed;
        refused += run.refused;
    }
    // The streams made runs, and (with the offload) claims that were taken and claims that were not.
    EXPECT_GT(gathered, seeds * 4u);
    if (expect_placement) {
        EXPECT_GT(placed, 0u);
        EXPECT_GT(refused, 0u);
    }
}

TEST(RxSpanBatch, RunsEndEveryReadAsSpanBySpanWithTheOffload) { expect_alike({true, false, false}, 150, true); }

TEST(RxSpanBatch, RunsEndEveryReadAsSpanBySpanWithTheOffloadAndDataDigests) {
    expect_alike({true, true, false}, 150, true);
}

TEST(RxSpanBatch, RunsFailACorruptedDigestsReadAsSpanBySpan) {
    expect_alike({true, true, true}, 100, true);
    expect_alike({false, true, true}, 100, false);
}

TEST(RxSpanBatch, RunsCompleteReadsEndedBySuccessWhenSpanBySpanWould) {
    expect_alike({true, false, false, true}, 100, true);
    expect_alike({false, false, false, true}, 50, false);
}

TEST(RxSpanBatch, RunsEndEveryReadAsSpanBySpanWithoutTheOffload) {
    expect_alike({false, false, false}, 100, false);
    expect_alike({false, true, false}, 100, false);
}

// The queue announces C2HData data only: not the bytes of a header, a digest or a CapsuleResp, and
// nothing once it has failed.
TEST(RxSpanBatch, OnlyC2HDataIsAnnouncedAsARun) {
    OffloadHarness h(true);
    h.bring_up();
    std::vector<uint8_t> buffer(4096, 0);
    const IoVec iov{buffer.data(), 4096};
    const uint16_t cid = h.read({&iov, 1}, 4096);
    const auto data = pattern(4096, 5);
    const auto pdu = h.wire.c2h(cid, 0, data, pdu_flags::kLastPdu);
    EXPECT_EQ(h.queue->c2h_data_left(), 0u);  // between PDUs
    h.deliver({pdu.begin(), pdu.begin() + 10});
    EXPECT_EQ(h.queue->c2h_data_left(), 0u);  // inside the header
    h.deliver({pdu.begin() + 10, pdu.begin() + kC2HHeaderLen + 96});
    EXPECT_EQ(h.queue->c2h_data_left(), 4000u);
    h.deliver({pdu.begin() + kC2HHeaderLen + 96, pdu.end() - 2});
    EXPECT_EQ(h.queue->c2h_data_left(), 0u);  // inside the digest
    h.deliver({pdu.end() - 2, pdu.end()});
    h.deliver(h.wire.capsule_resp(cid));
    ASSERT_NE(h.log.find(cid), nullptr);
    EXPECT_EQ(buffer, data);

    const uint16_t cid2 = h.read({&iov, 1}, 4096);
    const auto pdu2 = h.wire.c2h(cid2, 0, data, pdu_flags::kLastPdu);
    h.deliver({pdu2.begin(), pdu2.begin() + kC2HHeaderLen + 100});
    EXPECT_EQ(h.queue->c2h_data_left(), 3996u);
    h.queue->close("test");
    EXPECT_EQ(h.queue->c2h_data_left(), 0u);
}

// One read whose single C2HData's data comes as more spans than a batch holds (two batches and 5
// spans over): the header delivered, span() hands out the data's spans in order, respond() the
// response after them.
struct ManySpansRead {
    static constexpr uint32_t kSpans = RxSpanBatch::kMaxSpans * 2 + 5;
    static constexpr uint32_t kSpanLen = 100;
    static constexpr uint32_t kLen = kSpans * kSpanLen;
    OffloadHarness h;
    std::vector<uint8_t> buffer = std::vector<uint8_t>(kLen, 0);
    IoVec iov{buffer.data(), kLen};
    uint16_t cid = 0;
    std::vector<uint8_t> data, stream;

    explicit ManySpansRead(uint32_t seed) : data(pattern(kLen, seed)) {
        h.bring_up();
        cid = h.read({&iov, 1}, kLen);
        stream = concat({h.wire.c2h(cid, 0, data, pdu_flags::kLastPdu), h.wire.capsule_resp(cid)});
        h.deliver({stream.begin(), stream.begin() + kC2HHeaderLen});
    }
    // Span i of the data, of a packet with `meta` (a packet of its own, or a later span of one).
    RxSpan span(uint32_t i, const ::nvmeddp_pkt_meta* meta, bool continues_packet) {
        const RxSpan s{std::span(stream).subspan(kC2HHeaderLen + i * kSpanLen, kSpanLen), RxPiece{h.seq, meta, continues_packet}};
        h.seq += kSpanLen;
        return s;
    }
    void respond() { h.deliver({stream.begin() + kC2HHeaderLen + kLen, stream.end()}); }
};

// More spans than a run holds, all inside one PDU's data: several runs, every byte in place.
TEST(RxSpanBatch, AFullBatchIsHandedOverAndGathersAgain) {
    ManySpansRead r(8);
    OffloadHarness& h = r.h;
    RxSpanBatch batch(*h.queue);
    uint32_t handed = 0;
    for (uint32_t i = 0; i < ManySpansRead::kSpans; ++i) {
        if (batch.add(r.span(i, nullptr, false))) ++handed;
    }
    EXPECT_EQ(handed, 2u);  // each time the batch was full
    EXPECT_EQ(h.queue->stats().c2h_bytes, 2u * RxSpanBatch::kMaxSpans * ManySpansRead::kSpanLen);
    EXPECT_TRUE(batch.flush());
    EXPECT_FALSE(batch.flush());
    r.respond();
    ASSERT_NE(h.log.find(r.cid), nullptr);
    EXPECT_TRUE(h.log.find(r.cid)->completion.status.ok());
    EXPECT_EQ(r.buffer, r.data);
    EXPECT_EQ(h.queue->stats().bytes_copied, r.buffer.size());
}

// One packet of more spans than a batch holds (a long mbuf chain), its data claimed placed up to
// `claimed` bytes: the batch hands it over in three runs, the later two made of spans that continue
// the packet. The claim holds across them for exactly the bytes it names: the device's bytes stay,
// every byte past the claim is copied, whichever run it falls in.
TEST(RxSpanBatch, AClaimOverAPacketLongerThanABatchHoldsAcrossItsRuns) {
    constexpr uint32_t kLen = ManySpansRead::kLen;
    for (const uint32_t claimed : {kLen, static_cast<uint32_t>(RxSpanBatch::kMaxSpans * ManySpansRead::kSpanLen + 250), 30u}) {
        SCOPED_TRACE(claimed);
        ManySpansRead r(9);
        OffloadHarness& h = r.h;
        ASSERT_TRUE(h.rx->registered(r.cid));
        // What the device placed: the claimed bytes, and nothing past them.
        std::copy_n(r.data.begin(), claimed, r.buffer.begin());
        const ::nvmeddp_pkt_meta meta = h.claim(h.seq, static_cast<uint16_t>(claimed), r.cid, 0);
        RxSpanBatch batch(*h.queue);
        for (uint32_t i = 0; i < ManySpansRead::kSpans; ++i) batch.add(r.span(i, &meta, i != 0));
        batch.flush();
        r.respond();
        ASSERT_NE(h.log.find(r.cid), nullptr);
        EXPECT_TRUE(h.log.find(r.cid)->completion.status.ok()) << h.log.find(r.cid)->reason;
        EXPECT_EQ(r.buffer, r.data);
        EXPECT_EQ(h.queue->stats().bytes_placed, claimed);
        EXPECT_EQ(h.queue->stats().bytes_copied, kLen - claimed);
    }
}

// A run handed over directly may hold empty spans (a chain's empty mbuf): they add nothing and
// stop nothing, with and without the offload.
TEST(RxSpanBatch, EmptySpansInARunAreSkipped) {
    for (const bool offload : {false, true}) {
        SCOPED_TRACE(offload ? "offload" : "no offload");
        OffloadHarness h(true, offload);
        h.bring_up();
        std::vector<uint8_t> buffer(300, 0);
        const IoVec iov{buffer.data(), 300};
        const uint16_t cid = h.read({&iov, 1}, 300);
        const auto data = pattern(300, 4);
        const auto stream = concat({h.wire.c2h(cid, 0, data, pdu_flags::kLastPdu), h.wire.capsule_resp(cid)});
        h.deliver({stream.begin(), stream.begin() + kC2HHeaderLen});
        ASSERT_EQ(h.queue->c2h_data_left(), 300u);
        const std::span<const uint8_t> bytes(stream.data() + kC2HHeaderLen, 300);
        const RxSpan run[] = {{bytes.first(0), RxPiece{h.seq, nullptr, false}},
                              {bytes.first(100), RxPiece{h.seq, nullptr, true}},
                              {bytes.subspan(100, 0), RxPiece{h.seq + 100, nullptr, true}},
                              {bytes.subspan(100, 200), RxPiece{h.seq + 100, nullptr, true}},
                              {bytes.subspan(300, 0), RxPiece{h.seq + 300, nullptr, true}}};
        h.queue->receive_data_run(run);
        h.seq += 300;
        EXPECT_EQ(h.queue->c2h_data_left(), 0u);
        h.deliver({stream.begin() + kC2HHeaderLen + 300, stream.end()});
        ASSERT_NE(h.log.find(cid), nullptr);
        EXPECT_TRUE(h.log.find(cid)->completion.status.ok());
        EXPECT_EQ(buffer, data);
        EXPECT_EQ(h.queue->stats().bytes_copied, 300u);
    }
}

}  // namespace
}  // namespace nvmeddp::nvmetcp::host::test
