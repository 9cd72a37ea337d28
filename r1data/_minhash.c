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

static PyMethodDef methods[] = {
    {"signatures", signatures, METH_VARARGS, "MinHash signatures of a block of documents (see module source)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_minhash", "Compiled MinHash kernel.", -1, methods};

PyMODINIT_FUNC PyInit__minhash(void) { return PyModule_Create(&module); }
