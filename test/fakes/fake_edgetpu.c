/*
 * A stand-in libedgetpu.so.1 for tests: exports the real C API symbols (edgetpu_c.h) but touches no
 * hardware. Devices come from $FAKE_EDGETPU_DEVICES ("usb:/sys/bus/usb/devices/2-1,pci:/dev/apex_0");
 * every delegate opened and freed is appended to $FAKE_EDGETPU_LOG, so tests can see which device each
 * interpreter was bound to. A path not in the list fails to open, as an unplugged device would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_api_types.h"
#include "fake_delegate.h"

static void log_line(const char* verb, int type, const char* path, const struct edgetpu_option* options,
                     size_t num_options) {
  const char* file = getenv("FAKE_EDGETPU_LOG");
  if (file == NULL) return;
  FILE* f = fopen(file, "a");
  if (f == NULL) return;
  fprintf(f, "%s %s %s", verb, type == EDGETPU_APEX_PCI ? "pci" : "usb", path);
  for (size_t i = 0; i < num_options; i++) fprintf(f, " %s=%s", options[i].name, options[i].value);
  fprintf(f, "\n");
  fclose(f);
}

/* Parses $FAKE_EDGETPU_DEVICES into a malloc'd array whose paths point into one malloc'd string. */
struct edgetpu_device* edgetpu_list_devices(size_t* num_devices) {
  *num_devices = 0;
  const char* spec = getenv("FAKE_EDGETPU_DEVICES");
  if (spec == NULL || *spec == '\0') return NULL;
  size_t max = 1;
  for (const char* c = spec; *c; c++) max += (*c == ',');
  /* One block: the array, then a copy of the spec the paths point into, freed as one. */
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

void* edgetpu_create_delegate(enum edgetpu_device_type type, const char* name,
                              const struct edgetpu_option* options, size_t num_options) {
  size_t count = 0;
  struct edgetpu_device* devices = edgetpu_list_devices(&count);
  int found = 0;
  for (size_t i = 0; i < count; i++) {
    if (devices[i].type == type && name != NULL && strcmp(devices[i].path, name) == 0) found = 1;
  }
  edgetpu_free_devices(devices);
  if (!found) {
    log_line("fail", type, name != NULL ? name : "(null)", options, num_options);
    return NULL;
  }
  struct fake_delegate* d = calloc(1, sizeof *d);
  memcpy(d->magic, FAKE_DELEGATE_MAGIC, 8);
  d->type = type;
  snprintf(d->path, sizeof d->path, "%s", name);
  log_line("open", type, name, options, num_options);
  return d;
}

void edgetpu_free_delegate(void* delegate) {
  struct fake_delegate* d = delegate;
  if (d == NULL) return;
  log_line("free", d->type, d->path, NULL, 0);
  free(d);
}

void edgetpu_verbosity(int verbosity) { (void)verbosity; }

const char* edgetpu_version(void) { return "fake libedgetpu for coral-pipe tests"; }
