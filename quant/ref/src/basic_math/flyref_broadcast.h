/* 4-D broadcast iteration shared by the binary elementwise kernels (private). */
#ifndef FLYREF_BROADCAST_H_
#define FLYREF_BROADCAST_H_

#include "../flyref_internal.h"

typedef struct fr_bcast {
    int32_t s1[4], s2[4]; /* element strides of inputs 1 and 2 per output dim (0 = broadcast) */
} fr_bcast;

static inline int fr_bcast_dim(int32_t in, int32_t out) { return in == out || in == 1; }

static inline flyref_status fr_bcast_init(fr_bcast *b, const flyref_dims *d1, const void *p1,
                                          const flyref_dims *d2, const void *p2,
                                          const flyref_dims *o, const void *po)
{
    if (p1 == 0 || p2 == 0 || po == 0) return FLYREF_ARG_ERROR;
    if (!fr_dims_ok(d1) || !fr_dims_ok(d2) || !fr_dims_ok(o) || fr_dims_count(o) < 0) return FLYREF_SHAPE_ERROR;
    if (!fr_bcast_dim(d1->n, o->n) || !fr_bcast_dim(d1->h, o->h) || !fr_bcast_dim(d1->w, o->w) ||
        !fr_bcast_dim(d1->c, o->c) || !fr_bcast_dim(d2->n, o->n) || !fr_bcast_dim(d2->h, o->h) ||
        !fr_bcast_dim(d2->w, o->w) || !fr_bcast_dim(d2->c, o->c)) {
        return FLYREF_SHAPE_ERROR;
    }
    b->s1[3] = d1->c == 1 ? 0 : 1;
    b->s1[2] = d1->w == 1 ? 0 : d1->c;
    b->s1[1] = d1->h == 1 ? 0 : d1->w * d1->c;
    b->s1[0] = d1->n == 1 ? 0 : d1->h * d1->w * d1->c;
    b->s2[3] = d2->c == 1 ? 0 : 1;
    b->s2[2] = d2->w == 1 ? 0 : d2->c;
    b->s2[1] = d2->h == 1 ? 0 : d2->w * d2->c;
    b->s2[0] = d2->n == 1 ? 0 : d2->h * d2->w * d2->c;
    return FLYREF_OK;
}

/* Calls BODY(i1, i2, io) for every output element, in NHWC order. */
#define FR_BCAST_LOOP(b, o, BODY)                                                              \
    do {                                                                                       \
        int32_t n_, y_, x_, c_, io_ = 0;                                                       \
        for (n_ = 0; n_ < (o)->n; ++n_)                                                        \
            for (y_ = 0; y_ < (o)->h; ++y_)                                                    \
                for (x_ = 0; x_ < (o)->w; ++x_) {                                              \
                    const int32_t b1_ = n_ * (b).s1[0] + y_ * (b).s1[1] + x_ * (b).s1[2];      \
                    const int32_t b2_ = n_ * (b).s2[0] + y_ * (b).s2[1] + x_ * (b).s2[2];      \
                    for (c_ = 0; c_ < (o)->c; ++c_, ++io_) {                                   \
                        const int32_t i1 = b1_ + c_ * (b).s1[3];                               \
                        const int32_t i2 = b2_ + c_ * (b).s2[3];                               \
                        const int32_t io = io_;                                                \
                        BODY;                                                                  \
                    }                                                                          \
                }                                                                              \
    } while (0)

/* Calls ROW(r1, r2, ro) for every output row (the C channels at one pixel), in NHWC order: r1, r2
 * are the rows' first elements in the inputs (their channel stride is s1[3] / s2[3], 0 or 1), ro
 * the output row's. The same element pairs as FR_BCAST_LOOP. */
#define FR_BCAST_ROWS(b, o, ROW)                                                               \
    do {                                                                                       \
        int32_t n_, y_, x_, ro = 0;                                                            \
        for (n_ = 0; n_ < (o)->n; ++n_)                                                        \
            for (y_ = 0; y_ < (o)->h; ++y_)                                                    \
                for (x_ = 0; x_ < (o)->w; ++x_, ro += (o)->c) {                                \
                    const int32_t r1 = n_ * (b).s1[0] + y_ * (b).s1[1] + x_ * (b).s1[2];       \
                    const int32_t r2 = n_ * (b).s2[0] + y_ * (b).s2[1] + x_ * (b).s2[2];       \
                    ROW;                                                                       \
                }                                                                              \
    } while (0)

#endif /* FLYREF_BROADCAST_H_ */
