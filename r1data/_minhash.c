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
 * Two sequential passes of near-duplicate removal live here too (r1data.ops.dedup has numpy/Python versions that
 * give the same results; these make them stream over pairs at C speed):
 *
 * greedy(better, worse, sim, kept, dup_of, dup_sim)
 *   pairs already in visiting order; a pair removes `worse` when both rows are still kept
 *   (int64, int64, float64 pairs; uint8 kept, int64 dup_of, float64 dup_sim per row, updated in place)
 * union(parent, left, right)
 *   union-find over int64 parent links (parent[i] == i at the start), path halving; roots are the smaller index
 * jaccard(sig, perms, left, right, out)
 *   out[i] = share of equal slots of rows left[i] and right[i] of the uint32 (rows x perms) signatures
 *
 * number_changes(offsets, ids, left, right, out)
 *   each row's numbers as sorted uint32 ids in ids[offsets[r]:offsets[r+1]]; out[i] = how many numbers must
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
    for (Py_ssize_t d = 0; d < docs; d++) {
        const int64_t length = L[d];
        if (length == 0) continue;
        const uint64_t *t = F + S[d];
        const int64_t count = length >= n ? length - n + 1 : 1;
        for (Py_ssize_t p = 0; p < perms; p++) cur[p] = UINT64_MAX;
        for (int64_t i = 0; i < count; i++) {
            uint64_t acc = 0;
            for (Py_ssize_t j = 0; j < n && i + j < length; j++) acc += W[j] * t[i + j];
            acc ^= acc >> 30; acc *= 0xBF58476D1CE4E5B9ULL;  /* splitmix64 finaliser */
            acc ^= acc >> 27; acc *= 0x94D049BB133111EBULL;
            acc ^= acc >> 31;
            for (Py_ssize_t p = 0; p < perms; p++) {
                uint64_t v = A[p] * acc + B[p];
                cur[p] = v < cur[p] ? v : cur[p];
            }
        }
        uint32_t *row = O + d * perms;
        for (Py_ssize_t p = 0; p < perms; p++) row[p] = (uint32_t)(cur[p] >> 32);
    }
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
    if (get(o_ids, &ids, 4, 0, "ids") < 0) { PyBuffer_Release(&off); return NULL; }
    if (get(o_l, &l, 8, 0, "left") < 0) { PyBuffer_Release(&ids); PyBuffer_Release(&off); return NULL; }
    if (get(o_r, &r, 8, 0, "right") < 0) {
        PyBuffer_Release(&l); PyBuffer_Release(&ids); PyBuffer_Release(&off); return NULL;
    }
    if (get(o_o, &o, 8, 1, "out") < 0) {
        PyBuffer_Release(&r); PyBuffer_Release(&l); PyBuffer_Release(&ids); PyBuffer_Release(&off); return NULL;
    }
    const Py_ssize_t rows = off.len / 8 - 1, pairs = l.len / 8, n_ids = ids.len / 4;
    const int64_t *OFF = off.buf, *L = l.buf, *R = r.buf;
    int bad = rows < 0 || r.len != l.len || o.len != l.len;
    for (Py_ssize_t i = 0; i < rows && !bad; i++) bad = OFF[i] < 0 || OFF[i] > OFF[i + 1] || OFF[i + 1] > n_ids;
    for (Py_ssize_t i = 0; i < pairs && !bad; i++) bad = L[i] < 0 || L[i] >= rows || R[i] < 0 || R[i] >= rows;
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "number_changes: inconsistent offsets or a pair outside the rows");
    } else {
        const uint32_t *ID = ids.buf;
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
    {"jaccard", jaccard, METH_VARARGS, "Estimated Jaccard of signature pairs (see module source)."},
    {"tokens_ascii", tokens_ascii, METH_VARARGS, "The normal form's tokens of ASCII texts (see module source)."},
    {"greedy", greedy, METH_VARARGS, "The greedy keep sweep over pairs in visiting order (see module source)."},
    {"union", union_, METH_VARARGS, "Union-find over pairs, in place (see module source)."},
    {"signatures", signatures, METH_VARARGS, "MinHash signatures of a block of documents (see module source)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_minhash", "Compiled MinHash kernel.", -1, methods};

/* The interface version: r1data/ops/kernel.py loads the kernel only when this equals its KERNEL_VERSION (a build
 * left from another version of r1data is not used). Raise both together whenever a function or its arguments
 * change. */
#define KERNEL_VERSION 1

PyMODINIT_FUNC PyInit__minhash(void) {
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddIntConstant(m, "VERSION", KERNEL_VERSION) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
