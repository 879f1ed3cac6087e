/* Host CLI over the on-device tokenizer (tests, debugging).
 *
 *   ebq_tokenize < requests > replies
 *
 * Binary, little-endian. Request: u8 mode, u32 max_len, u32 na, a[na], u32 nb, b[nb].
 * mode 0: one text, 1: a pair -> reply u32 T, u16 ids[T], u8 segs[T] (ebq_tokenize);
 * mode 2: pieces of a without special tokens -> reply u32 n, u16 pieces[n]. A status other
 * than OK is printed to stderr and ends the run with exit code 2.
 * Built against any C file that defines ebq_tokenizer_data (model_data.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embbert/tokenize.h"

extern const ebq_tokenizer ebq_tokenizer_data;

static int read_u32(uint32_t *v) {
    uint8_t b[4];
    if (fread(b, 1, 4, stdin) != 4) return 0;
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return 1;
}

static uint8_t *read_bytes(uint32_t n) {
    uint8_t *p = malloc(n ? n : 1u);   /* exact size: ASan sees any read past the text */
    if (!p || fread(p, 1, n, stdin) != n) {
        fprintf(stderr, "ebq_tokenize: truncated request\n");
        exit(1);
    }
    return p;
}

static void write_u32(uint32_t v) {
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    fwrite(b, 1, 4, stdout);
}

int main(void) {
    const ebq_tokenizer *tok = &ebq_tokenizer_data;
    size_t wb = ebq_tok_work_bytes(tok);
    void *work = malloc(wb);
    int mode, rc = 0;
    while (work && rc == 0 && (mode = getchar()) != EOF) {
        uint32_t max_len, na, nb;
        if (!read_u32(&max_len) || !read_u32(&na)) return 1;
        uint8_t *a = read_bytes(na);
        if (!read_u32(&nb)) return 1;
        uint8_t *b = read_bytes(nb);
        if (mode == 2) {
            uint32_t cap = 8u * na + 16u;
            uint16_t *out = malloc(cap * sizeof *out);
            uint32_t n = ebq_tokenize_pieces(tok, a, na, work, out, cap);
            write_u32(n);
            for (uint32_t i = 0; i < n; i++) fwrite(&out[i], 2, 1, stdout);
            free(out);
        } else {
            uint16_t *ids = malloc((max_len + 1u) * sizeof *ids);
            uint8_t *segs = malloc(max_len + 1u);
            uint32_t T = 0;
            ebq_status s = ebq_tokenize(tok, a, na, mode == 1 ? b : NULL, mode == 1 ? nb : 0,
                                        max_len, work, wb, ids, segs, &T);
            if (s == EBQ_OK) {
                write_u32(T);
                for (uint32_t i = 0; i < T; i++) fwrite(&ids[i], 2, 1, stdout);
                fwrite(segs, 1, T, stdout);
            } else {
                fprintf(stderr, "ebq_tokenize: status %d\n", (int)s);
                rc = 2;
            }
            free(ids);
            free(segs);
        }
        free(a);
        free(b);
    }
    free(work);
    return fflush(stdout) == 0 ? rc : 1;
}
