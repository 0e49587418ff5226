// Runs TensorFlow Lite segments through the TensorFlow Lite C library, on Edge TPUs through libedgetpu's
// delegate or on the CPU with no delegate (or XNNPACK's), with both libraries opened by dlopen at run
// time: the addon builds and loads on any Linux machine, and says which library is missing and where it
// looked. Has run the real TFLite 2.9.0 library; libedgetpu only as the tests' stand-in
// (test/fakes/standin_edgetpu.c), never a real Edge TPU.
//
// JS API (wrapped by src/devices/tflite-runtime.ts):
//   loadLibraries({edgetpu: string[], tflite: string[]}) -> {tflitePath, tfliteVersion, edgetpuPath?,
//       edgetpuVersion?, edgetpuError?}   each list holds candidate paths, tried in order; only TFLite
//       is required, and a libedgetpu not found is tried again on the next call
//   listDevices() -> [{type: 'usb'|'pci', path}]
//   new Interpreter(model: Uint8Array, type: 'usb'|'pci'|'cpu', path: string, options: {[name]: string},
//       numThreads: number)    one interpreter bound to one explicit Edge TPU, whose delegate takes the
//       options; or on the CPU, where options may hold xnnpackFlags (XNNPACK's flags, as a decimal string)
//   interpreter.inputs / .outputs -> [{name, type, shape, byteSize, scale, zeroPoint}]
//   interpreter.invoke(inputs: Uint8Array[], outputs: Uint8Array[]) -> Promise<void>   runs on the
//       interpreter's own thread, one invoke at a time (BUSY otherwise)
//   interpreter.close()
#include "glibc_floor.h"  // first: binds symbols to versions older systems have
#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>
#include <napi.h>

#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "c_api_types.h"

namespace {

struct Libraries {
  std::string edgetpuPath, tflitePath;
  std::string edgetpuError;  // why libedgetpu is not loaded (empty once it is)
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
  TfLiteXNNPackDelegateCreate_fn xnnpackCreate;  // optional
  TfLiteXNNPackDelegateDelete_fn xnnpackDelete;  // optional
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

// The libraries with libedgetpu among them, or LIBRARY_MISSING saying why it is not.
Libraries* EdgetpuLibs(Napi::Env env) {
  Libraries* libs = Libs(env);
  std::lock_guard<std::mutex> lock(g_mutex);
  if (libs->edgetpuPath.empty()) throw CodedError(env, "LIBRARY_MISSING", libs->edgetpuError);
  return libs;
}

std::vector<std::string> StringList(Napi::Env env, Napi::Value value, const char* what) {
  if (!value.IsArray()) throw Napi::TypeError::New(env, std::string(what) + " must be an array of paths");
  Napi::Array array = value.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < array.Length(); i++) out.push_back(array.Get(i).ToString().Utf8Value());
  return out;
}

// Every symbol the addon calls; a missing one means a library too old or not the one we think.
void ResolveEdgetpu(Napi::Env env, Libraries& l, void* edgetpu) {
  const std::string& e = l.edgetpuPath;
  Resolve(env, edgetpu, e, "edgetpu_list_devices", &l.listDevices);
  Resolve(env, edgetpu, e, "edgetpu_free_devices", &l.freeDevices);
  Resolve(env, edgetpu, e, "edgetpu_create_delegate", &l.createDelegate);
  Resolve(env, edgetpu, e, "edgetpu_free_delegate", &l.freeDelegate);
  Resolve(env, edgetpu, e, "edgetpu_version", &l.edgetpuVersion);
}

void ResolveTflite(Napi::Env env, Libraries& l, void* tflite) {
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
  Resolve(env, tflite, t, "TfLiteXNNPackDelegateCreate", &l.xnnpackCreate, false);
  Resolve(env, tflite, t, "TfLiteXNNPackDelegateDelete", &l.xnnpackDelete, false);
}

// libedgetpu, where it was not loaded yet: its absence is recorded, not thrown, since CPU segments run
// without it. A later call (other paths, or the library installed since) tries again.
void LoadEdgetpu(Napi::Env env, Libraries& l, const std::vector<std::string>& candidates) {
  if (!l.edgetpuPath.empty()) return;
  void* edgetpu = nullptr;
  try {
    edgetpu = OpenFirst(env, "libedgetpu (libedgetpu.so.1)", candidates, &l.edgetpuPath);
    ResolveEdgetpu(env, l, edgetpu);
    l.edgetpuError.clear();
  } catch (const Napi::Error& e) {
    if (edgetpu != nullptr) dlclose(edgetpu);
    l.edgetpuPath.clear();
    l.edgetpuError = e.Message();
  }
}

Napi::Value LoadLibraries(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    throw Napi::TypeError::New(env, "loadLibraries({edgetpu: string[], tflite: string[]})");
  }
  Napi::Object paths = info[0].As<Napi::Object>();
  const std::vector<std::string> edgetpuCandidates = StringList(env, paths.Get("edgetpu"), "edgetpu");
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_libs == nullptr) {
    auto libs = std::make_unique<Libraries>();
    void* tflite = OpenFirst(env, "the TensorFlow Lite C library (libtensorflowlite_c.so)",
                             StringList(env, paths.Get("tflite"), "tflite"), &libs->tflitePath);
    try {
      ResolveTflite(env, *libs, tflite);
    } catch (...) {
      dlclose(tflite);  // so a later call with corrected paths starts clean
      throw;
    }
    g_libs = libs.release();  // lives as long as the process: delegates may outlive any one JS env
  }
  LoadEdgetpu(env, *g_libs, edgetpuCandidates);
  Napi::Object result = Napi::Object::New(env);
  result.Set("tflitePath", g_libs->tflitePath);
  result.Set("tfliteVersion", g_libs->tfliteVersion());
  if (g_libs->edgetpuPath.empty()) {
    result.Set("edgetpuError", g_libs->edgetpuError);
  } else {
    result.Set("edgetpuPath", g_libs->edgetpuPath);
    result.Set("edgetpuVersion", g_libs->edgetpuVersion());
  }
  return result;
}

Napi::Value ListDevices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Libraries* libs = EdgetpuLibs(env);
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

// ---- Invokes run on a thread of their own, one per interpreter ----
// An Edge TPU invoke holds its thread for the whole inference (a blocking USB/PCIe call). On libuv's
// pool (4 threads, process-wide) a pipeline of 4 segments held every pool thread, and sharp, fs and
// dns waited behind it. A dedicated thread per interpreter leaves the pool alone; completions come
// back to the JS thread through a thread-safe function (TSFN).

struct Core;
class Interpreter;

// One invoke handed to the thread. Its JS parts (deferred, references) are created and released on
// the JS thread only; the thread reads the buffer pointers and writes `error`.
struct Job {
  std::shared_ptr<Core> core;
  Interpreter* owner = nullptr;
  napi_deferred deferred = nullptr;
  Napi::ObjectReference self;                  // the owner is not collected while a job runs
  std::vector<Napi::ObjectReference> buffers;  // nor is any buffer (and none moves)
  std::vector<std::pair<const uint8_t*, size_t>> in;
  std::vector<std::pair<uint8_t*, size_t>> out;
  std::string error;
};

// Drops a job whose completion cannot reach JS any more (environment torn down). Its references
// belong to that environment, so they are not deleted from here, and no JS is left to wait on the
// promise.
void Abandon(Job* job) {
  job->self.SuppressDestruct();
  for (Napi::ObjectReference& ref : job->buffers) ref.SuppressDestruct();
  delete job;
}

void Complete(Napi::Env env, Napi::Function, std::nullptr_t*, Job* job);
using Completions = Napi::TypedThreadSafeFunction<std::nullptr_t, Job, &Complete>;

// What an Interpreter shares with its invoke thread. Every holder has a shared_ptr (the JS object,
// the thread, each job in flight, the TSFN's finalizer), so Core and the TFLite objects live until
// the last of them lets go: a JS object finalized while its thread is stuck in a hung device call
// leaves that thread nothing dangling.
struct Core {
  explicit Core(Libraries* l) : libs(l) {}
  ~Core() { ReleaseModel(); }

  static void Report(void* self, const char* format, va_list args) {
    char line[1024];
    vsnprintf(line, sizeof line, format, args);
    auto* me = static_cast<Core*>(self);
    if (!me->lastError.empty()) me->lastError += "; ";
    me->lastError += line;
  }
  std::string TakeError() {
    std::string e = lastError.empty() ? "no message from TensorFlow Lite" : lastError;
    lastError.clear();
    return e;
  }
  // On the invoke thread, in this order.
  std::string CopyInputs(const Job& job);
  std::string InvokeModel();
  std::string CopyOutputs(const Job& job);
  void ReleaseModel();

  Libraries* const libs;
  // The TFLite objects. The JS thread touches them only while no job is out, the invoke thread only
  // while it runs one; the hand-over through `mutex` and the TSFN orders the two.
  std::vector<uint8_t> modelBytes;  // TfLiteModelCreate borrows the buffer for the model's lifetime
  TfLiteModel* model = nullptr;
  TfLiteDelegate* delegate = nullptr;
  bool xnnpack = false;  // the delegate is XNNPACK's, not libedgetpu's
  TfLiteInterpreter* interpreter = nullptr;
  std::string lastError;

  std::mutex mutex;  // guards what follows
  std::condition_variable wake;
  Job* job = nullptr;  // the next job for the thread; the engine never overlaps two
  bool stop = false;   // the thread exits, dropping a job it has not started
  Completions completions;
  // The thread still holds its count on `completions` and Node has not finalized them, so the
  // environment and its buffers are alive. Node 20 frees a TSFN at environment teardown even while a
  // thread holds a count, so every call is made under `mutex` after checking this, and the TSFN
  // finalizer clears it under `mutex`.
  bool completionsOpen = false;
};

void Core::ReleaseModel() {
  // Interpreter before delegate: the delegate must outlive every interpreter that uses it.
  if (interpreter != nullptr) libs->interpreterDelete(interpreter);
  if (delegate != nullptr) (xnnpack ? libs->xnnpackDelete : libs->freeDelegate)(delegate);
  if (model != nullptr) libs->modelDelete(model);
  interpreter = nullptr;
  delegate = nullptr;
  model = nullptr;
  modelBytes.clear();
  modelBytes.shrink_to_fit();
}

std::string Core::CopyInputs(const Job& job) {
  for (size_t i = 0; i < job.in.size(); i++) {
    TfLiteTensor* t = libs->inputTensor(interpreter, static_cast<int32_t>(i));
    if (libs->copyFromBuffer(t, job.in[i].first, job.in[i].second) != 0) {
      return "copying input " + std::to_string(i) + " failed: " + TakeError();
    }
  }
  return "";
}

std::string Core::InvokeModel() {
  const TfLiteStatus status = libs->invoke(interpreter);
  if (status != 0) return "TfLiteInterpreterInvoke failed (status " + std::to_string(status) + "): " + TakeError();
  return "";
}

std::string Core::CopyOutputs(const Job& job) {
  for (size_t i = 0; i < job.out.size(); i++) {
    const TfLiteTensor* t = libs->outputTensor(interpreter, static_cast<int32_t>(i));
    if (libs->copyToBuffer(t, job.out[i].first, job.out[i].second) != 0) {
      return "copying output " + std::to_string(i) + " failed: " + TakeError();
    }
  }
  return "";
}

// Invoke threads are detached and may outlive the environment that loaded this addon (a worker
// terminated mid-invoke), and Node unloads an addon with the last environment using it: so the first
// thread pins the addon's code in memory for the life of the process (RTLD_NODELETE, never closed).
void PinAddon() {
  static std::once_flag once;
  std::call_once(once, [] {
    Dl_info self;
    if (dladdr(reinterpret_cast<void*>(&PinAddon), &self) != 0 && self.dli_fname != nullptr) {
      dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
    }
  });
}

// The invoke thread: runs one job at a time until told to stop. It is detached and never joined (see
// ~Interpreter); its shared_ptr keeps Core alive for as long as it runs.
void InvokeLoop(std::shared_ptr<Core> core) {
  std::unique_lock<std::mutex> lock(core->mutex);
  for (;;) {
    core->wake.wait(lock, [&] { return core->job != nullptr || core->stop; });
    if (core->stop) break;  // else the completions are open
    Job* job = core->job;
    core->job = nullptr;
    // The JS buffers are touched only under `mutex` while the completions are open: at environment
    // teardown the TSFN finalizer (which takes `mutex`) runs before V8 frees them, so it waits for a
    // copy in progress, and no copy starts after it. The device call itself runs unlocked.
    job->error = core->CopyInputs(*job);
    lock.unlock();
    if (job->error.empty()) job->error = core->InvokeModel();
    lock.lock();
    if (!core->completionsOpen) {
      Abandon(job);
      continue;
    }
    if (job->error.empty()) job->error = core->CopyOutputs(*job);
    if (core->completions.NonBlockingCall(job) != napi_ok) {
      // napi_closing: the environment is going away, and Node dropped this thread's count with the
      // call. (The queue is unbounded, so nothing else fails here.)
      core->completionsOpen = false;
      core->stop = true;
      Abandon(job);
    }
  }
  Job* unstarted = core->job;  // only at teardown: close() waits for the job in flight
  core->job = nullptr;
  if (core->completionsOpen) core->completions.Release();
  core->completionsOpen = false;
  lock.unlock();
  if (unstarted != nullptr) Abandon(unstarted);
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

  // Runs when an idle interpreter is collected (a job in flight references it, so not then) or at
  // environment teardown, e.g. a worker terminated while its invoke is stuck in a hung device. Never
  // joins the thread: that could hang the JS thread (and the worker's termination) on the device.
  // With no job out the model is freed here; otherwise by whichever of the thread and the dropped
  // job lets go of Core last, i.e. when the device call returns, if ever.
  ~Interpreter() override {
    if (!busy_) core_->ReleaseModel();
    StopThread();
  }

  // On the JS thread, when the invoke thread's completion arrives.
  void InvokeFinished(Napi::Env env) {
    busy_ = false;
    // An idle interpreter does not keep the process alive. (C API: see Complete.)
    napi_unref_threadsafe_function(env, core_->completions);
    if (closePending_) Shutdown();
  }

 private:
  Napi::Value Specs(Napi::Env env, bool inputs);
  Napi::Value Inputs(const Napi::CallbackInfo& info) { return Specs(info.Env(), true); }
  Napi::Value Outputs(const Napi::CallbackInfo& info) { return Specs(info.Env(), false); }
  Napi::Value Invoke(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  void StartThread(Napi::Env env);
  void StopThread() {
    {
      std::lock_guard<std::mutex> lock(core_->mutex);
      core_->stop = true;
    }
    core_->wake.notify_one();
  }
  void Shutdown() {
    core_->ReleaseModel();
    StopThread();
  }

  std::shared_ptr<Core> core_;
  bool threadStarted_ = false;
  bool busy_ = false;
  bool closePending_ = false;
};

// TfLiteModelCreate reports why it refuses a buffer ("The model is not a valid Flatbuffer buffer") only
// to its default error reporter, stderr, and the C API has no other in 2.9: so stderr is borrowed for
// the call, on the JS thread, and what it printed goes into the error. A worker thread printing in that
// instant would have its line in the error instead of on stderr.
TfLiteModel* CreateModel(Libraries* libs, const std::vector<uint8_t>& bytes, std::string* printed) {
  static std::mutex stderrMutex;
  std::lock_guard<std::mutex> lock(stderrMutex);
  int fds[2];
  const int saved = dup(STDERR_FILENO);
  if (saved < 0 || pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    if (saved >= 0) close(saved);
    return libs->modelCreate(bytes.data(), bytes.size());
  }
  fflush(stderr);
  dup2(fds[1], STDERR_FILENO);
  TfLiteModel* model = libs->modelCreate(bytes.data(), bytes.size());
  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(fds[1]);
  char chunk[1024];
  ssize_t n;
  while ((n = read(fds[0], chunk, sizeof chunk)) > 0 && printed->size() < 4096) printed->append(chunk, n);
  close(fds[0]);
  while (!printed->empty() && (printed->back() == '\n' || printed->back() == ' ')) printed->pop_back();
  return model;
}

Interpreter::Interpreter(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<Interpreter>(info), core_(new Core(Libs(info.Env()))) {
  // On a throw below, core_'s destructor frees whatever was created.
  Napi::Env env = info.Env();
  Libraries* libs = core_->libs;
  if (info.Length() < 5 || !info[0].IsTypedArray() || !info[1].IsString() || !info[2].IsString() ||
      !info[3].IsObject() || !info[4].IsNumber()) {
    throw Napi::TypeError::New(
        env, "new Interpreter(model: Uint8Array, type: 'usb'|'pci'|'cpu', path: string, options, numThreads)");
  }
  Napi::Uint8Array model = info[0].As<Napi::Uint8Array>();
  const std::string type = info[1].As<Napi::String>().Utf8Value();
  const std::string path = info[2].As<Napi::String>().Utf8Value();
  if (type != "usb" && type != "pci" && type != "cpu") {
    throw Napi::TypeError::New(env, "device type must be 'usb', 'pci' or 'cpu', got '" + type + "'");
  }
  const bool edgetpu = type != "cpu";
  // Never "any" device: libedgetpu would hand back an already open one, so segments would share a TPU.
  if (edgetpu && path.empty()) throw Napi::TypeError::New(env, "an explicit device path is required");

  Napi::Object optionObject = info[3].As<Napi::Object>();
  Napi::Array names = optionObject.GetPropertyNames();
  std::vector<std::string> optionStrings;
  for (uint32_t i = 0; i < names.Length(); i++) {
    optionStrings.push_back(names.Get(i).ToString().Utf8Value());
    optionStrings.push_back(optionObject.Get(names.Get(i)).ToString().Utf8Value());
  }

  if (edgetpu) {
    EdgetpuLibs(env);
    std::vector<edgetpu_option> options;
    for (size_t i = 0; i < optionStrings.size(); i += 2) {
      options.push_back({optionStrings[i].c_str(), optionStrings[i + 1].c_str()});
    }
    core_->delegate = libs->createDelegate(type == "pci" ? EDGETPU_APEX_PCI : EDGETPU_APEX_USB, path.c_str(),
                                           options.empty() ? nullptr : options.data(), options.size());
    if (core_->delegate == nullptr) {
      throw CodedError(env, "DEVICE_OPEN_FAILED",
                       "libedgetpu could not open the " + type + " Edge TPU at " + path +
                           " (edgetpu_create_delegate returned NULL: unplugged, in use by another "
                           "process, or no permission)");
    }
  } else {
    for (size_t i = 0; i < optionStrings.size(); i += 2) {
      if (optionStrings[i] != "xnnpackFlags") throw Napi::TypeError::New(env, "unknown CPU option " + optionStrings[i]);
      if (libs->xnnpackCreate == nullptr || libs->xnnpackDelete == nullptr) {
        throw CodedError(env, "LIBRARY_INCOMPATIBLE", libs->tflitePath + " does not export TfLiteXNNPackDelegateCreate");
      }
      alignas(8) uint8_t block[256] = {};  // larger than any version's options (see c_api_types.h)
      auto* head = reinterpret_cast<TfLiteXNNPackDelegateOptionsHead*>(block);
      head->num_threads = info[4].As<Napi::Number>().Int32Value();
      head->flags = static_cast<uint32_t>(std::stoul(optionStrings[i + 1]));
      core_->delegate = libs->xnnpackCreate(block);
      core_->xnnpack = true;
      if (core_->delegate == nullptr) throw CodedError(env, "DELEGATE_FAILED", "TfLiteXNNPackDelegateCreate returned NULL");
    }
  }
  core_->modelBytes.assign(model.Data(), model.Data() + model.ByteLength());
  std::string printed;
  core_->model = CreateModel(libs, core_->modelBytes, &printed);
  if (core_->model == nullptr) {
    throw CodedError(env, "MODEL_INVALID",
                     "TensorFlow Lite refused the model: " + (printed.empty() ? std::string("TfLiteModelCreate returned NULL") : printed));
  }
  TfLiteInterpreterOptions* opts = libs->optionsCreate();
  // Core, not this object, receives the reports: the invoke thread may outlive this object.
  if (libs->optionsSetErrorReporter != nullptr) libs->optionsSetErrorReporter(opts, &Core::Report, core_.get());
  libs->optionsSetNumThreads(opts, info[4].As<Napi::Number>().Int32Value());
  if (core_->delegate != nullptr) libs->optionsAddDelegate(opts, core_->delegate);
  core_->interpreter = libs->interpreterCreate(core_->model, opts);
  libs->optionsDelete(opts);
  if (core_->interpreter == nullptr) {
    throw CodedError(env, "INTERPRETER_FAILED", "TfLiteInterpreterCreate failed: " + core_->TakeError());
  }
  if (libs->allocateTensors(core_->interpreter) != 0) {
    throw CodedError(env, "ALLOCATE_FAILED", "TfLiteInterpreterAllocateTensors failed: " + core_->TakeError());
  }
}

Napi::Value Interpreter::Specs(Napi::Env env, bool inputs) {
  Libraries* libs = core_->libs;
  TfLiteInterpreter* interpreter = core_->interpreter;
  if (interpreter == nullptr) throw CodedError(env, "CLOSED", "interpreter is closed");
  const int32_t count = inputs ? libs->inputCount(interpreter) : libs->outputCount(interpreter);
  Napi::Array result = Napi::Array::New(env, count);
  for (int32_t i = 0; i < count; i++) {
    const TfLiteTensor* t = inputs ? libs->inputTensor(interpreter, i) : libs->outputTensor(interpreter, i);
    Napi::Object spec = Napi::Object::New(env);
    const char* name = libs->tensorName(t);
    spec.Set("name", name != nullptr ? name : "");
    spec.Set("type", libs->tensorType(t));
    const int32_t dims = libs->tensorNumDims(t);
    Napi::Array shape = Napi::Array::New(env, dims);
    for (int32_t d = 0; d < dims; d++) shape.Set(static_cast<uint32_t>(d), libs->tensorDim(t, d));
    spec.Set("shape", shape);
    spec.Set("byteSize", static_cast<double>(libs->tensorByteSize(t)));
    const TfLiteQuantizationParams q = libs->tensorQuantization(t);
    spec.Set("scale", q.scale);
    spec.Set("zeroPoint", q.zero_point);
    result.Set(static_cast<uint32_t>(i), spec);
  }
  return result;
}

// Started by the first invoke, so an interpreter only opened to read its specs costs no thread.
void Interpreter::StartThread(Napi::Env env) {
  // The finalizer's share keeps Core (and its mutex) alive until Node is done with the TSFN. Node
  // finalizes it after the thread's Release, or at environment teardown: then nothing the thread
  // does can reach JS any more, so it also ends once its current job, if any, is over.
  auto share = std::make_unique<std::shared_ptr<Core>>(core_);
  core_->completions = Completions::New(
      env, "coral-edgetpu-invoke", 0, 1, nullptr,
      [](Napi::Env, std::shared_ptr<Core>* share, std::nullptr_t*) {
        Core& core = **share;
        {
          std::lock_guard<std::mutex> lock(core.mutex);
          core.completionsOpen = false;
          core.stop = true;
        }
        core.wake.notify_one();
        delete share;
      },
      share.get());
  share.release();
  core_->completions.Unref(env);
  core_->completionsOpen = true;
  PinAddon();
  try {
    std::thread(InvokeLoop, core_).detach();
  } catch (const std::system_error& e) {
    core_->completionsOpen = false;
    core_->completions.Release();
    throw CodedError(env, "INVOKE_FAILED", std::string("could not start the invoke thread: ") + e.what());
  }
  threadStarted_ = true;
}

Napi::Value Interpreter::Invoke(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Libraries* libs = core_->libs;
  TfLiteInterpreter* interpreter = core_->interpreter;
  if (interpreter == nullptr || closePending_) throw CodedError(env, "CLOSED", "interpreter is closed");
  if (busy_) throw CodedError(env, "BUSY", "an invoke is already running on this interpreter");
  if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsArray()) {
    throw Napi::TypeError::New(env, "invoke(inputs: Uint8Array[], outputs: Uint8Array[])");
  }
  Napi::Array inputs = info[0].As<Napi::Array>();
  Napi::Array outputs = info[1].As<Napi::Array>();
  const int32_t inCount = libs->inputCount(interpreter);
  const int32_t outCount = libs->outputCount(interpreter);
  if (static_cast<int32_t>(inputs.Length()) != inCount || static_cast<int32_t>(outputs.Length()) != outCount) {
    throw Napi::TypeError::New(env, "expected " + std::to_string(inCount) + " inputs and " +
                                        std::to_string(outCount) + " outputs");
  }
  for (int32_t i = 0; i < inCount + outCount; i++) {
    const bool isInput = i < inCount;
    Napi::Value v = isInput ? inputs.Get(i) : outputs.Get(i - inCount);
    const TfLiteTensor* t =
        isInput ? libs->inputTensor(interpreter, i) : libs->outputTensor(interpreter, i - inCount);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      throw Napi::TypeError::New(env, "every tensor buffer must be a Uint8Array");
    }
    const size_t want = libs->tensorByteSize(t);
    const size_t got = v.As<Napi::Uint8Array>().ByteLength();
    if (got != want) {
      throw Napi::TypeError::New(env, std::string(isInput ? "input " : "output ") + libs->tensorName(t) +
                                          " needs " + std::to_string(want) + " bytes, got " +
                                          std::to_string(got));
    }
  }
  if (!threadStarted_) StartThread(env);

  auto job = std::make_unique<Job>();
  napi_value promise = nullptr;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok) throw Napi::Error::New(env);
  job->core = core_;
  job->owner = this;
  job->self = Napi::Persistent(Value());
  for (uint32_t i = 0; i < inputs.Length(); i++) {
    Napi::Uint8Array a = inputs.Get(i).As<Napi::Uint8Array>();
    job->in.emplace_back(a.Data(), a.ByteLength());
    job->buffers.push_back(Napi::Persistent(a.As<Napi::Object>()));
  }
  for (uint32_t i = 0; i < outputs.Length(); i++) {
    Napi::Uint8Array a = outputs.Get(i).As<Napi::Uint8Array>();
    job->out.emplace_back(a.Data(), a.ByteLength());
    job->buffers.push_back(Napi::Persistent(a.As<Napi::Object>()));
  }
  busy_ = true;
  core_->completions.Ref(env);  // a job in flight keeps the process alive, as libuv work did
  {
    std::lock_guard<std::mutex> lock(core_->mutex);
    core_->job = job.release();
  }
  core_->wake.notify_one();
  return Napi::Value(env, promise);
}

Napi::Value Interpreter::Close(const Napi::CallbackInfo& info) {
  // A running invoke still uses the interpreter: free it, and end the thread, when that invoke ends.
  if (busy_) {
    closePending_ = true;
  } else {
    Shutdown();
  }
  return info.Env().Undefined();
}

// Settles a finished job's promise on the JS thread. Node passes a null env for jobs still queued at
// environment teardown, then (in newer Node) with the TSFN's own lock held: so no Core::mutex here.
// Uses the C API, ignoring failures: in a worker being terminated, settling a promise fails, and
// node-addon-api would throw out of this callback, which aborts the process; no JS is left to tell.
void Complete(Napi::Env env, Napi::Function, std::nullptr_t*, Job* job) {
  if (static_cast<napi_env>(env) == nullptr) {
    Abandon(job);
    return;
  }
  std::unique_ptr<Job> done(job);  // its references are released here, on the JS thread
  job->owner->InvokeFinished(env);
  napi_value outcome = nullptr;
  if (job->error.empty()) {
    if (napi_get_undefined(env, &outcome) == napi_ok) napi_resolve_deferred(env, job->deferred, outcome);
    return;
  }
  napi_value code = nullptr, message = nullptr;
  if (napi_create_string_utf8(env, "INVOKE_FAILED", NAPI_AUTO_LENGTH, &code) == napi_ok &&
      napi_create_string_utf8(env, job->error.c_str(), job->error.size(), &message) == napi_ok &&
      napi_create_error(env, code, message, &outcome) == napi_ok) {
    napi_reject_deferred(env, job->deferred, outcome);
  }
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("loadLibraries", Napi::Function::New(env, LoadLibraries, "loadLibraries"));
  exports.Set("listDevices", Napi::Function::New(env, ListDevices, "listDevices"));
  exports.Set("Interpreter", Interpreter::Define(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(coral_edgetpu, Init)
