/* The uniform-body scan (see uniform.py) in one pass over the bytes.
 *
 * A uniform body is one where every line is `key fields timestamp`, the same numeric fields in
 * the same order, with no quotes, escapes, tabs, carriage returns, comments or blank lines. For
 * such a body this returns the distinct raw series keys, each line's key index, the field names
 * and type codes, one packed column per field and the raw timestamps; for anything else it
 * returns None and the caller takes the per-line path, which knows every rule and names bad
 * lines. So this only has to be right on what it accepts, and it accepts a token only where
 * Python's own float()/int() would (plus the int64/uint64 ranges numpy enforces).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* Field type codes: kapacitor.model.batch.FieldType. */
enum { T_FLOAT = 0, T_INT = 1, T_UINT = 2 };

#define MAX_NUMBER_LEN 63 /* longer float tokens go to the per-line path */

typedef struct {
    const char *p;
    Py_ssize_t len;
    uint64_t hash;
    int32_t idx; /* -1: empty slot */
} Slot;

typedef struct {
    Slot *slots;
    size_t cap; /* a power of two */
    size_t used;
} KeyTable;

static uint64_t hash_bytes(const char *p, Py_ssize_t n) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (Py_ssize_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

static int table_init(KeyTable *t, size_t cap) {
    t->slots = PyMem_Malloc(cap * sizeof(Slot));
    if (t->slots == NULL) return -1;
    for (size_t i = 0; i < cap; i++) t->slots[i].idx = -1;
    t->cap = cap;
    t->used = 0;
    return 0;
}

static int table_grow(KeyTable *t) {
    Slot *old = t->slots;
    size_t old_cap = t->cap;
    if (table_init(t, old_cap * 2) < 0) {
        t->slots = old;
        t->cap = old_cap;
        return -1;
    }
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].idx < 0) continue;
        size_t j = old[i].hash & (t->cap - 1);
        while (t->slots[j].idx >= 0) j = (j + 1) & (t->cap - 1);
        t->slots[j] = old[i];
        t->used++;
    }
    PyMem_Free(old);
    return 0;
}

/* The index of key p[0:n], adding it (and its bytes object to `keys`) when new; -1 on error. */
static int32_t table_get(KeyTable *t, const char *p, Py_ssize_t n, PyObject *keys) {
    uint64_t h = hash_bytes(p, n);
    size_t j = h & (t->cap - 1);
    while (t->slots[j].idx >= 0) {
        Slot *s = &t->slots[j];
        if (s->hash == h && s->len == n && memcmp(s->p, p, (size_t)n) == 0) return s->idx;
        j = (j + 1) & (t->cap - 1);
    }
    PyObject *b = PyBytes_FromStringAndSize(p, n);
    if (b == NULL) return -1;
    int32_t idx = (int32_t)PyList_GET_SIZE(keys);
    int rc = PyList_Append(keys, b);
    Py_DECREF(b);
    if (rc < 0) return -1;
    t->slots[j].p = p;
    t->slots[j].len = n;
    t->slots[j].hash = h;
    t->slots[j].idx = idx;
    t->used++;
    if (t->used * 2 > t->cap && table_grow(t) < 0) return -1;
    return idx;
}

/* digit+ as an unsigned number no larger than `limit`; 0 if not one. */
static int parse_digits(const char *p, Py_ssize_t n, uint64_t limit, uint64_t *out) {
    if (n <= 0) return 0;
    uint64_t v = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned d = (unsigned char)p[i] - '0';
        if (d > 9) return 0;
        if (v > (limit - d) / 10) return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

/* '-'? digit+ as int64 (what int() accepts here, within numpy's int64); 0 if not one. */
static int parse_i64(const char *p, Py_ssize_t n, int64_t *out) {
    int neg = n > 0 && p[0] == '-';
    uint64_t v;
    if (!parse_digits(p + neg, n - neg, neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &v))
        return 0;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 1;
}

/* digit+ as uint64; 0 if not one. */
static int parse_u64(const char *p, Py_ssize_t n, uint64_t *out) {
    return parse_digits(p, n, UINT64_MAX, out);
}

static const double POW10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                               1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                               1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

#if (defined(__x86_64__) || defined(__i386__)) && LDBL_MANT_DIG == 64
#define EXTENDED_DECIMALS 1
/* 10^k in the x87 80-bit format, exact up to 10^27 (5^27 < 2^64). */
static const long double POW10L[] = {
    1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,  1e7L,  1e8L,  1e9L,
    1e10L, 1e11L, 1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L,
    1e20L, 1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};
#endif

/* Plain decimals ('-'? digits ['.' digits]): the digits as an integer m and the count k after
 * the point, then m / 10^k, rounded as float() rounds the token. 0 when the token is not such
 * a decimal, or when this cannot be sure of the rounding (the caller then asks Python).
 * - Up to 15 digits: m < 2^53 and 10^k are exact doubles, so one double division rounds
 *   correctly.
 * - 16 to 19 digits (agents print doubles with 17: 65.39999999999999): m < 2^64 and 10^k are
 *   exact in x87 extended precision (64-bit mantissa), where the division rounds correctly to
 *   64 bits; rounding that to a double's 53 gives float()'s answer unless the 64-bit quotient
 *   sits exactly halfway between two doubles (its low 11 bits 0x400), which is left to Python.
 */
static int plain_decimal(const char *p, Py_ssize_t n, double *out) {
    Py_ssize_t i = 0;
    int neg = 0, digits = 0, after = 0, dot = 0;
    uint64_t m = 0;
    if (p[0] == '-') {
        neg = 1;
        i = 1;
    }
    for (; i < n; i++) {
        char c = p[i];
        if (c >= '0' && c <= '9') {
            if (++digits > 19) return 0;
            m = m * 10 + (uint64_t)(c - '0');
            after += dot;
        } else if (c == '.' && !dot) {
            dot = 1;
        } else {
            return 0;
        }
    }
    if (digits == 0) return 0;
    double v;
    if (digits <= 15) {
        v = (double)m / POW10[after];
    } else {
#ifdef EXTENDED_DECIMALS
        long double q = (long double)m / POW10L[after];
        uint64_t mantissa;
        memcpy(&mantissa, &q, sizeof mantissa); /* the x87 format's 64 explicit mantissa bits */
        if ((mantissa & 0x7FF) == 0x400) return 0;
        v = (double)q;
#else
        return 0;
#endif
    }
    *out = neg ? -v : v;
    return 1;
}

/* A finite float token made of 0-9 . e E + - and not starting with '+', as float() reads it. */
static int parse_f64(const char *p, Py_ssize_t n, double *out) {
    char buf[MAX_NUMBER_LEN + 1];
    if (n <= 0 || n > MAX_NUMBER_LEN || p[0] == '+') return 0;
    if (plain_decimal(p, n, out)) return 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'))
            return 0;
        buf[i] = c;
    }
    buf[n] = '\0';
    double v = PyOS_string_to_double(buf, NULL, NULL);
    if (v == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    if (!isfinite(v)) return 0;
    *out = v;
    return 1;
}

typedef struct {
    const char *name;
    Py_ssize_t name_len;
    int type;
    char *data; /* n * 8 bytes of the column's bytearray */
} Field;

#define MAX_FIELDS 64

/* scan(body, lo, hi): see the module docstring; lo..hi bounds the raw timestamps. */
static PyObject *scan(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer view;
    long long lo, hi;
    if (!PyArg_ParseTuple(args, "y*LL", &view, &lo, &hi)) return NULL;
    const char *body = view.buf;
    Py_ssize_t len = view.len;
    PyObject *result = NULL, *keys = NULL, *names = NULL, *cols = NULL;
    PyObject *sidx_obj = NULL, *times_obj = NULL, *types_obj = NULL;
    KeyTable table = {NULL, 0, 0};
    Field fields[MAX_FIELDS];
    int k = 0;

    if (len > 0 && body[len - 1] == '\n') len--;
    if (len == 0 || body[0] == '#' || body[0] == ' ' || body[0] == '\n' || body[len - 1] == ' ')
        goto not_uniform;
    if (memchr(body, '"', len) || memchr(body, '\\', len) || memchr(body, '\r', len) ||
        memchr(body, '\t', len))
        goto not_uniform;

    Py_ssize_t n = 1;
    for (const char *q = body; (q = memchr(q, '\n', body + len - q)) != NULL; q++) n++;

    keys = PyList_New(0);
    names = PyList_New(0);
    cols = PyList_New(0);
    sidx_obj = PyByteArray_FromStringAndSize(NULL, n * (Py_ssize_t)sizeof(int32_t));
    times_obj = PyByteArray_FromStringAndSize(NULL, n * (Py_ssize_t)sizeof(int64_t));
    if (!keys || !names || !cols || !sidx_obj || !times_obj) goto error;
    if (table_init(&table, 1024) < 0) {
        PyErr_NoMemory();
        goto error;
    }
    int32_t *sidx = (int32_t *)PyByteArray_AS_STRING(sidx_obj);
    int64_t *times = (int64_t *)PyByteArray_AS_STRING(times_obj);

    const char *p = body, *end = body + len;
    for (Py_ssize_t row = 0; row < n; row++) {
        const char *eol = memchr(p, '\n', end - p);
        if (eol == NULL) eol = end;
        if (p == eol || *p == '#' || *p == ' ') goto not_uniform;
        const char *sp1 = memchr(p, ' ', eol - p);
        if (sp1 == NULL || sp1 == p) goto not_uniform;
        const char *sp2 = memchr(sp1 + 1, ' ', eol - sp1 - 1);
        if (sp2 == NULL || sp2 == sp1 + 1 || sp2 + 1 == eol) goto not_uniform;
        if (memchr(sp2 + 1, ' ', eol - sp2 - 1) != NULL) goto not_uniform;

        int32_t key = table_get(&table, p, sp1 - p, keys);
        if (key < 0) goto error;
        sidx[row] = key;

        int64_t t;
        if (!parse_i64(sp2 + 1, eol - sp2 - 1, &t) || t < lo || t > hi) goto not_uniform;
        times[row] = t;

        const char *f = sp1 + 1;
        int j = 0;
        while (1) {
            const char *comma = memchr(f, ',', sp2 - f);
            const char *stop = comma ? comma : sp2;
            const char *eq = memchr(f, '=', stop - f);
            if (eq == NULL || memchr(eq + 1, '=', stop - eq - 1) != NULL) goto not_uniform;
            const char *v = eq + 1;
            Py_ssize_t vn = stop - v;
            if (row == 0) {
                if (j >= MAX_FIELDS || eq == f || vn == 0) goto not_uniform;
                for (int i = 0; i < j; i++)
                    if (fields[i].name_len == eq - f &&
                        memcmp(fields[i].name, f, (size_t)(eq - f)) == 0)
                        goto not_uniform;
                char last = v[vn - 1];
                int type = last == 'i' ? T_INT
                           : last == 'u' ? T_UINT
                           : ((last >= '0' && last <= '9') || last == '.') ? T_FLOAT
                                                                         : -1;
                if (type < 0) goto not_uniform;
                PyObject *col = PyByteArray_FromStringAndSize(NULL, n * 8);
                if (col == NULL) goto error;
                int rc = PyList_Append(cols, col);
                Py_DECREF(col);
                if (rc < 0) goto error;
                fields[j].name = f;
                fields[j].name_len = eq - f;
                fields[j].type = type;
                fields[j].data = PyByteArray_AS_STRING(col);
                k = j + 1;
            } else if (j >= k || fields[j].name_len != eq - f ||
                       memcmp(fields[j].name, f, (size_t)(eq - f)) != 0) {
                goto not_uniform;
            }
            char *slot = fields[j].data + row * 8;
            if (fields[j].type == T_FLOAT) {
                double d;
                if (!parse_f64(v, vn, &d)) goto not_uniform;
                memcpy(slot, &d, 8);
            } else if (fields[j].type == T_INT) {
                int64_t i;
                if (vn < 2 || v[vn - 1] != 'i' || !parse_i64(v, vn - 1, &i)) goto not_uniform;
                memcpy(slot, &i, 8);
            } else {
                uint64_t u;
                if (vn < 2 || v[vn - 1] != 'u' || !parse_u64(v, vn - 1, &u)) goto not_uniform;
                memcpy(slot, &u, 8);
            }
            j++;
            if (comma == NULL) break;
            f = comma + 1;
        }
        if (j != k) goto not_uniform;
        p = eol + 1;
    }

    char type_codes[MAX_FIELDS];
    for (int j = 0; j < k; j++) {
        PyObject *name = PyBytes_FromStringAndSize(fields[j].name, fields[j].name_len);
        if (name == NULL) goto error;
        int rc = PyList_Append(names, name);
        Py_DECREF(name);
        if (rc < 0) goto error;
        type_codes[j] = (char)fields[j].type;
    }
    types_obj = PyBytes_FromStringAndSize(type_codes, k);
    if (types_obj == NULL) goto error;
    result = PyTuple_Pack(6, keys, sidx_obj, names, types_obj, cols, times_obj);
    goto done;

not_uniform:
    result = Py_None;
    Py_INCREF(result);
    goto done;
error:
    result = NULL;
done:
    PyMem_Free(table.slots);
    Py_XDECREF(keys);
    Py_XDECREF(names);
    Py_XDECREF(cols);
    Py_XDECREF(sidx_obj);
    Py_XDECREF(times_obj);
    Py_XDECREF(types_obj);
    PyBuffer_Release(&view);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS,
     "scan(body, lo, hi) -> (keys, sidx, names, types, columns, times) or None"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_uniform", "The uniform-body line-protocol scan.", -1, methods,
};

PyMODINIT_FUNC PyInit__uniform(void) { return PyModule_Create(&module); }
