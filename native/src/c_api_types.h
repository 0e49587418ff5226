// The few declarations of the TensorFlow Lite C API (tensorflow/lite/c/c_api.h) this addon calls, and
// libedgetpu's (edgetpu_c.h), written out here so that the addon builds on any
// machine without those headers; the libraries themselves are opened with dlopen at run time.
// The stand-in libedgetpu of the tests (test/fakes/standin_edgetpu.c) shares edgetpu_c.h and takes
// TFLite's types from the real headers that native/fetch-tflite.mjs installs, not from these.
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "edgetpu_c.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- TensorFlow Lite C API ----
typedef struct TfLiteDelegate TfLiteDelegate;
typedef struct TfLiteModel TfLiteModel;
typedef struct TfLiteInterpreterOptions TfLiteInterpreterOptions;
typedef struct TfLiteInterpreter TfLiteInterpreter;
typedef struct TfLiteTensor TfLiteTensor;
typedef int TfLiteStatus;  // enum; kTfLiteOk == 0
typedef int TfLiteType;    // enum; values mapped to names in the TypeScript wrapper
typedef struct {
  float scale;
  int32_t zero_point;
} TfLiteQuantizationParams;
typedef void (*TfLiteErrorReporter)(void* user_data, const char* format, va_list args);

typedef const char* (*TfLiteVersion_fn)(void);
typedef TfLiteModel* (*TfLiteModelCreate_fn)(const void* model_data, size_t model_size);
typedef void (*TfLiteModelDelete_fn)(TfLiteModel* model);
typedef TfLiteInterpreterOptions* (*TfLiteInterpreterOptionsCreate_fn)(void);
typedef void (*TfLiteInterpreterOptionsDelete_fn)(TfLiteInterpreterOptions* options);
typedef void (*TfLiteInterpreterOptionsSetNumThreads_fn)(TfLiteInterpreterOptions* options,
                                                         int32_t num_threads);
typedef void (*TfLiteInterpreterOptionsAddDelegate_fn)(TfLiteInterpreterOptions* options,
                                                       TfLiteDelegate* delegate);
typedef void (*TfLiteInterpreterOptionsSetErrorReporter_fn)(TfLiteInterpreterOptions* options,
                                                            TfLiteErrorReporter reporter,
                                                            void* user_data);
typedef TfLiteInterpreter* (*TfLiteInterpreterCreate_fn)(const TfLiteModel* model,
                                                         const TfLiteInterpreterOptions* options);
typedef void (*TfLiteInterpreterDelete_fn)(TfLiteInterpreter* interpreter);
typedef TfLiteStatus (*TfLiteInterpreterAllocateTensors_fn)(TfLiteInterpreter* interpreter);
typedef int32_t (*TfLiteInterpreterGetInputTensorCount_fn)(const TfLiteInterpreter* interpreter);
typedef TfLiteTensor* (*TfLiteInterpreterGetInputTensor_fn)(const TfLiteInterpreter* interpreter,
                                                            int32_t input_index);
typedef int32_t (*TfLiteInterpreterGetOutputTensorCount_fn)(const TfLiteInterpreter* interpreter);
typedef const TfLiteTensor* (*TfLiteInterpreterGetOutputTensor_fn)(
    const TfLiteInterpreter* interpreter, int32_t output_index);
typedef TfLiteStatus (*TfLiteInterpreterInvoke_fn)(TfLiteInterpreter* interpreter);
typedef TfLiteType (*TfLiteTensorType_fn)(const TfLiteTensor* tensor);
typedef int32_t (*TfLiteTensorNumDims_fn)(const TfLiteTensor* tensor);
typedef int32_t (*TfLiteTensorDim_fn)(const TfLiteTensor* tensor, int32_t dim_index);
typedef size_t (*TfLiteTensorByteSize_fn)(const TfLiteTensor* tensor);
typedef const char* (*TfLiteTensorName_fn)(const TfLiteTensor* tensor);
typedef TfLiteQuantizationParams (*TfLiteTensorQuantizationParams_fn)(const TfLiteTensor* tensor);
typedef TfLiteStatus (*TfLiteTensorCopyFromBuffer_fn)(TfLiteTensor* tensor, const void* input_data,
                                                      size_t input_data_size);
typedef TfLiteStatus (*TfLiteTensorCopyToBuffer_fn)(const TfLiteTensor* tensor, void* output_data,
                                                    size_t output_data_size);

// XNNPACK (exported by the TFLite C library, optional). Only the options' first two fields are
// written; the struct grew over TFLite versions, so the addon passes a zeroed block larger than any.
typedef struct {
  int32_t num_threads;
  uint32_t flags;  // TFLITE_XNNPACK_DELEGATE_FLAG_QS8 = 1, _QU8 = 2
} TfLiteXNNPackDelegateOptionsHead;
typedef TfLiteDelegate* (*TfLiteXNNPackDelegateCreate_fn)(const void* options);
typedef void (*TfLiteXNNPackDelegateDelete_fn)(TfLiteDelegate* delegate);
#ifdef __cplusplus
}
#endif
