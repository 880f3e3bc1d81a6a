#include "kernels.h"
#include <math.h>

void l0_adam_step(float *restrict theta, const float *restrict gradient, float *restrict first,
                  float *restrict second, float *restrict average, size_t count, float beta1, float beta2,
                  float epsilon, float step_size, float inverse_root2, float decay, int bounded, float low,
                  float high) {
    for (size_t i = 0; i < count; i++) {
        float g = gradient[i];
        float m = beta1 * first[i] + (1 - beta1) * g;
        float v = beta2 * second[i] + (1 - beta2) * g * g;
        first[i] = m;
        second[i] = v;
        float t = theta[i] - step_size * m / (sqrtf(v) * inverse_root2 + epsilon);
        if (bounded) t = fminf(fmaxf(t, low), high);
        theta[i] = t;
    }
    if (average) l0_moving_average(average, theta, count, decay);
}

void l0_moving_average(float *restrict average, const float *restrict x, size_t count, float decay) {
    for (size_t i = 0; i < count; i++) average[i] = decay * average[i] + (1 - decay) * x[i];
}

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
unsigned int l0_get_fp_control(void) { return _mm_getcsr(); }
void l0_set_fp_control(unsigned int control) { _mm_setcsr(control); }
#else
unsigned int l0_get_fp_control(void) { return 0; }
void l0_set_fp_control(unsigned int control) { (void)control; }
#endif
