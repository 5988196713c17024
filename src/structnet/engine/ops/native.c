/* structnet's native convolution kernels: direct valid 2D correlation, channel-major.
 *
 * Layout as in structnet.engine.ops.conv: x (C, N, H, W), w (O, C, k, k), z (O, N, Ho, Wo),
 * stride 1, no padding, float32, every array C-contiguous.
 *
 *     z[o, n, i, j] = sum_{c, a, b} w[o, c, a, b] * x[c, n, i + a, j + b]
 *
 * No im2col matrix: each kernel keeps a block of results in vector registers (6 output
 * pixels x 16 output channels for the forward pass, 16 output channels x 6 taps (c, a, b)
 * for the weight gradient, in 12 of AVX2's 16 registers; 32 channels in 24-26 of AVX-512's
 * 32: 6 pixels or taps in 256-bit vectors, 10-13 pixels or 12 taps in 512-bit ones; see
 * SN_VW and SN_OB) and streams the taps or the pixels through it; the
 * input is read in place through a table of tap offsets. The input gradient is the forward
 * kernel run on the zero-padded output gradient with the flipped, transposed filters.
 *
 * Threads: images are cut into chunks of SN_CHUNK; the weight gradient sums one partial
 * per chunk in chunk order, so every result is the same whatever the thread count.
 *
 * Compiled twice from this one file: by structnet.engine.ops.native into a shared library
 * that the Numba kernels call, and by PyTensor's C backend as the Ops' support code.
 */
#ifndef STRUCTNET_NATIVE_DEFINED
#define STRUCTNET_NATIVE_DEFINED
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Vector width: 16 floats (512 bits) where the compiler targets AVX-512F, else 8 (256 bits,
 * AVX2 / NEON pairs); -DSN_VW=8 or 16 forces one (structnet.engine.ops.native builds with the
 * CPU's width unless $STRUCTNET_VECTOR_WIDTH says otherwise). A block is SN_OB output
 * channels (forward) or SN_OB output channels of the weight gradient: 2 vectors of 8 (AVX2),
 * 4 of 8 (AVX-512VL) or 2 of 16; the 16-wide blocks take twice the pixels (or taps) to fill
 * the 32 zmm registers. Every output sums its terms in the same order at any width and block:
 * the results are identical. */
#ifndef SN_VW
#if defined(__AVX512F__)
#define SN_VW 16
#else
#define SN_VW 8
#endif
#endif
typedef float sn_vec __attribute__((vector_size(SN_VW * 4)));
/* Output channels per register block: 32 where the CPU has 32 vector registers (AVX-512,
 * whose AVX-512VL gives 256-bit code 32 ymm registers too), else 16. A block of 32 channels
 * at 8 floats needs 24 accumulators + 4 weight vectors: with AVX2's 16 ymm registers they
 * spill to the stack on every tap (measured on a Zen 3 EPYC, one thread, batch 32: forward
 * 45-53 GFLOP/s at 32 channels, 87-93 at 16; legacy_notes/speed.md, 2026-12-07). */
#ifndef SN_OB
#if SN_VW == 16 || defined(__AVX512VL__)
#define SN_OB 32
#else
#define SN_OB 16
#endif
#endif
#define SN_NV (SN_OB / SN_VW)   /* vectors per block row: 4 (AVX-512VL at 8 floats) or 2 */
#if SN_VW == 16
#define SN_PB 12        /* taps per register block of the weight gradient */
#define SN_PMAX 13      /* pixels per register block of the forward pass, at most */
#else
#define SN_PB 6
#define SN_PMAX 6
#endif
#define SN_CHUNK 4      /* images per work item */
#define SN_TILE_PIXELS 512

#ifndef SN_EXTERN      /* the C backend defines it as static */
#ifdef __cplusplus
#define SN_EXTERN extern "C"
#else
#define SN_EXTERN
#endif
#endif

static void *sn_alloc(size_t n_floats) {
    void *p = NULL;
    if (posix_memalign(&p, 64, (n_floats ? n_floats : 1) * sizeof(float))) return NULL;
    return p;
}

/* threads: $STRUCTNET_THREADS when set (>= 1), else the online CPUs, at most 64 */
static int sn_threads(void) {
    const char *e = getenv("STRUCTNET_THREADS");
    long t = e ? strtol(e, NULL, 10) : 0;
    if (t < 1) t = sysconf(_SC_NPROCESSORS_ONLN);
    if (t < 1) t = 1;
    return t > 64 ? 64 : (int)t;
}

typedef void (*sn_work_fn)(void *ctx, int64_t item);
typedef struct { sn_work_fn fn; void *ctx; int64_t n_items, first, step; } sn_job;

static void *sn_job_run(void *p) {
    sn_job *j = (sn_job *)p;
    for (int64_t it = j->first; it < j->n_items; it += j->step) j->fn(j->ctx, it);
    return NULL;
}

/* fn(ctx, item) for item in [0, n_items), round-robin over the threads */
static void sn_parallel(sn_work_fn fn, void *ctx, int64_t n_items) {
    int T = sn_threads();
    if (T > n_items) T = (int)(n_items > 0 ? n_items : 1);
    sn_job jobs[64];
    pthread_t tid[64];
    int started[64];
    for (int t = 0; t < T; ++t) {
        jobs[t].fn = fn; jobs[t].ctx = ctx; jobs[t].n_items = n_items;
        jobs[t].first = t; jobs[t].step = T;
        started[t] = 0;
    }
    for (int t = 1; t < T; ++t)
        started[t] = pthread_create(&tid[t], NULL, sn_job_run, &jobs[t]) == 0;
    sn_job_run(&jobs[0]);
    for (int t = 1; t < T; ++t) {
        if (started[t]) pthread_join(tid[t], NULL);
        else sn_job_run(&jobs[t]);      /* no thread: do its share here */
    }
}

/* the vector width this build uses (floats per vector) */
SN_EXTERN int structnet_vector_width(void) { return SN_VW; }
/* output channels per register block in this build (SN_OB) */
SN_EXTERN int structnet_block_channels(void) { return SN_OB; }

/* ------------------------------------------------------------------ forward */
typedef struct {
    const float *x; const float *wt; const int64_t *off; float *z;
    int64_t N, H, W, O, Ho, Wo, K, nob;
    int P;
} sn_fwd_ctx;

/* P pixels x 32 channels: z[o0 + r, n, i, j0 + p] for the block at zb (stride zs between o) */
static inline __attribute__((always_inline)) void
sn_fwd_block(const float *xb, const int64_t *off, const float *wb, int64_t K,
             float *zb, int64_t zs, int64_t n_o, const int P) {
    sn_vec acc[SN_PMAX][SN_NV];
#pragma GCC unroll 13
    for (int p = 0; p < P; ++p)
        for (int v = 0; v < SN_NV; ++v) acc[p][v] = (sn_vec){0};
    for (int64_t q = 0; q < K; ++q) {
        const float *xp = xb + off[q];
        const sn_vec *wv = (const sn_vec *)(wb + q * SN_OB);
        sn_vec w[SN_NV];
        for (int v = 0; v < SN_NV; ++v) w[v] = wv[v];
#pragma GCC unroll 13
        for (int p = 0; p < P; ++p) {
            float s = xp[p];
            for (int v = 0; v < SN_NV; ++v) acc[p][v] += s * w[v];
        }
    }
    if (n_o >= SN_OB) {
        for (int v = 0; v < SN_NV; ++v)
            for (int e = 0; e < SN_VW; ++e) {
                float *zo = zb + (int64_t)(v * SN_VW + e) * zs;
#pragma GCC unroll 13
                for (int p = 0; p < P; ++p) zo[p] = acc[p][v][e];
            }
    } else {
        for (int r = 0; r < n_o; ++r) {
            float *zo = zb + (int64_t)r * zs;
            for (int p = 0; p < P; ++p) zo[p] = acc[p][r / SN_VW][r % SN_VW];
        }
    }
}

/* one output row of Wo pixels in blocks of P; a last partial block overlaps the one
   before (it writes the same values again); rows shorter than P go pixel by pixel */
static inline __attribute__((always_inline)) void
sn_fwd_row(const float *xb, const int64_t *off, const float *wb, int64_t K, float *zb,
           int64_t zs, int64_t n_o, int64_t Wo, const int P) {
    int64_t j = 0;
    for (; j + P <= Wo; j += P) sn_fwd_block(xb + j, off, wb, K, zb + j, zs, n_o, P);
    if (j < Wo) {
        if (Wo >= P) sn_fwd_block(xb + Wo - P, off, wb, K, zb + Wo - P, zs, n_o, P);
        else for (; j < Wo; ++j) sn_fwd_block(xb + j, off, wb, K, zb + j, zs, n_o, 1);
    }
}

static void sn_fwd_chunk(void *vctx, int64_t chunk) {
    const sn_fwd_ctx *c = (const sn_fwd_ctx *)vctx;
    int64_t n1 = (chunk + 1) * SN_CHUNK < c->N ? (chunk + 1) * SN_CHUNK : c->N;
    int64_t zs = c->N * c->Ho * c->Wo;
    for (int64_t n = chunk * SN_CHUNK; n < n1; ++n)
        for (int64_t ob = 0; ob < c->nob; ++ob) {
            const float *wb = c->wt + ob * c->K * SN_OB;
            int64_t n_o = c->O - ob * SN_OB;
            for (int64_t i = 0; i < c->Ho; ++i) {
                const float *xb = c->x + (n * c->H + i) * c->W;
                float *zb = c->z + ob * SN_OB * zs + (n * c->Ho + i) * c->Wo;
                switch (c->P) {     /* a constant P per call: the block's loops unrolled */
#if SN_VW == 16
                case 13: sn_fwd_row(xb, c->off, wb, c->K, zb, zs, n_o, c->Wo, 13); break;
                case 11: sn_fwd_row(xb, c->off, wb, c->K, zb, zs, n_o, c->Wo, 11); break;
                case 10: sn_fwd_row(xb, c->off, wb, c->K, zb, zs, n_o, c->Wo, 10); break;
                default: sn_fwd_row(xb, c->off, wb, c->K, zb, zs, n_o, c->Wo, 12); break;
#else
                case 5: sn_fwd_row(xb, c->off, wb, c->K, zb, zs, n_o, c->Wo, 5); break;
                case 4: sn_fwd_row(xb, c->off, wb, c->K, zb, zs, n_o, c->Wo, 4); break;
                default: sn_fwd_row(xb, c->off, wb, c->K, zb, zs, n_o, c->Wo, 6); break;
#endif
                }
            }
        }
}

/* pixels per block for rows of Wo: $STRUCTNET_PB when set (4..6 at width 8, 10..13 at 16),
   else the widest block that tiles the row exactly, else the default (6, or 12 at width 16).
   Measured at width 8 on conv1..conv3: 6 is the fastest block, 5 wins only where 6 would
   waste a fifth of a row, as on conv3's 20 pixels. At width 16: 104 = 8 x 13 (conv1),
   48 = 4 x 12 (conv2), 20 = 2 x 10 (conv3), 52 = 4 x 13 (conv2's input gradient). */
static int sn_block_width(int64_t Wo) {
    const char *e = getenv("STRUCTNET_PB");
#if SN_VW == 16
    if (e && atoi(e) >= 10 && atoi(e) <= 13) return atoi(e);
    for (int P = 13; P >= 10; --P)
        if (Wo % P == 0) return P;
    return 12;
#else
    if (e && atoi(e) >= 4 && atoi(e) <= 6) return atoi(e);
    return (Wo % 6 != 0 && Wo % 5 == 0) ? 5 : 6;
#endif
}

/* z (O,N,H-k+1,W-k+1) = corr(x (C,N,H,W), w (O,C,k,k)); flip: use w[o,c,k-1-a,k-1-b].
   w_cmajor: w is stored (C,O,k,k) (the input gradient's transposed filters). 0 or -1 (memory). */
static int sn_corr_fwd_impl(const float *x, const float *w, float *z, int64_t C, int64_t N,
                            int64_t H, int64_t W, int64_t O, int64_t k, int flip, int w_cmajor) {
    int64_t K = C * k * k, nob = (O + SN_OB - 1) / SN_OB;
    float *wt = (float *)sn_alloc((size_t)(nob * K * SN_OB));
    int64_t *off = (int64_t *)malloc(sizeof(int64_t) * (size_t)(K ? K : 1));
    if (!wt || !off) { free(wt); free(off); return -1; }
    memset(wt, 0, sizeof(float) * (size_t)(nob * K * SN_OB));
    for (int64_t o = 0; o < O; ++o)
        for (int64_t cc = 0; cc < C; ++cc)
            for (int64_t a = 0; a < k; ++a)
                for (int64_t b = 0; b < k; ++b) {
                    int64_t q = (cc * k + a) * k + b;
                    int64_t sa = flip ? k - 1 - a : a, sb = flip ? k - 1 - b : b;
                    int64_t src = w_cmajor ? ((cc * O + o) * k + sa) * k + sb
                                           : ((o * C + cc) * k + sa) * k + sb;
                    wt[((o / SN_OB) * K + q) * SN_OB + o % SN_OB] = w[src];
                }
    for (int64_t cc = 0; cc < C; ++cc)
        for (int64_t a = 0; a < k; ++a)
            for (int64_t b = 0; b < k; ++b) off[(cc * k + a) * k + b] = cc * N * H * W + a * W + b;
    sn_fwd_ctx ctx = {x, wt, off, z, N, H, W, O, H - k + 1, W - k + 1, K, nob,
                      sn_block_width(W - k + 1)};
    sn_parallel(sn_fwd_chunk, &ctx, (N + SN_CHUNK - 1) / SN_CHUNK);
    free(wt);
    free(off);
    return 0;
}

SN_EXTERN int structnet_corr_fwd(const float *x, const float *w, float *z, int64_t C, int64_t N,
                                 int64_t H, int64_t W, int64_t O, int64_t k) {
    return sn_corr_fwd_impl(x, w, z, C, N, H, W, O, k, 0, 0);
}

/* gx (C,N,Ho+k-1,Wo+k-1) = dL/dx from w (O,C,k,k) and gz (O,N,Ho,Wo): the full correlation,
   i.e. the forward kernel on gz zero-padded by k-1 with the flipped filters, channels swapped */
SN_EXTERN int structnet_corr_grad_x(const float *w, const float *gz, float *gx, int64_t O,
                                    int64_t C, int64_t k, int64_t N, int64_t Ho, int64_t Wo) {
    int64_t Hp = Ho + 2 * (k - 1), Wp = Wo + 2 * (k - 1);
    float *gzp = (float *)sn_alloc((size_t)(O * N * Hp * Wp));
    if (!gzp) return -1;
    memset(gzp, 0, sizeof(float) * (size_t)(O * N * Hp * Wp));
    for (int64_t p = 0; p < O * N; ++p)
        for (int64_t i = 0; i < Ho; ++i)
            memcpy(gzp + (p * Hp + i + k - 1) * Wp + k - 1, gz + (p * Ho + i) * Wo,
                   sizeof(float) * (size_t)Wo);
    int r = sn_corr_fwd_impl(gzp, w, gx, O, N, Hp, Wp, C, k, 1, 1);
    free(gzp);
    return r;
}

/* ------------------------------------------------------------------ weight gradient */
typedef struct {
    const float *x; const float *gz; const int64_t *off; float *part; float *tiles;
    int64_t N, H, W, O, Ho, Wo, Kp, nob, rows;
} sn_gw_ctx;

static void sn_gw_chunk(void *vctx, int64_t chunk) {
    const sn_gw_ctx *c = (const sn_gw_ctx *)vctx;
    int64_t Op = c->nob * SN_OB, Kp = c->Kp, Wo = c->Wo;
    float *part = c->part + chunk * Op * Kp;     /* [ob][q][32] */
    float *gzt = c->tiles + chunk * c->rows * Wo * Op;   /* this chunk's gz tile */
    int64_t n1 = (chunk + 1) * SN_CHUNK < c->N ? (chunk + 1) * SN_CHUNK : c->N;
    for (int64_t n = chunk * SN_CHUNK; n < n1; ++n)
        for (int64_t i0 = 0; i0 < c->Ho; i0 += c->rows) {
            int64_t R = c->rows < c->Ho - i0 ? c->rows : c->Ho - i0, T = R * Wo;
            /* the tile of gz, pixel-major: gzt[t][o] */
            memset(gzt, 0, sizeof(float) * (size_t)(T * Op));
            for (int64_t o = 0; o < c->O; ++o) {
                const float *g = c->gz + ((o * c->N + n) * c->Ho + i0) * Wo;
                for (int64_t t = 0; t < T; ++t) gzt[t * Op + o] = g[t];
            }
            for (int64_t ob = 0; ob < c->nob; ++ob)
                for (int64_t q0 = 0; q0 < Kp; q0 += SN_PB) {
                    float *pb = part + (ob * Kp + q0) * SN_OB;
                    sn_vec acc[SN_PB][SN_NV];
                    for (int p = 0; p < SN_PB; ++p)
                        for (int v = 0; v < SN_NV; ++v) acc[p][v] = ((const sn_vec *)(pb + p * SN_OB))[v];
                    const int64_t *o = c->off + q0;
                    for (int64_t r = 0; r < R; ++r) {
                        const float *xr = c->x + (n * c->H + i0 + r) * c->W;
                        const float *gr = gzt + r * Wo * Op + ob * SN_OB;
                        for (int64_t j = 0; j < Wo; ++j) {
                            const sn_vec *gv = (const sn_vec *)(gr + j * Op);
                            sn_vec g[SN_NV];
                            for (int v = 0; v < SN_NV; ++v) g[v] = gv[v];
                            const float *xp = xr + j;
#pragma GCC unroll 12
                            for (int p = 0; p < SN_PB; ++p) {
                                float s = xp[o[p]];
                                for (int v = 0; v < SN_NV; ++v) acc[p][v] += s * g[v];
                            }
                        }
                    }
                    for (int p = 0; p < SN_PB; ++p)
                        for (int v = 0; v < SN_NV; ++v) ((sn_vec *)(pb + p * SN_OB))[v] = acc[p][v];
                }
        }
}

/* gw (O,C,k,k) = dL/dw from x (C,N,H,W) and gz (O,N,Ho,Wo), k = H - Ho + 1 */
SN_EXTERN int structnet_corr_grad_w(const float *x, const float *gz, float *gw, int64_t C,
                                    int64_t N, int64_t H, int64_t W, int64_t O, int64_t Ho,
                                    int64_t Wo) {
    int64_t k = H - Ho + 1, K = C * k * k, Kp = (K + SN_PB - 1) / SN_PB * SN_PB;
    int64_t nob = (O + SN_OB - 1) / SN_OB, Op = nob * SN_OB;
    int64_t n_chunks = (N + SN_CHUNK - 1) / SN_CHUNK;
    int64_t rows = SN_TILE_PIXELS / (Wo > 0 ? Wo : 1);
    if (rows < 1) rows = 1;
    if (rows > Ho) rows = Ho;
    float *part = (float *)sn_alloc((size_t)(n_chunks * Op * Kp));
    float *tiles = (float *)sn_alloc((size_t)(n_chunks * rows * Wo * Op));
    int64_t *off = (int64_t *)malloc(sizeof(int64_t) * (size_t)Kp);
    if (!part || !tiles || !off) { free(part); free(tiles); free(off); return -1; }
    memset(part, 0, sizeof(float) * (size_t)(n_chunks * Op * Kp));
    for (int64_t q = 0; q < Kp; ++q) {
        int64_t cc = q < K ? q / (k * k) : 0, a = q < K ? (q / k) % k : 0, b = q < K ? q % k : 0;
        off[q] = cc * N * H * W + a * W + b;
    }
    sn_gw_ctx ctx = {x, gz, off, part, tiles, N, H, W, O, Ho, Wo, Kp, nob, rows};
    sn_parallel(sn_gw_chunk, &ctx, n_chunks);
    for (int64_t o = 0; o < O; ++o)
        for (int64_t q = 0; q < K; ++q) {
            const float *p = part + ((o / SN_OB) * Kp + q) * SN_OB + o % SN_OB;
            float s = 0.f;
            for (int64_t ch = 0; ch < n_chunks; ++ch) s += p[ch * Op * Kp];
            gw[o * K + q] = s;
        }
    free(part);
    free(tiles);
    free(off);
    return 0;
}

/* ------------------------------------------------------------------ max-pooling */
/* 3x3 windows at stride 2 with cuda-convnet sizing, out = ceil((n - 3) / 2) + 1 = n / 2 for
   n >= 3 (structnet.engine.ops.pool); planes of (H, W), P of them. */
#define SN_POOL_PLANES 16
typedef struct { const float *x; const float *gz; float *out; float *tmp; int64_t P, H, W, Ho, Wo; } sn_pool_ctx;

static void sn_pool_fwd_chunk(void *vctx, int64_t chunk) {
    const sn_pool_ctx *c = (const sn_pool_ctx *)vctx;
    int64_t H = c->H, W = c->W, Ho = c->Ho, Wo = c->Wo;
    int64_t p1 = (chunk + 1) * SN_POOL_PLANES < c->P ? (chunk + 1) * SN_POOL_PLANES : c->P;
    float *col = c->tmp + chunk * W;       /* the vertical maxima of one band of 3 rows */
    for (int64_t p = chunk * SN_POOL_PLANES; p < p1; ++p) {
        const float *xp = c->x + p * H * W;
        float *zp = c->out + p * Ho * Wo;
        for (int64_t i = 0; i < Ho; ++i) {
            const float *r0 = xp + 2 * i * W;
            int64_t nr = H - 2 * i < 3 ? H - 2 * i : 3;
            for (int64_t q = 0; q < W; ++q) {
                float m = r0[q];
                if (nr > 1 && r0[W + q] > m) m = r0[W + q];
                if (nr > 2 && r0[2 * W + q] > m) m = r0[2 * W + q];
                col[q] = m;
            }
            for (int64_t j = 0; j < Wo; ++j) {
                float m = col[2 * j];
                if (2 * j + 1 < W && col[2 * j + 1] > m) m = col[2 * j + 1];
                if (2 * j + 2 < W && col[2 * j + 2] > m) m = col[2 * j + 2];
                zp[i * Wo + j] = m;
            }
        }
    }
}

/* gx = dL/dx: each gz goes to the first maximum (row-major) of its window */
static void sn_pool_grad_chunk(void *vctx, int64_t chunk) {
    const sn_pool_ctx *c = (const sn_pool_ctx *)vctx;
    int64_t H = c->H, W = c->W, Ho = c->Ho, Wo = c->Wo;
    int64_t p1 = (chunk + 1) * SN_POOL_PLANES < c->P ? (chunk + 1) * SN_POOL_PLANES : c->P;
    for (int64_t p = chunk * SN_POOL_PLANES; p < p1; ++p) {
        const float *xp = c->x + p * H * W;
        const float *gp = c->gz + p * Ho * Wo;
        float *op = c->out + p * H * W;
        memset(op, 0, sizeof(float) * (size_t)(H * W));
        for (int64_t i = 0; i < Ho; ++i) {
            int64_t r0 = 2 * i, r1 = r0 + 3 < H ? r0 + 3 : H;
            for (int64_t j = 0; j < Wo; ++j) {
                int64_t c0 = 2 * j, c1 = c0 + 3 < W ? c0 + 3 : W;
                int64_t am = r0 * W + c0;
                float m = xp[am];
                for (int64_t r = r0; r < r1; ++r)
                    for (int64_t q = c0; q < c1; ++q)
                        if (xp[r * W + q] > m) { m = xp[r * W + q]; am = r * W + q; }
                op[am] += gp[i * Wo + j];
            }
        }
    }
}

/* z (P, H/2, W/2) = maxpool(x (P, H, W)); H, W >= 3 */
SN_EXTERN int structnet_maxpool(const float *x, float *z, int64_t P, int64_t H, int64_t W) {
    int64_t n_chunks = (P + SN_POOL_PLANES - 1) / SN_POOL_PLANES;
    float *tmp = (float *)sn_alloc((size_t)(n_chunks * W));
    if (!tmp) return -1;
    sn_pool_ctx ctx = {x, NULL, z, tmp, P, H, W, H / 2, W / 2};
    sn_parallel(sn_pool_fwd_chunk, &ctx, n_chunks);
    free(tmp);
    return 0;
}

/* gx (P, H, W) from x (P, H, W) and gz (P, H/2, W/2) */
SN_EXTERN int structnet_maxpool_grad(const float *x, const float *gz, float *gx, int64_t P,
                                     int64_t H, int64_t W) {
    sn_pool_ctx ctx = {x, gz, gx, NULL, P, H, W, H / 2, W / 2};
    sn_parallel(sn_pool_grad_chunk, &ctx, (P + SN_POOL_PLANES - 1) / SN_POOL_PLANES);
    return 0;
}
#endif
