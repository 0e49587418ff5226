// The declarations of libedgetpu's C API (edgetpu_c.h) that the addon calls, written out so that it
// builds without Coral's headers; the stand-in libedgetpu of the tests implements the same ones.
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum edgetpu_device_type { EDGETPU_APEX_PCI = 0, EDGETPU_APEX_USB = 1 };
struct edgetpu_device {
  enum edgetpu_device_type type;
  const char* path;
};
struct edgetpu_option {
  const char* name;
  const char* value;
};
struct TfLiteDelegate;

typedef struct edgetpu_device* (*edgetpu_list_devices_fn)(size_t* num_devices);
typedef void (*edgetpu_free_devices_fn)(struct edgetpu_device* dev);
typedef struct TfLiteDelegate* (*edgetpu_create_delegate_fn)(enum edgetpu_device_type type, const char* name,
                                                             const struct edgetpu_option* options,
                                                             size_t num_options);
typedef void (*edgetpu_free_delegate_fn)(struct TfLiteDelegate* delegate);
typedef void (*edgetpu_verbosity_fn)(int verbosity);
typedef const char* (*edgetpu_version_fn)(void);

#ifdef __cplusplus
}
#endif
