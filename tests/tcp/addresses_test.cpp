#include <gtest/gtest.h>

#include "tcp/addresses.hpp"

namespace nvmeddp::tcp {
namespace {

TEST(IpAddress, ParsesAndPrintsBothFamilies) {
    const auto v4 = IpAddress::parse("192.0.2.7");
    ASSERT_TRUE(v4.has_value());
    EXPECT_TRUE(v4->is_v4());
    EXPECT_EQ(*v4, IpAddress::v4(192, 0, 2, 7));
    EXPECT_EQ(v4->to_string(), "192.0.2.7");
    const auto v6 = IpAddress::parse("2001:db8::1");
    ASSERT_TRUE(v6.has_value());
    EXPECT_TRUE(v6->is_v6());
    EXPECT_EQ(v6->to_string(), "2001:db8::1");
    EXPECT_FALSE(IpAddress::parse("192.0.2.300").has_value());
    EXPECT_FALSE(IpAddress::parse("").has_value());
}

TEST(MacAddress, Prints) {
    EXPECT_EQ(MacAddress::broadcast().to_string(), "ff:ff:ff:ff:ff:ff");
    EXPECT_TRUE(MacAddress{}.is_zero());
}

}  // namespace
}  // namespace nvmeddp::tcp
