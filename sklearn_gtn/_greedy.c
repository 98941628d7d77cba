/*
 * Compiled sequential pass of Algorithm 1 for low dimensions (CPU).
 *
 * A k-d tree over the unit vectors of the groups of identical x's (see
 * labeling.py). Each y, in norm order, takes the free group of largest
 * canonical cosine; among exactly equal cosines the group whose first free x
 * comes first in norm order. A group whose x's are all taken is deleted from
 * the tree: its leaf box is recomputed from the live points and every box on
 * the path to the root is shrunk to the union of its children, so the search
 * keeps pruning well while the free set thins out.
 *
 * Exactness. The cosine is the canonical expression of labeling.py:
 *   c = v[0] * u[0];  c = c + v[j] * u[j]  for j = 1 .. d - 1,
 * one rounding per operation (the build passes -ffp-contract=off: no fused
 * multiply-add). A node is skipped only when an upper bound of every cosine
 * in its box, plus a slack far above the rounding error of either side
 * (d * 2^-53 for vectors of norm <= 1 + 1e-9), is below the best cosine found;
 * so every group that could tie or win is compared exactly.
 *
 * Interface (buffers are C-contiguous, checked by the caller):
 *   build(reps: float64 (G, d), leaf_size) -> capsule
 *   run(tree, V: float64 (B, d), cap: int64 (G,) writable,
 *       head: int64 (G,) writable, members: int64, out: int64 (B,) writable,
 *       n_threads=1, spec_min=64)
 * The GIL is released during run. With n_threads >= 2, blocks of y's are
 * searched speculatively in parallel and committed in order (see py_run).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <pthread.h>
#define GREEDY_THREADS 1
#endif

#define CAPSULE_NAME "sklearn_gtn._greedy.Tree"
#define SLACK 1e-12
#define MAX_DEPTH 128

typedef struct {
    Py_ssize_t G, d, n_nodes, leaf_size;
    Py_ssize_t n_groups;  /* groups the caller's cap/head arrays hold */
    Py_ssize_t built;     /* points when the tree was last (re)built */
    double *scratch;      /* (G, d) spare copy for rebuilding */
    int64_t *gid_scratch, *idx;
    int64_t *pos_of;      /* group id -> tree position (live groups) */
    double *pts;       /* (G, d) representatives in tree order */
    int64_t *gid;      /* tree position -> group id */
    int64_t *leaf_of;  /* tree position -> leaf node */
    int64_t *start, *end, *left, *right, *parent, *n_alive;
    double *lo, *hi;   /* (n_nodes, d) boxes of the live points */
    double *sq;        /* (n_nodes,) largest squared norm of the node's points */
} Tree;

static void tree_free(Tree *t)
{
    if (!t) return;
    free(t->pts); free(t->gid); free(t->scratch); free(t->gid_scratch); free(t->idx); free(t->pos_of); free(t->leaf_of);
    free(t->start); free(t->end); free(t->left);
    free(t->right); free(t->parent); free(t->n_alive); free(t->lo); free(t->hi); free(t->sq);
    free(t);
}

static void capsule_destructor(PyObject *capsule)
{
    tree_free((Tree *)PyCapsule_GetPointer(capsule, CAPSULE_NAME));
}

/* box of the live points of a leaf; an empty leaf gets an empty box */
static void leaf_box(Tree *t, Py_ssize_t node)
{
    Py_ssize_t d = t->d, j, p;
    double *lo = t->lo + node * d, *hi = t->hi + node * d;
    for (j = 0; j < d; j++) { lo[j] = DBL_MAX; hi[j] = -DBL_MAX; }
    for (p = t->start[node]; p < t->start[node] + t->n_alive[node]; p++) {
        const double *x = t->pts + p * d;
        for (j = 0; j < d; j++) {
            if (x[j] < lo[j]) lo[j] = x[j];
            if (x[j] > hi[j]) hi[j] = x[j];
        }
    }
}

static void union_box(Tree *t, Py_ssize_t node)
{
    Py_ssize_t d = t->d, j;
    Py_ssize_t a = t->left[node], b = t->right[node];
    double *lo = t->lo + node * d, *hi = t->hi + node * d;
    for (j = 0; j < d; j++) {
        double la = t->n_alive[a] ? t->lo[a * d + j] : DBL_MAX;
        double lb = t->n_alive[b] ? t->lo[b * d + j] : DBL_MAX;
        double ha = t->n_alive[a] ? t->hi[a * d + j] : -DBL_MAX;
        double hb = t->n_alive[b] ? t->hi[b * d + j] : -DBL_MAX;
        lo[j] = la < lb ? la : lb;
        hi[j] = ha > hb ? ha : hb;
    }
}

/* sort positions [s, e) of idx by coordinate j of reps, partially (median) */
static void select_median(int64_t *idx, const double *reps, Py_ssize_t d,
                          Py_ssize_t j, Py_ssize_t s, Py_ssize_t e, Py_ssize_t m)
{
    while (e - s > 1) {
        double pivot = reps[idx[s + (e - s) / 2] * d + j];
        Py_ssize_t i = s, k = e - 1;
        while (i <= k) {
            while (reps[idx[i] * d + j] < pivot) i++;
            while (reps[idx[k] * d + j] > pivot) k--;
            if (i <= k) {
                int64_t tmp = idx[i]; idx[i] = idx[k]; idx[k] = tmp;
                i++; k--;
            }
        }
        if (m <= k) e = k + 1;
        else if (m >= i) s = i;
        else return;
    }
}

/* fill node `node` over idx[s, e); children are allocated as adjacent pairs
 * so that the two boxes compared at each step share cache lines */
static void build_node(Tree *t, Py_ssize_t node, int64_t *idx,
                       const double *reps, Py_ssize_t s, Py_ssize_t e,
                       Py_ssize_t leaf_size, Py_ssize_t parent, int depth)
{
    Py_ssize_t d = t->d, j, p;
    t->start[node] = s; t->end[node] = e; t->parent[node] = parent;
    t->left[node] = t->right[node] = -1;
    t->n_alive[node] = e - s;
    double *lo = t->lo + node * d, *hi = t->hi + node * d;
    double sq = 0.0;
    for (j = 0; j < d; j++) { lo[j] = DBL_MAX; hi[j] = -DBL_MAX; }
    for (p = s; p < e; p++) {
        const double *x = reps + idx[p] * d;
        double q = 0.0;
        for (j = 0; j < d; j++) {
            if (x[j] < lo[j]) lo[j] = x[j];
            if (x[j] > hi[j]) hi[j] = x[j];
            q += x[j] * x[j];
        }
        if (q > sq) sq = q;
    }
    t->sq[node] = sq;
    if (e - s <= leaf_size || depth >= MAX_DEPTH - 2) return;
    Py_ssize_t split = 0;
    double width = -1.0;
    for (j = 0; j < d; j++) {
        if (hi[j] - lo[j] > width) { width = hi[j] - lo[j]; split = j; }
    }
    if (width <= 0.0) return; /* all points equal: one leaf */
    Py_ssize_t m = s + (e - s) / 2;
    select_median(idx, reps, d, split, s, e, m);
    Py_ssize_t a = t->n_nodes, b = a + 1;
    t->n_nodes += 2;
    t->left[node] = a;
    t->right[node] = b;
    build_node(t, a, idx, reps, s, m, leaf_size, node, depth + 1);
    build_node(t, b, idx, reps, m, e, leaf_size, node, depth + 1);
}

/* rebuild over the live points only (the tree keeps pruning well and its
 * leaves stay full as the free set thins out) */
static void tree_compact(Tree *t)
{
    Py_ssize_t n = 0, p, d = t->d;
    for (Py_ssize_t node = 0; node < t->n_nodes; node++) {
        if (t->left[node] >= 0) continue;
        for (p = t->start[node]; p < t->start[node] + t->n_alive[node]; p++)
            t->idx[n++] = p;
    }
    /* the live points move to the scratch arrays, which become the tree's */
    double *src = t->pts;
    int64_t *src_gid = t->gid;
    t->n_nodes = 0;
    t->G = n;
    if (n > 0) { t->n_nodes = 1; build_node(t, 0, t->idx, src, 0, n, t->leaf_size, -1, 0); }
    for (p = 0; p < n; p++) {
        memcpy(t->scratch + p * d, src + t->idx[p] * d, sizeof(double) * d);
        t->gid_scratch[p] = src_gid[t->idx[p]];
        t->pos_of[t->gid_scratch[p]] = p;
    }
    t->pts = t->scratch; t->gid = t->gid_scratch;
    t->scratch = src; t->gid_scratch = src_gid;
    for (Py_ssize_t node = 0; node < t->n_nodes; node++) {
        if (t->left[node] < 0) {
            for (p = t->start[node]; p < t->end[node]; p++) t->leaf_of[p] = node;
        }
    }
    t->built = n;
}

static PyObject *py_build(PyObject *self, PyObject *args)
{
    Py_buffer reps_buf;
    Py_ssize_t d, leaf_size, G, p, n, m;
    if (!PyArg_ParseTuple(args, "y*nn", &reps_buf, &d, &leaf_size)) return NULL;
    if (d < 1 || leaf_size < 1 || reps_buf.len % (Py_ssize_t)(d * sizeof(double))) {
        PyBuffer_Release(&reps_buf);
        PyErr_SetString(PyExc_ValueError, "reps must hold (G, d) float64 values");
        return NULL;
    }
    G = reps_buf.len / (Py_ssize_t)(d * sizeof(double));
    const double *reps = (const double *)reps_buf.buf;
    Tree *t = (Tree *)calloc(1, sizeof(Tree));
    m = G > 0 ? G : 1;
    n = 2 * m;
    if (t) {
        t->G = G; t->n_groups = G; t->d = d; t->leaf_size = leaf_size;
        t->pts = (double *)malloc(sizeof(double) * m * d);
        t->scratch = (double *)malloc(sizeof(double) * m * d);
        t->gid = (int64_t *)malloc(sizeof(int64_t) * m);
        t->gid_scratch = (int64_t *)malloc(sizeof(int64_t) * m);
        t->idx = (int64_t *)malloc(sizeof(int64_t) * m);
        t->pos_of = (int64_t *)malloc(sizeof(int64_t) * m);
        t->leaf_of = (int64_t *)malloc(sizeof(int64_t) * m);
        t->start = (int64_t *)malloc(sizeof(int64_t) * n);
        t->end = (int64_t *)malloc(sizeof(int64_t) * n);
        t->left = (int64_t *)malloc(sizeof(int64_t) * n);
        t->right = (int64_t *)malloc(sizeof(int64_t) * n);
        t->parent = (int64_t *)malloc(sizeof(int64_t) * n);
        t->n_alive = (int64_t *)malloc(sizeof(int64_t) * n);
        t->lo = (double *)malloc(sizeof(double) * n * d);
        t->hi = (double *)malloc(sizeof(double) * n * d);
        t->sq = (double *)malloc(sizeof(double) * n);
    }
    if (!t || !t->pts || !t->scratch || !t->gid || !t->gid_scratch ||
        !t->idx || !t->pos_of || !t->leaf_of || !t->start || !t->end ||
        !t->left || !t->right || !t->parent || !t->n_alive || !t->lo ||
        !t->hi || !t->sq) {
        tree_free(t); PyBuffer_Release(&reps_buf);
        return PyErr_NoMemory();
    }
    for (p = 0; p < G; p++) t->idx[p] = p;
    t->n_nodes = 0;
    if (G > 0) { t->n_nodes = 1; build_node(t, 0, t->idx, reps, 0, G, leaf_size, -1, 0); }
    for (p = 0; p < G; p++) {
        memcpy(t->pts + p * d, reps + t->idx[p] * d, sizeof(double) * d);
        t->gid[p] = t->idx[p];
        t->pos_of[t->idx[p]] = p;
    }
    for (Py_ssize_t node = 0; node < t->n_nodes; node++) {
        if (t->left[node] < 0) {
            for (p = t->start[node]; p < t->end[node]; p++) t->leaf_of[p] = node;
        }
    }
    t->built = G;
    PyBuffer_Release(&reps_buf);
    PyObject *capsule = PyCapsule_New(t, CAPSULE_NAME, capsule_destructor);
    if (!capsule) tree_free(t);
    return capsule;
}

/* delete tree position p: the leaf's last live point takes its place (live
 * points stay at the front of the leaf), then the boxes on the path to the
 * root shrink to the live points */
static void delete_point(Tree *t, Py_ssize_t p)
{
    Py_ssize_t node = t->leaf_of[p], d = t->d;
    Py_ssize_t last = t->start[node] + t->n_alive[node] - 1;
    if (p != last) {
        memcpy(t->pts + p * d, t->pts + last * d, sizeof(double) * d);
        t->gid[p] = t->gid[last];
        t->pos_of[t->gid[p]] = p;
    }
    t->n_alive[node]--;
    if (t->n_alive[node]) leaf_box(t, node);
    node = t->parent[node];
    while (node >= 0) {
        t->n_alive[node]--;
        if (t->n_alive[node]) union_box(t, node);
        node = t->parent[node];
    }
}

#if defined(__GNUC__) || defined(__clang__)
#define ALWAYS_INLINE static inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define ALWAYS_INLINE static __forceinline
#else
#define ALWAYS_INLINE static inline
#endif

/* upper bound of v . u over the points u of a node:
 * v . u = (|u|^2 + |v|^2 - |u - v|^2) / 2 <= (sq + vv - dist(v, box)^2) / 2 */
ALWAYS_INLINE double box_bound(const Tree *t, Py_ssize_t node, const double *v,
                               double vv, const Py_ssize_t D)
{
    const double *lo = t->lo + node * D, *hi = t->hi + node * D;
    double dist = 0.0;
    for (Py_ssize_t j = 0; j < D; j++) {
        double g = lo[j] - v[j], h = v[j] - hi[j];
        double e = g > h ? g : h;
        e = e > 0.0 ? e : 0.0;
        dist += e * e;
    }
    return 0.5 * (t->sq[node] + vv - dist);
}

typedef struct {
    double c;
    int64_t h;      /* first free x of the best group, in norm order */
    Py_ssize_t p;   /* its tree position */
    int tie;        /* another live group has exactly the same cosine */
} Best;

/* depth-first, nearer child first, over an explicit stack; D is a constant
 * in the specialised copies below, so the loops over coordinates unroll */
ALWAYS_INLINE void search_body(const Tree *t, const double *v, double vv,
                               const int64_t *head, const int64_t *members,
                               Best *best, const Py_ssize_t D)
{
    Py_ssize_t stack_node[2 * MAX_DEPTH + 2];
    double stack_ub[2 * MAX_DEPTH + 2];
    int top = 1;
    stack_node[0] = 0;
    stack_ub[0] = INFINITY;
    while (top) {
        top--;
        Py_ssize_t node = stack_node[top];
        if (stack_ub[top] + SLACK < best->c) continue;
        Py_ssize_t a = t->left[node];
        if (a < 0) {
            const Py_ssize_t stop = t->start[node] + t->n_alive[node];
            for (Py_ssize_t p = t->start[node]; p < stop; p++) {
                const double *u = t->pts + p * D;
                double c = v[0] * u[0];
                for (Py_ssize_t j = 1; j < D; j++) c = c + v[j] * u[j];
                if (c > best->c) {
                    best->c = c; best->p = p; best->h = members[head[t->gid[p]]];
                    best->tie = 0;
                } else if (c == best->c) {
                    int64_t h = members[head[t->gid[p]]];
                    best->tie = 1;
                    if (h < best->h) { best->h = h; best->p = p; }
                }
            }
            continue;
        }
        Py_ssize_t b = t->right[node];
        double ua = t->n_alive[a] ? box_bound(t, a, v, vv, D) : -INFINITY;
        double ub = t->n_alive[b] ? box_bound(t, b, v, vv, D) : -INFINITY;
        if (ua < ub) {
            Py_ssize_t tn = a; a = b; b = tn;
            double tu = ua; ua = ub; ub = tu;
        }
        /* a is the nearer child: pushed last, popped first */
        if (ub + SLACK >= best->c) { stack_node[top] = b; stack_ub[top++] = ub; }
        if (ua + SLACK >= best->c) { stack_node[top] = a; stack_ub[top++] = ua; }
    }
}

#define DEFINE_SEARCH(D)                                                     \
    static void search_##D(const Tree *t, const double *v, double vv,       \
                           const int64_t *head, const int64_t *members,     \
                           Best *best)                                       \
    {                                                                        \
        search_body(t, v, vv, head, members, best, D);                      \
    }
DEFINE_SEARCH(2)
DEFINE_SEARCH(3)
DEFINE_SEARCH(4)
DEFINE_SEARCH(5)
DEFINE_SEARCH(6)
DEFINE_SEARCH(7)
DEFINE_SEARCH(8)

static void search_any(const Tree *t, const double *v, double vv,
                       const int64_t *head, const int64_t *members, Best *best)
{
    search_body(t, v, vv, head, members, best, t->d);
}

typedef void (*search_fn)(const Tree *, const double *, double, const int64_t *,
                          const int64_t *, Best *);

#define SPEC_BLOCK 2048  /* y's per speculative block, at most */
#define MAX_THREADS 16

static int64_t search_one(const Tree *t, const double *v, Py_ssize_t d,
                          const int64_t *head, const int64_t *members,
                          search_fn search)
{
    Best best = {-INFINITY, INT64_MAX, -1, 0};
    double vv = 0.0;
    for (Py_ssize_t j = 0; j < d; j++) vv += v[j] * v[j];
    search(t, v, vv, head, members, &best);
    return t->gid[best.p];
}

/* y takes group g: its first free x, then the group shrinks (or goes) */
static void take(Tree *t, int64_t g, int64_t *cap, int64_t *head,
                 const int64_t *members, int64_t *out)
{
    *out = members[head[g]];
    head[g]++;
    if (--cap[g] == 0) {
        delete_point(t, t->pos_of[g]);
        if (t->built >= 64 && 2 * t->n_alive[0] < t->built) tree_compact(t);
    }
}

typedef struct {
    const Tree *t;
    const double *V;
    Py_ssize_t d, lo, hi, base;
    const int64_t *head, *members;
    int64_t *spec_g;
    char *spec_ok;
    search_fn search;
} SpecJob;

static void *spec_run(void *arg)
{
    SpecJob *job = (SpecJob *)arg;
    for (Py_ssize_t i = job->lo; i < job->hi; i++) {
        Best best = {-INFINITY, INT64_MAX, -1, 0};
        const double *v = job->V + i * job->d;
        double vv = 0.0;
        for (Py_ssize_t j = 0; j < job->d; j++) vv += v[j] * v[j];
        job->search(job->t, v, vv, job->head, job->members, &best);
        job->spec_g[i - job->base] = job->t->gid[best.p];
        job->spec_ok[i - job->base] = !best.tie;
    }
    return NULL;
}

static void speculate(const Tree *t, const double *V, Py_ssize_t d,
                      Py_ssize_t lo, Py_ssize_t hi, const int64_t *head,
                      const int64_t *members, int64_t *spec_g, char *spec_ok,
                      search_fn search, int n_threads)
{
    SpecJob jobs[MAX_THREADS];
    Py_ssize_t n = hi - lo;
    int k;
    for (k = 0; k < n_threads; k++) {
        SpecJob j = {t, V, d, lo + n * k / n_threads, lo + n * (k + 1) / n_threads,
                     lo, head, members, spec_g, spec_ok, search};
        jobs[k] = j;
    }
#ifdef GREEDY_THREADS
    pthread_t threads[MAX_THREADS];
    char ok[MAX_THREADS];
    for (k = 1; k < n_threads; k++) {
        ok[k] = pthread_create(&threads[k], NULL, spec_run, &jobs[k]) == 0;
        if (!ok[k]) spec_run(&jobs[k]);  /* no thread: do it here */
    }
    spec_run(&jobs[0]);
    for (k = 1; k < n_threads; k++) {
        if (ok[k]) pthread_join(threads[k], NULL);
    }
#else
    for (k = 0; k < n_threads; k++) spec_run(&jobs[k]);
#endif
}

static PyObject *py_run(PyObject *self, PyObject *args)
{
    PyObject *capsule;
    Py_buffer vb, capb, headb, memb, outb;
    int n_threads = 1;
    Py_ssize_t spec_min = 64;  /* below this block size (free / 32): one by one */
    if (!PyArg_ParseTuple(args, "Oy*w*w*y*w*|in", &capsule, &vb, &capb, &headb,
                          &memb, &outb, &n_threads, &spec_min))
        return NULL;
#ifndef GREEDY_THREADS
    n_threads = 1;
#endif
    if (n_threads > MAX_THREADS) n_threads = MAX_THREADS;
    Tree *t = (Tree *)PyCapsule_GetPointer(capsule, CAPSULE_NAME);
    PyObject *result = NULL;
    Py_ssize_t d = t ? t->d : 1;
    Py_ssize_t B = vb.len / (Py_ssize_t)(d * sizeof(double));
    if (!t) goto done;
    if (vb.len != B * d * (Py_ssize_t)sizeof(double) ||
        capb.len != t->n_groups * (Py_ssize_t)sizeof(int64_t) ||
        headb.len != t->n_groups * (Py_ssize_t)sizeof(int64_t) ||
        outb.len != B * (Py_ssize_t)sizeof(int64_t)) {
        PyErr_SetString(PyExc_ValueError, "buffer sizes do not match the tree");
        goto done;
    }
    {
        const double *V = (const double *)vb.buf;
        int64_t *cap = (int64_t *)capb.buf, *head = (int64_t *)headb.buf;
        const int64_t *members = (const int64_t *)memb.buf;
        int64_t *out = (int64_t *)outb.buf;
        Py_ssize_t i, exhausted = -1;
        int64_t *spec_g = NULL;
        char *spec_ok = NULL;
        if (n_threads >= 2) {
            spec_g = (int64_t *)malloc(sizeof(int64_t) * SPEC_BLOCK);
            spec_ok = (char *)malloc(SPEC_BLOCK);
        }
        search_fn search;
        switch (d) {
        case 2: search = search_2; break;
        case 3: search = search_3; break;
        case 4: search = search_4; break;
        case 5: search = search_5; break;
        case 6: search = search_6; break;
        case 7: search = search_7; break;
        case 8: search = search_8; break;
        default: search = search_any;
        }
        Py_BEGIN_ALLOW_THREADS
        i = 0;
        while (i < B) {
            if (t->G == 0 || t->n_alive[0] == 0) { exhausted = i; break; }
            Py_ssize_t blk = t->n_alive[0] / 32;
            if (blk > SPEC_BLOCK) blk = SPEC_BLOCK;
            if (blk > B - i) blk = B - i;
            if (n_threads >= 2 && blk >= spec_min && spec_g && spec_ok) {
                /* speculate: every y of the block searches the free set as it
                 * is now, in parallel (read-only); then, in order, a y keeps
                 * its speculative group if that had no exact tie and is still
                 * free (the free set only shrinks, so it is still the unique
                 * best); any other y searches again */
                speculate(t, V, d, i, i + blk, head, members, spec_g, spec_ok,
                          search, n_threads);
                for (Py_ssize_t k = 0; k < blk; k++) {
                    int64_t g = spec_g[k];
                    if (!spec_ok[k] || cap[g] == 0)
                        g = search_one(t, V + (i + k) * d, d, head, members, search);
                    take(t, g, cap, head, members, out + i + k);
                }
                i += blk;
            } else {
                int64_t g = search_one(t, V + i * d, d, head, members, search);
                take(t, g, cap, head, members, out + i);
                i++;
            }
        }
        Py_END_ALLOW_THREADS
        free(spec_g);
        free(spec_ok);
        if (exhausted >= 0) {
            PyErr_SetString(PyExc_ValueError, "more y's than free x's");
            goto done;
        }
    }
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&vb); PyBuffer_Release(&capb); PyBuffer_Release(&headb);
    PyBuffer_Release(&memb); PyBuffer_Release(&outb);
    return result;
}

static PyMethodDef methods[] = {
    {"build", py_build, METH_VARARGS, "Build the k-d tree over group representatives."},
    {"run", py_run, METH_VARARGS, "Sequential Algorithm 1 over a block of y's."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_greedy",
    "Compiled sequential pass of Algorithm 1 (k-d tree with deletions).", -1,
    methods,
};

PyMODINIT_FUNC PyInit__greedy(void) { return PyModule_Create(&module); }
