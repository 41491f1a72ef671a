/*
 * Parameter derivation, TFLM Prepare (int8-semantics.md section 2 and 8b). The float vs double
 * order of operations is deliberate: it is TFLM's, and changing it changes rare multipliers.
 */
#include <math.h>

#include "../flyref_internal.h"

flyref_status flyref_quantize_multiplier(double real, int32_t rounding, int32_t *mult, int32_t *shift)
{
    int exp = 0;
    double q;
    int64_t qf;
    const int32_t mode = fr_mode(rounding);
    if (mult == 0 || shift == 0 || mode == 0 || !(real >= 0.0) || real > 1e30) {
        return FLYREF_ARG_ERROR;
    }
    if (real == 0.0) {
        *mult = 0;
        *shift = 0;
        return FLYREF_OK;
    }
    q = frexp(real, &exp);                      /* real = q * 2^exp, q in [0.5, 1) */
    qf = (int64_t)round(q * 2147483648.0);      /* round half away from zero */
    if (qf == ((int64_t)1 << 31)) {
        qf /= 2;
        ++exp;
    }
    if (exp < -31) {                            /* flush tiny multipliers to zero */
        exp = 0;
        qf = 0;
    }
    if (mode == FLYNET_ROUNDING_SINGLE && exp > 30) {
        exp = 30;
        qf = ((int64_t)1 << 31) - 1;
    }
    if (exp > 30) {
        return FLYREF_ARG_ERROR;                /* outside the kernels' shift range */
    }
    *mult = (int32_t)qf;
    *shift = exp;
    return FLYREF_OK;
}

flyref_status flyref_activation_range(int32_t act, float scale, int32_t zero_point,
                                      int32_t *act_min, int32_t *act_max)
{
    float q0, q6, qm1, qp1;
    if (act_min == 0 || act_max == 0 || !(scale > 0.0f) || zero_point < -128 || zero_point > 127) {
        return FLYREF_ARG_ERROR;
    }
    /* Q(f) = zp + round(f / scale), the division in float (TFLM). Clamp before converting so a
     * tiny scale cannot overflow the int conversion. */
    q0 = (float)zero_point;
    q6 = (float)zero_point + fminf(fmaxf(roundf(6.0f / scale), -1000.0f), 1000.0f);
    qm1 = (float)zero_point + fminf(fmaxf(roundf(-1.0f / scale), -1000.0f), 1000.0f);
    qp1 = (float)zero_point + fminf(fmaxf(roundf(1.0f / scale), -1000.0f), 1000.0f);
    switch (act) {
    case FLYNET_ACT_NONE:
        *act_min = -128;
        *act_max = 127;
        break;
    case FLYNET_ACT_RELU:
        *act_min = fr_max(-128, (int32_t)q0);
        *act_max = 127;
        break;
    case FLYNET_ACT_RELU6:
        *act_min = fr_max(-128, (int32_t)q0);
        *act_max = fr_min(127, (int32_t)q6);
        break;
    case FLYNET_ACT_RELU_N1_TO_1:
        *act_min = fr_max(-128, (int32_t)qm1);
        *act_max = fr_min(127, (int32_t)qp1);
        break;
    default:
        return FLYREF_ARG_ERROR;
    }
    return FLYREF_OK;
}

flyref_status flyref_conv_multiplier(float in_scale, float w_scale, float out_scale,
                                     int32_t rounding, int32_t *mult, int32_t *shift)
{
    if (!(out_scale > 0.0f)) return FLYREF_ARG_ERROR;
    return flyref_quantize_multiplier((double)in_scale * (double)w_scale / (double)out_scale,
                                      rounding, mult, shift);
}

flyref_status flyref_fc_multiplier(float in_scale, float w_scale, float out_scale,
                                   int32_t rounding, int32_t *mult, int32_t *shift)
{
    const float product = in_scale * w_scale; /* float product, as TFLM */
    if (!(out_scale > 0.0f)) return FLYREF_ARG_ERROR;
    return flyref_quantize_multiplier((double)product / (double)out_scale, rounding, mult, shift);
}

flyref_status flyref_add_prepare(float in1_scale, float in2_scale, float out_scale, int32_t rounding,
                                 flynet_add_params *p)
{
    double twice_max;
    flyref_status s;
    if (p == 0 || !(in1_scale > 0.0f) || !(in2_scale > 0.0f) || !(out_scale > 0.0f)) {
        return FLYREF_ARG_ERROR;
    }
    p->left_shift = 20;
    twice_max = 2.0 * (double)(in1_scale > in2_scale ? in1_scale : in2_scale);
    s = flyref_quantize_multiplier((double)in1_scale / twice_max, rounding, &p->input1_multiplier,
                                   &p->input1_shift);
    if (s != FLYREF_OK) return s;
    s = flyref_quantize_multiplier((double)in2_scale / twice_max, rounding, &p->input2_multiplier,
                                   &p->input2_shift);
    if (s != FLYREF_OK) return s;
    s = flyref_quantize_multiplier(twice_max / ((double)(1 << 20) * (double)out_scale), rounding,
                                   &p->output_multiplier, &p->output_shift);
    if (s != FLYREF_OK) return s;
    if (p->input1_shift > 0 || p->input2_shift > 0 || p->output_shift > 0) return FLYREF_ARG_ERROR;
    p->act_min = -128;
    p->act_max = 127;
    p->rounding = rounding;
    return FLYREF_OK;
}

flyref_status flyref_softmax_prepare(float beta, float in_scale, int32_t rounding,
                                     flynet_softmax_params *p)
{
    const int32_t mode = fr_mode(rounding);
    const double cap = mode == FLYNET_ROUNDING_SINGLE ? 1073741823.0 : 2147483647.0;
    double real;
    flyref_status s;
    if (p == 0 || mode == 0) return FLYREF_ARG_ERROR;
    real = (double)beta * (double)in_scale * (double)(1 << 26);
    if (real > cap) real = cap;
    if (!(real > 1.0)) return FLYREF_ARG_ERROR; /* QuantizeMultiplierGreaterThanOne */
    /* Greater-than-one multipliers are never capped at shift 30 by the rounding mode here: the
     * cap on real already bounds the shift (31 in double mode, 30 in single). */
    {
        int exp = 0;
        const double q = frexp(real, &exp);
        int64_t qf = (int64_t)round(q * 2147483648.0);
        if (qf == ((int64_t)1 << 31)) {
            qf /= 2;
            ++exp;
        }
        if (exp < 0 || exp > 31) return FLYREF_ARG_ERROR;
        p->input_multiplier = (int32_t)qf;
        p->input_left_shift = exp;
    }
    p->diff_min = -(int32_t)floor(31.0 * (double)((int64_t)1 << 26) /
                                  (double)((int64_t)1 << p->input_left_shift));
    p->row_size = 0;
    s = FLYREF_OK;
    return s;
}

flyref_status flyref_logistic_prepare(float in_scale, flynet_logistic_params *p)
{
    int exp = 0;
    double q;
    int64_t qf;
    if (p == 0 || !(in_scale > 0.0f)) return FLYREF_ARG_ERROR;
    q = frexp((double)in_scale * (double)(1 << 27), &exp);
    qf = (int64_t)round(q * 2147483648.0); /* no 2^31 fix in TFLM here */
    if (qf >= ((int64_t)1 << 31) || exp < 0 || exp > 30) return FLYREF_ARG_ERROR;
    p->input_multiplier = (int32_t)qf;
    p->input_left_shift = exp;
    p->input_range_radius =
        (int32_t)floor(15.0 * (double)((int64_t)1 << 27) / (double)((int64_t)1 << exp));
    p->rounding = FLYNET_ROUNDING_DEFAULT;
    return FLYREF_OK;
}

static int32_t down_scale_to_int16(int32_t m)
{
    if (m >= INT32_MAX - (1 << 15)) return 32767;
    return (m + (1 << 15)) >> 16;
}

static flyref_status reluish_prepare(float in_scale, int32_t *rm16, int32_t *rexp)
{
    const float hires = (1.0f / 128.0f) * in_scale;
    const float reluish = hires / (3.0f / 32768.0f);
    int32_t m32 = 0;
    const flyref_status s = flyref_quantize_multiplier((double)reluish, FLYNET_ROUNDING_DOUBLE, &m32, rexp);
    if (s != FLYREF_OK) return s;
    if (*rexp < -15 || *rexp > 15) return FLYREF_ARG_ERROR;
    *rm16 = down_scale_to_int16(m32);
    return FLYREF_OK;
}

flyref_status flyref_hard_swish_prepare(float in_scale, float out_scale, flynet_hard_swish_params *p)
{
    float hires, om;
    int32_t m32 = 0, e = 0;
    flyref_status s;
    if (p == 0 || !(in_scale > 0.0f) || !(out_scale > 0.0f)) return FLYREF_ARG_ERROR;
    hires = (1.0f / 128.0f) * in_scale;
    om = hires / out_scale;
    s = flyref_quantize_multiplier((double)om, FLYNET_ROUNDING_DOUBLE, &m32, &e);
    if (s != FLYREF_OK) return s;
    if (e > 0 || e < -15) return FLYREF_ARG_ERROR;
    p->output_multiplier_int16 = down_scale_to_int16(m32);
    p->output_exponent = e;
    return reluish_prepare(in_scale, &p->reluish_multiplier_int16, &p->reluish_exponent);
}

flyref_status flyref_hard_sigmoid_prepare(float in_scale, float out_scale, int32_t out_zero_point,
                                          int32_t rounding, flynet_hard_sigmoid_params *p)
{
    flyref_status s;
    if (p == 0 || !(in_scale > 0.0f) || !(out_scale > 0.0f) || out_zero_point < -128 ||
        out_zero_point > 127) {
        return FLYREF_ARG_ERROR;
    }
    s = reluish_prepare(in_scale, &p->reluish_multiplier_int16, &p->reluish_exponent);
    if (s != FLYREF_OK) return s;
    s = flyref_quantize_multiplier(1.0 / (32768.0 * (double)out_scale), rounding,
                                   &p->output_multiplier, &p->output_shift);
    if (s != FLYREF_OK) return s;
    p->act_min = -128;
    p->act_max = 127;
    p->rounding = rounding;
    return FLYREF_OK;
}
