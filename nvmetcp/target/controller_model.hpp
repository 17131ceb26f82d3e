// What the target tells a host about its controllers and its namespace: the CAP and VS properties,
// the Identify data (controller, namespace, active namespace list, namespace descriptors) and the
// limits behind them (MDTS, in-capsule sizes). Pure functions of the configuration.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "nvmetcp/nvme_data.hpp"
#include "nvmetcp/target/controller_registry.hpp"
#include "nvmetcp/target/ram_namespace.hpp"
#include "nvmetcp/target/target.hpp"

namespace nvmeddp::nvmetcp::target {

inline constexpr uint32_t kVersion = 0x00010400;  // NVMe 1.4
// Largest transfer: 2^MDTS pages of CAP.MPSMIN (4 KiB): 4 MiB, as large as a Linux nvmet C2HData.
inline constexpr uint8_t kMdts = 10;
inline constexpr uint32_t kMaxTransferBytes = (1u << kMdts) * 4096;
// In-capsule data the admin queue takes (the Connect's 1024 bytes need it), as Linux nvmet's 8 KiB.
inline constexpr uint32_t kAdminInCapsuleData = 8192;
// Admin queue entries the target takes whatever CAP.MQES says (the discovery log's ASQSZ): the
// depth Linux's and SPDK's hosts give their admin queue.
inline constexpr uint16_t kAdminQueueSize = 32;
inline constexpr uint8_t kAsyncEventLimit = 4;  // AERL + 1
inline constexpr uint8_t kCapTimeout = 10;      // CAP.TO in 500 ms units

uint64_t controller_capabilities(const TargetConfig& config) noexcept;

// A stable NGUID for the namespace of a subsystem (derived from its NQN).
std::array<uint8_t, 16> namespace_guid(const std::string& subnqn) noexcept;

nvme::IdentifyController identify_controller(const TargetConfig& config, const Controller& controller);
nvme::IdentifyNamespace identify_namespace(const RamNamespace& ns);
// CNS 2: active namespace ids above `after`, as a 4096-byte list.
std::vector<uint8_t> active_namespace_list(const RamNamespace& ns, uint32_t after);
// CNS 3: the namespace's identification descriptors (its NGUID), 4096 bytes.
std::vector<uint8_t> namespace_descriptor_list(const RamNamespace& ns);

}  // namespace nvmeddp::nvmetcp::target
