/*
 * Model-runner firmware: loads a .fly model and N input images over semihosting, runs the flyref
 * integer reference on one static arena and writes the N output vectors back.
 *
 * Files, relative to qemu's working directory (fixed names, so any host path works; the driver
 * runs qemu in a fresh directory):
 *   model.fly   in   the model, read into .model_image (the code memory: "flash")
 *   input.bin   in   N images back to back, each the input tensor's bytes (int8 codes)
 *   output.bin  out  N output vectors back to back, each the output tensor's bytes
 *   profile.on  in   optional: its presence turns the per-node profile on (content ignored)
 *   output_profile.bin  out  with the profile: the outputs of the node-by-node runs
 * Transcript (semihosting stdout), one "key=value" record per line:
 *   flyref-model v1 board=<an386>
 *   calibration instructions_per_tick_x1000=<40000>
 *   model bytes=<> tensors=<> nodes=<> arena=<> tables=<> input=<bytes> output=<bytes>
 *   sample <i> ticks=<SysTick ticks of flyref_graph_invoke>
 *   profile <i> empty_ticks=<ticks of an empty range>   (with profile.on, after each sample line)
 *   node <k> op=<flynet_op> ticks=<ticks>                (with profile.on, each node of sample i)
 *   stack used=<bytes> size=<bytes>
 *   flyref-model: done samples=<N>
 * or "flyref-model: error: <what>" and a non-zero exit status (see enum exit_code).
 *
 * Instructions: qemu runs with -icount shift=0 (1 ns of virtual time per instruction) and SysTick
 * counts the processor clock, so instructions = ticks * instructions_per_tick, which the
 * calibration line measures on a loop of known length (see ../fw/systick_clock.h).
 *
 * Profile: after each timed inference the image is read again and run node by node with
 * flyref_graph_invoke_range(k, k + 1), each node timed alone. Every call also pays the
 * interpreter's graph check and the two timer reads, the same for every node: an empty range
 * (k, k) measures that, once per image, and the host subtracts it from each node. The lines are
 * printed between the timed calls, so the firmware needs no per-node storage. The outputs of
 * the node-by-node runs go to output_profile.bin, so the host can check they equal output.bin.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "flyref.h"
#include "flyref_interpreter.h"
#include "flyref_model.h"
#include "semihost.h"
#include "systick_clock.h"

#if !defined(FLYREF_ARENA_SIZE) || !defined(FLYREF_MODEL_CAPACITY) || !defined(FLYREF_TABLE_BYTES)
#error "define FLYREF_ARENA_SIZE, FLYREF_MODEL_CAPACITY and FLYREF_TABLE_BYTES (model/CMakeLists.txt does)"
#endif
#ifndef FLYREF_BOARD
#define FLYREF_BOARD "unknown"
#endif

enum exit_code {
    EXIT_IO = 10,         /* a semihosting file could not be opened, read or written */
    EXIT_MODEL_SIZE = 11, /* model.fly does not fit FLYREF_MODEL_CAPACITY */
    EXIT_MODEL = 12,      /* the reader rejected the model, or its tables do not fit */
    EXIT_ARENA = 13,      /* the model's planned arena exceeds FLYREF_ARENA_SIZE */
    EXIT_INPUT = 14,      /* input.bin is not a whole number of images */
    EXIT_INVOKE = 15,     /* flyref_graph_invoke failed */
    EXIT_STACK = 16       /* the stack was used up to its last word */
};

/* The model lives in the code memory, as it would in flash; constants are used in place. */
static uint8_t g_model[FLYREF_MODEL_CAPACITY] __attribute__((section(".model_image"), aligned(16)));
static uint8_t g_arena[FLYREF_ARENA_SIZE] __attribute__((aligned(16)));
static uint64_t g_tables[(FLYREF_TABLE_BYTES + 7u) / 8u];

extern uint32_t _sstack, _estack;
#define STACK_PAINT 0xC5AC5AC5u

/* ------------------------------------------------------------------ transcript */

static void put(const char *s) { semihost_write0(s); }

static void put_u(uint64_t v)
{
    char buf[21];
    int i = 20;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v != 0u);
    semihost_write0(buf + i);
}

static void put_kv(const char *key, uint64_t v)
{
    put(" ");
    put(key);
    put("=");
    put_u(v);
}

static int fail(int code, const char *what, const char *detail)
{
    put("flyref-model: error: ");
    put(what);
    if (detail != NULL) {
        put(": ");
        put(detail);
    }
    put("\n");
    return code;
}

/* ------------------------------------------------------------------ stack high-water mark */

/* Paints the unused part of the stack so stack_used() can find the deepest word ever written. */
static void stack_paint(void)
{
    uint32_t *p = &_sstack;
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    while (p < sp - 16) *p++ = STACK_PAINT; /* keep clear of this frame */
}

static uint32_t stack_used(void)
{
    const uint32_t *p = &_sstack;
    while (p < &_estack && *p == STACK_PAINT) ++p;
    return (uint32_t)((uintptr_t)&_estack - (uintptr_t)p);
}

/* ------------------------------------------------------------------ file helpers */

static int read_file(const char *name, uint8_t *buf, size_t capacity, size_t *size)
{
    long n;
    int h = semihost_open(name, 0);
    if (h < 0) return fail(EXIT_IO, "cannot open", name);
    n = semihost_flen(h);
    if (n < 0) {
        (void)semihost_close(h);
        return fail(EXIT_IO, "cannot size", name);
    }
    if ((size_t)n > capacity) {
        (void)semihost_close(h);
        return fail(EXIT_MODEL_SIZE, "larger than FLYREF_MODEL_CAPACITY", name);
    }
    if (semihost_read(h, buf, (size_t)n) != (size_t)n) {
        (void)semihost_close(h);
        return fail(EXIT_IO, "short read", name);
    }
    (void)semihost_close(h);
    *size = (size_t)n;
    return 0;
}

/* ------------------------------------------------------------------ profile */

/* Runs image i (in the arena) node by node and prints the ticks of an empty range and of each
 * node. */
static flyref_status profile_nodes(const flyref_graph *graph, uint32_t arena_size, uint32_t i)
{
    uint64_t t0, t1;
    int32_t k;
    flyref_status st;
    t0 = systick_ticks();
    st = flyref_graph_invoke_range(graph, g_arena, arena_size, 0, 0);
    t1 = systick_ticks();
    if (st != FLYREF_OK) return st;
    put("profile ");
    put_u(i);
    put_kv("empty_ticks", t1 - t0);
    put("\n");
    for (k = 0; k < graph->num_nodes; ++k) {
        t0 = systick_ticks();
        st = flyref_graph_invoke_range(graph, g_arena, arena_size, k, k + 1);
        t1 = systick_ticks();
        if (st != FLYREF_OK) return st;
        put("node ");
        put_u((uint64_t)k);
        put_kv("op", (uint64_t)graph->nodes[k].op);
        put_kv("ticks", t1 - t0);
        put("\n");
    }
    return FLYREF_OK;
}

/* ------------------------------------------------------------------ main */

int main(void)
{
    flyref_graph graph;
    flyref_model_info info;
    flyref_status st;
    size_t model_size = 0, in_bytes, out_bytes;
    uint8_t *in_ptr, *out_ptr;
    long in_len;
    uint32_t n, i, used;
    int rc, hin, hout, hprof, hin2 = -1, hout2 = -1;

    stack_paint();
    put("flyref-model v1 board=" FLYREF_BOARD "\n");
    systick_start();
    /* 2 M and 6 M instructions: a few hundredths of a second under qemu, 0.002 % resolution. */
    put("calibration");
    put_kv("instructions_per_tick_x1000", systick_instructions_per_tick_x1000(1000000u, 3000000u));
    put("\n");

    rc = read_file("model.fly", g_model, sizeof g_model, &model_size);
    if (rc != 0) return rc;
    st = flyref_model_info_get(g_model, model_size, &info);
    if (st != FLYREF_OK) return fail(EXIT_MODEL, "model.fly rejected", flyref_status_str(st));
    if (info.arena_size > sizeof g_arena) return fail(EXIT_ARENA, "the model's arena exceeds FLYREF_ARENA_SIZE", NULL);
    if (info.table_bytes > sizeof g_tables) return fail(EXIT_MODEL, "the model's tables exceed FLYREF_TABLE_BYTES", NULL);
    /* The loader checks every node against its tensors and the planned arena (prepare). */
    st = flyref_model_load(g_model, model_size, g_tables, sizeof g_tables, &graph);
    if (st != FLYREF_OK) return fail(EXIT_MODEL, "model.fly not loaded", flyref_status_str(st));

    in_bytes = flyref_tensor_bytes(&graph.tensors[info.input]);
    out_bytes = flyref_tensor_bytes(&graph.tensors[info.output]);
    /* The input is written straight into its place in the arena, the output read from its own. */
    in_ptr = g_arena + graph.tensors[info.input].arena_offset;
    out_ptr = g_arena + graph.tensors[info.output].arena_offset;
    put("model");
    put_kv("bytes", model_size);
    put_kv("tensors", (uint64_t)graph.num_tensors);
    put_kv("nodes", (uint64_t)graph.num_nodes);
    put_kv("arena", info.arena_size);
    put_kv("tables", info.table_bytes);
    put_kv("input", in_bytes);
    put_kv("output", out_bytes);
    put("\n");

    hin = semihost_open("input.bin", 0);
    if (hin < 0) return fail(EXIT_IO, "cannot open", "input.bin");
    in_len = semihost_flen(hin);
    if (in_len < 0 || in_bytes == 0 || (size_t)in_len % in_bytes != 0)
        return fail(EXIT_INPUT, "input.bin is not a whole number of input tensors", NULL);
    n = (uint32_t)((size_t)in_len / in_bytes);
    hout = semihost_open("output.bin", 1);
    if (hout < 0) return fail(EXIT_IO, "cannot create", "output.bin");
    hprof = semihost_open("profile.on", 0);
    if (hprof >= 0) {
        (void)semihost_close(hprof);
        hin2 = semihost_open("input.bin", 0);
        if (hin2 < 0) return fail(EXIT_IO, "cannot open", "input.bin");
        hout2 = semihost_open("output_profile.bin", 1);
        if (hout2 < 0) return fail(EXIT_IO, "cannot create", "output_profile.bin");
    }

    for (i = 0; i < n; ++i) {
        uint64_t t0, t1;
        if (semihost_read(hin, in_ptr, in_bytes) != in_bytes) return fail(EXIT_IO, "short read", "input.bin");
        t0 = systick_ticks();
        st = flyref_graph_invoke(&graph, g_arena, info.arena_size);
        t1 = systick_ticks();
        if (st != FLYREF_OK) return fail(EXIT_INVOKE, "flyref_graph_invoke", flyref_status_str(st));
        if (semihost_write(hout, out_ptr, out_bytes) != 0) return fail(EXIT_IO, "cannot write", "output.bin");
        put("sample");
        put(" ");
        put_u(i);
        put_kv("ticks", t1 - t0);
        put("\n");
        if (hin2 >= 0) {
            if (semihost_read(hin2, in_ptr, in_bytes) != in_bytes) return fail(EXIT_IO, "short read", "input.bin");
            st = profile_nodes(&graph, (uint32_t)info.arena_size, i);
            if (st != FLYREF_OK) return fail(EXIT_INVOKE, "flyref_graph_invoke_range", flyref_status_str(st));
            if (semihost_write(hout2, out_ptr, out_bytes) != 0) return fail(EXIT_IO, "cannot write", "output_profile.bin");
        }
    }
    (void)semihost_close(hin);
    if (hin2 >= 0) {
        (void)semihost_close(hin2);
        if (semihost_close(hout2) != 0) return fail(EXIT_IO, "cannot close", "output_profile.bin");
    }
    if (semihost_close(hout) != 0) return fail(EXIT_IO, "cannot close", "output.bin");

    used = stack_used();
    put("stack");
    put_kv("used", used);
    put_kv("size", (uint64_t)((uintptr_t)&_estack - (uintptr_t)&_sstack));
    put("\n");
    if (used >= (uint32_t)((uintptr_t)&_estack - (uintptr_t)&_sstack))
        return fail(EXIT_STACK, "stack exhausted", "raise FLYREF_STACK_SIZE");
    put("flyref-model: done");
    put_kv("samples", n);
    put("\n");
    return 0;
}
