/* MinHash signatures in one pass: n-gram hash, num_perm permutations, per-document minimum.
 *
 * Computes exactly what r1data.ops.minhash.signatures_numpy computes, without materialising the
 * (shingles x permutations) block. The GIL is released, so Python threads can split documents.
 *
 * signatures(flat, lengths, starts, first_doc, n, weights, a, b, out)
 *   flat:    uint64 token hashes of all documents, concatenated
 *   lengths: int64 tokens per document; starts: int64 offset of each document in flat
 *   first_doc: index of the first document handled (out rows [first_doc, first_doc + len(lengths)))
 *   weights: uint64[n] position weights; a, b: uint64[num_perm] permutation parameters
 *   out:     uint32[documents x num_perm], C order, written in place
 *
 * signatures_text(data, offsets, first_doc, n, weights, a, b, out)
 *   the same from normalised texts (UTF-8 data[offsets[i]:offsets[i+1]], tokens separated by spaces): tokens are
 *   hashed as they are split (signature scheme 2's token hash: FNV-1a over the bytes, finalised), no token array
 *
 * Two sequential passes of near-duplicate removal live here too (r1data.ops.dedup has numpy/Python versions that
 * give the same results; these make them stream over pairs at C speed):
 *
 * greedy(better, worse, sim, kept, dup_of, dup_sim)
 *   pairs already in visiting order; a pair removes `worse` when both rows are still kept
 *   (int64, int64, float64 pairs; uint8 kept, int64 dup_of, float64 dup_sim per row, updated in place)
 * union(parent, left, right)
 *   union-find over int64 parent links (parent[i] == i at the start), path halving; roots are the smaller index
 * band_keys(sig, perms, bands, rows, out)
 *   out[i, b] = the LSH key of row i in band b (uint64, rows x bands): r1data.ops.dedup.band_keys
 * jaccard(sig, perms, left, right, out)
 *   out[i] = share of equal slots of rows left[i] and right[i] of the uint32 (rows x perms) signatures
 *
 * number_changes(offsets, ids, left, right, out)
 *   each row's numbers as sorted uint64 ids in ids[offsets[r]:offsets[r+1]]; out[i] = how many numbers must
 *   change to turn row left[i]'s multiset into right[i]'s: max(|A|, |B|) - |A & B| (r1data.ops.dedup.number_changes)
 *
 * And the tokenizer of r1data.ops.normalize for ASCII text (the same tokens as its regex, a test holds them equal):
 *
 * tokens_ascii(data, offsets, out, out_offsets) -> bytes written
 *   texts data[offsets[i]:offsets[i+1]] (ASCII, lower-cased), each rewritten as its tokens joined by one space:
 *   a backslash and the letters after it, a run of letters and digits, or any other single character that is not
 *   whitespace (\t \n \v \f \r, space, \x1c-\x1f). out needs 2 * len(data) bytes; out_offsets n + 1 items.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static int get(PyObject *obj, Py_buffer *view, Py_ssize_t itemsize, int writable, const char *name) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0)) < 0) return -1;
    if (view->itemsize != itemsize) {
        PyErr_Format(PyExc_TypeError, "%s: expected items of %zd bytes, got %zd", name, itemsize, view->itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* The permutations loop is where the time goes: built for AVX-512 and AVX2 beside the baseline where the compiler
 * can pick one at load time (the same values on every path: integer arithmetic modulo 2^64). */
#if defined(__x86_64__) && defined(__GLIBC__) && defined(__has_attribute) && \
    ((defined(__clang__) && __clang_major__ >= 14) || (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 11))
#if __has_attribute(target_clones)
#define HOT __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
#endif
#ifndef HOT
#define HOT
#endif

static inline uint64_t finalise(uint64_t x) {  /* splitmix64's finaliser */
    x ^= x >> 30; x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 27; x *= 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

/* One document's signature from its token hashes t[0:length] (length >= 1): every n-gram (one gram of all tokens
 * when the document is shorter than n) hashed as finalise(sum_j W[j] * t[i + j]), then min over the gram hashes of
 * A[p] * h + B[p] per permutation, the top 32 bits kept. */
HOT static void one_signature(const uint64_t *t, int64_t length, Py_ssize_t n, const uint64_t *W, const uint64_t *A,
                              const uint64_t *B, Py_ssize_t perms, uint64_t *cur, uint32_t *row) {
    const int64_t count = length >= n ? length - n + 1 : 1;
    for (Py_ssize_t p = 0; p < perms; p++) cur[p] = UINT64_MAX;
    for (int64_t i = 0; i < count; i++) {
        uint64_t acc = 0;
        for (Py_ssize_t j = 0; j < n && i + j < length; j++) acc += W[j] * t[i + j];
        acc = finalise(acc);
        for (Py_ssize_t p = 0; p < perms; p++) {
            uint64_t v = A[p] * acc + B[p];
            cur[p] = v < cur[p] ? v : cur[p];
        }
    }
    for (Py_ssize_t p = 0; p < perms; p++) row[p] = (uint32_t)(cur[p] >> 32);
}

/* The token hash of signature scheme 2: FNV-1a over the token's bytes, finalised. */
static inline uint64_t token_hash(const unsigned char *s, int64_t len) {
    uint64_t h = 0xCBF29CE484222325ULL;
    for (int64_t k = 0; k < len; k++) { h ^= s[k]; h *= 0x100000001B3ULL; }
    return finalise(h);
}

static PyObject *signatures(PyObject *self, PyObject *args) {
    PyObject *o_flat, *o_len, *o_start, *o_w, *o_a, *o_b, *o_out;
    Py_ssize_t first_doc, n;
    if (!PyArg_ParseTuple(args, "OOOnnOOOO", &o_flat, &o_len, &o_start, &first_doc, &n, &o_w, &o_a, &o_b, &o_out))
        return NULL;
    Py_buffer flat, len, start, w, a, b, out;
    if (get(o_flat, &flat, 8, 0, "flat") < 0) return NULL;
    if (get(o_len, &len, 8, 0, "lengths") < 0) goto e1;
    if (get(o_start, &start, 8, 0, "starts") < 0) goto e2;
    if (get(o_w, &w, 8, 0, "weights") < 0) goto e3;
    if (get(o_a, &a, 8, 0, "a") < 0) goto e4;
    if (get(o_b, &b, 8, 0, "b") < 0) goto e5;
    if (get(o_out, &out, 4, 1, "out") < 0) goto e6;

    const Py_ssize_t docs = len.len / 8, perms = a.len / 8, tokens = flat.len / 8;
    if (w.len / 8 < n || b.len / 8 != perms || start.len / 8 != docs ||
        out.len / 4 < (first_doc + docs) * perms || n < 1 || first_doc < 0) {
        PyErr_SetString(PyExc_ValueError, "signatures: inconsistent array sizes");
        goto e7;
    }
    const uint64_t *F = flat.buf, *W = w.buf, *A = a.buf, *B = b.buf;
    const int64_t *L = len.buf, *S = start.buf;
    uint32_t *O = (uint32_t *)out.buf + first_doc * perms;
    for (Py_ssize_t d = 0; d < docs; d++)
        if (L[d] < 0 || S[d] < 0 || S[d] + L[d] > tokens) {
            PyErr_SetString(PyExc_ValueError, "signatures: a document lies outside the token array");
            goto e7;
        }

    uint64_t *cur = PyMem_RawMalloc(sizeof(uint64_t) * (perms ? perms : 1));
    if (!cur) { PyErr_NoMemory(); goto e7; }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t d = 0; d < docs; d++)
        if (L[d] > 0) one_signature(F + S[d], L[d], n, W, A, B, perms, cur, O + d * perms);
    Py_END_ALLOW_THREADS
    PyMem_RawFree(cur);
    PyBuffer_Release(&out); PyBuffer_Release(&b); PyBuffer_Release(&a); PyBuffer_Release(&w);
    PyBuffer_Release(&start); PyBuffer_Release(&len); PyBuffer_Release(&flat);
    Py_RETURN_NONE;
e7: PyBuffer_Release(&out);
e6: PyBuffer_Release(&b);
e5: PyBuffer_Release(&a);
e4: PyBuffer_Release(&w);
e3: PyBuffer_Release(&start);
e2: PyBuffer_Release(&len);
e1: PyBuffer_Release(&flat);
    return NULL;
}

static PyObject *signatures_text(PyObject *self, PyObject *args) {
    PyObject *o_d, *o_off, *o_w, *o_a, *o_b, *o_out;
    Py_ssize_t first_doc, n;
    if (!PyArg_ParseTuple(args, "OOnnOOOO", &o_d, &o_off, &first_doc, &n, &o_w, &o_a, &o_b, &o_out)) return NULL;
    Py_buffer d, off, w, a, b, out;
    if (get(o_d, &d, 1, 0, "data") < 0) return NULL;
    if (get(o_off, &off, 8, 0, "offsets") < 0) goto t1;
    if (get(o_w, &w, 8, 0, "weights") < 0) goto t2;
    if (get(o_a, &a, 8, 0, "a") < 0) goto t3;
    if (get(o_b, &b, 8, 0, "b") < 0) goto t4;
    if (get(o_out, &out, 4, 1, "out") < 0) goto t5;
    const Py_ssize_t docs = off.len / 8 - 1, perms = a.len / 8;
    const int64_t *OFF = off.buf;
    int bad = docs < 0 || w.len / 8 < n || b.len / 8 != perms || n < 1 || first_doc < 0 ||
              out.len / 4 < (first_doc + docs) * perms;
    for (Py_ssize_t i = 0; i < docs && !bad; i++) bad = OFF[i] < 0 || OFF[i] > OFF[i + 1] || OFF[i + 1] > d.len;
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "signatures_text: inconsistent offsets or array sizes");
        goto t6;
    }
    int64_t longest = 0;  /* bytes of the longest document: it holds at most (bytes + 1) / 2 tokens */
    for (Py_ssize_t i = 0; i < docs; i++) longest = OFF[i + 1] - OFF[i] > longest ? OFF[i + 1] - OFF[i] : longest;
    uint64_t *cur = PyMem_RawMalloc(sizeof(uint64_t) * (perms ? perms : 1));
    uint64_t *tok = PyMem_RawMalloc(sizeof(uint64_t) * (longest / 2 + 1));
    if (!cur || !tok) { PyMem_RawFree(cur); PyMem_RawFree(tok); PyErr_NoMemory(); goto t6; }
    const unsigned char *D = d.buf;
    const uint64_t *W = w.buf, *A = a.buf, *B = b.buf;
    uint32_t *O = (uint32_t *)out.buf + first_doc * perms;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < docs; i++) {
        int64_t k = OFF[i], end = OFF[i + 1], count = 0;
        while (k < end) {
            if (D[k] == ' ') { k++; continue; }
            int64_t start = k;
            while (k < end && D[k] != ' ') k++;
            tok[count++] = token_hash(D + start, k - start);
        }
        if (count > 0) one_signature(tok, count, n, W, A, B, perms, cur, O + i * perms);
    }
    Py_END_ALLOW_THREADS
    PyMem_RawFree(tok);
    PyMem_RawFree(cur);
    PyBuffer_Release(&out); PyBuffer_Release(&b); PyBuffer_Release(&a); PyBuffer_Release(&w);
    PyBuffer_Release(&off); PyBuffer_Release(&d);
    Py_RETURN_NONE;
t6: PyBuffer_Release(&out);
t5: PyBuffer_Release(&b);
t4: PyBuffer_Release(&a);
t3: PyBuffer_Release(&w);
t2: PyBuffer_Release(&off);
t1: PyBuffer_Release(&d);
    return NULL;
}

static PyObject *band_keys(PyObject *self, PyObject *args) {
    PyObject *o_s, *o_o;
    Py_ssize_t perms, bands, rows;
    if (!PyArg_ParseTuple(args, "OnnnO", &o_s, &perms, &bands, &rows, &o_o)) return NULL;
    Py_buffer sg, o;
    if (get(o_s, &sg, 4, 0, "sig") < 0) return NULL;
    if (get(o_o, &o, 8, 1, "out") < 0) { PyBuffer_Release(&sg); return NULL; }
    const Py_ssize_t n = perms > 0 ? sg.len / 4 / perms : 0;
    int bad = perms < 1 || bands < 0 || rows < 1 || bands * rows > perms || o.len / 8 != n * bands;
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "band_keys: inconsistent arrays (bands x rows past the signature?)");
    } else {
        const uint32_t *S = sg.buf;
        uint64_t *O = o.buf;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0; i < n; i++) {
            const uint32_t *row = S + i * perms;
            for (Py_ssize_t b = 0; b < bands; b++) {
                uint64_t key = 0;
                for (Py_ssize_t c = b * rows; c < (b + 1) * rows; c++) {
                    key ^= (uint64_t)row[c];
                    key *= 0x100000001B3ULL;
                    key ^= key >> 29;
                }
                O[i * bands + b] = key;
            }
        }
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&o); PyBuffer_Release(&sg);
    if (bad) return NULL;
    Py_RETURN_NONE;
}

static PyObject *greedy(PyObject *self, PyObject *args) {
    PyObject *o_b, *o_w, *o_s, *o_k, *o_d, *o_ds;
    if (!PyArg_ParseTuple(args, "OOOOOO", &o_b, &o_w, &o_s, &o_k, &o_d, &o_ds)) return NULL;
    Py_buffer b, w, s, k, d, ds;
    if (get(o_b, &b, 8, 0, "better") < 0) return NULL;
    if (get(o_w, &w, 8, 0, "worse") < 0) goto g1;
    if (get(o_s, &s, 8, 0, "sim") < 0) goto g2;
    if (get(o_k, &k, 1, 1, "kept") < 0) goto g3;
    if (get(o_d, &d, 8, 1, "dup_of") < 0) goto g4;
    if (get(o_ds, &ds, 8, 1, "dup_sim") < 0) goto g5;
    const Py_ssize_t pairs = b.len / 8, rows = k.len;
    if (w.len != b.len || s.len != b.len || d.len / 8 != rows || ds.len / 8 != rows) {
        PyErr_SetString(PyExc_ValueError, "greedy: inconsistent array sizes");
        goto g6;
    }
    const int64_t *B = b.buf, *W = w.buf;
    for (Py_ssize_t i = 0; i < pairs; i++)
        if (B[i] < 0 || B[i] >= rows || W[i] < 0 || W[i] >= rows) {
            PyErr_SetString(PyExc_ValueError, "greedy: a pair names a row outside the arrays");
            goto g6;
        }
    const double *S = s.buf;
    uint8_t *K = k.buf;
    int64_t *D = d.buf;
    double *DS = ds.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < pairs; i++) {
        if (K[W[i]] && K[B[i]]) {
            K[W[i]] = 0;
            D[W[i]] = B[i];
            DS[W[i]] = S[i];
        }
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&ds); PyBuffer_Release(&d); PyBuffer_Release(&k);
    PyBuffer_Release(&s); PyBuffer_Release(&w); PyBuffer_Release(&b);
    Py_RETURN_NONE;
g6: PyBuffer_Release(&ds);
g5: PyBuffer_Release(&d);
g4: PyBuffer_Release(&k);
g3: PyBuffer_Release(&s);
g2: PyBuffer_Release(&w);
g1: PyBuffer_Release(&b);
    return NULL;
}

static int64_t root(int64_t *P, int64_t x) {
    while (P[x] != x) {
        P[x] = P[P[x]];
        x = P[x];
    }
    return x;
}

static PyObject *union_(PyObject *self, PyObject *args) {
    PyObject *o_p, *o_l, *o_r;
    if (!PyArg_ParseTuple(args, "OOO", &o_p, &o_l, &o_r)) return NULL;
    Py_buffer p, l, r;
    if (get(o_p, &p, 8, 1, "parent") < 0) return NULL;
    if (get(o_l, &l, 8, 0, "left") < 0) { PyBuffer_Release(&p); return NULL; }
    if (get(o_r, &r, 8, 0, "right") < 0) { PyBuffer_Release(&l); PyBuffer_Release(&p); return NULL; }
    const Py_ssize_t rows = p.len / 8, pairs = l.len / 8;
    int64_t *P = p.buf;
    const int64_t *L = l.buf, *R = r.buf;
    int bad = r.len != l.len;
    for (Py_ssize_t i = 0; i < pairs && !bad; i++) bad = L[i] < 0 || L[i] >= rows || R[i] < 0 || R[i] >= rows;
    for (Py_ssize_t i = 0; i < rows && !bad; i++) bad = P[i] < 0 || P[i] >= rows;
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "union: inconsistent arrays (a row outside parent, or unequal pair arrays)");
        PyBuffer_Release(&r); PyBuffer_Release(&l); PyBuffer_Release(&p);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < pairs; i++) {
        int64_t a = root(P, L[i]), b = root(P, R[i]);
        if (a < b) P[b] = a; else if (b < a) P[a] = b;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&r); PyBuffer_Release(&l); PyBuffer_Release(&p);
    Py_RETURN_NONE;
}

static PyObject *jaccard(PyObject *self, PyObject *args) {
    PyObject *o_s, *o_l, *o_r, *o_o;
    Py_ssize_t perms;
    if (!PyArg_ParseTuple(args, "OnOOO", &o_s, &perms, &o_l, &o_r, &o_o)) return NULL;
    Py_buffer sg, l, r, o;
    if (get(o_s, &sg, 4, 0, "sig") < 0) return NULL;
    if (get(o_l, &l, 8, 0, "left") < 0) { PyBuffer_Release(&sg); return NULL; }
    if (get(o_r, &r, 8, 0, "right") < 0) { PyBuffer_Release(&l); PyBuffer_Release(&sg); return NULL; }
    if (get(o_o, &o, 8, 1, "out") < 0) { PyBuffer_Release(&r); PyBuffer_Release(&l); PyBuffer_Release(&sg); return NULL; }
    const Py_ssize_t pairs = l.len / 8, rows = perms > 0 ? sg.len / 4 / perms : 0;
    const int64_t *L = l.buf, *R = r.buf;
    int bad = perms < 1 || r.len != l.len || o.len != l.len;
    for (Py_ssize_t i = 0; i < pairs && !bad; i++) bad = L[i] < 0 || L[i] >= rows || R[i] < 0 || R[i] >= rows;
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "jaccard: inconsistent arrays (a row outside the signatures?)");
    } else {
        const uint32_t *S = sg.buf;
        double *O = o.buf;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0; i < pairs; i++) {
            const uint32_t *a = S + L[i] * perms, *b = S + R[i] * perms;
            Py_ssize_t same = 0;
            for (Py_ssize_t p = 0; p < perms; p++) same += a[p] == b[p];
            O[i] = (double)same / (double)perms;
        }
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&o); PyBuffer_Release(&r); PyBuffer_Release(&l); PyBuffer_Release(&sg);
    if (bad) return NULL;
    Py_RETURN_NONE;
}

static int is_space(unsigned char c) { return c == ' ' || (c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x1f); }
static int is_alnum(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
static int is_lower(unsigned char c) { return c >= 'a' && c <= 'z'; }

static PyObject *tokens_ascii(PyObject *self, PyObject *args) {
    PyObject *o_d, *o_off, *o_out, *o_oo;
    if (!PyArg_ParseTuple(args, "OOOO", &o_d, &o_off, &o_out, &o_oo)) return NULL;
    Py_buffer d, off, out, oo;
    if (get(o_d, &d, 1, 0, "data") < 0) return NULL;
    if (get(o_off, &off, 8, 0, "offsets") < 0) { PyBuffer_Release(&d); return NULL; }
    if (get(o_out, &out, 1, 1, "out") < 0) { PyBuffer_Release(&off); PyBuffer_Release(&d); return NULL; }
    if (get(o_oo, &oo, 8, 1, "out_offsets") < 0) {
        PyBuffer_Release(&out); PyBuffer_Release(&off); PyBuffer_Release(&d); return NULL;
    }
    const Py_ssize_t n = off.len / 8 - 1;
    const int64_t *OFF = off.buf;
    int bad = n < 0 || oo.len != off.len || out.len < 2 * d.len;
    for (Py_ssize_t i = 0; i < n && !bad; i++) bad = OFF[i] < 0 || OFF[i] > OFF[i + 1] || OFF[i + 1] > d.len;
    int64_t w = 0;
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "tokens_ascii: inconsistent offsets or too small an output buffer");
    } else {
        const unsigned char *D = d.buf;
        unsigned char *O = out.buf;
        int64_t *OO = oo.buf;
        Py_BEGIN_ALLOW_THREADS
        OO[0] = 0;
        for (Py_ssize_t i = 0; i < n; i++) {
            int64_t k = OFF[i], end = OFF[i + 1], start = w;
            while (k < end) {
                unsigned char c = D[k];
                if (is_space(c)) { k++; continue; }
                if (w > start) O[w++] = ' ';
                if (c == '\\' && k + 1 < end && is_lower(D[k + 1])) {
                    O[w++] = c; k++;
                    while (k < end && is_lower(D[k])) O[w++] = D[k++];
                } else if (is_alnum(c)) {
                    while (k < end && is_alnum(D[k])) O[w++] = D[k++];
                } else {
                    O[w++] = c; k++;
                }
            }
            OO[i + 1] = w;
        }
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&oo); PyBuffer_Release(&out); PyBuffer_Release(&off); PyBuffer_Release(&d);
    if (bad) return NULL;
    return PyLong_FromLongLong(w);
}

static PyObject *number_changes(PyObject *self, PyObject *args) {
    PyObject *o_off, *o_ids, *o_l, *o_r, *o_o;
    if (!PyArg_ParseTuple(args, "OOOOO", &o_off, &o_ids, &o_l, &o_r, &o_o)) return NULL;
    Py_buffer off, ids, l, r, o;
    if (get(o_off, &off, 8, 0, "offsets") < 0) return NULL;
    if (get(o_ids, &ids, 8, 0, "ids") < 0) { PyBuffer_Release(&off); return NULL; }
    if (get(o_l, &l, 8, 0, "left") < 0) { PyBuffer_Release(&ids); PyBuffer_Release(&off); return NULL; }
    if (get(o_r, &r, 8, 0, "right") < 0) {
        PyBuffer_Release(&l); PyBuffer_Release(&ids); PyBuffer_Release(&off); return NULL;
    }
    if (get(o_o, &o, 8, 1, "out") < 0) {
        PyBuffer_Release(&r); PyBuffer_Release(&l); PyBuffer_Release(&ids); PyBuffer_Release(&off); return NULL;
    }
    const Py_ssize_t rows = off.len / 8 - 1, pairs = l.len / 8, n_ids = ids.len / 8;
    const int64_t *OFF = off.buf, *L = l.buf, *R = r.buf;
    int bad = rows < 0 || r.len != l.len || o.len != l.len;
    for (Py_ssize_t i = 0; i < rows && !bad; i++) bad = OFF[i] < 0 || OFF[i] > OFF[i + 1] || OFF[i + 1] > n_ids;
    for (Py_ssize_t i = 0; i < pairs && !bad; i++) bad = L[i] < 0 || L[i] >= rows || R[i] < 0 || R[i] >= rows;
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "number_changes: inconsistent offsets or a pair outside the rows");
    } else {
        const uint64_t *ID = ids.buf;
        int64_t *O = o.buf;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0; i < pairs; i++) {
            int64_t a = OFF[L[i]], ae = OFF[L[i] + 1], b = OFF[R[i]], be = OFF[R[i] + 1];
            const int64_t na = ae - a, nb = be - b;
            int64_t shared = 0;
            while (a < ae && b < be) {
                if (ID[a] == ID[b]) { shared++; a++; b++; }
                else if (ID[a] < ID[b]) a++;
                else b++;
            }
            O[i] = (na > nb ? na : nb) - shared;
        }
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&o); PyBuffer_Release(&r); PyBuffer_Release(&l); PyBuffer_Release(&ids); PyBuffer_Release(&off);
    if (bad) return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"number_changes", number_changes, METH_VARARGS, "Numbers changed between pairs of rows (see module source)."},
    {"band_keys", band_keys, METH_VARARGS, "LSH keys of every row in every band (see module source)."},
    {"jaccard", jaccard, METH_VARARGS, "Estimated Jaccard of signature pairs (see module source)."},
    {"tokens_ascii", tokens_ascii, METH_VARARGS, "The normal form's tokens of ASCII texts (see module source)."},
    {"greedy", greedy, METH_VARARGS, "The greedy keep sweep over pairs in visiting order (see module source)."},
    {"union", union_, METH_VARARGS, "Union-find over pairs, in place (see module source)."},
    {"signatures", signatures, METH_VARARGS, "MinHash signatures of a block of documents (see module source)."},
    {"signatures_text", signatures_text, METH_VARARGS, "MinHash signatures of normalised texts (see module source)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_minhash", "Compiled MinHash kernel.", -1, methods};

/* The interface version: r1data/ops/kernel.py loads the kernel only when this equals its KERNEL_VERSION (a build
 * left from another version of r1data is not used). Raise both together whenever a function or its arguments
 * change. */
#define KERNEL_VERSION 2

PyMODINIT_FUNC PyInit__minhash(void) {
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddIntConstant(m, "VERSION", KERNEL_VERSION) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
