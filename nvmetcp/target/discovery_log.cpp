#include "nvmetcp/target/discovery_log.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "nvmetcp/nvme_data.hpp"
#include "nvmetcp/target/controller_model.hpp"

namespace nvmeddp::nvmetcp::target {
namespace {

constexpr uint64_t kGenerationCounter = 1;  // the log never changes while the target runs
constexpr uint16_t kPortId = 1;
constexpr uint8_t kSecurityTypeNone = 0;

}  // namespace

std::vector<uint8_t> discovery_log_page(const TargetConfig& config, uint16_t port) {
    nvme::DiscoveryLogHeader header;
    std::memset(&header, 0, sizeof header);
    header.genctr.set(kGenerationCounter);
    header.numrec.set(1);
    header.recfmt.set(0);

    nvme::DiscoveryLogEntry e;
    std::memset(&e, 0, sizeof e);
    e.trtype = nvme::trtype::kTcp;
    e.adrfam = config.listen_address.find(':') != std::string::npos ? nvme::adrfam::kIpv6 : nvme::adrfam::kIpv4;
    e.subtype = nvme::subtype::kNvmSubsystem;
    e.treq = 0;
    e.portid.set(kPortId);
    e.cntlid.set(0xFFFF);  // dynamic controller model
    e.asqsz.set(kAdminQueueSize);
    nvme::set_field_text(e.trsvcid, sizeof e.trsvcid, std::to_string(port), ' ');
    nvme::set_field_text(e.subnqn, sizeof e.subnqn, config.subnqn, 0);
    nvme::set_field_text(e.traddr, sizeof e.traddr, config.listen_address, ' ');
    e.tsas[0] = kSecurityTypeNone;

    std::vector<uint8_t> page(sizeof header + sizeof e);
    std::memcpy(page.data(), &header, sizeof header);
    std::memcpy(page.data() + sizeof header, &e, sizeof e);
    return page;
}

std::vector<uint8_t> log_page_window(const std::vector<uint8_t>& page, uint64_t offset, uint32_t length) {
    std::vector<uint8_t> out(length, 0);
    if (offset < page.size()) {
        const size_t n = std::min<uint64_t>(length, page.size() - offset);
        std::memcpy(out.data(), page.data() + offset, n);
    }
    return out;
}

}  // namespace nvmeddp::nvmetcp::target
