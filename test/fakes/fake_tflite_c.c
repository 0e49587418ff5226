/*
 * A stand-in libtensorflowlite_c.so for tests: exports the TFLite C API symbols the addon uses, with
 * "models" written as text so tests can describe any tensor layout:
 *
 *   FAKETFLITE
 *   input <name> <uint8|int8|int32|float32> <d0>x<d1>...
 *   output <name> <type> <dims>
 *   quant <tensor name> <scale> <zero point>
 *   requires-edgetpu                 interpreter creation fails without a fake Edge TPU delegate
 *   fail-invoke-if-first-byte <n>    invoke fails when input 0's first byte equals n
 *   fail-allocate                    AllocateTensors fails
 *   thread-probe <output name>       that uint8 output is 1 when invoke ran on another thread than create
 *   invoke-await <line>              invoke, once it has logged its start, waits (at most 10 s) until the
 *                                    invoke log (below) holds the line <line>: tests order invokes by
 *                                    events (another invoke's start, a line they append) instead of by
 *                                    how long each takes
 *   invoke-delay-us <n>              invoke sleeps n microseconds, holding its thread but no CPU, as a
 *                                    call into an accelerator does, and leaves the outputs as they are
 *                                    (the device did the work): benchmarks stand in for an Edge TPU so
 *
 * Otherwise invoke is a deterministic function of the inputs: element k of output j (a number of the
 * output's type, integers wrapping) = sum over inputs i of input_i[k mod length_i] + j + 1.
 *
 * With $FAKE_TFLITE_INVOKE_LOG set, each invoke appends "start <input 0 name>" before its delay and
 * "end <input 0 name>" when done to that file, so tests can see invokes overlap by order alone.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "c_api_types.h"
#include "fake_delegate.h"

enum { kNoType = 0, kFloat32 = 1, kInt32 = 2, kUInt8 = 3, kInt8 = 9 };  /* TfLiteType values */
#define MAX_TENSORS 16
#define MAX_DIMS 8

typedef struct TfLiteTensor {
  char name[512]; /* TFLite names run long: fused ops join their names with ";" */
  int type;
  int dims[MAX_DIMS];
  int num_dims;
  size_t bytes;
  void* data;
  TfLiteQuantizationParams quant;
  int thread_probe;
} TfLiteTensor;

typedef struct TfLiteModel {
  TfLiteTensor inputs[MAX_TENSORS], outputs[MAX_TENSORS];
  int num_inputs, num_outputs;
  int requires_edgetpu, fail_allocate, fail_byte;
  long invoke_delay_us;
  char invoke_await[512];
} TfLiteModel;

typedef void (*Reporter)(void*, const char*, va_list);

typedef struct TfLiteInterpreterOptions {
  Reporter reporter;
  void* reporter_data;
  void* delegate;
  int threads;
} TfLiteInterpreterOptions;

typedef struct TfLiteInterpreter {
  TfLiteModel model; /* a copy: the caller may delete the model after creating the interpreter */
  TfLiteInterpreterOptions options;
  pthread_t creator;
} TfLiteInterpreter;

static void report(const TfLiteInterpreterOptions* o, const char* format, ...) {
  if (o->reporter == NULL) return;
  va_list args;
  va_start(args, format);
  o->reporter(o->reporter_data, format, args);
  va_end(args);
}

static void log_invoke(const char* what, const TfLiteModel* m) {
  const char* path = getenv("FAKE_TFLITE_INVOKE_LOG");
  if (path == NULL || path[0] == '\0') return;
  FILE* f = fopen(path, "a");
  if (f == NULL) return;
  fprintf(f, "%s %s\n", what, m->inputs[0].name);
  fclose(f);
}

/* Waits until the invoke log holds the line `want`, polling every millisecond, for at most 10 s. */
static void await_logged(const char* want) {
  const char* path = getenv("FAKE_TFLITE_INVOKE_LOG");
  if (path == NULL || path[0] == '\0') return;
  for (int i = 0; i < 10000; i++) {
    FILE* f = fopen(path, "r");
    if (f != NULL) {
      char line[600];
      int found = 0;
      while (!found && fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        found = strcmp(line, want) == 0;
      }
      fclose(f);
      if (found) return;
    }
    struct timespec ms = {0, 1000000};
    while (nanosleep(&ms, &ms) != 0 && errno == EINTR) {}
  }
}

static int type_of(const char* name) {
  if (strcmp(name, "uint8") == 0) return kUInt8;
  if (strcmp(name, "int8") == 0) return kInt8;
  if (strcmp(name, "int32") == 0) return kInt32;
  if (strcmp(name, "float32") == 0) return kFloat32;
  return kNoType;
}

static size_t element_size(int type) { return type == kFloat32 || type == kInt32 ? 4 : 1; }

static size_t element_count(const TfLiteTensor* t) {
  size_t n = 1;
  for (int i = 0; i < t->num_dims; i++) n *= (size_t)t->dims[i];
  return n;
}

static int parse_tensor(TfLiteTensor* t, char* rest) {
  char type[16], dims[128];
  if (sscanf(rest, "%511s %15s %127s", t->name, type, dims) != 3) return 0;
  t->type = type_of(type);
  if (t->type == kNoType) return 0;
  /* strtok_r: engines open in several worker threads at once, and strtok's state is shared. */
  char* save = NULL;
  for (char* d = strtok_r(dims, "x", &save); d != NULL && t->num_dims < MAX_DIMS;
       d = strtok_r(NULL, "x", &save)) {
    t->dims[t->num_dims++] = atoi(d);
  }
  t->bytes = element_count(t) * element_size(t->type);
  return 1;
}

static TfLiteTensor* find(TfLiteModel* m, const char* name) {
  for (int i = 0; i < m->num_inputs; i++) if (strcmp(m->inputs[i].name, name) == 0) return &m->inputs[i];
  for (int i = 0; i < m->num_outputs; i++) if (strcmp(m->outputs[i].name, name) == 0) return &m->outputs[i];
  return NULL;
}

const char* TfLiteVersion(void) { return "fake-tflite-c-2.0.0"; }

TfLiteModel* TfLiteModelCreate(const void* data, size_t size) {
  static const char magic[] = "FAKETFLITE\n";
  if (size < sizeof magic - 1 || memcmp(data, magic, sizeof magic - 1) != 0) return NULL;
  TfLiteModel* m = calloc(1, sizeof *m);
  m->fail_byte = -1;
  char* text = malloc(size + 1);
  memcpy(text, data, size);
  text[size] = '\0';
  int ok = 1;
  char* save = NULL;
  for (char* line = strtok_r(text + sizeof magic - 1, "\n", &save); line != NULL && ok;
       line = strtok_r(NULL, "\n", &save)) {
    char word[32] = {0}, name[512] = {0};
    float scale = 0;
    int zp = 0, n = 0;
    sscanf(line, "%31s", word);
    char* rest = line + strlen(word);
    if (strcmp(word, "input") == 0 && m->num_inputs < MAX_TENSORS) {
      ok = parse_tensor(&m->inputs[m->num_inputs++], rest);
    } else if (strcmp(word, "output") == 0 && m->num_outputs < MAX_TENSORS) {
      ok = parse_tensor(&m->outputs[m->num_outputs++], rest);
    } else if (strcmp(word, "quant") == 0 && sscanf(rest, "%511s %f %d", name, &scale, &zp) == 3) {
      TfLiteTensor* t = find(m, name);
      ok = t != NULL;
      if (ok) t->quant = (TfLiteQuantizationParams){scale, zp};
    } else if (strcmp(word, "thread-probe") == 0 && sscanf(rest, "%511s", name) == 1) {
      TfLiteTensor* t = find(m, name);
      ok = t != NULL;
      if (ok) t->thread_probe = 1;
    } else if (strcmp(word, "requires-edgetpu") == 0) {
      m->requires_edgetpu = 1;
    } else if (strcmp(word, "fail-allocate") == 0) {
      m->fail_allocate = 1;
    } else if (strcmp(word, "fail-invoke-if-first-byte") == 0 && sscanf(rest, "%d", &n) == 1) {
      m->fail_byte = n;
    } else if (strcmp(word, "invoke-await") == 0) {
      while (*rest == ' ') rest++;
      ok = rest[0] != '\0' && strlen(rest) < sizeof m->invoke_await;
      if (ok) strcpy(m->invoke_await, rest);
    } else if (strcmp(word, "invoke-delay-us") == 0 && sscanf(rest, "%ld", &m->invoke_delay_us) == 1) {
      ok = m->invoke_delay_us >= 0;
    } else if (word[0] != '\0') {
      ok = 0;
    }
  }
  free(text);
  if (!ok || m->num_inputs == 0) {
    free(m);
    return NULL;
  }
  return m;
}

void TfLiteModelDelete(TfLiteModel* m) { free(m); }

TfLiteInterpreterOptions* TfLiteInterpreterOptionsCreate(void) {
  TfLiteInterpreterOptions* o = calloc(1, sizeof *o);
  o->threads = 1;
  return o;
}
void TfLiteInterpreterOptionsDelete(TfLiteInterpreterOptions* o) { free(o); }
void TfLiteInterpreterOptionsSetNumThreads(TfLiteInterpreterOptions* o, int32_t n) { o->threads = n; }
void TfLiteInterpreterOptionsAddDelegate(TfLiteInterpreterOptions* o, void* delegate) { o->delegate = delegate; }
void TfLiteInterpreterOptionsSetErrorReporter(TfLiteInterpreterOptions* o, Reporter r, void* data) {
  o->reporter = r;
  o->reporter_data = data;
}

TfLiteInterpreter* TfLiteInterpreterCreate(const TfLiteModel* m, const TfLiteInterpreterOptions* o) {
  if (m->requires_edgetpu) {
    const struct fake_delegate* d = o != NULL ? o->delegate : NULL;
    if (d == NULL || memcmp(d->magic, FAKE_DELEGATE_MAGIC, 8) != 0) {
      if (o != NULL) report(o, "Encountered unresolved custom op: %s.", "edgetpu-custom-op");
      return NULL;
    }
  }
  TfLiteInterpreter* in = calloc(1, sizeof *in);
  in->model = *m;
  if (o != NULL) in->options = *o;
  in->creator = pthread_self();
  return in;
}

void TfLiteInterpreterDelete(TfLiteInterpreter* in) {
  if (in == NULL) return;
  for (int i = 0; i < in->model.num_inputs; i++) free(in->model.inputs[i].data);
  for (int i = 0; i < in->model.num_outputs; i++) free(in->model.outputs[i].data);
  free(in);
}

int TfLiteInterpreterAllocateTensors(TfLiteInterpreter* in) {
  if (in->model.fail_allocate) {
    report(&in->options, "Failed to allocate tensors (fake: %s)", "fail-allocate");
    return 1;
  }
  for (int i = 0; i < in->model.num_inputs; i++) {
    if (in->model.inputs[i].data == NULL) in->model.inputs[i].data = calloc(1, in->model.inputs[i].bytes);
  }
  for (int i = 0; i < in->model.num_outputs; i++) {
    if (in->model.outputs[i].data == NULL) in->model.outputs[i].data = calloc(1, in->model.outputs[i].bytes);
  }
  return 0;
}

int32_t TfLiteInterpreterGetInputTensorCount(const TfLiteInterpreter* in) { return in->model.num_inputs; }
int32_t TfLiteInterpreterGetOutputTensorCount(const TfLiteInterpreter* in) { return in->model.num_outputs; }
TfLiteTensor* TfLiteInterpreterGetInputTensor(const TfLiteInterpreter* in, int32_t i) {
  return (TfLiteTensor*)&in->model.inputs[i];
}
const TfLiteTensor* TfLiteInterpreterGetOutputTensor(const TfLiteInterpreter* in, int32_t i) {
  return &in->model.outputs[i];
}

static double get(const TfLiteTensor* t, size_t k) {
  switch (t->type) {
    case kUInt8: return ((const uint8_t*)t->data)[k];
    case kInt8: return ((const int8_t*)t->data)[k];
    case kInt32: return ((const int32_t*)t->data)[k];
    default: return ((const float*)t->data)[k];
  }
}

static void put(TfLiteTensor* t, size_t k, double v) {
  switch (t->type) {
    case kUInt8: ((uint8_t*)t->data)[k] = (uint8_t)(int64_t)v; break;   /* wraps modulo 256 */
    case kInt8: ((int8_t*)t->data)[k] = (int8_t)(uint8_t)(int64_t)v; break;
    case kInt32: ((int32_t*)t->data)[k] = (int32_t)(uint32_t)(int64_t)v; break;
    default: ((float*)t->data)[k] = (float)v;
  }
}

int TfLiteInterpreterInvoke(TfLiteInterpreter* in) {
  TfLiteModel* m = &in->model;
  if (m->inputs[0].data == NULL) {
    report(&in->options, "Invoke called before AllocateTensors");
    return 1;
  }
  if (m->fail_byte >= 0 && ((const uint8_t*)m->inputs[0].data)[0] == m->fail_byte) {
    report(&in->options, "fake invoke failure: first input byte is %d", m->fail_byte);
    return 1;
  }
  log_invoke("start", m);
  if (m->invoke_await[0] != '\0') await_logged(m->invoke_await);
  if (m->invoke_delay_us > 0) {
    struct timespec wait = {m->invoke_delay_us / 1000000, (m->invoke_delay_us % 1000000) * 1000};
    while (nanosleep(&wait, &wait) != 0 && errno == EINTR) {}
    log_invoke("end", m);
    return 0;
  }
  for (int j = 0; j < m->num_outputs; j++) {
    TfLiteTensor* out = &m->outputs[j];
    size_t n = element_count(out);
    for (size_t k = 0; k < n; k++) {
      if (out->thread_probe) {
        put(out, k, pthread_equal(pthread_self(), in->creator) ? 0 : 1);
        continue;
      }
      double sum = j + 1;
      for (int i = 0; i < m->num_inputs; i++) sum += get(&m->inputs[i], k % element_count(&m->inputs[i]));
      put(out, k, sum);
    }
  }
  log_invoke("end", m);
  return 0;
}

int TfLiteTensorType(const TfLiteTensor* t) { return t->type; }
int32_t TfLiteTensorNumDims(const TfLiteTensor* t) { return t->num_dims; }
int32_t TfLiteTensorDim(const TfLiteTensor* t, int32_t i) { return t->dims[i]; }
size_t TfLiteTensorByteSize(const TfLiteTensor* t) { return t->bytes; }
void* TfLiteTensorData(const TfLiteTensor* t) { return t->data; }
const char* TfLiteTensorName(const TfLiteTensor* t) { return t->name; }
TfLiteQuantizationParams TfLiteTensorQuantizationParams(const TfLiteTensor* t) { return t->quant; }

int TfLiteTensorCopyFromBuffer(TfLiteTensor* t, const void* data, size_t size) {
  if (size != t->bytes || t->data == NULL) return 1;
  memcpy(t->data, data, size);
  return 0;
}

int TfLiteTensorCopyToBuffer(const TfLiteTensor* t, void* data, size_t size) {
  if (size != t->bytes || t->data == NULL) return 1;
  memcpy(data, t->data, size);
  return 0;
}
