// Hands free native memory back to the system. glibc keeps what threads free in per-thread arenas
// and returns only the top of each heap on its own; libvips' decoding threads and the executors'
// workers free plenty in the middle of them, so a long-running daemon's RSS creeps up by about a MiB
// a minute although nothing leaks (malloc_trim(0) on a soaked daemon gave back 68 of 307 MiB).
// malloc_trim also releases whole free pages inside every arena. Other C libraries: nothing to do.
#include "glibc_floor.h"  // first: binds symbols to versions older systems have
#include <napi.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace {

// trim(): true when memory was returned to the system.
Napi::Value Trim(const Napi::CallbackInfo& info) {
#ifdef __GLIBC__
  return Napi::Boolean::New(info.Env(), malloc_trim(0) == 1);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("trim", Napi::Function::New(env, Trim, "trim"));
  return exports;
}

}  // namespace

NODE_API_MODULE(coral_memory, Init)
