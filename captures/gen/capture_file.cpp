#include "capture_file.hpp"

#include <pcap/pcap.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <utility>

namespace sealscope::mkcaptures {

namespace {

constexpr int snaplen = 262144;

/// Closes a libpcap handle and dumper on every path out of write_pcap.
struct PcapHandles {
    pcap_t* pcap = nullptr;
    pcap_dumper_t* dumper = nullptr;
    ~PcapHandles()
    {
        if (dumper != nullptr)
            pcap_dump_close(dumper);
        if (pcap != nullptr)
            pcap_close(pcap);
    }
};

bool cut_file(const Capture& cap, const std::string& path, std::string& error)
{
    if (cap.cut_at == 0)
        return true;
    std::error_code ec;
    std::filesystem::resize_file(path, cap.cut_at, ec);
    if (ec) {
        error = path + ": " + ec.message();
        return false;
    }
    return true;
}

/// Little-endian writer for pcapng (the file is always written little-endian so it is the same on every host).
class LeWriter {
public:
    void u16(std::uint16_t v) { le(v, 2); }
    void u32(std::uint32_t v) { le(v, 4); }
    void bytes(const std::uint8_t* p, std::size_t n) { out_.insert(out_.end(), p, p + n); }
    void pad4() { out_.insert(out_.end(), (4 - out_.size() % 4) % 4, 0); }
    /// A pcapng option: code, length, value, padding to 32 bits.
    void option(std::uint16_t code, std::string_view value)
    {
        u16(code);
        u16(static_cast<std::uint16_t>(value.size()));
        bytes(reinterpret_cast<const std::uint8_t*>(value.data()), value.size());
        pad4();
    }
    Bytes& data() { return out_; }

private:
    void le(std::uint32_t v, std::size_t n)
    {
        for (std::size_t i = 0; i < n; ++i)
            out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    Bytes out_;
};

/// Frames a block body: type, total length, body, total length.
Bytes pcapng_block(std::uint32_t type, Bytes body)
{
    LeWriter w;
    const auto total = static_cast<std::uint32_t>(12 + body.size());
    w.u32(type);
    w.u32(total);
    w.bytes(body.data(), body.size());
    w.u32(total);
    return std::move(w.data());
}

} // namespace

bool write_pcap(const Capture& cap, const std::string& path, std::string& error)
{
    PcapHandles h;
    h.pcap = pcap_open_dead_with_tstamp_precision(cap.dlt, snaplen, PCAP_TSTAMP_PRECISION_MICRO);
    if (h.pcap == nullptr) {
        error = "pcap_open_dead failed";
        return false;
    }
    h.dumper = pcap_dump_open(h.pcap, path.c_str());
    if (h.dumper == nullptr) {
        error = path + ": " + pcap_geterr(h.pcap);
        return false;
    }
    for (const Frame& f : cap.frames) {
        pcap_pkthdr hdr{};
        hdr.ts.tv_sec = static_cast<time_t>(f.ts_us / 1000000);
        hdr.ts.tv_usec = static_cast<suseconds_t>(f.ts_us % 1000000);
        hdr.caplen = static_cast<bpf_u_int32>(f.data.size());
        hdr.len = f.wire_len != 0 ? f.wire_len : hdr.caplen;
        pcap_dump(reinterpret_cast<u_char*>(h.dumper), &hdr, f.data.data());
    }
    if (pcap_dump_flush(h.dumper) != 0) {
        error = path + ": write failed";
        return false;
    }
    pcap_dump_close(h.dumper);
    h.dumper = nullptr;
    return cut_file(cap, path, error);
}

bool write_pcapng(const Capture& cap, const std::string& path, std::string& error)
{
    Bytes file;
    auto append = [&file](const Bytes& b) { file.insert(file.end(), b.begin(), b.end()); };
    {
        LeWriter shb;
        shb.u32(0x1a2b3c4d); // byte-order magic
        shb.u16(1);          // major
        shb.u16(0);          // minor
        shb.u32(0xffffffff); // section length: unspecified (64 bits)
        shb.u32(0xffffffff);
        shb.option(4, "sealscope-mkcaptures"); // shb_userappl
        shb.u32(0);                            // opt_endofopt
        append(pcapng_block(0x0a0d0d0a, std::move(shb.data())));
    }
    {
        LeWriter idb;
        idb.u16(static_cast<std::uint16_t>(cap.dlt));
        idb.u16(0);
        idb.u32(snaplen);
        idb.option(2, "eth0");                // if_name
        idb.option(9, std::string_view("\x06", 1)); // if_tsresol: 10^-6 s
        idb.u32(0);
        append(pcapng_block(1, std::move(idb.data())));
    }
    for (const Frame& f : cap.frames) {
        LeWriter epb;
        epb.u32(0); // interface id
        epb.u32(static_cast<std::uint32_t>(f.ts_us >> 32));
        epb.u32(static_cast<std::uint32_t>(f.ts_us));
        epb.u32(static_cast<std::uint32_t>(f.data.size()));
        epb.u32(f.wire_len != 0 ? f.wire_len : static_cast<std::uint32_t>(f.data.size()));
        epb.bytes(f.data.data(), f.data.size());
        epb.pad4();
        append(pcapng_block(6, std::move(epb.data())));
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
    if (!out) {
        error = path + ": write failed";
        return false;
    }
    out.close();
    return cut_file(cap, path, error);
}

std::uint64_t pcap_record_offset(const Capture& cap, std::size_t i)
{
    std::uint64_t off = 24;
    for (std::size_t k = 0; k < i && k < cap.frames.size(); ++k)
        off += 16 + cap.frames[k].data.size();
    return off;
}

} // namespace sealscope::mkcaptures
