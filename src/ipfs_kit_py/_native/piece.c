/*
 * ipfs_kit_py._piece: Filecoin piece-CID tree hashing in C (optional extension).
 *
 * A piece tree (FRC-0069) fr32-expands the payload (every 127-byte quad becomes 128 bytes:
 * four 254-bit chunks, each followed by two zero bits), cuts it into 32-byte leaves and
 * hashes pairs of nodes with sha256, clearing the top two bits of each digest
 * ("sha2-256-trunc254"), until one root is left. Missing nodes on the right are the roots
 * of all-zero subtrees.
 *
 * The streaming state is a binary counter of subtree roots (one slot per level, like a
 * Merkle mountain range) plus one scratch buffer of 2^SCRATCH_LEVEL leaves: whole quads are
 * expanded straight into the scratch, which is reduced in place to one node when full.
 * SHA-256 is OpenSSL's (libcrypto picks the CPU's SHA extensions). Hashing runs with the
 * GIL released, so threads hashing disjoint parts of a tree run in parallel.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

/* SHA256_Init/Update/Final (deprecated in OpenSSL 3, still exported): ~90 ns per 64-byte
 * node here, against ~400 ns for SHA256() and ~155 ns for a reused EVP context, whose
 * per-call provider dispatch dominates such short messages. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#if defined(OPENSSL_NO_DEPRECATED_3_0) /* headers without the old API: EVP (~4x slower) */
#include <openssl/evp.h>
#define PIECE_USE_EVP 1
#endif

#define QUAD_IN 127      /* payload bytes per fr32 quad */
#define QUAD_OUT 128     /* expanded bytes per quad (four 32-byte leaves) */
#define NODE 32          /* bytes per tree node */
#define SCRATCH_LEVEL 10 /* scratch holds 2^10 leaves (32 KiB): stays in L1/L2 cache */
#define SCRATCH_BYTES ((size_t)NODE << SCRATCH_LEVEL)
#define BATCH_LEVEL 15 /* level of the roots add_root/batch_roots deal in (piece.py) */
#define BATCH_BYTES (((size_t)QUAD_IN << BATCH_LEVEL) / 4) /* payload under one batch root */
#define MAX_LEVEL 60   /* trees up to 2^60 leaves: far beyond any piece */
#define NOGIL_MIN 4096 /* updates smaller than this keep the GIL (not worth a switch) */

static uint8_t zero_nodes[MAX_LEVEL + 1][NODE]; /* root of an all-zero subtree per level */

/* ---- hashing ---------------------------------------------------------------------- */

/* out = sha256-trunc254(in[0..63]). out may alias in: the input is consumed first. */
static int node_hash(const uint8_t *in, uint8_t *out) {
#ifdef PIECE_USE_EVP
    unsigned int len = 0;
    if (!EVP_Digest(in, 2 * NODE, out, &len, EVP_sha256(), NULL))
        return -1;
#else
    SHA256_CTX ctx;
    if (!SHA256_Init(&ctx) || !SHA256_Update(&ctx, in, 2 * NODE) || !SHA256_Final(out, &ctx))
        return -1;
#endif
    out[NODE - 1] &= 0x3F;
    return 0;
}

/* Hash n (even) adjacent nodes pairwise in place: nodes[i] = H(nodes[2i] || nodes[2i+1]). */
static int reduce_level(uint8_t *nodes, size_t n) {
    for (size_t i = 0; i < n / 2; i++)
        if (node_hash(nodes + 2 * NODE * i, nodes + NODE * i) < 0)
            return -1;
    return 0;
}

/* fr32-expand one quad: 127 bytes in, four 254-bit chunks out, each padded with 2 zero bits. */
static void fr32_quad(const uint8_t *in, uint8_t *out) {
    for (int k = 0; k < 31; k++) out[k] = in[k];
    out[31] = in[31] & 0x3F;
    for (int k = 0; k < 32; k++) out[32 + k] = (uint8_t)((in[31 + k] >> 6) | (in[32 + k] << 2));
    out[63] &= 0x3F;
    for (int k = 0; k < 32; k++) out[64 + k] = (uint8_t)((in[63 + k] >> 4) | (in[64 + k] << 4));
    out[95] &= 0x3F;
    for (int k = 0; k < 31; k++) out[96 + k] = (uint8_t)((in[95 + k] >> 2) | (in[96 + k] << 6));
    out[127] = (uint8_t)(in[126] >> 2) & 0x3F;
}

/* ---- streaming state (no Python objects: usable without the GIL) ------------------- */

typedef struct {
    uint8_t stack[MAX_LEVEL + 1][NODE]; /* stack[l] is a pending left node at level l */
    uint64_t leaves;                    /* leaves pushed onto the stack: bit l <=> stack[l] */
    uint64_t size;                      /* payload bytes fed */
    size_t fill;                        /* expanded bytes in scratch (a multiple of 128) */
    size_t ncarry;                      /* bytes of an incomplete quad in carry */
    uint8_t carry[QUAD_IN];
    uint8_t scratch[SCRATCH_BYTES];
} state_t;

static void state_init(state_t *s) {
    s->leaves = 0;
    s->size = 0;
    s->fill = 0;
    s->ncarry = 0;
}

/* Push the root of an aligned subtree of 2^level leaves (s->leaves must be a multiple of
 * 2^level): equal levels merge like the carries of a binary addition. */
static int state_push(state_t *s, const uint8_t *node, int level) {
    uint8_t pair[2 * NODE];
    uint64_t step = (uint64_t)1 << level;
    if (s->leaves & (step - 1) || s->leaves > ((uint64_t)1 << MAX_LEVEL) - step)
        return -1; /* misaligned or too large: callers check first */
    memcpy(pair + NODE, node, NODE);
    while ((s->leaves >> level) & 1) { /* a left sibling waits: hash the pair */
        memcpy(pair, s->stack[level], NODE);
        if (node_hash(pair, pair + NODE) < 0)
            return -1;
        level++;
    }
    memcpy(s->stack[level], pair + NODE, NODE);
    s->leaves += step;
    return 0;
}

/* Reduce the full scratch to one node at SCRATCH_LEVEL and push it. */
static int state_flush(state_t *s) {
    size_t n = (size_t)1 << SCRATCH_LEVEL;
    for (int l = 0; l < SCRATCH_LEVEL; l++, n /= 2)
        if (reduce_level(s->scratch, n) < 0)
            return -1;
    s->fill = 0;
    return state_push(s, s->scratch, SCRATCH_LEVEL);
}

/* Append one expanded quad to the scratch, flushing it when full. */
static int state_quad(state_t *s, const uint8_t *quad) {
    fr32_quad(quad, s->scratch + s->fill);
    s->fill += QUAD_OUT;
    return s->fill == SCRATCH_BYTES ? state_flush(s) : 0;
}

static int state_update(state_t *s, const uint8_t *data, size_t len) {
    s->size += len;
    if (s->ncarry) { /* complete the quad left over from the previous update */
        size_t take = QUAD_IN - s->ncarry < len ? QUAD_IN - s->ncarry : len;
        memcpy(s->carry + s->ncarry, data, take);
        s->ncarry += take;
        data += take;
        len -= take;
        if (s->ncarry < QUAD_IN)
            return 0;
        s->ncarry = 0;
        if (state_quad(s, s->carry) < 0)
            return -1;
    }
    for (; len >= QUAD_IN; data += QUAD_IN, len -= QUAD_IN)
        if (state_quad(s, data) < 0)
            return -1;
    memcpy(s->carry, data, len);
    s->ncarry = len;
    return 0;
}

/* The root of the tree of 2^height leaves holding everything fed so far, zero-padded on the
 * right. Does not change the state. Returns -1 on a hash failure, -2 if it does not fit. */
static int state_root(const state_t *s, int height, uint8_t *out) {
    uint8_t pair[2 * NODE], *acc = pair + NODE; /* acc: the running node, a right child */
    uint8_t *tail;
    size_t n = (s->fill + (s->ncarry ? QUAD_OUT : 0)) / NODE; /* tail leaves */
    uint64_t pos = s->leaves; /* leaves to the left of acc */
    int level, rc = 0;
    if (height < 0 || height > MAX_LEVEL || pos + n > ((uint64_t)1 << height))
        return -2;
    if (n == 0 && pos == 0) { /* nothing at all: an all-zero tree */
        memcpy(out, zero_nodes[height], NODE);
        return 0;
    }
    if (n == 0) { /* no tail: start from the rightmost stacked node */
        level = __builtin_ctzll(pos);
        pos -= (uint64_t)1 << level;
        memcpy(acc, s->stack[level], NODE);
    } else { /* reduce a copy of the tail (+ the zero-padded carry) up to the scratch level */
        int top = height < SCRATCH_LEVEL ? height : SCRATCH_LEVEL;
        tail = PyMem_RawMalloc(SCRATCH_BYTES);
        if (tail == NULL)
            return -1;
        memcpy(tail, s->scratch, s->fill);
        if (s->ncarry) {
            uint8_t quad[QUAD_IN] = {0};
            memcpy(quad, s->carry, s->ncarry);
            fr32_quad(quad, tail + s->fill);
        }
        for (level = 0; level < top && rc == 0; level++) {
            if (n & 1) /* odd count: the right neighbour is an all-zero subtree */
                memcpy(tail + NODE * n++, zero_nodes[level], NODE);
            rc = reduce_level(tail, n);
            n /= 2;
        }
        memcpy(acc, tail, NODE);
        PyMem_RawFree(tail);
        if (rc < 0)
            return -1;
    }
    for (; level < height; level++) { /* climb: a left sibling is stacked, a right one is zero */
        if ((pos >> level) & 1) {
            memcpy(pair, s->stack[level], NODE);
        } else {
            memcpy(pair, acc, NODE);
            memcpy(acc, zero_nodes[level], NODE);
        }
        if (node_hash(pair, acc) < 0)
            return -1;
    }
    memcpy(out, acc, NODE);
    return 0;
}

/* ---- Python type: Hasher ---------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    state_t *st;
    int busy; /* set (under the GIL) while a call runs without the GIL */
} Hasher;

static int hasher_enter(Hasher *self) {
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "Hasher used from two threads at once");
        return -1;
    }
    self->busy = 1;
    return 0;
}

static PyObject *hasher_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {NULL};
    Hasher *self;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, ":Hasher", kwlist))
        return NULL;
    self = (Hasher *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->st = PyMem_RawMalloc(sizeof(state_t));
    if (self->st == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    state_init(self->st);
    return (PyObject *)self;
}

static void hasher_dealloc(Hasher *self) {
    PyMem_RawFree(self->st);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *hasher_update(Hasher *self, PyObject *arg) {
    Py_buffer view;
    int rc;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    if (hasher_enter(self) < 0) {
        PyBuffer_Release(&view);
        return NULL;
    }
    if (view.len >= NOGIL_MIN) {
        Py_BEGIN_ALLOW_THREADS
        rc = state_update(self->st, view.buf, (size_t)view.len);
        Py_END_ALLOW_THREADS
    } else {
        rc = state_update(self->st, view.buf, (size_t)view.len);
    }
    self->busy = 0;
    PyBuffer_Release(&view);
    if (rc < 0) {
        PyErr_SetString(PyExc_RuntimeError, "sha256 failed");
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *hasher_add_root(Hasher *self, PyObject *arg) {
    Py_buffer view;
    int rc;
    state_t *s = self->st;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    if (view.len != NODE) {
        PyBuffer_Release(&view);
        return PyErr_Format(PyExc_ValueError, "a node is %d bytes", NODE);
    }
    if (hasher_enter(self) < 0) {
        PyBuffer_Release(&view);
        return NULL;
    }
    if (s->fill || s->ncarry || s->leaves & (((uint64_t)1 << BATCH_LEVEL) - 1)) {
        self->busy = 0;
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "add_root needs a batch-aligned hasher");
        return NULL;
    }
    rc = state_push(s, view.buf, BATCH_LEVEL);
    if (rc == 0)
        s->size += BATCH_BYTES;
    self->busy = 0;
    PyBuffer_Release(&view);
    if (rc < 0) {
        PyErr_SetString(PyExc_ValueError, "piece too large");
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *hasher_root(Hasher *self, PyObject *arg) {
    uint8_t out[NODE];
    int rc, height;
    long value = PyLong_AsLong(arg);
    if (value == -1 && PyErr_Occurred())
        return NULL;
    height = value < 0 || value > MAX_LEVEL ? -1 : (int)value; /* -1: rejected below */
    if (hasher_enter(self) < 0)
        return NULL;
    rc = state_root(self->st, height, out);
    self->busy = 0;
    if (rc == -2)
        return PyErr_Format(PyExc_ValueError, "the data does not fit a tree of height %d", height);
    if (rc < 0)
        return PyErr_NoMemory();
    return PyBytes_FromStringAndSize((const char *)out, NODE);
}

static PyObject *hasher_size(Hasher *self, void *closure) {
    (void)closure;
    return PyLong_FromUnsignedLongLong(self->st->size);
}

static PyMethodDef hasher_methods[] = {
    {"update", (PyCFunction)hasher_update, METH_O, "Feed the next payload bytes."},
    {"add_root", (PyCFunction)hasher_add_root, METH_O,
     "Append the root of a full batch (BATCH_BYTES payload) computed elsewhere."},
    {"root", (PyCFunction)hasher_root, METH_O,
     "root(height) -> the 32-byte root of the zero-padded tree of 2**height leaves."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef hasher_getset[] = {
    {"size", (getter)hasher_size, NULL, "payload bytes fed so far", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject HasherType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ipfs_kit_py._piece.Hasher",
    .tp_basicsize = sizeof(Hasher),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Streaming piece-tree state: update(), then root(height).",
    .tp_new = hasher_new,
    .tp_dealloc = (destructor)hasher_dealloc,
    .tp_methods = hasher_methods,
    .tp_getset = hasher_getset,
};

/* ---- module functions ------------------------------------------------------------- */

/* batch_roots(data) -> the concatenated 32-byte roots of each BATCH_BYTES slice of data. */
static PyObject *batch_roots(PyObject *module, PyObject *arg) {
    Py_buffer view;
    PyObject *result;
    state_t *s;
    size_t batches;
    int rc = 0;
    (void)module;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    if ((size_t)view.len % BATCH_BYTES) {
        PyBuffer_Release(&view);
        return PyErr_Format(PyExc_ValueError, "length %zd is not a multiple of %zu", view.len,
                            (size_t)BATCH_BYTES);
    }
    batches = (size_t)view.len / BATCH_BYTES;
    result = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(batches * NODE));
    s = PyMem_RawMalloc(sizeof(state_t));
    if (result == NULL || s == NULL) {
        Py_XDECREF(result);
        PyMem_RawFree(s);
        PyBuffer_Release(&view);
        return result == NULL ? NULL : PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    for (size_t i = 0; i < batches && rc == 0; i++) {
        state_init(s);
        rc = state_update(s, (const uint8_t *)view.buf + i * BATCH_BYTES, BATCH_BYTES);
        if (rc == 0)
            rc = state_root(s, BATCH_LEVEL, (uint8_t *)PyBytes_AS_STRING(result) + i * NODE);
    }
    Py_END_ALLOW_THREADS
    PyMem_RawFree(s);
    PyBuffer_Release(&view);
    if (rc < 0) {
        Py_DECREF(result);
        PyErr_SetString(PyExc_RuntimeError, "sha256 failed");
        return NULL;
    }
    return result;
}

static PyMethodDef module_methods[] = {
    {"batch_roots", batch_roots, METH_O,
     "batch_roots(data) -> concatenated roots of each BATCH_BYTES slice (GIL released)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef piece_module = {
    PyModuleDef_HEAD_INIT, "ipfs_kit_py._piece",
    "Filecoin piece-tree hashing (fr32 + sha256-trunc254 binary tree) with OpenSSL.", -1,
    module_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__piece(void) {
    PyObject *m;
    memset(zero_nodes[0], 0, NODE);
    for (int l = 0; l < MAX_LEVEL; l++) {
        uint8_t pair[2 * NODE];
        memcpy(pair, zero_nodes[l], NODE);
        memcpy(pair + NODE, zero_nodes[l], NODE);
        if (node_hash(pair, zero_nodes[l + 1]) < 0) {
            PyErr_SetString(PyExc_ImportError, "sha256 unavailable");
            return NULL;
        }
    }
    if (PyType_Ready(&HasherType) < 0)
        return NULL;
    m = PyModule_Create(&piece_module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddIntConstant(m, "BATCH_LEVEL", BATCH_LEVEL) < 0 ||
        PyModule_AddIntConstant(m, "BATCH_BYTES", (long)BATCH_BYTES) < 0 ||
        PyModule_AddIntConstant(m, "MAX_LEVEL", MAX_LEVEL) < 0 ||
        PyModule_AddObjectRef(m, "Hasher", (PyObject *)&HasherType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
