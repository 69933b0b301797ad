#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <vector>

namespace sealscope::mkcaptures {

/// A packet, header or payload under construction.
using Bytes = std::vector<std::uint8_t>;

/// Appends big-endian (network order) fields to a Bytes buffer.
class Writer {
public:
    explicit Writer(Bytes& out) : out_(out) {}

    Writer& u8(std::uint8_t v) { out_.push_back(v); return *this; }
    Writer& u16(std::uint16_t v) { return u8(static_cast<std::uint8_t>(v >> 8)).u8(static_cast<std::uint8_t>(v)); }
    Writer& u24(std::uint32_t v) { return u8(static_cast<std::uint8_t>(v >> 16)).u16(static_cast<std::uint16_t>(v)); }
    Writer& u32(std::uint32_t v) { return u16(static_cast<std::uint16_t>(v >> 16)).u16(static_cast<std::uint16_t>(v)); }
    Writer& bytes(const Bytes& b) { out_.insert(out_.end(), b.begin(), b.end()); return *this; }
    Writer& text(std::string_view s) { out_.insert(out_.end(), s.begin(), s.end()); return *this; }
    Writer& zeros(std::size_t n) { out_.insert(out_.end(), n, 0); return *this; }
    template <std::size_t N>
    Writer& bytes(const std::array<std::uint8_t, N>& b) { out_.insert(out_.end(), b.begin(), b.end()); return *this; }

    std::size_t size() const { return out_.size(); }

private:
    Bytes& out_;
};

/// Overwrites a big-endian 16-bit field at pos (lengths and checksums filled in afterwards).
inline void put16_at(Bytes& b, std::size_t pos, std::uint16_t v)
{
    b[pos] = static_cast<std::uint8_t>(v >> 8);
    b[pos + 1] = static_cast<std::uint8_t>(v);
}

/// Overwrites a big-endian 24-bit field at pos.
inline void put24_at(Bytes& b, std::size_t pos, std::uint32_t v)
{
    b[pos] = static_cast<std::uint8_t>(v >> 16);
    put16_at(b, pos + 1, static_cast<std::uint16_t>(v));
}

/// Concatenates byte strings.
inline Bytes concat(std::initializer_list<const Bytes*> parts)
{
    Bytes out;
    for (const Bytes* p : parts)
        out.insert(out.end(), p->begin(), p->end());
    return out;
}

/// SplitMix64: a tiny PRNG so every "random" field is the same on every run and platform. std::mt19937_64
/// would be too, but the committed captures were written with this generator's exact output and the test
/// captures.regenerate_identical compares them byte for byte, so changing it would rewrite every capture.
/// (range() stays ours in any case: std::uniform_int_distribution's mapping is not fixed by the standard.)
class Rng {
public:
    explicit Rng(std::uint64_t seed) : state_(seed) {}

    std::uint64_t next()
    {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }

    /// Uniform integer in [lo, hi].
    std::uint32_t range(std::uint32_t lo, std::uint32_t hi) { return lo + static_cast<std::uint32_t>(next() % (hi - lo + 1)); }

    Bytes bytes(std::size_t n)
    {
        Bytes out(n);
        for (auto& b : out)
            b = static_cast<std::uint8_t>(next() >> 56);
        return out;
    }

    template <std::size_t N>
    std::array<std::uint8_t, N> array()
    {
        std::array<std::uint8_t, N> out{};
        for (auto& b : out)
            b = static_cast<std::uint8_t>(next() >> 56);
        return out;
    }

private:
    std::uint64_t state_;
};

} // namespace sealscope::mkcaptures
