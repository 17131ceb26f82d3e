// What every engine test under faults expects of the realistic host (tests/testlib): no parse
// failure, every read's status and bytes as without the offload, no claim or trusted digest the
// received bytes contradict, no write outside a registered buffer.
#pragma once

#include <gtest/gtest.h>

#include "pmd/engine_rig.hpp"

namespace nvmeddp::pmd_test {

inline void expect_outcomes_as_without_offload(EngineRig& rig) {
    const auto& t = rig.host->totals();
    EXPECT_FALSE(t.parse_failed);
    EXPECT_EQ(rig.differential_problem(), "");
    EXPECT_EQ(t.wrong_claims, 0u) << t.first_wrong_claim;
    EXPECT_EQ(t.false_digest_claims, 0u) << t.first_false_digest_claim;
    for (const auto& r : rig.stream.reads) EXPECT_TRUE(rig.host->guards_intact(r.cid));
}

}  // namespace nvmeddp::pmd_test
