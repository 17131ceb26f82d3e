// The registration state machine: every allowed transition, every refused one, generations, and
// command id mapping with and without the full 16-bit range.
#include <gtest/gtest.h>

#include <array>
#include <optional>

#include "ddp/registration_table.hpp"

using namespace nvmeddp::ddp;

namespace {

std::array<uint8_t, 8192> g_buffer;
const BufferSegment g_segment{g_buffer.data(), g_buffer.size()};

void set_up(RegistrationTable& t, uint16_t cid, std::optional<uint32_t> last_header = std::nullopt) {
    ASSERT_EQ(t.check_free(cid), Status::Ok);
    t.fill(cid, {&g_segment, 1}, g_buffer.size(), last_header);
    t.publish(cid);
}

}  // namespace

TEST(RegistrationTable, CapacityIsTheNextPowerOfTwo) {
    EXPECT_EQ(RegistrationTable(1, false).capacity(), 1u);
    EXPECT_EQ(RegistrationTable(100, false).capacity(), 128u);
    EXPECT_EQ(RegistrationTable(128, false).capacity(), 128u);
    EXPECT_EQ(RegistrationTable(65535, true).capacity(), 65536u);
    EXPECT_EQ(RegistrationTable(128, true).memory_bytes(), 128 * sizeof(Registration));
}

TEST(RegistrationTable, WalksTheWholeLifeOfARegistration) {
    RegistrationTable t(16, false);
    EXPECT_EQ(t.state(3), RegState::Free);
    set_up(t, 3);
    EXPECT_EQ(t.state(3), RegState::Registered);

    const auto c = t.claim(3);
    ASSERT_TRUE(c);
    EXPECT_EQ(c.registration->command_id(), 3);
    EXPECT_EQ(c.registration->total_len(), g_buffer.size());
    EXPECT_EQ(c.registration->segments().size(), 1u);
    EXPECT_EQ(c.registration->segments()[0].addr, g_buffer.data());
    EXPECT_EQ(t.state(3), RegState::InUse);
    EXPECT_TRUE(t.still_valid(c));
    // Claiming again while in use gives the same claim.
    const auto again = t.claim(3);
    ASSERT_TRUE(again);
    EXPECT_EQ(again.word, c.word);

    EXPECT_EQ(t.retire(3), Status::Ok);
    EXPECT_EQ(t.state(3), RegState::TornDown);
    EXPECT_FALSE(t.still_valid(c));
    EXPECT_FALSE(t.claim(3));

    t.release(3);
    EXPECT_EQ(t.state(3), RegState::Free);
    EXPECT_FALSE(t.claim(3));
}

// live() finds a registration the way claim() does, leaving its state alone: Registered stays
// Registered; once claimed, live() gives the claim's word; torn down or released, nothing.
TEST(RegistrationTable, LiveLooksWithoutClaiming) {
    RegistrationTable t(16, false);
    EXPECT_FALSE(t.live(4));
    set_up(t, 4);
    ASSERT_TRUE(t.live(4));
    EXPECT_EQ(t.state(4), RegState::Registered);
    const auto c = t.claim(4);
    ASSERT_TRUE(c);
    EXPECT_EQ(t.live(4).word, c.word);
    EXPECT_EQ(RegistrationTable::tag_of(t.live(4)), t.tag(4));
    EXPECT_FALSE(t.live(5));  // another id
    EXPECT_EQ(t.retire(4), Status::Ok);
    EXPECT_FALSE(t.live(4));
    t.release(4);
    EXPECT_FALSE(t.live(4));
    set_up(t, 4);  // a new registration: live again, with another tag
    ASSERT_TRUE(t.live(4));
    EXPECT_NE(RegistrationTable::tag_of(t.live(4)), RegistrationTable::tag_of(c));
}

TEST(RegistrationTable, RefusesEveryTransitionThatIsNotAllowed) {
    RegistrationTable t(16, false);
    // teardown of nothing
    EXPECT_EQ(t.retire(5), Status::NotRegistered);
    set_up(t, 5);
    // setup twice, registered or in use
    EXPECT_EQ(t.check_free(5), Status::CommandIdBusy);
    ASSERT_TRUE(t.claim(5));
    EXPECT_EQ(t.check_free(5), Status::CommandIdBusy);
    EXPECT_EQ(t.retire(5), Status::Ok);
    // teardown twice; setup before the teardown completed
    EXPECT_EQ(t.retire(5), Status::AlreadyTornDown);
    EXPECT_EQ(t.check_free(5), Status::TeardownPending);
    // out of range (strict command ids)
    EXPECT_EQ(t.check_free(16), Status::CommandIdOutOfRange);
    EXPECT_EQ(t.retire(16), Status::CommandIdOutOfRange);
    EXPECT_EQ(t.check_free(0xFFFF), Status::CommandIdOutOfRange);
    // an engine claim of an unregistered id
    EXPECT_FALSE(t.claim(6));
    EXPECT_EQ(t.state(6), RegState::Free);
}

TEST(RegistrationTable, AClaimOnAnEarlierRegistrationNeverMatchesALaterOne) {
    RegistrationTable t(4, false);
    set_up(t, 1);
    const auto old_claim = t.claim(1);
    ASSERT_TRUE(old_claim);
    ASSERT_EQ(t.retire(1), Status::Ok);
    t.release(1);
    set_up(t, 1);  // same command id, new I/O
    EXPECT_FALSE(t.still_valid(old_claim));
    const auto new_claim = t.claim(1);
    ASSERT_TRUE(new_claim);
    EXPECT_NE(new_claim.word, old_claim.word);
}

TEST(RegistrationTable, FullRangeMapsIdsByTheirLowBitsAndRefusesSharedSlots) {
    RegistrationTable t(16, true);
    // Linux-style ids: generation counter in the top 4 bits, tag in the low 12.
    const uint16_t a = 0x3005;
    const uint16_t b = 0x7005;  // same low bits: same slot
    set_up(t, a);
    EXPECT_EQ(t.state(a), RegState::Registered);
    EXPECT_EQ(t.state(b), RegState::Free);  // the slot holds another id
    EXPECT_EQ(t.check_free(b), Status::CommandIdBusy);
    EXPECT_FALSE(t.claim(b));
    EXPECT_EQ(t.retire(b), Status::NotRegistered);
    EXPECT_EQ(t.state(a), RegState::Registered);  // and a's registration is untouched
    ASSERT_EQ(t.retire(a), Status::Ok);
    t.release(a);
    set_up(t, b);
    ASSERT_TRUE(t.claim(b));
    EXPECT_FALSE(t.claim(a));
}

TEST(RegistrationTable, ForEachLiveVisitsRegisteredAndInUseOnly) {
    RegistrationTable t(8, false);
    set_up(t, 0);
    set_up(t, 2);
    set_up(t, 4);
    ASSERT_TRUE(t.claim(2));
    ASSERT_EQ(t.retire(4), Status::Ok);
    std::vector<uint16_t> seen;
    t.for_each_live([&](uint16_t cid) { seen.push_back(cid); });
    EXPECT_EQ(seen, (std::vector<uint16_t>{0, 2}));
}

TEST(RegistrationTable, StateNamesAreDistinct) {
    EXPECT_STREQ(to_string(RegState::Free), "free");
    EXPECT_STREQ(to_string(RegState::Registered), "registered");
    EXPECT_STREQ(to_string(RegState::InUse), "in use");
    EXPECT_STREQ(to_string(RegState::TornDown), "torn down");
}

// The engine's write rules kept with each registration: device_written only grows, and a command's
// completion is the earliest one the stream showed (a retransmitted completion found after a later,
// speculated one still counts), across the sequence number wrap; a new registration starts afresh.
TEST(RegistrationTable, DeviceWrittenGrowsAndTheEarliestCompletionCounts) {
    RegistrationTable t(16, false);
    set_up(t, 2);
    const auto c = t.claim(2);
    ASSERT_TRUE(c);
    c.registration->raise_device_written(100);
    c.registration->raise_device_written(40);
    EXPECT_EQ(c.registration->device_written(), 100u);
    EXPECT_FALSE(c.registration->completed_by(5));
    c.registration->set_completed_at(0xFFFFFFF0u);
    c.registration->set_completed_at(0x20u);  // later in sequence space (after the wrap): ignored
    EXPECT_FALSE(c.registration->completed_by(0xFFFFFF00u));
    EXPECT_TRUE(c.registration->completed_by(0xFFFFFFF0u));
    EXPECT_TRUE(c.registration->completed_by(0x10u));
    c.registration->set_completed_at(0xFFFFFF80u);  // earlier: it counts
    EXPECT_TRUE(c.registration->completed_by(0xFFFFFF90u));
    ASSERT_EQ(t.retire(2), Status::Ok);
    t.release(2);
    set_up(t, 2);
    const auto fresh = t.claim(2);
    ASSERT_TRUE(fresh);
    EXPECT_EQ(fresh.registration->device_written(), 0u);
    EXPECT_FALSE(fresh.registration->completed_by(0xFFFFFF90u));
}

// The lengths kept in 32 bits (a registration is at most max_io_size long): what the host marks
// final stays within the buffer, and a mark past its end says the whole.
TEST(RegistrationTable, TheHostsFilledMarkStopsAtTheBuffersEnd) {
    RegistrationTable t(16, false);
    set_up(t, 4);
    const auto c = t.claim(4);
    ASSERT_TRUE(c);
    EXPECT_EQ(c.registration->total_len(), g_buffer.size());
    t.set_host_filled(4, 100);
    EXPECT_EQ(c.registration->host_filled(), 100u);
    t.set_host_filled(4, (uint64_t{1} << 32) + 7);  // would read 7 if cut to 32 bits instead
    EXPECT_EQ(c.registration->host_filled(), g_buffer.size());
}

// A registration carries data only of PDUs after the last header the host parsed before setting it
// up, modulo 2^32 (across the wrap); of any PDU when the host told of no header; a command id set
// up again keeps the new point.
TEST(RegistrationTable, ARegistrationCarriesOnlyPdusAfterTheLastHeaderBeforeItsSetup) {
    RegistrationTable t(16, false);
    set_up(t, 1);
    EXPECT_TRUE(t.claim(1).registration->may_carry_pdu_at(0));
    EXPECT_TRUE(t.claim(1).registration->may_carry_pdu_at(0x80000000u));
    set_up(t, 2, 0xFFFFFF00u);
    const Registration& r = *t.claim(2).registration;
    EXPECT_FALSE(r.may_carry_pdu_at(0xFFFFFF00u));  // the header the host had parsed: not this command's
    EXPECT_FALSE(r.may_carry_pdu_at(0xFFFFF000u));
    EXPECT_TRUE(r.may_carry_pdu_at(0xFFFFFF01u));
    EXPECT_TRUE(r.may_carry_pdu_at(0x100u));        // after the wrap
    ASSERT_EQ(t.retire(2), Status::Ok);
    t.release(2);
    set_up(t, 2, 0x200u);
    EXPECT_FALSE(t.claim(2).registration->may_carry_pdu_at(0x100u));
    EXPECT_TRUE(t.claim(2).registration->may_carry_pdu_at(0x201u));
    t.claim(2).registration->set_completed_at(0x100u);  // an earlier command's completion: not this one's
    EXPECT_FALSE(t.claim(2).registration->completed_by(0x300u));
    t.claim(2).registration->set_completed_at(0x280u);
    EXPECT_TRUE(t.claim(2).registration->completed_by(0x300u));
    ASSERT_EQ(t.retire(2), Status::Ok);
    t.release(2);
    set_up(t, 2);  // and no header told again: any
    EXPECT_TRUE(t.claim(2).registration->may_carry_pdu_at(0x100u));
}
