#include "testlib/host_send_stream.hpp"

#include <cstring>
#include <random>

#include "nvmetcp/crc32c.hpp"

namespace nvmeddp::testlib {

HostSendStream make_host_send_stream(const nvmetcp::SendParams& params, const HostSendOptions& options) {
    std::mt19937 rng(options.seed);
    HostSendStream s;
    std::vector<uint8_t> buf;
    for (int i = 0; i < options.pdus; ++i) {
        const uint32_t kind = rng() % 3;
        std::vector<uint8_t> data(kind == 0 ? 0 : 1 + rng() % (kind == 1 ? options.max_capsule_data : options.max_h2c_data));
        for (auto& b : data) b = static_cast<uint8_t>(rng());
        buf.assign(data.size() + 256, 0);
        size_t len = 0;
        if (kind == 2) {
            len = nvmetcp::encode_pdu(buf, nvmetcp::make_h2c_data(static_cast<uint16_t>(i), 7, 0,
                                                                  static_cast<uint32_t>(data.size()), 0),
                                      data, params);
        } else {
            nvmetcp::NvmeSqe sqe{};
            sqe.cid.set(static_cast<uint16_t>(i));
            len = nvmetcp::encode_pdu(buf, nvmetcp::make_capsule_cmd(sqe), data, params);
        }
        const size_t at = s.wire.size();
        s.wire.insert(s.wire.end(), buf.begin(), buf.begin() + static_cast<long>(len));
        s.sent.insert(s.sent.end(), buf.begin(), buf.begin() + static_cast<long>(len));
        if (params.data_digest && !data.empty() && len >= 4) {
            const size_t d = at + len - 4;
            std::memset(&s.sent[d], 0, 4);
            s.digest_offsets.push_back(static_cast<uint32_t>(d));
        }
    }
    return s;
}

nvmetcp::ReceiveParams controller_params(const nvmetcp::SendParams& p) {
    nvmetcp::ReceiveParams r;
    r.role = nvmetcp::Role::Controller;
    r.header_digest = p.header_digest;
    r.data_digest = p.data_digest;
    r.pda = p.pda;
    return r;
}

}  // namespace nvmeddp::testlib
