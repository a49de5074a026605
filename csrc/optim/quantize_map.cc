// The dynamic maps of blockwise 8-bit state and their quantizer's constants
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

QuantMap build(bool is_signed) {
  QuantMap q{};
  const std::vector<float> m = magnitudes(is_signed);
  const int top = int(m.size()) - 1;  // the index of 1: 128 signed, 255 unsigned
  if (is_signed) {
    for (int j = 0; j <= 128; ++j) q.code[127 + j] = m[j];
    for (int j = 1; j <= 127; ++j) q.code[127 - j] = -m[j];
  } else {
    for (int j = 0; j < 256; ++j) q.code[j] = m[j];
  }
  for (int j = 0; j < 256; ++j) {
    uint32_t bits;
    std::memcpy(&bits, &q.code[j], 4);
    for (int p = 0; p < 4; ++p) q.plane[p][j] = uint8_t(bits >> (8 * p));
  }
  const auto mid = [&](int j) { return float((double(m[j]) + double(m[j + 1])) / 2); };
  int base = 1;
  for (int d = 0; d < 7; ++d) {
    const int n = is_signed ? 1 << d : 1 << (d + 1);
    q.threshold[d] = mid(base - 1);  // below the decade's first code
    q.scale[d + 1] = float(n / (0.9 * std::pow(10.0, d - 6)));
    q.offset[d + 1] = float(base - n / 9.0);
    q.high[d + 1] = float(base + n - 0.5);
    base += n;
  }
  if (base != top) throw std::logic_error("internal: a dynamic map of the wrong size");
  q.threshold[7] = mid(top - 1);
  q.offset[8] = q.high[8] = float(top);
  // by binade: key 0 for a < 2^-24 (every T_i is above it), key e + 25 for [2^e, 2^(e+1))
  for (int key = 0; key < 32; ++key) {
    q.inside[key] = std::numeric_limits<float>::infinity();
    if (key == 0 || key > 25) continue;
    const float lo = std::ldexp(1.0f, key - 25), hi = std::ldexp(1.0f, key - 24);
    for (int i = 0; i < 8; ++i) {
      if (q.threshold[i] < lo) ++q.below[key];
      else if (q.threshold[i] < hi) {
        if (q.inside[key] != std::numeric_limits<float>::infinity())
          throw std::logic_error("internal: a binade holds two decade midpoints");
        q.inside[key] = q.threshold[i];
      }
    }
  }
  if (q.threshold[0] < std::ldexp(1.0f, -24))
    throw std::logic_error("internal: the first midpoint is below 2^-24");
  return q;
}

}  // namespace

const QuantMap& quant_map(bool is_signed) {
  static const QuantMap signed_map = build(true), unsigned_map = build(false);
  return is_signed ? signed_map : unsigned_map;
}

}  // namespace steepest
