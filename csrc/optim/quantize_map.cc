// The dynamic maps of blockwise 8-bit state and their quantizer's tables
// (steepest/optim/precision.h), built once, at first use.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

#include "steepest/optim/precision.h"

namespace steepest {

namespace {

// The magnitudes M_0 = 0 < ... < 1 of a map: for each decade d = 0..6 the means of n_d equal
// parts of [0.1, 1] 10^(d-6), in float64, then rounded to float32.
std::vector<float> magnitudes(bool is_signed) {
  std::vector<float> m{0.0f};
  for (int d = 0; d < 7; ++d) {
    const int n = is_signed ? 1 << d : 1 << (d + 1);
    const double scale = std::pow(10.0, d - 6);
    for (int k = 0; k < n; ++k) {
      const double lo = 0.1 + 0.9 * k / n, hi = 0.1 + 0.9 * (k + 1) / n;
      m.push_back(float((lo + hi) / 2 * scale));
    }
  }
  m.push_back(1.0f);
  return m;
}

float float_of(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

QuantMap build(bool is_signed) {
  QuantMap q{};
  const std::vector<float> m = magnitudes(is_signed);
  const int count = int(m.size());  // 129 signed, 256 unsigned
  for (int i = 0; i < 256; ++i) q.mid[i] = std::numeric_limits<float>::infinity();
  for (int i = 0; i + 1 < count; ++i) q.mid[i] = float((double(m[i]) + double(m[i + 1])) / 2);
  if (is_signed) {
    for (int j = 0; j <= 128; ++j) q.code[127 + j] = m[j];
    for (int j = 1; j <= 127; ++j) q.code[127 - j] = -m[j];
  } else {
    for (int j = 0; j < 256; ++j) q.code[j] = m[j];
  }
  // bucket[key]: the midpoints below the bucket's first float (0 for key 0, which also holds
  // every a below 2^-24); each bucket must hold at most one midpoint.
  const auto below = [&](float v) {
    int n = 0;
    while (n + 1 < count && q.mid[n] < v) ++n;
    return n;
  };
  for (int key = 0; key < kQuantKeys; ++key) {
    const float first = key == 0 ? 0.0f : float_of(uint32_t(key + (103 << 7)) << 16);
    const float next = float_of(uint32_t(key + 1 + (103 << 7)) << 16);
    q.bucket[key] = uint8_t(below(first));
    if (key + 1 < kQuantKeys && below(next) - below(first) > 1)
      throw std::logic_error("internal: a quantization bucket holds two midpoints");
  }
  return q;
}

}  // namespace

const QuantMap& quant_map(bool is_signed) {
  static const QuantMap signed_map = build(true), unsigned_map = build(false);
  return is_signed ? signed_map : unsigned_map;
}

}  // namespace steepest
