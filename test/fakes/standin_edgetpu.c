/*
 * A stand-in libedgetpu.so.1 for tests: exports libedgetpu's C API (edgetpu_c.h) and hands TensorFlow
 * Lite a real TfLiteDelegate (compiled against the real headers, native/tflite/include) that claims
 * every `edgetpu-custom-op` node, as the real library does. No hardware is touched: devices come from
 * $FAKE_EDGETPU_DEVICES ("usb:/sys/bus/usb/devices/2-1,pci:/dev/apex_0"), and the kernel computes a
 * deterministic function of its inputs instead of running the compiled graph: element k of output j is
 * sum over inputs i of input_i[k mod length_i] + j + 1, in the output's type (uint8 and int8 wrap, as
 * do int32; float32 adds; other types byte by byte as uint8).
 *
 * Logs: every delegate opened, refused and freed is appended to $FAKE_EDGETPU_LOG ("open usb PATH
 * Name=Value..."); each invoke appends "start TAG" and "end TAG" to $FAKE_EDGETPU_INVOKE_LOG, and
 * "same-thread TAG" when it runs on the thread that created the delegate. TAG is the device path.
 *
 * Knobs, each from the delegate option "StandIn.<Name>" or else the variable $FAKE_EDGETPU_<NAME>,
 * whose value is either one value for every device or "PATH=VALUE,PATH=VALUE" per device:
 *   DelayUs N          each invoke sleeps N microseconds (holding its thread, not the CPU), as a device call
 *   Await LINE         each invoke, after logging its start, waits (at most 10 s) for LINE in the invoke log
 *   FailOnFirstByte B  an invoke whose first input byte is B fails
 *   FailAfter N        invokes after the N-th fail, as a device unplugged mid-stream does
 *   HangAfter N        invokes after the N-th never return, until the invoke log holds "release TAG"
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "edgetpu_c.h"
#include "tensorflow/lite/c/common.h"

#define EDGETPU_CUSTOM_OP "edgetpu-custom-op"
/* TfLiteBuiltinOperator values (tensorflow/lite/builtin_ops.h, not among the headers the package ships). */
enum { kTfLiteBuiltinCustom = 32, kTfLiteBuiltinDelegate = 51 };

struct standin {
  TfLiteDelegate delegate; /* first, so the TfLiteDelegate* is the struct's address */
  int type;
  char path[256];
  pthread_t creator;
  long delay_us, fail_on_first_byte, fail_after, hang_after;
  char await_line[256];
  pthread_mutex_t mutex;
  long invokes;
};

static void append(const char* file, const char* line) {
  if (file == NULL) return;
  FILE* f = fopen(file, "a");
  if (f == NULL) return;
  fprintf(f, "%s\n", line);
  fclose(f);
}

static void log_device(const char* verb, int type, const char* path, const struct edgetpu_option* options,
                       size_t num_options) {
  char line[2048];
  int n = snprintf(line, sizeof line, "%s %s %s", verb, type == EDGETPU_APEX_PCI ? "pci" : "usb", path);
  for (size_t i = 0; i < num_options && n < (int)sizeof line; i++) {
    if (strncmp(options[i].name, "StandIn.", 8) == 0) continue; /* the stand-in's knobs, not the device's */
    n += snprintf(line + n, sizeof line - n, " %s=%s", options[i].name, options[i].value);
  }
  append(getenv("FAKE_EDGETPU_LOG"), line);
}

static int invoke_log_has(const char* wanted) {
  const char* file = getenv("FAKE_EDGETPU_INVOKE_LOG");
  FILE* f = file ? fopen(file, "r") : NULL;
  if (f == NULL) return 0;
  char line[512];
  int found = 0;
  while (!found && fgets(line, sizeof line, f) != NULL) {
    line[strcspn(line, "\n")] = '\0';
    found = strcmp(line, wanted) == 0;
  }
  fclose(f);
  return found;
}

static void sleep_us(long us) {
  struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
  nanosleep(&ts, NULL);
}

/* A knob's text: the delegate option StandIn.<name>, else $FAKE_EDGETPU_<NAME> for this device. */
static int knob(const char* name, const char* env_name, const char* path, const struct edgetpu_option* options,
                size_t num_options, char* out, size_t out_size) {
  for (size_t i = 0; i < num_options; i++) {
    if (strncmp(options[i].name, "StandIn.", 8) == 0 && strcmp(options[i].name + 8, name) == 0) {
      snprintf(out, out_size, "%s", options[i].value);
      return 1;
    }
  }
  const char* spec = getenv(env_name);
  if (spec == NULL || *spec == '\0') return 0;
  if (strchr(spec, '=') == NULL) {
    snprintf(out, out_size, "%s", spec);
    return 1;
  }
  size_t len = strlen(path);
  for (const char* item = spec; item != NULL && *item; item = strchr(item, ',') ? strchr(item, ',') + 1 : NULL) {
    if (strncmp(item, path, len) == 0 && item[len] == '=') {
      const char* value = item + len + 1;
      size_t vlen = strcspn(value, ",");
      snprintf(out, out_size, "%.*s", (int)(vlen < out_size ? vlen : out_size - 1), value);
      return 1;
    }
  }
  return 0;
}

static long number_knob(const char* name, const char* env_name, const char* path, const struct edgetpu_option* options,
                        size_t num_options, long fallback) {
  char text[64];
  return knob(name, env_name, path, options, num_options, text, sizeof text) ? strtol(text, NULL, 10) : fallback;
}

/* ---- the kernel that stands in for the compiled graph ---- */

static double element(const TfLiteTensor* t, size_t k) {
  switch (t->type) {
    case kTfLiteUInt8: return ((const uint8_t*)t->data.raw)[k];
    case kTfLiteInt8: return ((const int8_t*)t->data.raw)[k];
    case kTfLiteInt32: return ((const int32_t*)t->data.raw)[k];
    case kTfLiteFloat32: return ((const float*)t->data.raw)[k];
    default: return ((const uint8_t*)t->data.raw)[k];
  }
}

static size_t element_size(TfLiteType type) {
  switch (type) {
    case kTfLiteInt32:
    case kTfLiteFloat32: return 4;
    default: return 1;
  }
}

static void store(TfLiteTensor* t, size_t k, double v) {
  switch (t->type) {
    case kTfLiteInt8: ((int8_t*)t->data.raw)[k] = (int8_t)(uint8_t)(((long long)v % 256 + 256) % 256); break;
    case kTfLiteInt32: ((int32_t*)t->data.raw)[k] = (int32_t)(uint32_t)(long long)v; break;
    case kTfLiteFloat32: ((float*)t->data.raw)[k] = (float)v; break;
    default: ((uint8_t*)t->data.raw)[k] = (uint8_t)(((long long)v % 256 + 256) % 256); break;
  }
}

static void* kernel_init(TfLiteContext* context, const char* buffer, size_t length) {
  (void)context;
  (void)length;
  return ((const TfLiteDelegateParams*)buffer)->delegate;
}

static TfLiteStatus kernel_prepare(TfLiteContext* context, TfLiteNode* node) {
  (void)context;
  (void)node;
  return kTfLiteOk;
}

static TfLiteStatus kernel_invoke(TfLiteContext* context, TfLiteNode* node) {
  struct standin* d = (struct standin*)node->user_data;
  const char* invoke_log = getenv("FAKE_EDGETPU_INVOKE_LOG");
  char line[512];
  snprintf(line, sizeof line, "start %s", d->path);
  append(invoke_log, line);
  if (pthread_equal(pthread_self(), d->creator)) {
    snprintf(line, sizeof line, "same-thread %s", d->path);
    append(invoke_log, line);
  }
  pthread_mutex_lock(&d->mutex);
  long n = ++d->invokes;
  pthread_mutex_unlock(&d->mutex);

  if (d->await_line[0] != '\0') {
    for (int waited = 0; waited < 1000 && !invoke_log_has(d->await_line); waited++) sleep_us(10000);
  }
  if (d->delay_us > 0) sleep_us(d->delay_us);
  if (d->hang_after >= 0 && n > d->hang_after) {
    snprintf(line, sizeof line, "release %s", d->path);
    while (!invoke_log_has(line)) sleep_us(10000);
  }
  if (d->fail_after >= 0 && n > d->fail_after) {
    context->ReportError(context, "stand-in Edge TPU %s stopped answering after %ld invokes", d->path, d->fail_after);
    return kTfLiteError;
  }
  if (node->inputs->size > 0 && d->fail_on_first_byte >= 0) {
    const TfLiteTensor* first = &context->tensors[node->inputs->data[0]];
    if (first->bytes > 0 && ((const uint8_t*)first->data.raw)[0] == d->fail_on_first_byte) {
      context->ReportError(context, "stand-in invoke failure: first input byte is %ld", d->fail_on_first_byte);
      return kTfLiteError;
    }
  }
  for (int j = 0; j < node->outputs->size; j++) {
    TfLiteTensor* out = &context->tensors[node->outputs->data[j]];
    size_t count = out->bytes / element_size(out->type);
    for (size_t k = 0; k < count; k++) {
      double v = j + 1;
      for (int i = 0; i < node->inputs->size; i++) {
        const TfLiteTensor* in = &context->tensors[node->inputs->data[i]];
        size_t len = in->bytes / element_size(in->type);
        if (len > 0 && in->data.raw != NULL) v += element(in, k % len);
      }
      store(out, k, v);
    }
  }
  snprintf(line, sizeof line, "end %s", d->path);
  append(invoke_log, line);
  return kTfLiteOk;
}

static const TfLiteRegistration kernel = {
    .init = kernel_init,
    .prepare = kernel_prepare,
    .invoke = kernel_invoke,
    .builtin_code = kTfLiteBuiltinDelegate,
    .custom_name = "standin-edgetpu",
    .version = 1,
};

/* Claims every edgetpu-custom-op node of the graph. */
static TfLiteStatus delegate_prepare(TfLiteContext* context, TfLiteDelegate* delegate) {
  TfLiteIntArray* plan = NULL;
  if (context->GetExecutionPlan(context, &plan) != kTfLiteOk) return kTfLiteError;
  TfLiteIntArray* claimed = malloc(sizeof(TfLiteIntArray) + sizeof(int) * (size_t)plan->size);
  claimed->size = 0;
  for (int i = 0; i < plan->size; i++) {
    TfLiteNode* node = NULL;
    TfLiteRegistration* registration = NULL;
    if (context->GetNodeAndRegistration(context, plan->data[i], &node, &registration) != kTfLiteOk) continue;
    if (registration->builtin_code == kTfLiteBuiltinCustom && registration->custom_name != NULL &&
        strcmp(registration->custom_name, EDGETPU_CUSTOM_OP) == 0) {
      claimed->data[claimed->size++] = plan->data[i];
    }
  }
  TfLiteStatus status = claimed->size == 0 ? kTfLiteOk
                                           : context->ReplaceNodeSubsetsWithDelegateKernels(context, kernel, claimed, delegate);
  free(claimed);
  return status;
}

/* ---- libedgetpu's C API ---- */

/* Parses $FAKE_EDGETPU_DEVICES into a malloc'd array whose paths point into the same block. */
struct edgetpu_device* edgetpu_list_devices(size_t* num_devices) {
  *num_devices = 0;
  const char* spec = getenv("FAKE_EDGETPU_DEVICES");
  if (spec == NULL || *spec == '\0') return NULL;
  size_t max = 1;
  for (const char* c = spec; *c; c++) max += (*c == ',');
  size_t len = strlen(spec) + 1;
  struct edgetpu_device* devices = malloc(max * sizeof *devices + len);
  char* copy = (char*)(devices + max);
  memcpy(copy, spec, len);
  char* save = NULL; /* strtok_r: devices are listed from several threads at once */
  for (char* item = strtok_r(copy, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
    if (strncmp(item, "usb:", 4) == 0) {
      devices[*num_devices].type = EDGETPU_APEX_USB;
    } else if (strncmp(item, "pci:", 4) == 0) {
      devices[*num_devices].type = EDGETPU_APEX_PCI;
    } else {
      continue;
    }
    devices[*num_devices].path = item + 4;
    (*num_devices)++;
  }
  return devices;
}

void edgetpu_free_devices(struct edgetpu_device* dev) { free(dev); }

TfLiteDelegate* edgetpu_create_delegate(enum edgetpu_device_type type, const char* name,
                                        const struct edgetpu_option* options, size_t num_options) {
  size_t count = 0;
  struct edgetpu_device* devices = edgetpu_list_devices(&count);
  int found = 0;
  for (size_t i = 0; i < count; i++) {
    if (devices[i].type == type && name != NULL && strcmp(devices[i].path, name) == 0) found = 1;
  }
  edgetpu_free_devices(devices);
  if (!found) {
    log_device("fail", type, name != NULL ? name : "(null)", options, num_options);
    return NULL;
  }
  struct standin* d = calloc(1, sizeof *d);
  d->delegate.data_ = d;
  d->delegate.Prepare = delegate_prepare;
  /* As the real libedgetpu: without it TFLite prepares the graph before the delegate and fails on the custom op. */
  d->delegate.flags = kTfLiteDelegateFlagsAllowDynamicTensors;
  d->type = type;
  snprintf(d->path, sizeof d->path, "%s", name);
  d->creator = pthread_self();
  pthread_mutex_init(&d->mutex, NULL);
  d->delay_us = number_knob("DelayUs", "FAKE_EDGETPU_DELAYUS", name, options, num_options, 0);
  d->fail_on_first_byte = number_knob("FailOnFirstByte", "FAKE_EDGETPU_FAILONFIRSTBYTE", name, options, num_options, -1);
  d->fail_after = number_knob("FailAfter", "FAKE_EDGETPU_FAILAFTER", name, options, num_options, -1);
  d->hang_after = number_knob("HangAfter", "FAKE_EDGETPU_HANGAFTER", name, options, num_options, -1);
  knob("Await", "FAKE_EDGETPU_AWAIT", name, options, num_options, d->await_line, sizeof d->await_line);
  log_device("open", type, name, options, num_options);
  return &d->delegate;
}

void edgetpu_free_delegate(TfLiteDelegate* delegate) {
  if (delegate == NULL) return;
  struct standin* d = (struct standin*)delegate->data_;
  log_device("free", d->type, d->path, NULL, 0);
  pthread_mutex_destroy(&d->mutex);
  free(d);
}

void edgetpu_verbosity(int verbosity) { (void)verbosity; }

const char* edgetpu_version(void) { return "stand-in libedgetpu for coral-pipe tests (real TfLiteDelegate, no hardware)"; }
