/* On-device tokenizer (see include/embbert/tokenize.h and
 * exporter/embbert/export/tokenizer_tables.py).
 *
 * One pass over the bytes: decode UTF-8 (maximal subparts -> U+FFFD), match added tokens on the
 * raw text, map each code point through the generated table (the normalizer's output for it),
 * split words at whitespace and around punctuation, and run WordPiece on each word as soon as
 * it ends. A word is kept as code points so that runs of non-starters can be put in canonical
 * order (NFD reordering), then encoded to UTF-8 for a longest-prefix walk over the sorted
 * vocabulary. Output stops as soon as `cap` pieces are known.
 */
#include "embbert/tokenize.h"

#include <string.h>

/* record kinds: exporter/embbert/export/tokenizer_tables.py K_* */
enum { K_WORD, K_PUNCT, K_SPACE, K_DROP, K_BREAK, K_MAP1, K_SEQ, K_HANGUL, K_ISOLATE };
enum { C_WORD, C_PUNCT, C_SPACE };

#define CP_MASK 0x1FFFFFu
#define CCC_SHIFT 24u /* of a code point stored in the word buffer, as in the pool */

typedef struct {
    const ebq_tokenizer *t;
    uint32_t *cps;     /* [max_word_chars + 1]: cp | ccc << 24 */
    uint8_t *utf8;     /* [4 * max_word_chars] */
    uint32_t n;        /* characters in the current word (counted past the maximum) */
    uint32_t run;      /* start of the current run of non-starters */
    uint16_t *out;     /* NULL: only count */
    uint32_t skip;     /* pieces before out[0] (a window further into the text) */
    uint32_t end;      /* skip + pieces wanted: the pass stops when it has them */
    uint32_t count;    /* pieces seen so far, skipped ones included */
} tok_state;

size_t ebq_tok_work_bytes(const ebq_tokenizer *tok) {
    if (!tok) return 0;
    return 8u * ((size_t)tok->max_word_chars + 1u) + 16u;
}

static uint32_t record_of(const ebq_tokenizer *t, uint32_t cp) {
    uint32_t hi = cp >> t->shift;
    uint32_t blk = t->stage1_u8 ? t->stage1_u8[hi] : t->stage1_u16[hi];
    uint32_t lo = cp & ((1u << t->shift) - 1u);
    return t->records[t->stage2[(blk << t->shift) | lo]];
}

#if defined(__GNUC__)
#define EBQ_INLINE static inline __attribute__((always_inline))
#else
#define EBQ_INLINE static inline
#endif

/* String offsets are uint16 or uint32 (whichever pointer is set); the walk below is inlined
 * once per width with the other pointer NULL, so its loops carry no width test. */
EBQ_INLINE uint32_t off_at(const uint16_t *o16, const uint32_t *o32, uint32_t i) {
    return o32 ? o32[i] : o16[i];
}

/* Longest vocabulary entry of table `which` (0 word starts, 1 continuations) that is a prefix
 * of s[0..n): its byte length (0 if none) and id. All entries in [lo, hi) share s[0..k); per
 * byte, a binary search finds the first entry with byte k >= s[k] (none equal: done) and a
 * galloping search the end of those equal to it (mostly a few). */
EBQ_INLINE uint32_t prefix_walk(const ebq_tokenizer *t, const uint16_t *o16, const uint32_t *o32,
                                uint32_t which, const uint8_t *s, uint32_t n, uint16_t *id) {
    const uint8_t *str = t->strings;
    uint32_t lo = t->first[which * 257u + s[0]], hi = t->first[which * 257u + s[0] + 1u];
    uint32_t best = 0;
    for (uint32_t k = 1;; k++) {
        if (lo < hi && off_at(o16, o32, lo + 1u) - off_at(o16, o32, lo) == k) {
            best = k; /* an exact match sorts first */
            *id = t->ids[lo];
            lo++;
        }
        if (k == n || lo >= hi) break;
        const uint8_t c = s[k];
        uint32_t a = lo, b = hi;
        while (a < b) {
            const uint32_t m = a + (b - a) / 2u;
            if (str[off_at(o16, o32, m) + k] < c) a = m + 1u; else b = m;
        }
        lo = a;
        if (lo >= hi || str[off_at(o16, o32, lo) + k] != c) break;
        uint32_t good = lo, step = 1u, probe = lo + 1u;
        while (probe < hi && str[off_at(o16, o32, probe) + k] == c) {
            good = probe;
            step *= 2u;
            probe = good + step;
        }
        a = good + 1u;
        b = probe < hi ? probe : hi;
        while (a < b) {
            const uint32_t m = a + (b - a) / 2u;
            if (str[off_at(o16, o32, m) + k] <= c) a = m + 1u; else b = m;
        }
        hi = a;
    }
    return best;
}

static uint32_t longest_prefix(const ebq_tokenizer *t, uint32_t which, const uint8_t *s,
                               uint32_t n, uint16_t *id) {
    return t->off32 ? prefix_walk(t, NULL, t->off32, which, s, n, id)
                    : prefix_walk(t, t->off16, NULL, which, s, n, id);
}

static void emit(tok_state *st, uint16_t id) {
    if (st->out && st->count >= st->skip && st->count < st->end)
        st->out[st->count - st->skip] = id;
    st->count++;
}

static uint32_t put_utf8(uint8_t *p, uint32_t cp) {
    if (cp < 0x80u) { p[0] = (uint8_t)cp; return 1; }
    if (cp < 0x800u) {
        p[0] = (uint8_t)(0xC0u | (cp >> 6));
        p[1] = (uint8_t)(0x80u | (cp & 0x3Fu));
        return 2;
    }
    if (cp < 0x10000u) {
        p[0] = (uint8_t)(0xE0u | (cp >> 12));
        p[1] = (uint8_t)(0x80u | ((cp >> 6) & 0x3Fu));
        p[2] = (uint8_t)(0x80u | (cp & 0x3Fu));
        return 3;
    }
    p[0] = (uint8_t)(0xF0u | (cp >> 18));
    p[1] = (uint8_t)(0x80u | ((cp >> 12) & 0x3Fu));
    p[2] = (uint8_t)(0x80u | ((cp >> 6) & 0x3Fu));
    p[3] = (uint8_t)(0x80u | (cp & 0x3Fu));
    return 4;
}

/* WordPiece on the finished word: greedy longest prefixes, [UNK] for the whole word when a
 * position matches nothing or the word is longer than max_word_chars. */
static void end_word(tok_state *st) {
    const ebq_tokenizer *t = st->t;
    uint32_t n = st->n;
    st->n = 0;
    st->run = 0;
    if (n == 0) return;
    uint32_t start = st->count;
    if (n > t->max_word_chars) {
        emit(st, t->unk_id);
        return;
    }
    uint32_t len = 0;
    for (uint32_t i = 0; i < n; i++) len += put_utf8(st->utf8 + len, st->cps[i] & CP_MASK);
    for (uint32_t pos = 0; pos < len;) {
        uint16_t id = 0;
        uint32_t m = longest_prefix(t, pos > 0 ? 1u : 0u, st->utf8 + pos, len - pos, &id);
        if (m == 0) {
            st->count = start;
            emit(st, t->unk_id);
            return;
        }
        emit(st, id);
        pos += m;
    }
}

/* Appends a normalized word character; non-starters go to their canonical place in the run. */
static void push(tok_state *st, uint32_t cp, uint32_t ccc) {
    uint32_t n = st->n;
    if (n < st->t->max_word_chars) {
        uint32_t v = cp | (ccc << CCC_SHIFT);
        if (ccc == 0) {
            st->cps[n] = v;
            st->run = n + 1u;
        } else {
            uint32_t i = n;
            while (i > st->run && (st->cps[i - 1u] >> CCC_SHIFT) > ccc) {
                st->cps[i] = st->cps[i - 1u];
                i--;
            }
            st->cps[i] = v;
        }
    }
    st->n = n + 1u;
}

static void put_class(tok_state *st, uint32_t cp, uint32_t cls, uint32_t ccc) {
    if (cls == C_WORD) {
        push(st, cp, ccc);
    } else {
        end_word(st);
        if (cls == C_PUNCT) {
            push(st, cp, 0);
            end_word(st);
        }
    }
}

static void put_cp(tok_state *st, uint32_t cp) {
    const ebq_tokenizer *t = st->t;
    uint32_t r = record_of(t, cp);
    switch (r >> 28) {
    case K_WORD: push(st, cp, (r >> 20) & 0xFFu); break;
    case K_PUNCT: put_class(st, cp, C_PUNCT, 0); break;
    case K_SPACE: end_word(st); break;
    case K_DROP: break;
    case K_BREAK: st->run = st->n; break;
    case K_MAP1: push(st, (cp + r) & CP_MASK, 0); break;
    case K_ISOLATE:
        end_word(st);
        push(st, (cp + r) & CP_MASK, 0);
        end_word(st);
        break;
    case K_HANGUL: {
        uint32_t s = cp - 0xAC00u;
        push(st, 0x1100u + s / (21u * 28u), 0);
        push(st, 0x1161u + (s % (21u * 28u)) / 28u, 0);
        if (s % 28u) push(st, 0x11A7u + s % 28u, 0);
        break;
    }
    default: { /* K_SEQ */
        const uint32_t *p = t->pool + (r & 0xFFFFu);
        uint32_t len = (r >> 16) & 0xFu;
        for (uint32_t i = 0; i < len; i++)
            put_class(st, p[i] & CP_MASK, (p[i] >> 21) & 3u, p[i] >> CCC_SHIFT);
        break;
    }
    }
}

static int cont(const uint8_t *s, size_t n, size_t i, uint8_t lo, uint8_t hi) {
    return i < n && s[i] >= lo && s[i] <= hi;
}

/* Next code point at s[*i]; invalid sequences give U+FFFD and consume their maximal subpart. */
static uint32_t decode(const uint8_t *s, size_t n, size_t *i) {
    size_t p = *i;
    uint32_t b0 = s[p];
    if (b0 < 0x80u) { *i = p + 1u; return b0; }
    uint32_t need;
    uint8_t lo = 0x80u, hi = 0xBFu;
    if (b0 >= 0xC2u && b0 <= 0xDFu) need = 1;
    else if (b0 >= 0xE0u && b0 <= 0xEFu) {
        need = 2;
        if (b0 == 0xE0u) lo = 0xA0u;
        if (b0 == 0xEDu) hi = 0x9Fu;
    } else if (b0 >= 0xF0u && b0 <= 0xF4u) {
        need = 3;
        if (b0 == 0xF0u) lo = 0x90u;
        if (b0 == 0xF4u) hi = 0x8Fu;
    } else {
        *i = p + 1u;
        return 0xFFFDu;
    }
    uint32_t cp = b0 & (0x3Fu >> need);
    p++;
    for (uint32_t k = 0; k < need; k++, p++) {
        if (!cont(s, n, p, k == 0 ? lo : 0x80u, k == 0 ? hi : 0xBFu)) {
            *i = p;
            return 0xFFFDu;
        }
        cp = (cp << 6) | (s[p] & 0x3Fu);
    }
    *i = p;
    return cp;
}

/* Length of the longest added token at s[i], or 0; its id in *id. */
static size_t special_at(const ebq_tokenizer *t, const uint8_t *s, size_t n, size_t i,
                         uint16_t *id) {
    if (!(t->special_first[s[i] >> 5] & (1u << (s[i] & 31u)))) return 0;
    size_t best = 0;
    for (uint32_t j = 0; j < t->n_special; j++) {
        size_t len = (size_t)t->special_off[j + 1u] - t->special_off[j];
        if (len > best && n - i >= len && memcmp(s + i, t->special_bytes + t->special_off[j],
                                                 len) == 0) {
            best = len;
            *id = t->special_id[j];
        }
    }
    return best;
}

/* Pieces skip .. skip+cap-1 of the text into out; returns how many of them exist. */
static uint32_t run_text(const ebq_tokenizer *t, const uint8_t *s, size_t n, void *work,
                         uint32_t skip, uint16_t *out, uint32_t cap) {
    uintptr_t w = ((uintptr_t)work + 3u) & ~(uintptr_t)3u;
    tok_state st;
    st.t = t;
    st.cps = (uint32_t *)w;
    st.utf8 = (uint8_t *)(st.cps + t->max_word_chars + 1u);
    st.n = st.run = 0;
    st.out = out;
    st.skip = skip;
    st.end = cap > UINT32_MAX - skip ? UINT32_MAX : skip + cap;
    st.count = 0;
    size_t i = 0;
    while (i < n && st.count < st.end) {
        uint16_t id = 0;
        size_t sl = special_at(t, s, n, i, &id);
        if (sl) {
            end_word(&st);
            emit(&st, id);
            i += sl;
            continue;
        }
        put_cp(&st, decode(s, n, &i));
    }
    if (st.count < st.end) end_word(&st);
    if (st.count <= skip) return 0;
    return st.count < st.end ? st.count - skip : st.end - skip;
}

uint32_t ebq_tokenize_pieces(const ebq_tokenizer *tok, const uint8_t *s, size_t n, void *work,
                             uint16_t *out, uint32_t cap) {
    if (!tok || (!s && n) || !work) return 0;
    return run_text(tok, s ? s : (const uint8_t *)"", n, work, 0, out, cap);
}

ebq_status ebq_tokenize_window(const ebq_tokenizer *tok, const uint8_t *a, size_t na,
                               uint32_t start, uint32_t max_len, void *work, size_t work_bytes,
                               uint16_t *ids, uint8_t *segs, uint32_t *T) {
    if (!tok || (!a && na) || !work || !ids || !segs || !T) return EBQ_BAD_ARGUMENT;
    if (max_len < 2u) return EBQ_BAD_ARGUMENT;
    if (work_bytes < ebq_tok_work_bytes(tok)) return EBQ_ARENA_TOO_SMALL;
    uint32_t n = run_text(tok, a ? a : (const uint8_t *)"", na, work, start, ids + 1,
                          max_len - 2u);
    ids[0] = tok->cls_id;
    ids[n + 1u] = tok->sep_id;
    for (uint32_t i = 0; i < n + 2u; i++) segs[i] = 1;
    *T = n + 2u;
    return EBQ_OK;
}

ebq_status ebq_tokenize(const ebq_tokenizer *tok, const uint8_t *a, size_t na,
                        const uint8_t *b, size_t nb, uint32_t max_len, void *work,
                        size_t work_bytes, uint16_t *ids, uint8_t *segs, uint32_t *T) {
    if (!tok || (!a && na) || (b == NULL && nb) || !work || !ids || !segs || !T)
        return EBQ_BAD_ARGUMENT;
    uint32_t n_special = b ? 3u : 2u;
    if (max_len < n_special) return EBQ_BAD_ARGUMENT;
    if (work_bytes < ebq_tok_work_bytes(tok)) return EBQ_ARENA_TOO_SMALL;
    uint32_t budget = max_len - n_special;
    /* a's first `budget` pieces go straight to their place; longest-first truncation only
     * needs min(len, budget) of each text, so b is counted up to budget, then stored. */
    uint32_t la = run_text(tok, a ? a : (const uint8_t *)"", na, work, 0, ids + 1, budget);
    uint32_t lb = b ? run_text(tok, b, nb, work, 0, NULL, budget) : 0;
    while (la + lb > budget) {
        if (la >= lb) la--; else lb--;
    }
    uint32_t n = 0;
    ids[n++] = tok->cls_id;
    n += la;
    ids[n++] = tok->sep_id;
    for (uint32_t i = 0; i < n; i++) segs[i] = 1;
    if (b) {
        (void)run_text(tok, b, nb, work, 0, ids + n, lb);
        n += lb;
        ids[n++] = tok->sep_id;
        for (uint32_t i = n - lb - 1u; i < n; i++) segs[i] = 2;
    }
    *T = n;
    return EBQ_OK;
}
