/* Host CLI over the C runtime and a generated model (tests, debugging).
 *
 *   ebq_run [--arena BYTES]   reads lines "T id_0 .. id_{T-1} seg_0 .. seg_{T-1}" on stdin and
 *                             prints "OK <logits as hex floats>" or "ERR <code> <NAME>: <message>"
 *                             per line; exits 2 if any line failed.
 *   ebq_run --info            prints the model facts and EBQ_ARENA_BYTES
 *   ebq_run --plan            prints "T arena_bytes" for T = 1 .. max_len
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embbert/embbert.h"
#include "model_data.h"

#define MAX_T 4096u

static uint8_t arena_buf[EBQ_ARENA_BYTES + 64u] EBQ_ARENA_ATTR;

#ifdef EBQ_PROFILE
/* Host profiling: count stage entries, printed to stderr at exit. */
static unsigned long stage_marks[EBQ_STAGE_COUNT];
void ebq_profile_mark(ebq_stage stage, uint32_t layer) {
    (void)layer;
    if ((unsigned)stage < EBQ_STAGE_COUNT) stage_marks[stage]++;
}
static void print_marks(void) {
    fprintf(stderr, "stages");
    for (unsigned i = 0; i < EBQ_STAGE_COUNT; i++) fprintf(stderr, " %lu", stage_marks[i]);
    fprintf(stderr, "\n");
}
#else
static void print_marks(void) {}
#endif

static int info(void) {
    const ebq_config *c = ebq_model_config(&ebq_model_data);
    printf("board %s\nformat %u\nquant %u\n", EBQ_BOARD_NAME,
           (unsigned)ebq_model_format_version(&ebq_model_data),
           (unsigned)ebq_model_quant_version(&ebq_model_data));
    printf("config %u %u %u %u %u %u %u %u\n", (unsigned)c->vocab_size, (unsigned)c->max_len,
           (unsigned)c->d_model, (unsigned)c->reduced_dim, (unsigned)c->n_layers,
           (unsigned)c->conv_kernel, (unsigned)c->expansion, (unsigned)c->num_labels);
    printf("arena %u\nsha256 ", (unsigned)EBQ_ARENA_BYTES);
    const uint8_t *s = ebq_model_sha256(&ebq_model_data);
    for (int i = 0; i < 32; i++) printf("%02x", s[i]);
    printf("\n");
    return 0;
}

static int plan(void) {
    const ebq_config *c = ebq_model_config(&ebq_model_data);
    for (uint32_t T = 1; T <= c->max_len; T++)
        printf("%u %zu\n", (unsigned)T, ebq_arena_bytes(&ebq_model_data, T));
    return 0;
}

int main(int argc, char **argv) {
    size_t arena_bytes = EBQ_ARENA_BYTES;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--info")) return info();
        if (!strcmp(argv[i], "--plan")) return plan();
        if (!strcmp(argv[i], "--arena") && i + 1 < argc) {
            arena_bytes = (size_t)strtoul(argv[++i], 0, 10);
            if (arena_bytes > EBQ_ARENA_BYTES) arena_bytes = EBQ_ARENA_BYTES;
        } else {
            fprintf(stderr, "usage: ebq_run [--info | --plan | --arena BYTES] < input\n");
            return 64;
        }
    }
    ebq_ctx ctx;
    ebq_status st = ebq_init(&ctx, &ebq_model_data, arena_buf, arena_bytes);
    if (st != EBQ_OK) {
        printf("ERR %d %s: %s\n", (int)st, ebq_status_name(st), ebq_status_message(st));
        return 2;
    }
    static uint16_t ids[MAX_T];
    static uint8_t segs[MAX_T];
    float logits[EBQ_NUM_LABELS];
    int failed = 0;
    long T;
    while (scanf("%ld", &T) == 1) {
        if (T < 0 || T > (long)MAX_T) {
            printf("ERR %d %s: %s\n", (int)EBQ_TOO_LONG, ebq_status_name(EBQ_TOO_LONG),
                   ebq_status_message(EBQ_TOO_LONG));
            return 2;
        }
        for (long t = 0; t < T; t++) {
            long v;
            if (scanf("%ld", &v) != 1) return 3;
            ids[t] = (v < 0 || v > 65535) ? (uint16_t)65535u : (uint16_t)v;
        }
        for (long t = 0; t < T; t++) {
            long v;
            if (scanf("%ld", &v) != 1) return 3;
            segs[t] = (v < 0 || v > 255) ? (uint8_t)255u : (uint8_t)v;
        }
        st = ebq_infer(&ctx, ids, segs, (uint32_t)T, logits);
        if (st != EBQ_OK) {
            printf("ERR %d %s: %s\n", (int)st, ebq_status_name(st), ebq_status_message(st));
            failed = 1;
            continue;
        }
        printf("OK");
        for (uint32_t i = 0; i < EBQ_NUM_LABELS; i++) printf(" %a", (double)logits[i]);
        printf("\n");
    }
    print_marks();
    return failed ? 2 : 0;
}

