// Runs TensorFlow Lite segments on Edge TPUs through libedgetpu, with both libraries opened by dlopen at
// run time: the addon builds and loads on any Linux machine, and says which library is missing and
// where it looked. Exercised here only against the fake libraries in test/fakes/, never a real Edge TPU.
//
// JS API (wrapped by src/devices/edgetpu-engine.ts):
//   loadLibraries({edgetpu: string[], tflite: string[]}) -> {edgetpuPath, tflitePath, edgetpuVersion,
//       tfliteVersion}      each list holds candidate paths, tried in order
//   listDevices() -> [{type: 'usb'|'pci', path}]
//   new Interpreter(model: Uint8Array, type: 'usb'|'pci', path: string, options: {[name]: string},
//       numThreads: number)    one interpreter bound to one explicit device
//   interpreter.inputs / .outputs -> [{name, type, shape, byteSize, scale, zeroPoint}]
//   interpreter.invoke(inputs: Uint8Array[], outputs: Uint8Array[]) -> Promise<void>   (off JS thread)
//   interpreter.close()
#include <dlfcn.h>
#include <napi.h>

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "c_api_types.h"

namespace {

struct Libraries {
  std::string edgetpuPath, tflitePath;
  edgetpu_list_devices_fn listDevices;
  edgetpu_free_devices_fn freeDevices;
  edgetpu_create_delegate_fn createDelegate;
  edgetpu_free_delegate_fn freeDelegate;
  edgetpu_version_fn edgetpuVersion;
  TfLiteVersion_fn tfliteVersion;
  TfLiteModelCreate_fn modelCreate;
  TfLiteModelDelete_fn modelDelete;
  TfLiteInterpreterOptionsCreate_fn optionsCreate;
  TfLiteInterpreterOptionsDelete_fn optionsDelete;
  TfLiteInterpreterOptionsSetNumThreads_fn optionsSetNumThreads;
  TfLiteInterpreterOptionsAddDelegate_fn optionsAddDelegate;
  TfLiteInterpreterOptionsSetErrorReporter_fn optionsSetErrorReporter;  // optional
  TfLiteInterpreterCreate_fn interpreterCreate;
  TfLiteInterpreterDelete_fn interpreterDelete;
  TfLiteInterpreterAllocateTensors_fn allocateTensors;
  TfLiteInterpreterGetInputTensorCount_fn inputCount;
  TfLiteInterpreterGetInputTensor_fn inputTensor;
  TfLiteInterpreterGetOutputTensorCount_fn outputCount;
  TfLiteInterpreterGetOutputTensor_fn outputTensor;
  TfLiteInterpreterInvoke_fn invoke;
  TfLiteTensorType_fn tensorType;
  TfLiteTensorNumDims_fn tensorNumDims;
  TfLiteTensorDim_fn tensorDim;
  TfLiteTensorByteSize_fn tensorByteSize;
  TfLiteTensorName_fn tensorName;
  TfLiteTensorQuantizationParams_fn tensorQuantization;
  TfLiteTensorCopyFromBuffer_fn copyFromBuffer;
  TfLiteTensorCopyToBuffer_fn copyToBuffer;
};

// One set of libraries per process (worker threads share it): libedgetpu owns the devices process-wide.
std::mutex g_mutex;
Libraries* g_libs = nullptr;

// A named error so the TypeScript side can tell "library missing" from other failures.
Napi::Error CodedError(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

void* OpenFirst(Napi::Env env, const char* what, const std::vector<std::string>& candidates,
                std::string* opened) {
  std::string looked;
  for (const std::string& path : candidates) {
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle != nullptr) {
      *opened = path;
      return handle;
    }
    const char* why = dlerror();
    looked += "\n  " + path + ": " + (why != nullptr ? why : "unknown error");
  }
  throw CodedError(env, "LIBRARY_MISSING",
                   std::string(what) + " could not be loaded; looked in:" + looked);
}

template <typename Fn>
void Resolve(Napi::Env env, void* handle, const std::string& libPath, const char* name, Fn* out,
             bool required = true) {
  dlerror();
  *out = reinterpret_cast<Fn>(dlsym(handle, name));
  if (*out == nullptr && required) {
    throw CodedError(env, "LIBRARY_INCOMPATIBLE", libPath + " does not export " + name);
  }
}

Libraries* Libs(Napi::Env env) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_libs == nullptr) throw CodedError(env, "NOT_LOADED", "loadLibraries() has not been called");
  return g_libs;
}

std::vector<std::string> StringList(Napi::Env env, Napi::Value value, const char* what) {
  if (!value.IsArray()) throw Napi::TypeError::New(env, std::string(what) + " must be an array of paths");
  Napi::Array array = value.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < array.Length(); i++) out.push_back(array.Get(i).ToString().Utf8Value());
  return out;
}

// Every symbol the addon calls; a missing one means a library too old or not the one we think.
void ResolveAll(Napi::Env env, Libraries& l, void* edgetpu, void* tflite) {
  const std::string& e = l.edgetpuPath;
  Resolve(env, edgetpu, e, "edgetpu_list_devices", &l.listDevices);
  Resolve(env, edgetpu, e, "edgetpu_free_devices", &l.freeDevices);
  Resolve(env, edgetpu, e, "edgetpu_create_delegate", &l.createDelegate);
  Resolve(env, edgetpu, e, "edgetpu_free_delegate", &l.freeDelegate);
  Resolve(env, edgetpu, e, "edgetpu_version", &l.edgetpuVersion);
  const std::string& t = l.tflitePath;
  Resolve(env, tflite, t, "TfLiteVersion", &l.tfliteVersion);
  Resolve(env, tflite, t, "TfLiteModelCreate", &l.modelCreate);
  Resolve(env, tflite, t, "TfLiteModelDelete", &l.modelDelete);
  Resolve(env, tflite, t, "TfLiteInterpreterOptionsCreate", &l.optionsCreate);
  Resolve(env, tflite, t, "TfLiteInterpreterOptionsDelete", &l.optionsDelete);
  Resolve(env, tflite, t, "TfLiteInterpreterOptionsSetNumThreads", &l.optionsSetNumThreads);
  Resolve(env, tflite, t, "TfLiteInterpreterOptionsAddDelegate", &l.optionsAddDelegate);
  Resolve(env, tflite, t, "TfLiteInterpreterOptionsSetErrorReporter", &l.optionsSetErrorReporter,
      false);
  Resolve(env, tflite, t, "TfLiteInterpreterCreate", &l.interpreterCreate);
  Resolve(env, tflite, t, "TfLiteInterpreterDelete", &l.interpreterDelete);
  Resolve(env, tflite, t, "TfLiteInterpreterAllocateTensors", &l.allocateTensors);
  Resolve(env, tflite, t, "TfLiteInterpreterGetInputTensorCount", &l.inputCount);
  Resolve(env, tflite, t, "TfLiteInterpreterGetInputTensor", &l.inputTensor);
  Resolve(env, tflite, t, "TfLiteInterpreterGetOutputTensorCount", &l.outputCount);
  Resolve(env, tflite, t, "TfLiteInterpreterGetOutputTensor", &l.outputTensor);
  Resolve(env, tflite, t, "TfLiteInterpreterInvoke", &l.invoke);
  Resolve(env, tflite, t, "TfLiteTensorType", &l.tensorType);
  Resolve(env, tflite, t, "TfLiteTensorNumDims", &l.tensorNumDims);
  Resolve(env, tflite, t, "TfLiteTensorDim", &l.tensorDim);
  Resolve(env, tflite, t, "TfLiteTensorByteSize", &l.tensorByteSize);
  Resolve(env, tflite, t, "TfLiteTensorName", &l.tensorName);
  Resolve(env, tflite, t, "TfLiteTensorQuantizationParams", &l.tensorQuantization);
  Resolve(env, tflite, t, "TfLiteTensorCopyFromBuffer", &l.copyFromBuffer);
  Resolve(env, tflite, t, "TfLiteTensorCopyToBuffer", &l.copyToBuffer);
}

Napi::Value LoadLibraries(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    throw Napi::TypeError::New(env, "loadLibraries({edgetpu: string[], tflite: string[]})");
  }
  Napi::Object paths = info[0].As<Napi::Object>();
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_libs == nullptr) {
    auto libs = std::make_unique<Libraries>();
    // TFLite first: without it nothing runs, so a machine lacking both hears about it first.
    void* tflite = OpenFirst(env, "the TensorFlow Lite C library (libtensorflowlite_c.so)",
                             StringList(env, paths.Get("tflite"), "tflite"), &libs->tflitePath);
    void* edgetpu = nullptr;
    try {
      edgetpu = OpenFirst(env, "libedgetpu (libedgetpu.so.1)",
                          StringList(env, paths.Get("edgetpu"), "edgetpu"), &libs->edgetpuPath);
      ResolveAll(env, *libs, edgetpu, tflite);
    } catch (...) {
      // Close what was opened, so a later call with corrected paths starts clean.
      if (edgetpu != nullptr) dlclose(edgetpu);
      dlclose(tflite);
      throw;
    }
    g_libs = libs.release();  // lives as long as the process: delegates may outlive any one JS env
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("edgetpuPath", g_libs->edgetpuPath);
  result.Set("tflitePath", g_libs->tflitePath);
  result.Set("edgetpuVersion", g_libs->edgetpuVersion());
  result.Set("tfliteVersion", g_libs->tfliteVersion());
  return result;
}

Napi::Value ListDevices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Libraries* libs = Libs(env);
  size_t count = 0;
  edgetpu_device* devices = libs->listDevices(&count);
  Napi::Array result = Napi::Array::New(env, count);
  for (size_t i = 0; i < count; i++) {
    Napi::Object device = Napi::Object::New(env);
    device.Set("type", devices[i].type == EDGETPU_APEX_PCI ? "pci" : "usb");
    device.Set("path", devices[i].path != nullptr ? devices[i].path : "");
    result.Set(static_cast<uint32_t>(i), device);
  }
  if (devices != nullptr) libs->freeDevices(devices);
  return result;
}

class Interpreter : public Napi::ObjectWrap<Interpreter> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Interpreter",
                       {InstanceAccessor<&Interpreter::Inputs>("inputs"),
                        InstanceAccessor<&Interpreter::Outputs>("outputs"),
                        InstanceMethod<&Interpreter::Invoke>("invoke"),
                        InstanceMethod<&Interpreter::Close>("close")});
  }

  explicit Interpreter(const Napi::CallbackInfo& info);
  ~Interpreter() override { Release(); }

  // Called by the invoke worker, on a libuv thread.
  std::string RunInvoke(const std::vector<std::pair<const uint8_t*, size_t>>& inputs,
                        const std::vector<std::pair<uint8_t*, size_t>>& outputs);
  void InvokeFinished() {
    busy_ = false;
    if (closePending_) Release();
  }

 private:
  static void Report(void* self, const char* format, va_list args) {
    char line[1024];
    vsnprintf(line, sizeof line, format, args);
    auto* me = static_cast<Interpreter*>(self);
    if (!me->lastError_.empty()) me->lastError_ += "; ";
    me->lastError_ += line;
  }
  std::string TakeError() {
    std::string e = lastError_.empty() ? "no message from TensorFlow Lite" : lastError_;
    lastError_.clear();
    return e;
  }
  Napi::Value Specs(Napi::Env env, bool inputs);
  Napi::Value Inputs(const Napi::CallbackInfo& info) { return Specs(info.Env(), true); }
  Napi::Value Outputs(const Napi::CallbackInfo& info) { return Specs(info.Env(), false); }
  Napi::Value Invoke(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  void Release();

  Libraries* libs_ = nullptr;
  std::vector<uint8_t> model_bytes_;  // TfLiteModelCreate borrows the buffer for the model's lifetime
  TfLiteModel* model_ = nullptr;
  TfLiteDelegate* delegate_ = nullptr;
  TfLiteInterpreter* interpreter_ = nullptr;
  std::string lastError_;
  bool busy_ = false;
  bool closePending_ = false;
};

class InvokeWorker : public Napi::AsyncWorker {
 public:
  InvokeWorker(Napi::Env env, Interpreter* target, Napi::Object self, const Napi::Array& inputs,
               const Napi::Array& outputs)
      : Napi::AsyncWorker(env, "coral-edgetpu-invoke"),
        deferred_(Napi::Promise::Deferred::New(env)),
        target_(target) {
    // References keep the interpreter and every buffer alive (and unmoved) while the worker runs.
    refs_.push_back(Napi::Persistent(self));
    for (uint32_t i = 0; i < inputs.Length(); i++) {
      Napi::Uint8Array a = inputs.Get(i).As<Napi::Uint8Array>();
      in_.emplace_back(a.Data(), a.ByteLength());
      refs_.push_back(Napi::Persistent(a.As<Napi::Object>()));
    }
    for (uint32_t i = 0; i < outputs.Length(); i++) {
      Napi::Uint8Array a = outputs.Get(i).As<Napi::Uint8Array>();
      out_.emplace_back(a.Data(), a.ByteLength());
      refs_.push_back(Napi::Persistent(a.As<Napi::Object>()));
    }
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    std::string error = target_->RunInvoke(in_, out_);
    if (!error.empty()) SetError(error);
  }
  void OnOK() override {
    target_->InvokeFinished();
    deferred_.Resolve(Env().Undefined());
  }
  void OnError(const Napi::Error& e) override {
    target_->InvokeFinished();
    deferred_.Reject(CodedError(Env(), "INVOKE_FAILED", e.Message()).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  Interpreter* target_;
  std::vector<Napi::ObjectReference> refs_;
  std::vector<std::pair<const uint8_t*, size_t>> in_;
  std::vector<std::pair<uint8_t*, size_t>> out_;
};

Interpreter::Interpreter(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Interpreter>(info) {
  Napi::Env env = info.Env();
  libs_ = Libs(env);
  if (info.Length() < 5 || !info[0].IsTypedArray() || !info[1].IsString() || !info[2].IsString() ||
      !info[3].IsObject() || !info[4].IsNumber()) {
    throw Napi::TypeError::New(
        env, "new Interpreter(model: Uint8Array, type: 'usb'|'pci', path: string, options, numThreads)");
  }
  Napi::Uint8Array model = info[0].As<Napi::Uint8Array>();
  const std::string type = info[1].As<Napi::String>().Utf8Value();
  const std::string path = info[2].As<Napi::String>().Utf8Value();
  if (type != "usb" && type != "pci") {
    throw Napi::TypeError::New(env, "device type must be 'usb' or 'pci', got '" + type + "'");
  }
  // Never "any" device: libedgetpu would hand back an already open one, so segments would share a TPU.
  if (path.empty()) throw Napi::TypeError::New(env, "an explicit device path is required");

  Napi::Object optionObject = info[3].As<Napi::Object>();
  Napi::Array names = optionObject.GetPropertyNames();
  std::vector<std::string> optionStrings;
  for (uint32_t i = 0; i < names.Length(); i++) {
    optionStrings.push_back(names.Get(i).ToString().Utf8Value());
    optionStrings.push_back(optionObject.Get(names.Get(i)).ToString().Utf8Value());
  }
  std::vector<edgetpu_option> options;
  for (size_t i = 0; i < optionStrings.size(); i += 2) {
    options.push_back({optionStrings[i].c_str(), optionStrings[i + 1].c_str()});
  }

  delegate_ = libs_->createDelegate(type == "pci" ? EDGETPU_APEX_PCI : EDGETPU_APEX_USB, path.c_str(),
                                    options.empty() ? nullptr : options.data(), options.size());
  if (delegate_ == nullptr) {
    throw CodedError(env, "DEVICE_OPEN_FAILED",
                     "libedgetpu could not open the " + type + " Edge TPU at " + path +
                         " (edgetpu_create_delegate returned NULL: unplugged, in use by another "
                         "process, or no permission)");
  }
  model_bytes_.assign(model.Data(), model.Data() + model.ByteLength());
  model_ = libs_->modelCreate(model_bytes_.data(), model_bytes_.size());
  if (model_ == nullptr) {
    Release();
    throw CodedError(env, "MODEL_INVALID", "TfLiteModelCreate rejected the model bytes (not a .tflite file?)");
  }
  TfLiteInterpreterOptions* opts = libs_->optionsCreate();
  if (libs_->optionsSetErrorReporter != nullptr) libs_->optionsSetErrorReporter(opts, &Report, this);
  libs_->optionsSetNumThreads(opts, info[4].As<Napi::Number>().Int32Value());
  libs_->optionsAddDelegate(opts, delegate_);
  interpreter_ = libs_->interpreterCreate(model_, opts);
  libs_->optionsDelete(opts);
  if (interpreter_ == nullptr) {
    const std::string why = TakeError();
    Release();
    throw CodedError(env, "INTERPRETER_FAILED", "TfLiteInterpreterCreate failed: " + why);
  }
  if (libs_->allocateTensors(interpreter_) != 0) {
    const std::string why = TakeError();
    Release();
    throw CodedError(env, "ALLOCATE_FAILED", "TfLiteInterpreterAllocateTensors failed: " + why);
  }
}

void Interpreter::Release() {
  // Interpreter before delegate: the delegate must outlive every interpreter that uses it.
  if (interpreter_ != nullptr) libs_->interpreterDelete(interpreter_);
  if (delegate_ != nullptr) libs_->freeDelegate(delegate_);
  if (model_ != nullptr) libs_->modelDelete(model_);
  interpreter_ = nullptr;
  delegate_ = nullptr;
  model_ = nullptr;
  model_bytes_.clear();
  model_bytes_.shrink_to_fit();
}

Napi::Value Interpreter::Specs(Napi::Env env, bool inputs) {
  if (interpreter_ == nullptr) throw CodedError(env, "CLOSED", "interpreter is closed");
  const int32_t count = inputs ? libs_->inputCount(interpreter_) : libs_->outputCount(interpreter_);
  Napi::Array result = Napi::Array::New(env, count);
  for (int32_t i = 0; i < count; i++) {
    const TfLiteTensor* t = inputs ? libs_->inputTensor(interpreter_, i) : libs_->outputTensor(interpreter_, i);
    Napi::Object spec = Napi::Object::New(env);
    const char* name = libs_->tensorName(t);
    spec.Set("name", name != nullptr ? name : "");
    spec.Set("type", libs_->tensorType(t));
    const int32_t dims = libs_->tensorNumDims(t);
    Napi::Array shape = Napi::Array::New(env, dims);
    for (int32_t d = 0; d < dims; d++) shape.Set(static_cast<uint32_t>(d), libs_->tensorDim(t, d));
    spec.Set("shape", shape);
    spec.Set("byteSize", static_cast<double>(libs_->tensorByteSize(t)));
    const TfLiteQuantizationParams q = libs_->tensorQuantization(t);
    spec.Set("scale", q.scale);
    spec.Set("zeroPoint", q.zero_point);
    result.Set(static_cast<uint32_t>(i), spec);
  }
  return result;
}

Napi::Value Interpreter::Invoke(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (interpreter_ == nullptr || closePending_) throw CodedError(env, "CLOSED", "interpreter is closed");
  if (busy_) throw CodedError(env, "BUSY", "an invoke is already running on this interpreter");
  if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsArray()) {
    throw Napi::TypeError::New(env, "invoke(inputs: Uint8Array[], outputs: Uint8Array[])");
  }
  Napi::Array inputs = info[0].As<Napi::Array>();
  Napi::Array outputs = info[1].As<Napi::Array>();
  const int32_t inCount = libs_->inputCount(interpreter_);
  const int32_t outCount = libs_->outputCount(interpreter_);
  if (static_cast<int32_t>(inputs.Length()) != inCount || static_cast<int32_t>(outputs.Length()) != outCount) {
    throw Napi::TypeError::New(env, "expected " + std::to_string(inCount) + " inputs and " +
                                        std::to_string(outCount) + " outputs");
  }
  for (int32_t i = 0; i < inCount + outCount; i++) {
    const bool isInput = i < inCount;
    Napi::Value v = isInput ? inputs.Get(i) : outputs.Get(i - inCount);
    const TfLiteTensor* t =
        isInput ? libs_->inputTensor(interpreter_, i) : libs_->outputTensor(interpreter_, i - inCount);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      throw Napi::TypeError::New(env, "every tensor buffer must be a Uint8Array");
    }
    const size_t want = libs_->tensorByteSize(t);
    const size_t got = v.As<Napi::Uint8Array>().ByteLength();
    if (got != want) {
      throw Napi::TypeError::New(env, std::string(isInput ? "input " : "output ") + libs_->tensorName(t) +
                                          " needs " + std::to_string(want) + " bytes, got " +
                                          std::to_string(got));
    }
  }
  busy_ = true;
  auto* worker = new InvokeWorker(env, this, Value(), inputs, outputs);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

std::string Interpreter::RunInvoke(const std::vector<std::pair<const uint8_t*, size_t>>& inputs,
                                   const std::vector<std::pair<uint8_t*, size_t>>& outputs) {
  for (size_t i = 0; i < inputs.size(); i++) {
    TfLiteTensor* t = libs_->inputTensor(interpreter_, static_cast<int32_t>(i));
    if (libs_->copyFromBuffer(t, inputs[i].first, inputs[i].second) != 0) {
      return "copying input " + std::to_string(i) + " failed: " + TakeError();
    }
  }
  const TfLiteStatus status = libs_->invoke(interpreter_);
  if (status != 0) return "TfLiteInterpreterInvoke failed (status " + std::to_string(status) + "): " + TakeError();
  for (size_t i = 0; i < outputs.size(); i++) {
    const TfLiteTensor* t = libs_->outputTensor(interpreter_, static_cast<int32_t>(i));
    if (libs_->copyToBuffer(t, outputs[i].first, outputs[i].second) != 0) {
      return "copying output " + std::to_string(i) + " failed: " + TakeError();
    }
  }
  return "";
}

Napi::Value Interpreter::Close(const Napi::CallbackInfo& info) {
  // A running invoke still uses the interpreter: free it when that invoke ends.
  if (busy_) {
    closePending_ = true;
  } else {
    Release();
  }
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("loadLibraries", Napi::Function::New(env, LoadLibraries, "loadLibraries"));
  exports.Set("listDevices", Napi::Function::New(env, ListDevices, "listDevices"));
  exports.Set("Interpreter", Interpreter::Define(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(coral_edgetpu, Init)
