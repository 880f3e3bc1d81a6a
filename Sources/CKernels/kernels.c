#include <stdint.h>
#include "kernels.h"
#include <math.h>
#include <string.h>

static inline uint64_t rotate_left(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void l0_dropout_forward(uint64_t *restrict state, const float *restrict x, float *restrict mask, float *restrict y,
                        size_t count, float rate, float scale) {
    uint64_t s0 = state[0], s1 = state[1], s2 = state[2], s3 = state[3];
    for (size_t i = 0; i < count; i++) {
        const uint64_t result = rotate_left(s1 * 5, 7) * 9, t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = rotate_left(s3, 45);
        const float u = (float)(result >> 40) * 0x1.0p-24f;
        const float m = u < rate ? 0.0f : scale;
        mask[i] = m;
        y[i] = x[i] * m;
    }
    state[0] = s0, state[1] = s1, state[2] = s2, state[3] = s3;
}

void l0_adam_step(float *restrict theta, const float *restrict gradient, float *restrict first,
                  float *restrict second, float *restrict average, size_t count, float beta1, float beta2,
                  float epsilon, float step_size, float inverse_root2, float decay, int bounded, float low,
                  float high) {
    // The weight average in the same pass, while θ is in a register (the statement of
    // l0_moving_average, so it rounds and contracts the same way). `average` does not change in
    // the loop, so the compiler unswitches it into two loops that each vectorise.
    for (size_t i = 0; i < count; i++) {
        float g = gradient[i];
        float m = beta1 * first[i] + (1 - beta1) * g;
        float v = beta2 * second[i] + (1 - beta2) * g * g;
        first[i] = m;
        second[i] = v;
        float t = theta[i] - step_size * m / (sqrtf(v) * inverse_root2 + epsilon);
        if (bounded) t = fminf(fmaxf(t, low), high);
        theta[i] = t;
        if (average) average[i] = decay * average[i] + (1 - decay) * t;
    }
}

void l0_moving_average(float *restrict average, const float *restrict x, size_t count, float decay) {
    for (size_t i = 0; i < count; i++) average[i] = decay * average[i] + (1 - decay) * x[i];
}

void l0_adam_step_pruned(float *restrict theta, const float *restrict gradient, float *restrict first,
                         float *restrict second, float *restrict average, const float *restrict mask, size_t count,
                         float beta1, float beta2, float epsilon, float step_size, float inverse_root2, float decay,
                         int bounded, float low, float high, int shrink, float limit, float factor) {
    // The statements of l0_adam_step, l0_moving_average, l0_selective_decay and l0_apply_mask_many
    // as they are written there, so that each rounds (and contracts) the same way.
    for (size_t i = 0; i < count; i++) {
        float g = gradient[i];
        float m = beta1 * first[i] + (1 - beta1) * g;
        float v = beta2 * second[i] + (1 - beta2) * g * g;
        float t = theta[i] - step_size * m / (sqrtf(v) * inverse_root2 + epsilon);
        if (bounded) t = fminf(fmaxf(t, low), high);
        float a = 0;
        if (average) a = decay * average[i] + (1 - decay) * t;
        if (shrink) {
            const int irrelevant = fabsf(g) < limit;
            t -= irrelevant ? factor * t : 0.0f;
        }
        if (mask) {
            const float k = mask[i];
            m *= k;
            v *= k;
            t *= k;
            a *= k;
        }
        first[i] = m;
        second[i] = v;
        theta[i] = t;
        if (average) average[i] = a;
    }
}

float l0_mean_abs(const float *restrict x, size_t count) {
    if (count == 0) return 0;
    // Eight partial sums (one vector of them), so the reduction is not one long chain of adds.
    double partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= count; i += 8)
        for (size_t k = 0; k < 8; k++) partial[k] += fabsf(x[i + k]);
    for (; i < count; i++) partial[0] += fabsf(x[i]);
    const double sum = ((partial[0] + partial[1]) + (partial[2] + partial[3])) + ((partial[4] + partial[5]) + (partial[6] + partial[7]));
    return (float)(sum / (double)count);
}

size_t l0_selective_decay(float *restrict theta, const float *restrict gradient, size_t count, float threshold,
                          float factor) {
    if (count == 0) return 0;
    const float limit = threshold * l0_mean_abs(gradient, count);
    size_t shrunk = 0;
    for (size_t i = 0; i < count; i++) {
        const int irrelevant = fabsf(gradient[i]) < limit;
        theta[i] -= irrelevant ? factor * theta[i] : 0.0f;
        shrunk += (size_t)irrelevant;
    }
    return shrunk;
}

/// The bits of |v|: for non-negative floats their order as unsigned integers is their order.
static inline uint32_t magnitude_bits(float v) {
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits & 0x7FFFFFFFu;
}

/// The (k+1)-th smallest of the magnitudes' bit patterns, by a radix select on the high and then
/// the low 16 bits (two counting passes, exact).
static uint32_t kth_magnitude_bits(const float *values, size_t count, size_t k, uint32_t *histogram) {
    memset(histogram, 0, 65536 * sizeof(uint32_t));
    for (size_t i = 0; i < count; i++) histogram[magnitude_bits(values[i]) >> 16]++;
    uint32_t high = 0;
    while (k >= histogram[high]) k -= histogram[high++];
    memset(histogram, 0, 65536 * sizeof(uint32_t));
    for (size_t i = 0; i < count; i++) {
        const uint32_t bits = magnitude_bits(values[i]);
        if ((bits >> 16) == high) histogram[bits & 0xFFFFu]++;
    }
    uint32_t low = 0;
    while (k >= histogram[low]) k -= histogram[low++];
    return (high << 16) | low;
}

void l0_magnitude_mask(const float *restrict values, float *restrict mask, uint32_t *restrict histogram, size_t count,
                       size_t pruned) {
    for (size_t i = 0; i < count; i++) mask[i] = 1.0f;
    if (pruned == 0 || count == 0) return;
    if (pruned >= count) {
        for (size_t i = 0; i < count; i++) mask[i] = 0.0f;
        return;
    }
    const uint32_t t = kth_magnitude_bits(values, count, pruned - 1, histogram);
    // Everything below t goes, then the magnitudes equal to t in order of position until `pruned` have.
    size_t below = 0;
    for (size_t i = 0; i < count; i++) below += magnitude_bits(values[i]) < t;
    size_t ties = pruned - below;
    for (size_t i = 0; i < count; i++) {
        const uint32_t bits = magnitude_bits(values[i]);
        if (bits < t) {
            mask[i] = 0.0f;
        } else if (bits == t && ties > 0) {
            mask[i] = 0.0f;
            ties--;
        }
    }
}

void l0_apply_mask(float *restrict x, const float *restrict mask, size_t count) {
    for (size_t i = 0; i < count; i++) x[i] *= mask[i];
}

void l0_apply_mask_many(float *const *buffers, size_t buffer_count, const float *restrict mask, size_t count) {
    // In blocks, so that each block of the mask is read from memory once for all the buffers.
    const size_t block = 2048;
    for (size_t start = 0; start < count; start += block) {
        const size_t n = count - start < block ? count - start : block;
        for (size_t b = 0; b < buffer_count; b++) {
            float *restrict x = buffers[b] + start;
            const float *restrict m = mask + start;
            for (size_t i = 0; i < n; i++) x[i] *= m[i];
        }
    }
}

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
unsigned int l0_get_fp_control(void) { return _mm_getcsr(); }
void l0_set_fp_control(unsigned int control) { _mm_setcsr(control); }
#else
unsigned int l0_get_fp_control(void) { return 0; }
void l0_set_fp_control(unsigned int control) { (void)control; }
#endif

#if defined(__AVX2__)
#include <immintrin.h>

/// Eight windows from two rows of sixteen values each (or four from eight, given twice).
static inline void pool_eight(__m256 t0, __m256 t1, __m256 b0, __m256 b1, __m256 bias, __m256 gate,
                              __m256i left, __m256i right, __m256 *best_out, __m256 *value_out,
                              __m256i *offset_out) {
    // Even and odd columns, in order: shuffle within 128-bit lanes, then put the quarters in place.
#define L0_QUARTERS 0xD8  // quarters 0, 2, 1, 3
    __m256 te = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(t0, t1, 0x88)), L0_QUARTERS));
    __m256 to = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(t0, t1, 0xDD)), L0_QUARTERS));
    __m256 be = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(b0, b1, 0x88)), L0_QUARTERS));
    __m256 bo = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(b0, b1, 0xDD)), L0_QUARTERS));
    te = _mm256_add_ps(te, bias);
    to = _mm256_add_ps(to, bias);
    be = _mm256_add_ps(be, bias);
    bo = _mm256_add_ps(bo, bias);
    __m256 best = _mm256_mul_ps(te, gate), value = te;
    __m256i offset = left;
    __m256 candidate = _mm256_mul_ps(to, gate);
    __m256 larger = _mm256_cmp_ps(candidate, best, _CMP_GT_OQ);
    best = _mm256_blendv_ps(best, candidate, larger);
    value = _mm256_blendv_ps(value, to, larger);
    offset = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(offset),
        _mm256_castsi256_ps(_mm256_add_epi32(left, _mm256_set1_epi32(1))), larger));
    candidate = _mm256_mul_ps(be, gate);
    larger = _mm256_cmp_ps(candidate, best, _CMP_GT_OQ);
    best = _mm256_blendv_ps(best, candidate, larger);
    value = _mm256_blendv_ps(value, be, larger);
    offset = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(offset), _mm256_castsi256_ps(right), larger));
    candidate = _mm256_mul_ps(bo, gate);
    larger = _mm256_cmp_ps(candidate, best, _CMP_GT_OQ);
    best = _mm256_blendv_ps(best, candidate, larger);
    value = _mm256_blendv_ps(value, bo, larger);
    offset = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(offset),
        _mm256_castsi256_ps(_mm256_add_epi32(right, _mm256_set1_epi32(1))), larger));
    // v > 0 ? v : 0 (a NaN or −0 gives +0).
    best = _mm256_and_ps(best, _mm256_cmp_ps(best, _mm256_setzero_ps(), _CMP_GT_OQ));
    *best_out = best;
    *value_out = value;
    *offset_out = offset;
}
#endif

void l0_pool_2x2(const float *restrict source, size_t height, size_t width, float bias, float gate,
                 float *restrict output, int *restrict argmax, float *restrict pregate) {
    size_t pooled_height = height / 2, pooled_width = width / 2, k = 0;
    for (size_t ph = 0; ph < pooled_height; ph++) {
        size_t top = 2 * ph * width, pw = 0;
#if defined(__AVX2__)
        const __m256 vbias = _mm256_set1_ps(bias), vgate = _mm256_set1_ps(gate);
        const __m256i lanes = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
        for (; pw + 4 <= pooled_width;) {
            const float *above = source + top + 2 * pw, *below = above + width;
            __m256i left = _mm256_add_epi32(_mm256_set1_epi32((int)(top + 2 * pw)), lanes);
            __m256i right = _mm256_add_epi32(left, _mm256_set1_epi32((int)width));
            __m256 best, value;
            __m256i offset;
            if (pw + 8 <= pooled_width) {
                pool_eight(_mm256_loadu_ps(above), _mm256_loadu_ps(above + 8), _mm256_loadu_ps(below),
                           _mm256_loadu_ps(below + 8), vbias, vgate, left, right, &best, &value, &offset);
                _mm256_storeu_ps(output + k, best);
                _mm256_storeu_si256((__m256i *)(argmax + k), offset);
                if (pregate) _mm256_storeu_ps(pregate + k, value);
                pw += 8;
                k += 8;
            } else {
                __m256 a = _mm256_loadu_ps(above), b = _mm256_loadu_ps(below);
                pool_eight(a, a, b, b, vbias, vgate, left, right, &best, &value, &offset);
                _mm_storeu_ps(output + k, _mm256_castps256_ps128(best));
                _mm_storeu_si128((__m128i *)(argmax + k), _mm256_castsi256_si128(offset));
                if (pregate) _mm_storeu_ps(pregate + k, _mm256_castps256_ps128(value));
                pw += 4;
                k += 4;
            }
        }
#endif
        for (; pw < pooled_width; pw++, k++) {
            size_t corner = top + 2 * pw, q = corner;
            float value = source[corner] + bias, best = value * gate;
            const size_t next[3] = {corner + 1, corner + width, corner + width + 1};
            for (int n = 0; n < 3; n++) {
                float candidate = source[next[n]] + bias;
                if (candidate * gate > best) {
                    q = next[n];
                    value = candidate;
                    best = candidate * gate;
                }
            }
            output[k] = best > 0 ? best : 0;
            argmax[k] = (int)q;
            if (pregate) pregate[k] = value;
        }
    }
}

void l0_unpool(size_t maps, size_t pooled, size_t positions, const float *restrict dy, const float *restrict output,
               const int *restrict argmax, const float *restrict pregate, const float *restrict gates,
               const long *restrict row_of_map, float *restrict target, size_t row_length,
               float *restrict bias_gradient, float *restrict products) {
#pragma clang fp contract(off)
    for (size_t c = 0; c < maps; c++) {
        if (row_of_map[c] < 0) {
            if (products) products[c] = 0;
            continue;
        }
        size_t at = c * pooled;
        float *d = target + (size_t)row_of_map[c] * row_length;
        memset(d, 0, positions * sizeof(float));
        float gate = gates ? gates[c] : 1.0f, sum = 0, product = 0;
        const float *o = output + at, *g = dy + at;
        const int *a = argmax + at;
        const float *p = pregate ? pregate + at : NULL;
        for (size_t k = 0; k < pooled; k++) {
            if (o[k] > 0) {
                float scaled = g[k] * gate;
                d[a[k]] = scaled;
                sum += scaled;
                if (p) product += g[k] * p[k];
            }
        }
        if (products) products[c] = product;
        bias_gradient[c] += sum;
    }
}

void l0_flag_raise(int *flag) { __atomic_store_n(flag, 1, __ATOMIC_RELEASE); }

void l0_flag_wait(const int *flag) {
    while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE)) {
    }
}

int l0_flag_exchange(int *flag, int value) { return __atomic_exchange_n(flag, value, __ATOMIC_SEQ_CST); }

// seen[i] = whether column i of the (rows, columns) matrix x is not 0 (rectified: not <= 0, so NaN
// counts) in some row. Branch-free, so that the compiler vectorises the inner loop.
void l0_mark_live_columns(const float *restrict x, size_t rows, size_t columns, int rectified,
                          unsigned char *restrict seen) {
    for (size_t i = 0; i < columns; i++) seen[i] = 0;
    for (size_t r = 0; r < rows; r++) {
        const float *row = x + r * columns;
        if (rectified) {
            for (size_t i = 0; i < columns; i++) seen[i] |= (unsigned char)!(row[i] <= 0.0f);
        } else {
            for (size_t i = 0; i < columns; i++) seen[i] |= (unsigned char)(row[i] != 0.0f);
        }
    }
}

void l0_unfold_valid(const float *restrict x, const ptrdiff_t *restrict channels, size_t count, size_t height,
                     size_t width, size_t kernel, float *restrict columns, size_t row_length) {
    const size_t out_height = height - kernel + 1, out_width = width - kernel + 1, map = height * width;
    float *row = columns;
    for (size_t n = 0; n < count; n++) {
        const float *channel = x + (size_t)channels[n] * map;
        for (size_t i = 0; i < kernel; i++) {
            for (size_t j = 0; j < kernel; j++, row += row_length) {
                const float *source = channel + i * width + j;
                float *target = row;
#if defined(__AVX2__)
                if (out_width == 8) {
                    for (size_t oh = 0; oh < out_height; oh++, source += width, target += 8)
                        _mm256_storeu_ps(target, _mm256_loadu_ps(source));
                    continue;
                }
                if (out_width == 24) {
                    for (size_t oh = 0; oh < out_height; oh++, source += width, target += 24) {
                        __m256 a = _mm256_loadu_ps(source), b = _mm256_loadu_ps(source + 8), c = _mm256_loadu_ps(source + 16);
                        _mm256_storeu_ps(target, a);
                        _mm256_storeu_ps(target + 8, b);
                        _mm256_storeu_ps(target + 16, c);
                    }
                    continue;
                }
#endif
                for (size_t oh = 0; oh < out_height; oh++, source += width, target += out_width)
                    memcpy(target, source, out_width * sizeof(float));
            }
        }
    }
}

void l0_fold_valid(const float *restrict columns, const ptrdiff_t *restrict channels, size_t count, size_t height,
                   size_t width, size_t kernel, size_t row_length, float *restrict dx) {
    const size_t out_height = height - kernel + 1, out_width = width - kernel + 1, map = height * width;
    const float *row = columns;
    for (size_t n = 0; n < count; n++) {
        float *channel = dx + (size_t)channels[n] * map;
        for (size_t i = 0; i < kernel; i++) {
            for (size_t j = 0; j < kernel; j++, row += row_length) {
                float *target = channel + i * width + j;
                const float *source = row;
#if defined(__AVX2__)
                if (out_width == 8) {
                    for (size_t oh = 0; oh < out_height; oh++, target += width, source += 8)
                        _mm256_storeu_ps(target, _mm256_add_ps(_mm256_loadu_ps(target), _mm256_loadu_ps(source)));
                    continue;
                }
#endif
                for (size_t oh = 0; oh < out_height; oh++, target += width, source += out_width)
                    for (size_t ow = 0; ow < out_width; ow++) target[ow] += source[ow];
            }
        }
    }
}
